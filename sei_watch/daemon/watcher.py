"""watchdog glue: the handler only enqueues; roots are (re)scheduled and their health checked.

Events are hints. An overflow, a lost root or a full queue only means the next rescan comes
sooner; the tracker re-derives the truth from the file system.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import queue
import threading
from pathlib import Path
from typing import Any

from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from sei_watch.config import WatchSpec
from sei_watch.logs import get_logger

__all__ = ["RootWatcher", "route_watchdog_logs"]

log = get_logger("sei_watch.watcher")

# Only writes matter. Without a filter inotify also reports every open and read, so our own
# reading of a finished build floods the kernel queue, and watchdog re-walks the whole tree
# after each overflow: measured at 100% CPU with 2,000 builds under a root.
EVENTS = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileClosedEvent,
    FileDeletedEvent,
    DirCreatedEvent,
    DirMovedEvent,
]


class _Enqueue(FileSystemEventHandler):
    """Puts (path) on a bounded queue; sets `overflow` when it must drop."""

    def __init__(self, events: queue.Queue[str], overflow: threading.Event) -> None:
        self.events = events
        self.overflow = overflow

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if not raw:
                continue
            path = raw.decode() if isinstance(raw, bytes) else str(raw)
            try:
                self.events.put_nowait(path)
            except queue.Full:
                self.overflow.set()


class RootWatcher:
    """One observer for the inotify roots, one polling observer for `force_polling` roots."""

    def __init__(self, events: queue.Queue[str], overflow: threading.Event) -> None:
        self.handler = _Enqueue(events, overflow)
        self.overflow = overflow
        self.native: Any = Observer()
        self.polling: Any = PollingObserver(timeout=1.0)
        self._scheduled: dict[Path, tuple[Any, Any, int]] = {}  # root -> (observer, watch, ino)
        self.degraded: set[Path] = set()  # roots events cannot cover: found by fast rescans
        self.missing: set[Path] = set()  # wanted roots that do not exist (yet)
        self._reported_missing: set[Path] = set()
        self.native.start()
        self.polling.start()

    def sync(self, watches: tuple[WatchSpec, ...], *, retry_degraded: bool = True) -> int:
        """Schedule every root that exists; drop gone ones; re-watch a root that was replaced.
        A degraded root is tried again only with `retry_degraded`: each try walks the tree that
        broke it. Returns how many roots it started watching."""
        started = 0
        wanted = {w.root: w.force_polling for w in watches}
        self.missing = set()
        for root in list(self._scheduled):
            observer, watch, ino = self._scheduled[root]
            if root not in wanted or _ino(root) != ino:
                observer.unschedule(watch)
                del self._scheduled[root]
                if root in wanted:
                    log.warning(
                        "watch.root_replaced",
                        root=str(root),
                        note="re-watching; a rescan catches what was missed",
                    )
                    self.overflow.set()
        for root, polling in wanted.items():
            if root in self._scheduled or (root in self.degraded and not retry_degraded):
                continue
            found = _ino(root)
            if found is None or not os.access(root, os.R_OK | os.X_OK):
                if root not in self._reported_missing:
                    log.error(
                        "watch.root_unavailable",
                        root=str(root),
                        action="create it or fix its permissions; looked for every second",
                    )
                    self._reported_missing.add(root)
                self.missing.add(root)
                continue
            self._reported_missing.discard(root)
            observer = self.polling if polling else self.native
            try:
                watch = observer.schedule(
                    self.handler, str(root), recursive=True, event_filter=EVENTS
                )
            except OSError as exc:
                self._explain(root, exc)
                continue
            except Exception as exc:  # RecursionError: a tree deeper than watchdog can walk
                self._degrade(root, exc)
                continue
            self._scheduled[root] = (observer, watch, found)
            self.degraded.discard(root)
            started += 1
            log.info("watch.started", root=str(root), polling=polling)
        return started

    def _degrade(self, root: Path, exc: BaseException) -> None:
        if root not in self.degraded:
            log.error(
                "watch.degraded",
                root=str(root),
                error=f"{type(exc).__name__}: {str(exc)[:200]}",
                action="builds under this root are found by a rescan every few seconds; look "
                "for a directory tree nested absurdly deep under it",
            )
        self.degraded.add(root)

    def check(self) -> bool:
        """Whether a root's emitter thread died (watchdog dies on a tree grown too deep, say) or
        its root was replaced: its root is unscheduled, so the next sync starts it again (or
        marks it degraded or missing)."""
        died = False
        reader = getattr(self.native, "_inotify_fd", None)  # watchdog's inotify reading thread
        if not self.native.is_alive() or (
            isinstance(reader, threading.Thread) and not reader.is_alive()
        ):
            log.error("watch.observer_died", action="starting a new observer; rescanning")
            old, self.native = self.native, Observer()
            self.native.start()
            with contextlib.suppress(Exception):
                old.stop()
            for root, (obs, _, _) in list(self._scheduled.items()):
                if obs is old:
                    del self._scheduled[root]
            died = True
        # A root moved away and made again: the inotify watch follows the moved directory and
        # reports nothing, so only the inode tells (one stat per root per pass).
        for root, (obs, watch, ino) in list(self._scheduled.items()):
            if _ino(root) != ino:
                log.warning(
                    "watch.root_replaced",
                    root=str(root),
                    note="re-watching; a rescan catches what was missed",
                )
                with contextlib.suppress(Exception):
                    obs.unschedule(watch)
                del self._scheduled[root]
                died = True
        for observer in (self.native, self.polling):
            alive = {id(e.watch): e.is_alive() for e in list(observer.emitters)}
            for root, (obs, watch, _) in list(self._scheduled.items()):
                if obs is observer and not alive.get(id(watch), False):
                    log.error("watch.emitter_died", root=str(root), action="restarting its watch")
                    with contextlib.suppress(Exception):
                        observer.unschedule(watch)
                    del self._scheduled[root]
                    died = True
        return died

    def _explain(self, root: Path, exc: OSError) -> None:
        if exc.errno in (errno.ENOSPC, errno.EMFILE):
            log.error(
                "watch.limit",
                root=str(root),
                error=str(exc),
                action="raise the inotify limits, e.g. sysctl -w "
                "fs.inotify.max_user_watches=524288 (and max_user_instances); "
                "until then only the periodic rescan finds builds",
            )
        else:
            log.error("watch.failed", root=str(root), error=str(exc))

    def healthy(self) -> bool:
        return bool(self.native.is_alive() and self.polling.is_alive())

    def stop(self) -> None:
        for observer in (self.native, self.polling):
            observer.stop()
        for observer in (self.native, self.polling):
            observer.join(timeout=5)


def _ino(root: Path) -> int | None:
    try:
        return os.stat(root).st_ino
    except OSError:
        return None


class _WatchdogLog(logging.Handler):
    """watchdog logs on its own child loggers (`watchdog.observers.inotify_c`): its lines go
    out as our JSON events, and its inotify queue overflow starts a rescan."""

    def __init__(self, flag: threading.Event) -> None:
        super().__init__(level=logging.INFO)
        self.flag = flag

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "overflow" in message.lower():
            self.flag.set()
        level = "warning" if record.levelno >= logging.WARNING else "info"
        getattr(log, level)("watchdog.log", logger=record.name, message=message[:500])


def _thread_died(args: threading.ExceptHookArgs) -> None:
    name = args.thread.name if args.thread is not None else "?"
    log.error("thread.crashed", thread=name, error=repr(args.exc_value)[:500])


def route_watchdog_logs(flag: threading.Event) -> None:
    """Route the `watchdog` logger tree through structlog (no plain-text lines in the journal)
    and turn its overflow line into a rescan."""
    # A thread that dies (watchdog's on a tree too deep) is an error event, not a traceback
    # in plain text; the daemon's health check then restarts what it was.
    threading.excepthook = _thread_died
    logging.captureWarnings(True)  # watchdog also warns through `warnings` (py.warnings)
    for name in ("watchdog", "py.warnings"):
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if isinstance(h, _WatchdogLog)]:
            logger.removeHandler(old)
        logger.addHandler(_WatchdogLog(flag))
        logger.setLevel(logging.INFO)
        logger.propagate = False
