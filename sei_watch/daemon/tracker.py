"""The build tracker: which build directories exist, whether each is complete, and when it has
settled. Events are hints; the file system is the truth (a rescan re-derives everything).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sei_watch.config import WatchSpec
from sei_watch.context import MARKER_NAME, BuildState
from sei_watch.globs import GlobSet
from sei_watch.logs import get_logger

__all__ = ["Candidate", "Tracker", "fingerprint", "fingerprint_time"]

log = get_logger("sei_watch.tracker")
_RESULT = re.compile(rb"<result>\s*[A-Z_]+\s*</result>")
_MAX_TRIGGER_READ = 4 * 1024 * 1024


@dataclass(slots=True)
class Candidate:
    """A build directory seen but not reported yet (or reported, and changed within grace)."""

    watch: WatchSpec
    dir: Path
    captures: dict[str, str]
    last_change: float
    fingerprint: str | None = None
    rereport: bool = False
    detected: float = field(default_factory=time.time)


def _files(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    stack = [root]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    elif entry.is_file(follow_symlinks=False):
                        yield entry.path, entry.stat(follow_symlinks=False)
        except OSError:
            continue


def _newest(directory: Path) -> tuple[float, int]:
    newest, count = 0.0, 0
    for _, st in _files(directory):
        newest = max(newest, st.st_mtime)
        count += 1
    return newest, count


def fingerprint(watch: WatchSpec, directory: Path) -> str | None:
    """What identifies this build's completion; None while it is not complete."""
    how = watch.complete_when
    try:
        if how.kind == "marker":
            st = os.stat(directory / MARKER_NAME, follow_symlinks=False)
            return f"marker:{st.st_mtime_ns}:{st.st_size}"
        if how.kind == "file":
            globs = GlobSet([how.glob])
            for path, st in _files(directory):
                rel = PurePosixPath(os.path.relpath(path, directory))
                if globs.match(rel) and _file_says_done(Path(path)):
                    return f"file:{rel}:{st.st_mtime_ns}:{st.st_size}"
            return None
        newest, count = _newest(directory)
        if count and time.time() - newest >= how.quiet:
            return f"quiet:{int(newest * 1e9)}:{count}"
    except OSError:
        return None
    return None


def _subdirs(d: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(d) as it:
            return [e for e in it if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def _jenkins_builds(jobs: Path) -> Iterator[Path]:
    """Every numbered build directory of every job, in folders and multibranch projects
    (Jenkins' lastSuccessfulBuild-style links are skipped: they are symlinks)."""
    stack = [jobs]
    while stack:
        for job in _subdirs(stack.pop()):
            for sub in _subdirs(Path(job.path)):
                if sub.name == "builds":
                    yield from (Path(b.path) for b in _subdirs(Path(sub.path)) if b.name.isdigit())
                elif sub.name in ("jobs", "branches"):
                    stack.append(Path(sub.path))


def fingerprint_time(fp: str | None) -> float | None:
    """When the completion signal was written (epoch seconds), from a fingerprint."""
    if not fp:
        return None
    parts = fp.split(":")
    stamp = parts[1] if parts[0] in ("marker", "quiet") else parts[-2]
    return int(stamp) / 1e9 if stamp.isdigit() else None


def _file_says_done(path: Path) -> bool:
    """A Jenkins build.xml exists while the build runs; it is done once it has a <result>."""
    if path.name != "build.xml":
        return True
    try:
        with open(path, "rb") as fh:
            return bool(_RESULT.search(fh.read(_MAX_TRIGGER_READ)))
    except OSError:
        return False


class Tracker:
    """Candidates by directory; `due()` hands out the complete, settled ones."""

    def __init__(
        self,
        watches: tuple[WatchSpec, ...],
        state: BuildState,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.watches = watches
        self.state = state
        self.clock = clock
        self.candidates: dict[Path, Candidate] = {}
        self._reported = state.reported_dirs()

    def locate(self, path: Path) -> tuple[WatchSpec, Path, dict[str, str]] | None:
        for watch in self.watches:
            try:
                rel = PurePosixPath(path.relative_to(watch.root).as_posix())
            except ValueError:
                continue
            found = watch.match(rel)
            if found:
                return watch, found[0], found[1]
        return None

    def on_path(self, path: Path) -> None:
        """A file event under a root: the build it belongs to changed now."""
        found = self.locate(path)
        if found is None:
            return
        watch, directory, captures = found
        now = self.clock()
        cand = self.candidates.get(directory)
        if cand is not None:
            cand.last_change = now
            return
        reported = self.state.reported(str(directory))
        rereport = False
        if reported is not None:
            fp = fingerprint(watch, directory)
            if fp == reported[0] and path.name != MARKER_NAME:
                if now - reported[1] > watch.grace:
                    return  # a change long after the report: not this build's any more
                rereport = True  # a late file within grace: report again (the outbox replaces)
        self.candidates[directory] = Candidate(
            watch=watch, dir=directory, captures=captures, last_change=now, rereport=rereport
        )
        log.debug("build.detected", dir=str(directory), watch=watch.name)

    def rescan(self) -> int:
        """Walk every root to its pattern depth; add complete builds not reported as such."""
        self._reported = self.state.reported_dirs()
        added = 0
        for watch in self.watches:
            for directory in self._build_dirs(watch):
                if directory in self.candidates:
                    continue
                fp = fingerprint(watch, directory)
                if fp is None or self._reported.get(str(directory)) == fp:
                    continue
                rel = PurePosixPath(directory.relative_to(watch.root).as_posix())
                found = watch.match(rel)
                captures = found[1] if found else {}
                newest, _ = _newest(directory)
                self.candidates[directory] = Candidate(
                    watch=watch, dir=directory, captures=captures, last_change=newest
                )
                added += 1
        return added

    def _build_dirs(self, watch: WatchSpec) -> Iterator[Path]:
        if watch.preset == "jenkins-home":
            yield from _jenkins_builds(watch.root / "jobs")
            return
        level = [watch.root]
        for _ in watch.pattern:
            nxt: list[Path] = []
            for d in level:
                try:
                    with os.scandir(d) as it:
                        nxt.extend(Path(e.path) for e in it if e.is_dir(follow_symlinks=False))
                except OSError:
                    continue
            level = nxt
        for d in level:
            rel = PurePosixPath(d.relative_to(watch.root).as_posix())
            if not watch.pattern or watch.match(rel):
                yield d

    def due(self) -> list[Candidate]:
        """Complete builds with no change for `settle` seconds, taken out of the tracker."""
        now = self.clock()
        ready = []
        for directory, cand in list(self.candidates.items()):
            if now - cand.last_change < cand.watch.settle:
                continue
            fp = fingerprint(cand.watch, directory)
            if fp is None:
                if not directory.exists():
                    del self.candidates[directory]
                continue
            before = self.state.reported(str(directory))
            if not cand.rereport and before is not None and before[0] == fp:
                del self.candidates[directory]  # reported already, and nothing new
                continue
            cand.fingerprint = fp
            ready.append(cand)
            del self.candidates[directory]
        return ready
