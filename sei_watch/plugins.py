"""The parser contract, and discovery of parsers through entry points.

The built-in parsers are declared in our own pyproject and load exactly like third-party ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, runtime_checkable

from .errors import ParseError, PluginError
from .globs import GlobSet
from .records import ParseProblem, Record
from .safeio import open_under, read_under

if TYPE_CHECKING:
    import importlib.metadata as md

__all__ = [
    "ENTRY_POINT_GROUP",
    "LoadedParser",
    "ParseContext",
    "ParseError",
    "Parser",
    "ParserSettings",
    "Registry",
    "load_parsers",
]

ENTRY_POINT_GROUP = "sei_watch.parsers.v1"
DEFAULT_MAX_BYTES = 4 * 1024**3
SMALL_FILE_BYTES = 16 * 1024**2


@dataclass(frozen=True, slots=True, kw_only=True)
class ParseContext:
    """What a parser may use besides the path: the workspace root, its options, bounded I/O."""

    root: Path
    options: Mapping[str, Any] = field(default_factory=dict)
    max_bytes: int = DEFAULT_MAX_BYTES

    def rel(self, path: Path) -> str:
        """The path as it should appear in records and problems: relative to the root."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def open(self, path: Path) -> BinaryIO:
        """Open `path` for streaming, refusing anything that leads outside the root."""
        return open_under(self.root, path, max_bytes=self.max_bytes)

    def read_bytes(self, path: Path, *, limit: int = SMALL_FILE_BYTES) -> bytes:
        """Read a small file whole, bounded by `limit` bytes."""
        return read_under(self.root, path, max_bytes=min(limit, self.max_bytes))

    def problem(self, path: Path, reason: str, *, line: int | None = None) -> ParseProblem:
        """A problem about `path`, named relative to the root."""
        return ParseProblem(path=self.rel(path), reason=reason, line=line)


@runtime_checkable
class Parser(Protocol):
    """A parser turns one file into records.

    `matches` must be cheap and do no I/O. `parse` returns (or yields) records, and raises
    `ParseError` when the file cannot be used at all; problems with part of a file are
    returned as `ParseProblem` records beside the rest. A parser may also define
    `sniff_suffixes` and `sniff(head: bytes) -> bool` to claim files by their first bytes.
    """

    name: str

    def matches(self, path: PurePath) -> bool: ...

    def parse(self, path: Path, ctx: ParseContext) -> Iterable[Record]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ParserSettings:
    """What the config says about one parser."""

    enabled: bool = True
    globs: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadedParser:
    """A parser with where it came from and its configured extras."""

    parser: Parser
    entry_point: md.EntryPoint
    extra: GlobSet
    options: Mapping[str, Any]

    @property
    def name(self) -> str:
        return self.parser.name

    @property
    def origin(self) -> str:
        """`module:attr (distribution version)`, read from the distribution's metadata only
        when shown: parsing METADATA for every parser was a third of a small `parse`."""
        return _origin(self.entry_point)

    @property
    def reads(self) -> str:
        """What the parser reads, in its author's words: the first paragraph of its class's
        docstring (`sei-watch parsers` shows it beside the name)."""
        doc = (type(self.parser).__doc__ or "").strip()
        return " ".join(doc.split("\n\n", 1)[0].split())

    def claims(self, rel: PurePath) -> bool:
        """Whether this parser wants the file at `rel`, by its own rule or a configured glob."""
        return self.parser.matches(rel) or self.extra.match(rel)

    def sniffs(self, rel: PurePath, head: bytes) -> bool:
        """Whether the parser claims a file by its first bytes (only for its suffixes)."""
        sniff = getattr(self.parser, "sniff", None)
        suffixes: Sequence[str] = getattr(self.parser, "sniff_suffixes", ())
        return sniff is not None and rel.suffix.lower() in suffixes and bool(sniff(head))


@dataclass(frozen=True, slots=True)
class Registry:
    """The parsers in use, and the plugins that failed to load (reported, then skipped)."""

    parsers: tuple[LoadedParser, ...]
    failures: tuple[str, ...] = ()

    def get(self, name: str) -> LoadedParser:
        for lp in self.parsers:
            if lp.name == name:
                return lp
        names = [lp.name for lp in self.parsers]
        import difflib  # noqa: PLC0415  (only for a mistyped name)

        close = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise PluginError(f"no parser named {name!r}{hint} (known: {', '.join(names) or 'none'})")

    @property
    def sniff_suffixes(self) -> frozenset[str]:
        return frozenset(s for lp in self.parsers for s in getattr(lp.parser, "sniff_suffixes", ()))


def _origin(ep: md.EntryPoint) -> str:
    dist = ep.dist
    where = f" ({_dist_label(dist)})" if dist is not None else ""
    return f"{ep.value}{where}"


_LABELS: dict[str, str] = {}


def _dist_label(dist: md.Distribution) -> str:
    """`name version` of a distribution, its METADATA parsed once per location."""
    key = str(getattr(dist, "_path", "")) or str(id(dist))
    if key not in _LABELS:
        _LABELS[key] = f"{dist.metadata['Name']} {dist.version}"
    return _LABELS[key]


def _instantiate(obj: object, ep_name: str) -> Parser:
    parser = obj() if isinstance(obj, type) else obj
    for attr in ("name", "matches", "parse"):
        if not hasattr(parser, attr):
            raise PluginError(f"entry point {ep_name!r} gives an object without {attr!r}")
    name = getattr(parser, "name", None)
    if not isinstance(name, str) or not name:
        raise PluginError(f"entry point {ep_name!r} gives a parser with no name")
    return parser  # type: ignore[return-value]


def load_parsers(
    settings: Mapping[str, ParserSettings] | None = None,
    *,
    entry_points: Iterable[md.EntryPoint] | None = None,
) -> Registry:
    """Load every parser of the entry-point group, apply settings, and check names are unique."""
    settings = settings or {}
    if entry_points is None:
        import importlib.metadata  # noqa: PLC0415  (lazy: 40 ms nobody needs for --version)

        entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    eps = entry_points
    seen_values: set[tuple[str, str]] = set()
    loaded: dict[str, LoadedParser] = {}
    failures: list[str] = []
    for ep in eps:
        if (ep.name, ep.value) in seen_values:  # the same dist found twice on sys.path
            continue
        seen_values.add((ep.name, ep.value))
        try:
            parser = _instantiate(ep.load(), ep.name)
        except Exception as exc:  # a broken plugin must not take the others down
            failures.append(f"parser plugin {ep.name!r} from {_origin(ep)} failed to load: {exc!r}")
            continue
        if parser.name in loaded:
            raise PluginError(
                f"two parsers are named {parser.name!r}: {loaded[parser.name].origin} "
                f"and {_origin(ep)}; uninstall one or rename it"
            )
        conf = settings.get(parser.name, ParserSettings())
        loaded[parser.name] = LoadedParser(
            parser=parser, entry_point=ep, extra=GlobSet(conf.globs), options=conf.options
        )
    unknown = sorted(set(settings) - set(loaded))
    if unknown:
        known = ", ".join(sorted(loaded)) or "none"
        raise PluginError(f"config names unknown parsers {unknown} (known: {known})")
    active = tuple(
        lp for name, lp in sorted(loaded.items()) if settings.get(name, ParserSettings()).enabled
    )
    return Registry(active, tuple(failures))
