"""`sei-watch backfill`: report every completed build under the roots, so DORA history starts
full. It goes through the same outbox and state as the daemon, so a second run sends nothing
twice, and an interrupted run resumes where it stopped."""

from __future__ import annotations

import calendar
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TextIO

from sei_watch.config import Settings, WatchSpec
from sei_watch.context import STATE_FILE, BuildState
from sei_watch.deliver import make_sender, open_outbox, submit
from sei_watch.errors import ConfigError, SeiWatchError
from sei_watch.payload import Report, report_watched, require_instance
from sei_watch.plugins import load_parsers

from .tracker import Tracker, fingerprint, fingerprint_time

__all__ = ["Backfill", "parse_rate", "parse_since"]


def parse_since(since: str | None, last: str | None, now: float) -> float:
    """Epoch seconds from `--since 2026-01-01` or `--last 90d` (d, h or m); 0 means all."""
    if since:
        try:
            return float(calendar.timegm(time.strptime(since, "%Y-%m-%d")))
        except ValueError as exc:
            raise ConfigError(f"--since {since!r}: use YYYY-MM-DD") from exc
    if last:
        unit = {"d": 86400, "h": 3600, "m": 60}.get(last[-1:])
        if unit is None or not last[:-1].isdigit():
            raise ConfigError(f"--last {last!r}: use a number with d, h or m (90d)")
        return now - int(last[:-1]) * unit
    return 0.0


def parse_rate(text: str) -> float:
    """Builds per second from `20/s`, `600/m` or `20`."""
    value, _, per = text.partition("/")
    try:
        rate = float(value) / {"": 1, "s": 1, "m": 60, "h": 3600}[per]
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"--rate {text!r}: use N/s, N/m or N/h") from exc
    if rate <= 0:
        raise ConfigError("--rate must be positive")
    return rate


@dataclass(slots=True)
class Backfill:
    settings: Settings
    environ: Mapping[str, str]
    hostname: str
    out: TextIO
    err: TextIO
    since: float = 0.0
    watch: str | None = None
    rate: float = 20.0
    stop: threading.Event = field(default_factory=threading.Event)
    clock: Callable[[], float] = time.time

    def _watches(self) -> tuple[WatchSpec, ...]:
        watches = tuple(w for w in self.settings.watches if self.watch in (None, w.name))
        if not watches:
            raise ConfigError(
                f"no [[watch]] named {self.watch!r}"
                if self.watch
                else "no [[watch]] tables: nothing to backfill"
            )
        return watches

    def builds(self, state: BuildState) -> Iterator[tuple[WatchSpec, Path, str, dict[str, str]]]:
        """Complete builds in the window that were not reported with this fingerprint."""
        tracker = Tracker(self._watches(), state, self.clock)
        reported = state.reported_dirs()
        for watch in tracker.watches:
            for directory in tracker._build_dirs(watch):
                fp = fingerprint(watch, directory)
                if fp is None or reported.get(str(directory)) == fp:
                    continue
                if (fingerprint_time(fp) or 0) < self.since:
                    continue
                found = watch.match(PurePosixPath(directory.relative_to(watch.root).as_posix()))
                yield watch, directory, fp, (found[1] if found else {})

    def _report(
        self,
        watch: WatchSpec,
        directory: Path,
        *,
        state: BuildState | None,
        captures: dict[str, str],
        registry: Any,
    ) -> Report:
        return report_watched(
            watch,
            directory,
            captures,
            registry,
            self.settings,
            hostname=self.hostname,
            now_ms=int(self.clock() * 1000),
            state=state,
        )

    def dry_run(self) -> int:
        registry = load_parsers(self.settings.parsers)
        state = BuildState(self.settings.state_dir / STATE_FILE)
        jobs: dict[str, list[int]] = {}
        sample: dict[str, Any] | None = None
        for watch, directory, _, captures in self.builds(state):
            report = self._report(
                watch, directory, state=None, captures=captures, registry=registry
            )
            p = report.payload
            jobs.setdefault(str(p["job_full_name"]), []).append(int(p["start_time"]))
            sample = sample or p
        self.out.write(f"{'job':<50} {'builds':>7}  first .. last\n")
        for job, starts in sorted(jobs.items()):
            first, last = (
                time.strftime("%Y-%m-%d", time.gmtime(t / 1000)) for t in (min(starts), max(starts))
            )
            self.out.write(f"{job[:50]:<50} {len(starts):>7}  {first} .. {last}\n")
        total = sum(len(v) for v in jobs.values())
        self.out.write(f"{total} builds would be reported\n")
        if sample is not None:
            self.out.write("sample payload:\n" + json.dumps(sample, indent=2)[:4000] + "\n")
        return total

    def run(self, *, flush_timeout: float = 300.0) -> tuple[int, int]:
        """Report and deliver; return (reported, still pending)."""
        require_instance(self.settings)
        registry = load_parsers(self.settings.parsers)
        outbox = open_outbox(self.settings)
        state = BuildState(self.settings.state_dir / STATE_FILE)
        sender = make_sender(self.settings, outbox, self.environ)
        wake = threading.Event()
        sending = threading.Event()
        sender_thread = threading.Thread(
            target=lambda: sender.run(sending, idle=0.5, wake=wake), daemon=True
        )
        sender_thread.start()
        todo = list(self.builds(state))
        done, t0, lock = 0, time.monotonic(), threading.Lock()
        interval = 1.0 / self.rate
        next_slot = [time.monotonic()]

        def one(item: tuple[WatchSpec, Path, str, dict[str, str]]) -> None:
            nonlocal done
            if self.stop.is_set():
                return
            with lock:  # the rate limit: one slot per 1/rate seconds
                wait = next_slot[0] - time.monotonic()
                next_slot[0] = max(next_slot[0], time.monotonic()) + interval
            if wait > 0 and self.stop.wait(wait):
                return
            watch, directory, fp, captures = item
            try:
                report = self._report(
                    watch,
                    directory,
                    state=state,
                    captures=captures,
                    registry=registry,
                )
            except SeiWatchError as exc:
                self.err.write(f"sei-watch: {directory}: {exc}\n")
                return
            sub = submit(
                outbox,
                report,
                self.settings,
                state,
                destination=sender.scope.destination,
                lookup=getattr(sender.client, "instance", None),
            )
            if sub.invalid:
                self.err.write(f"sei-watch: {directory}: invalid payload: {list(sub.invalid)}\n")
                return
            if sub.refused is not None:
                self.err.write(f"sei-watch: {directory}: not posted: {sub.refused}\n")
                return
            wake.set()
            state.mark_reported(str(directory), fp, report.key)
            with lock:
                done += 1
                self._progress(done, len(todo), t0)

        with ThreadPoolExecutor(max_workers=max(self.settings.daemon.workers, 1)) as pool:
            list(pool.map(one, todo))
        deadline = time.monotonic() + (0 if self.stop.is_set() else flush_timeout)
        while time.monotonic() < deadline and outbox.stats()["pending"]:
            wake.set()
            time.sleep(0.1)
        sending.set()
        sender_thread.join(timeout=60)
        sender.client.close()
        pending = outbox.stats()["pending"]
        outbox.close()
        self.err.write(
            f"\nsei-watch: backfill reported {done} of {len(todo)} builds; "
            f"{pending} waiting in the outbox\n"
        )
        return done, pending

    def _progress(self, done: int, total: int, t0: float) -> None:
        rate = done / max(time.monotonic() - t0, 1e-6)
        eta = (total - done) / rate if rate else 0
        if self.err.isatty():
            bar = "#" * int(30 * done / max(total, 1))
            self.err.write(f"\r[{bar:<30}] {done}/{total} {rate:.0f}/s ETA {eta:.0f}s ")
        elif done % max(total // 20, 100) == 0 or done == total:
            self.err.write(f"sei-watch: backfill {done}/{total} ({rate:.0f}/s, ETA {eta:.0f}s)\n")
