"""`sei-watch run`: watch the roots, report every complete build once, deliver the outbox.

Threads: watchdog's observers (enqueue only), `workers` report builds, one sender delivers,
and the main thread tracks builds, rescans, reloads on SIGHUP and pings systemd's watchdog.
Every thread stops through one Event.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from sei_watch.config import Settings, load_settings
from sei_watch.context import STATE_FILE, BuildState
from sei_watch.deliver import Outbox, Sender, load_api_key, make_sender, open_outbox
from sei_watch.errors import ConfigError, SeiWatchError
from sei_watch.logs import get_logger, register_secret
from sei_watch.payload import require_instance
from sei_watch.plugins import Registry, load_parsers

from .metrics import Metrics, serve_metrics
from .notify import Notifier
from .statelock import heal_after_corruption, lock_state_dir
from .tracker import Candidate, Tracker
from .watcher import RootWatcher, route_watchdog_logs
from .worker import report_candidate

__all__ = ["Daemon"]

log = get_logger("sei_watch.daemon")
DEGRADED_RESCAN = 5.0


@dataclass(slots=True)
class _Live:
    """What a reload swaps as one piece."""

    settings: Settings
    registry: Registry
    tracker: Tracker


@dataclass(slots=True)
class Daemon:
    config: Path | None
    environ: Mapping[str, str]
    hostname: str
    stop: threading.Event = field(default_factory=threading.Event)
    reload: threading.Event = field(default_factory=threading.Event)
    overflow: threading.Event = field(default_factory=threading.Event)
    resync: threading.Event = field(default_factory=threading.Event)  # rescan, not an overflow
    metrics: Metrics = field(default_factory=Metrics)
    watcher: RootWatcher | None = None
    wake_sender: threading.Event = field(default_factory=threading.Event)
    clock: Callable[[], float] = time.time
    started_at: float = field(default_factory=time.time)  # /healthz: no delivery since when
    live: _Live | None = None
    outbox: Outbox | None = None
    state: BuildState | None = None
    sender: Sender | None = None
    reported: int = 0
    _work: queue.Queue[Candidate] | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: TextIO | None = None

    def _load(self) -> _Live:
        settings = load_settings(self.config, self.environ)
        if not settings.watches:
            raise ConfigError(f"{settings.source}: no [[watch]] table: nothing to watch")
        require_instance(settings)
        registry = load_parsers(settings.parsers)
        for failure in registry.failures:
            log.warning("plugin.failed", error=failure)
        assert self.state is not None
        return _Live(settings, registry, Tracker(settings.watches, self.state, self.clock))

    def _start(self) -> tuple[RootWatcher, queue.Queue[str], Notifier]:
        settings = load_settings(self.config, self.environ)
        self._lock = lock_state_dir(settings.state_dir)  # held for the daemon's life
        if settings.target == "sei":  # with target nats this host holds no SEI key
            register_secret(load_api_key(settings, self.environ))
        self.outbox = open_outbox(settings)  # a read-only or full state dir fails here, loudly
        self.state = BuildState(settings.state_dir / STATE_FILE)
        heal_after_corruption(self.outbox, self.state)
        self.live = self._load()
        self.sender = make_sender(settings, self.outbox, self.environ)
        self.sender.metrics = self.metrics
        if settings.metrics_listen:
            serve_metrics(self, settings.metrics_listen)
        self._work = queue.Queue(maxsize=settings.daemon.queue_size)
        events: queue.Queue[str] = queue.Queue(maxsize=settings.daemon.queue_size)
        route_watchdog_logs(self.overflow)
        watcher = self.watcher = RootWatcher(events, self.overflow)
        if settings.daemon.events:
            watcher.sync(settings.watches)
        for n in range(settings.daemon.workers):
            self._spawn(f"worker-{n}", self._worker)
        self._spawn("sender", self._sender_loop)
        if settings.otel.enabled:  # the trace output: its own thread, never in SEI's way
            self._spawn("traces", self._trace_loop)
        return watcher, events, Notifier(self.environ)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def _sender_loop(self) -> None:
        assert self.sender is not None
        while not self.stop.is_set():
            try:
                self.sender.run(self.stop, idle=1.0, wake=self.wake_sender)
            except Exception:  # a bug in delivery must not end delivery for good
                log.exception("sender.crashed", action="restarting the sender loop")
                self.stop.wait(1.0)

    def _trace_loop(self) -> None:
        from sei_watch.deliver import run_traces  # noqa: PLC0415  (the trace output on only)

        assert self.live is not None
        run_traces(self.live.settings, self.stop)

    def run(self) -> int:
        """Run until SIGTERM/SIGINT; return the exit status."""
        watcher, events, notify = self._start()
        assert self.live is not None
        assert self._work is not None
        self._signals()
        found = self.live.tracker.rescan()
        self.metrics.inc("rescans_total")
        log.info("daemon.ready", builds_found=found, roots=len(self.live.settings.watches))
        notify.ready(self._status())
        last_rescan = last_full = last_status = last_ping = last_look = time.monotonic()
        try:
            while not self.stop.is_set():
                self._drain(events)
                live = self.live
                now = time.monotonic()
                if self.reload.is_set():
                    self.reload.clear()
                    self._reload(watcher)
                    live = self.live
                if watcher.check():
                    self.resync.set()
                # A root that is gone (deleted, not mounted yet) is looked for every second, and
                # rescanned as soon as it is back, not at the next periodic rescan.
                if watcher.missing and now - last_look >= 1.0 and live.settings.daemon.events:
                    last_look = now
                    if watcher.sync(live.settings.watches, retry_degraded=False):
                        self.resync.set()
                # A root events cannot cover (too deep to watch) is rescanned every few seconds.
                # Only the walk to the pattern depth, never the tree that broke the watch:
                # watching it again is tried at the periodic rescan, not every few seconds.
                fast = bool(watcher.degraded) and now - last_rescan >= DEGRADED_RESCAN
                full = now - last_full >= live.settings.daemon.rescan
                if fast or full or self.overflow.is_set() or self.resync.is_set():
                    if self.overflow.is_set():
                        log.warning("watch.overflow", action="rescanning the roots")
                        self.metrics.inc("watch_overflows_total")
                    self.overflow.clear()
                    self.resync.clear()
                    if live.settings.daemon.events:
                        watcher.sync(live.settings.watches, retry_degraded=full)
                    live.tracker.rescan()
                    self.metrics.inc("rescans_total")
                    last_rescan = now
                    last_full = now if full else last_full
                for cand in live.tracker.due():
                    self._work.put(cand)
                    self.metrics.inc("builds_seen_total")
                if notify.watchdog_interval and now - last_ping >= notify.watchdog_interval:
                    if self.healthy(watcher):
                        notify.watchdog()
                    last_ping = now
                if now - last_status >= 5:
                    notify.status(self._status())
                    last_status = now
        finally:
            notify.stopping()
            log.info("daemon.stopping", reported=self.reported)
            watcher.stop()
            self.stop.set()
            for t in self._threads:
                t.join(timeout=10)
            if self.sender is not None:
                self.sender.client.close()
            if self.outbox is not None:
                self.outbox.close()
        return 0

    def _drain(self, events: queue.Queue[str]) -> None:
        assert self.live is not None
        tracker = self.live.tracker
        # Wake often only while a build is settling; idle, a few wake-ups a second will do.
        try:
            path = events.get(timeout=0.05 if tracker.candidates else 0.5)
        except queue.Empty:
            return
        tracker.on_path(Path(path))
        for _ in range(10_000):
            try:
                tracker.on_path(Path(events.get_nowait()))
            except queue.Empty:
                break

    def healthy(self, watcher: RootWatcher) -> bool:
        """Whether the observers, the workers and the sender all run."""
        return watcher.healthy() and all(t.is_alive() for t in self._threads)

    def _status(self) -> str:
        if self.outbox is None:
            return "starting"
        try:
            stats = self.outbox.stats()
        except SeiWatchError:
            return "outbox unavailable"
        last = self.sender.last_delivery if self.sender else None
        when = time.strftime("%H:%M:%S", time.localtime(last)) if last else "never"
        return (
            f"{self.reported} builds reported; outbox {stats['pending']} pending, "
            f"{stats['dead']} dead; last delivery {when}"
        )

    def _signals(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.stop.set())
        signal.signal(signal.SIGINT, lambda *_: self.stop.set())
        signal.signal(signal.SIGHUP, lambda *_: self.reload.set())

    def _reload(self, watcher: RootWatcher) -> None:
        """Everything is read again, [sei] too (URL, key, TLS, rate limit), and checked before
        it replaces what runs: a bad config keeps the old one and says why."""
        assert self.live is not None
        assert self.sender is not None
        assert self.outbox is not None
        try:
            fresh = self._load()
            key = (
                load_api_key(fresh.settings, self.environ)
                if fresh.settings.target == "sei"
                else None
            )
            sender = make_sender(fresh.settings, self.outbox, self.environ)
        except SeiWatchError as exc:
            log.error("config.reload_failed", error=str(exc), action="kept the running config")
            self.metrics.inc("reloads_total", result="failed")
            return
        if key:
            register_secret(key)
        fresh.tracker.candidates.update(self.live.tracker.candidates)  # queued work survives
        self.live = fresh
        # The sender thread reads these between requests; a request in flight finishes.
        self.sender.replace_client(sender.client)
        self.sender.limit = sender.limit
        self.sender.backoff, self.sender.multipart = sender.backoff, sender.multipart
        self.sender.scope = sender.scope
        if fresh.settings.daemon.events:
            watcher.sync(fresh.settings.watches)
        self.resync.set()
        self.metrics.inc("reloads_total", result="ok")
        log.info(
            "config.reloaded",
            watches=len(fresh.settings.watches),
            sei=sender.client.base,
            max_per_minute=fresh.settings.sei.max_per_minute,
        )

    def _worker(self) -> None:
        assert self._work is not None
        while not self.stop.is_set():
            try:
                cand = self._work.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self._report(cand)
            except SeiWatchError as exc:
                log.error(
                    "build.failed",
                    dir=str(cand.dir),
                    error=str(exc),
                    action="kept for the next rescan",
                )
                self.metrics.inc("builds_failed_total", reason="error")
            except Exception:  # one build's bug must not take a worker down
                log.exception("build.crashed", dir=str(cand.dir))
                self.metrics.inc("builds_failed_total", reason="crashed")

    def _report(self, cand: Candidate) -> None:
        assert self.live is not None
        assert self.outbox is not None
        assert self.state is not None
        key = report_candidate(
            cand,
            settings=self.live.settings,
            registry=self.live.registry,
            outbox=self.outbox,
            state=self.state,
            metrics=self.metrics,
            wake=self.wake_sender,
            hostname=self.hostname,
            now_ms=int(self.clock() * 1000),
            destination=self.sender.scope.destination if self.sender else None,
            lookup=getattr(self.sender.client, "instance", None) if self.sender else None,
        )
        if key is not None:
            self.state.mark_reported(str(cand.dir), cand.fingerprint or "", key)
            self.reported += 1
