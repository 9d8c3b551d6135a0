"""The parser contract, and discovery of parsers through entry points.

The built-in parsers are declared in our own pyproject and load exactly like third-party ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import import_module
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, runtime_checkable

from .discovery import EntryRef, find_entry_points
from .errors import ParseError, PluginError
from .globs import GlobSet
from .logs import get_logger
from .records import ParseProblem, Record
from .safeio import open_under, read_under

if TYPE_CHECKING:
    import importlib.metadata as md

    EntryLike = EntryRef | md.EntryPoint

__all__ = [
    "ENTRY_POINT_GROUP",
    "ClaimHint",
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

log = get_logger(__name__)


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
class ClaimHint:
    """What a parser could claim, known without importing it (see `hint_for`).

    `patterns` are basename patterns, `*` a wildcard, matched without regard to case: together
    they cover every name the parser's `matches` accepts. `sniff` is its `sniff_suffixes`."""

    name: str
    patterns: tuple[str, ...] = ()
    sniff: tuple[str, ...] = ()

    def covers(self, basename: str) -> bool:
        low = basename.lower()
        exact, wild = _split_patterns(self.patterns)
        if low in exact:
            return True
        n = len(low)
        return any(
            n >= len(head) + len(tail) and low.startswith(head) and low.endswith(tail)
            for head, tail in wild
        )


@lru_cache(maxsize=256)
def _split_patterns(
    patterns: tuple[str, ...],
) -> tuple[frozenset[str], tuple[tuple[str, str], ...]]:
    """A claim's patterns as exact names and (head, tail) pairs around the `*`, split once:
    every file of a workspace is held to every parser."""
    exact = frozenset(p for p in patterns if "*" not in p)
    wild = tuple((head, tail) for head, _, tail in (p.partition("*") for p in patterns if "*" in p))
    return exact, wild


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadedParser:
    """A parser with where it came from and its configured extras.

    A parser whose claims are declared (`hint`) is imported only when a file fits them: a
    workspace of JUnit reports never imports the 30 other parsers and their regexes."""

    entry_point: EntryLike
    extra: GlobSet
    options: Mapping[str, Any]
    hint: ClaimHint | None = None
    _cell: list[Parser] = field(default_factory=list, repr=False)
    _failed: list[str] = field(default_factory=list, repr=False)

    @property
    def parser(self) -> Parser:
        """The parser object, imported on first use."""
        if not self._cell:
            if self._failed:
                raise PluginError(self._failed[0])
            try:
                parser = _instantiate(self.entry_point.load(), self.entry_point.name)
                if self.hint is not None and parser.name != self.hint.name:
                    raise PluginError(f"its claims name {self.hint.name!r}, it is {parser.name!r}")
            except Exception as exc:
                self._failed.append(_load_failure(self.entry_point, exc))
                log.error("parser.load_failed", error=self._failed[0])
                raise PluginError(self._failed[0]) from exc
            self._cell.append(parser)
        return self._cell[0]

    @property
    def name(self) -> str:
        return self.hint.name if self.hint is not None else self.parser.name

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

    @property
    def sniff_suffixes(self) -> Sequence[str]:
        if self.hint is not None:
            return self.hint.sniff
        return getattr(self.parser, "sniff_suffixes", ())

    def claims(self, rel: PurePath) -> bool:
        """Whether this parser wants the file at `rel`, by its own rule or a configured glob."""
        if self.extra.match(rel):
            return True
        if self.hint is not None and not self.hint.covers(rel.name):
            return False
        return self._usable() and self.parser.matches(rel)

    def sniffs(self, rel: PurePath, head: bytes) -> bool:
        """Whether the parser claims a file by its first bytes (only for its suffixes)."""
        if rel.suffix.lower() not in self.sniff_suffixes or not self._usable():
            return False
        sniff = getattr(self.parser, "sniff", None)
        return sniff is not None and bool(sniff(head))

    def _usable(self) -> bool:
        """Whether the parser can be imported; one that cannot claims nothing (logged once)."""
        try:
            self.parser  # noqa: B018  (the import, for its failure)
        except PluginError:
            return False
        return True


@dataclass(frozen=True, slots=True)
class Registry:
    """The parsers in use, and the plugins that failed to load (reported, then skipped)."""

    parsers: tuple[LoadedParser, ...]
    early_failures: tuple[str, ...] = ()

    @property
    def failures(self) -> tuple[str, ...]:
        """Plugins that failed to load: at start, or when a file first needed them."""
        return self.early_failures + tuple(f for lp in self.parsers for f in lp._failed[:1])

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
        return frozenset(s for lp in self.parsers for s in lp.sniff_suffixes)


def _origin(ep: EntryLike) -> str:
    label = ep.dist_label() if isinstance(ep, EntryRef) else _md_label(ep)
    where = f" ({label})" if label else ""
    return f"{ep.value}{where}"


def _md_label(ep: EntryLike) -> str | None:
    dist = getattr(ep, "dist", None)
    return f"{dist.metadata['Name']} {dist.version}" if dist is not None else None


def _load_failure(ep: EntryLike, exc: BaseException) -> str:
    return f"parser plugin {ep.name!r} from {_origin(ep)} failed to load: {exc!r}"


def _instantiate(obj: object, ep_name: str) -> Parser:
    parser = obj() if isinstance(obj, type) else obj
    for attr in ("name", "matches", "parse"):
        if not hasattr(parser, attr):
            raise PluginError(f"entry point {ep_name!r} gives an object without {attr!r}")
    name = getattr(parser, "name", None)
    if not isinstance(name, str) or not name:
        raise PluginError(f"entry point {ep_name!r} gives a parser with no name")
    return parser  # type: ignore[return-value]


def hint_for(ep: EntryLike) -> ClaimHint | None:
    """The claims a plugin declares for `ep` without importing the parser's module: a mapping
    `SEI_WATCH_CLAIMS` in the top-level package, `"module:attr"` to (name, patterns, sniff
    suffixes). None when it declares nothing: that parser is imported at once."""
    top = ep.value.partition(":")[0].strip().split(".", 1)[0]
    try:
        declared = getattr(import_module(top), "SEI_WATCH_CLAIMS", None)
    except Exception:  # the parser's own import reports it
        return None
    entry = declared.get(ep.value.strip()) if isinstance(declared, Mapping) else None
    if not (isinstance(entry, tuple) and len(entry) == 3 and isinstance(entry[0], str)):
        return None
    name, patterns, sniff = entry
    return ClaimHint(name=name, patterns=tuple(p.lower() for p in patterns), sniff=tuple(sniff))


def load_parsers(
    settings: Mapping[str, ParserSettings] | None = None,
    *,
    entry_points: Iterable[EntryLike] | None = None,
    lazy: bool = True,
) -> Registry:
    """Every parser of the entry-point group, with settings applied and names checked unique.

    With `lazy`, a parser that declares its claims is imported only when a file fits them."""
    settings = settings or {}
    eps: Iterable[EntryLike] = (
        find_entry_points(ENTRY_POINT_GROUP) if entry_points is None else entry_points
    )
    seen_values: set[tuple[str, str]] = set()
    loaded: dict[str, LoadedParser] = {}
    failures: list[str] = []
    for ep in eps:
        if (ep.name, ep.value) in seen_values:  # the same dist found twice on sys.path
            continue
        seen_values.add((ep.name, ep.value))
        hint = hint_for(ep) if lazy else None
        cell: list[Parser] = []
        if hint is None:
            try:
                cell.append(_instantiate(ep.load(), ep.name))
            except Exception as exc:  # a broken plugin must not take the others down
                failures.append(_load_failure(ep, exc))
                continue
        name = hint.name if hint is not None else cell[0].name
        if name in loaded:
            raise PluginError(
                f"two parsers are named {name!r}: {loaded[name].origin} "
                f"and {_origin(ep)}; uninstall one or rename it"
            )
        conf = settings.get(name, ParserSettings())
        loaded[name] = LoadedParser(
            entry_point=ep, extra=GlobSet(conf.globs), options=conf.options, hint=hint, _cell=cell
        )
    unknown = sorted(set(settings) - set(loaded))
    if unknown:
        known = ", ".join(sorted(loaded)) or "none"
        raise PluginError(f"config names unknown parsers {unknown} (known: {known})")
    active = tuple(
        lp for name, lp in sorted(loaded.items()) if settings.get(name, ParserSettings()).enabled
    )
    return Registry(active, tuple(failures))
