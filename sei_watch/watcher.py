"""watchdog glue: the handler only enqueues; roots are (re)scheduled and their health checked.

Events are hints. An overflow, a lost root or a full queue only means the next rescan comes
sooner; the tracker re-derives the truth from the file system.
"""

from __future__ import annotations

import errno
import os
import queue
import threading
from pathlib import Path
from typing import Any

import structlog
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

from .watches import WatchSpec

__all__ = ["RootWatcher"]

log = structlog.get_logger("sei_watch.watcher")

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
        self.native.start()
        self.polling.start()

    def sync(self, watches: tuple[WatchSpec, ...]) -> None:
        """Schedule every root that exists; drop gone ones; re-watch a root that was replaced."""
        wanted = {w.root: w.force_polling for w in watches}
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
            if root in self._scheduled:
                continue
            found = _ino(root)
            if found is None or not os.access(root, os.R_OK | os.X_OK):
                log.error(
                    "watch.root_unavailable",
                    root=str(root),
                    action="create it or fix its permissions; retried at each rescan",
                )
                continue
            observer = self.polling if polling else self.native
            try:
                watch = observer.schedule(
                    self.handler, str(root), recursive=True, event_filter=EVENTS
                )
            except OSError as exc:
                self._explain(root, exc)
                continue
            self._scheduled[root] = (observer, watch, found)
            log.info("watch.started", root=str(root), polling=polling)

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
