"""What a build script can do to the running daemon (issue #18, items 1, 6, 7), played against
the real daemon, a real tree and the stand-in: a tree too deep to watch, an inotify queue that
overflows, a watch root deleted and made again. Each time the builds are still reported."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from sei_watch.config import WatchSpec
from sei_watch.daemon.watcher import RootWatcher

from .daemonproc import DaemonProc, wait_for, write_build
from .sei_server import StandIn
from .test_daemon import keys, spool


def remove(path: Path) -> None:
    """rm -rf: shutil.rmtree recurses per level and fails on the trees made here."""
    subprocess.run(["rm", "-rf", str(path)], check=False)


def deep_tree(where: Path, depth: int = 1200) -> None:
    """Directories nested `depth` levels (made one level at a time: os.makedirs recurses)."""
    where.mkdir(parents=True, exist_ok=True)
    fd = os.open(where, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            nxt = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nxt
    finally:
        os.close(fd)


def test_deep_tree_at_start_does_not_stop_the_daemon(tmp_path: Path, sei: StandIn) -> None:
    """Item 1: a 1,200-deep tree in a build before start: `run` still gets READY (it used to
    exit 1), says the root is degraded, and builds are found by fast rescans."""
    root, watches = spool(tmp_path)
    deep_tree(root / "evil" / "1" / "node_modules")
    write_build(root / "evil" / "1")
    d = DaemonProc(tmp_path, sei, watches, daemon="rescan = 300").start()
    try:
        assert d.seen("watch.degraded")
        write_build(root / "app" / "7")
        wait_for(lambda: ("app", 7) in keys(sei), 30, "the build after the deep tree")
        assert ("evil", 1) in keys(sei)
    finally:
        assert d.stop() == 0
        remove(root / "evil")


def test_deep_tree_grown_while_running(tmp_path: Path, sei: StandIn) -> None:
    """Item 1: the tree grows deep while the daemon watches: watchdog's reading thread dies,
    which is noticed (a new observer; the root degraded to fast rescans where it cannot be
    watched), and builds are still reported, long before the 300 s rescan."""
    root, watches = spool(tmp_path)
    d = DaemonProc(tmp_path, sei, watches, daemon="rescan = 300").start()
    try:
        deep_tree(root / "evil" / "2" / "node_modules")
        write_build(root / "evil" / "2")
        wait_for(lambda: ("evil", 2) in keys(sei), 30, "the deep build")
        write_build(root / "app" / "8")
        wait_for(lambda: ("app", 8) in keys(sei), 30, "the next build")
        assert d.seen("watch.observer_died") or d.seen("watch.emitter_died")
        assert all(line.startswith("{") for line in d.raw), "a plain-text traceback"
    finally:
        assert d.stop() == 0
        remove(root / "evil")


def test_inotify_overflow_rescans_and_logs_json(tmp_path: Path, sei: StandIn) -> None:
    """Item 6: with the kernel queue at 16 events (root only), a burst overflows it: the
    overflow starts a rescan at once (not in 300 s), every build of the burst is reported, and
    every line the daemon prints is JSON, watchdog's included."""
    limit = Path("/proc/sys/fs/inotify/max_queued_events")
    if os.geteuid() != 0 or not os.access(limit, os.W_OK):
        import pytest

        pytest.skip("needs root to shrink the inotify queue")
    root, watches = spool(tmp_path)
    before = limit.read_text().strip()
    limit.write_text("16")  # applies to the daemon's inotify instance, made at its start
    try:
        d = DaemonProc(tmp_path, sei, watches, daemon="rescan = 300").start()
    finally:
        limit.write_text(before)
    try:
        for n in range(1, 41):  # watched before the burst, so the burst's events are queued
            (root / "burst" / str(n) / "test-results").mkdir(parents=True)
        wait_for(lambda: bool(d.seen("watch.started")), 5, "the watch")
        time.sleep(1.0)  # watchdog adds the new directories' watches
        d.signal(signal.SIGSTOP)  # nobody reads the queue while the burst is written
        try:
            for n in range(1, 41):
                write_build(root / "burst" / str(n))
        finally:
            d.signal(signal.SIGCONT)
        wait_for(lambda: len(sei.accepted) == 40, 60, "all 40 builds")
        assert d.seen("watch.overflow")
        assert d.seen("watchdog.log")
        for line in d.raw:
            assert line.startswith("{"), line
            json.loads(line)
    finally:
        assert d.stop() == 0


def test_root_deleted_and_made_again(tmp_path: Path, sei: StandIn) -> None:
    """Item 7: the watch root is removed and created again: it is watched again within
    seconds and the next build there is reported, not at the next periodic rescan."""
    root, watches = spool(tmp_path)
    d = DaemonProc(tmp_path, sei, watches, daemon="rescan = 300").start()
    try:
        shutil.rmtree(root)
        wait_for(
            lambda: bool(d.seen("watch.root_unavailable")) or bool(d.seen("watch.emitter_died")),
            15,
            "the loss noticed",
        )
        root.mkdir()
        write_build(root / "again" / "1")
        wait_for(lambda: ("again", 1) in keys(sei), 20, "the build in the new root")
    finally:
        assert d.stop() == 0


def test_corrupt_outbox_keeps_what_was_pending(tmp_path: Path, sei: StandIn) -> None:
    """Item 5: six builds wait in the outbox (SEI unreachable), the daemon stops and the file
    is damaged in the middle. At the next start the readable rows are recovered into a new
    outbox, the builds whose rows are lost are derived again from their directories, and SEI
    ends up storing all six; the log and `outbox stats` say how many of each."""
    root, watches = spool(tmp_path)
    down = DaemonProc(tmp_path, sei, watches, daemon="rescan = 300")
    down.config.write_text(down.config.read_text().replace(sei.url, "http://127.0.0.1:9"))
    down.start()
    try:
        for n in range(1, 7):
            write_build(root / "held" / str(n), junit=None)
        # Six builds queued: a build the daemon reported again within its grace (its marker
        # landed after its report) is a second event for the same key, not a seventh build.
        six = {f"held#{n}" for n in range(1, 7)}
        wait_for(lambda: {e["key"] for e in down.seen("payload.queued")} == six, 20, "six queued")
    finally:
        assert down.stop() == 0
    db = tmp_path / "state" / "outbox.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    data = bytearray(db.read_bytes())
    page = 4096
    assert len(data) >= 4 * page
    data[2 * page : 3 * page] = b"\xa5" * page  # one page of garbage in the middle
    db.write_bytes(bytes(data))
    up = DaemonProc(tmp_path, sei, watches, daemon="rescan = 300").start()
    try:
        wait_for(lambda: len(sei.store.runs) == 6, 30, "all six stored")
        (event,) = up.seen("outbox.recovered_after_corruption")
        assert event["recovered"] + event["derived_again"] >= 6
        assert any(".corrupt-" in p.name for p in db.parent.iterdir())
    finally:
        assert up.stop() == 0


def test_root_moved_away_and_made_again(tmp_path: Path, sei: StandIn) -> None:
    """A root moved away (`mv`) and made again: the old inotify watch follows the moved
    directory and sees nothing wrong, so only the root's inode, compared on every check, tells;
    the next build in the new root is reported within seconds (it used to wait 300 s)."""
    root, watches = spool(tmp_path)
    d = DaemonProc(tmp_path, sei, watches, daemon="rescan = 300").start()
    try:
        root.rename(tmp_path / "spool.old")
        root.mkdir()
        write_build(root / "moved" / "1")
        wait_for(lambda: ("moved", 1) in keys(sei), 20, "the build in the new root")
        assert d.seen("watch.root_replaced")
    finally:
        assert d.stop() == 0


def test_a_degraded_root_is_not_walked_again_by_every_fast_rescan(tmp_path: Path) -> None:
    """A root degraded by a tree too deep to watch is tried again only at the periodic rescan:
    each try walks the whole tree that broke it (one build's 2,000-deep tree kept the daemon
    at a full walk every 5 s). The fast rescans between only look to the pattern depth."""
    root = tmp_path / "spool"
    deep_tree(root / "evil" / "1" / "node_modules")
    watches = (WatchSpec(name="spool", root=root, pattern=("{pipeline}", "{build_number}")),)
    watcher = RootWatcher(queue.Queue(maxsize=100), threading.Event())
    try:
        watcher.sync(watches)
        assert root in watcher.degraded
        tries: list[str] = []
        real = watcher.native.schedule

        def counted(*args: object, **kwargs: object) -> object:
            tries.append(str(args[1]))
            return real(*args, **kwargs)

        watcher.native.schedule = counted
        for _ in range(3):
            watcher.sync(watches, retry_degraded=False)
        assert tries == []
        watcher.sync(watches)
        assert tries == [str(root)]
        assert root in watcher.degraded
    finally:
        watcher.stop()
        remove(root)
