"""Walk a build directory safely and route every file to the parsers that claim it.

One file's failure becomes a `ParseProblem`; it never aborts the scan.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from sei_watch.config import DEFAULT_EXCLUDE
from sei_watch.errors import ParseError, SeiWatchError, UnsafePathError
from sei_watch.globs import GlobSet
from sei_watch.logs import get_logger
from sei_watch.plugins import DEFAULT_MAX_BYTES, LoadedParser, ParseContext, Registry
from sei_watch.records import ParseProblem, Record
from sei_watch.safeio import is_under, open_under

__all__ = ["ScanResult", "files_under", "parse_claimed", "parse_file", "scan"]

log = get_logger("sei_watch.workspace")

SNIFF_BYTES = 65536


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanResult:
    """Every record the parsers gave, the problems met, and how many files were looked at."""

    root: Path
    records: tuple[Record, ...]
    files_seen: int
    files_parsed: int

    @property
    def problems(self) -> tuple[ParseProblem, ...]:
        return tuple(r for r in self.records if isinstance(r, ParseProblem))


def parse_file(
    lp: LoadedParser, path: Path, root: Path, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> list[Record]:
    """Run one parser on one file; whatever goes wrong comes back as a `ParseProblem`."""
    ctx = ParseContext(root=root, options=lp.options, max_bytes=max_bytes)
    rel = ctx.rel(path)
    try:
        return [
            replace(r, parser=lp.name) if isinstance(r, ParseProblem) and not r.parser else r
            for r in lp.parser.parse(path, ctx)
        ]
    except ParseError as exc:
        return [ParseProblem(path=rel, reason=exc.reason, line=exc.line, parser=lp.name)]
    except SeiWatchError as exc:
        return [ParseProblem(path=rel, reason=str(exc), parser=lp.name)]
    except Exception as exc:  # RecursionError and MemoryError included
        # A parser bug or an unexpected file must cost this file only, never the build.
        log.warning("parser.crashed", parser=lp.name, path=rel, error=repr(exc)[:500])
        return [ParseProblem(path=rel, reason=f"parser failed: {exc!r}"[:500], parser=lp.name)]


def _walk(
    root: Path, exclude: GlobSet, *, quiet: bool = False
) -> Iterator[tuple[Path, PurePosixPath, str]]:
    """Yield (path, relative path, kind) for every entry under root that is not a directory.

    kind is "file", "link", or "unreadable" for a directory that could not be listed.
    """
    stack = [root]
    while stack:
        current = stack.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError as exc:
            yield current, PurePosixPath(current.relative_to(root).as_posix()), "unreadable"
            if not quiet:
                log.warning("workspace.unreadable", path=str(current), error=exc.strerror)
            continue
        subdirs = []
        for entry in entries:
            path = Path(entry.path)
            rel = PurePosixPath(path.relative_to(root).as_posix())
            if exclude.match(rel):
                continue
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(path)
            else:
                yield path, rel, "link" if entry.is_symlink() else "file"
        stack.extend(reversed(subdirs))


def files_under(root: Path, exclude: tuple[str, ...] = DEFAULT_EXCLUDE) -> Iterator[str]:
    """The regular files under `root` (relative, POSIX) in the order `scan` reads them, links
    and excluded paths left out, without a log line: for work done ahead of a scan."""
    for _path, rel, kind in _walk(root, GlobSet(exclude), quiet=True):
        if kind == "file":
            yield str(rel)


def _claimants(
    registry: Registry, path: Path, rel: PurePosixPath, root: Path
) -> list[LoadedParser]:
    by_name = [lp for lp in registry.parsers if lp.claims(rel)]
    if by_name or rel.suffix.lower() not in registry.sniff_suffixes:
        return by_name
    try:
        with open_under(root, path) as fh:
            head = fh.read(SNIFF_BYTES)
    except SeiWatchError:
        return []
    return [lp for lp in registry.parsers if lp.sniffs(rel, head)]


def parse_claimed(
    path: Path, registry: Registry, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[list[str], list[Record]]:
    """One file, through the parsers that claim it (by name or by its first bytes) as a
    folder scan would: their names and records."""
    root = Path(os.path.realpath(path.parent))
    real = root / path.name
    rel = PurePosixPath(path.name)
    claimants = _claimants(registry, real, rel, root)
    records: list[Record] = []
    for lp in claimants:
        records.extend(parse_file(lp, real, root, max_bytes=max_bytes))
    return [lp.name for lp in claimants], records


def _mtime(path: Path) -> float:
    try:
        return os.lstat(path).st_mtime
    except OSError:
        return 0.0


def scan(
    root: Path,
    registry: Registry,
    *,
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE,
    max_bytes: int = DEFAULT_MAX_BYTES,
    newer_than: float | None = None,
) -> ScanResult:
    """Parse every file under `root` that a parser claims (and, with `newer_than`, that was
    written since then: older files are left from an earlier build in the same workspace)."""
    if not root.exists():
        raise SeiWatchError(f"{root}: no such directory")
    if not root.is_dir():
        raise SeiWatchError(f"{root}: not a directory")
    root = Path(os.path.realpath(root))
    records: list[Record] = []
    seen = parsed = 0
    for path, rel, kind in _walk(root, GlobSet(exclude)):
        seen += 1
        if kind == "unreadable":
            records.append(ParseProblem(path=str(rel), reason="directory is not readable"))
            continue
        if kind == "link":
            # Links inside the root are read at their target; only claimed links out are news.
            if not is_under(root, path) and any(lp.claims(rel) for lp in registry.parsers):
                records.append(
                    ParseProblem(path=str(rel), reason="symlink leads outside the workspace")
                )
            continue
        if newer_than is not None and _mtime(path) < newer_than:
            continue
        try:
            claimants = _claimants(registry, path, rel, root)
        except UnsafePathError as exc:
            records.append(ParseProblem(path=str(rel), reason=exc.reason))
            continue
        for lp in claimants:
            parsed += 1
            records.extend(parse_file(lp, path, root, max_bytes=max_bytes))
    return ScanResult(root=root, records=tuple(records), files_seen=seen, files_parsed=parsed)
