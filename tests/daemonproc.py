"""Run the real daemon as a subprocess against the SEI stand-in, and wait on what it does."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .conftest_sei import API_KEY, GUID
from .sei_server import StandIn


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or predicate}")


class DaemonProc:
    """`sei-watch run` with a config written here; its JSON log lines collected as they come."""

    def __init__(
        self,
        tmp: Path,
        sei: StandIn,
        watches: str,
        *,
        daemon: str = "",
        env: dict[str, str] | None = None,
    ) -> None:
        self.tmp = tmp
        self.config = tmp / "sei-watch.toml"
        self.config.write_text(
            f'[sei]\nurl = "{sei.url}"\ninstance_guid = "{GUID}"\ninstance_name = "agents"\n'
            f"read_timeout = 2.0\nbackoff_cap = 0.2\nmax_per_minute = 0\n"
            f'[state]\ndir = "{tmp / "state"}"\n[daemon]\n{daemon}\n{watches}\n'
        )
        self.env = {**os.environ, "SEI_API_KEY": API_KEY, **(env or {})}
        self.lines: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self.proc: subprocess.Popen[str] | None = None

    def start(self, *, ready: bool = True) -> DaemonProc:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sei_watch", "run", "--config", str(self.config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
        )
        threading.Thread(target=self._read, daemon=True).start()
        if ready:
            wait_for(lambda: self.seen("daemon.ready"), 15, "daemon.ready")
        return self

    def _read(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.raw.append(line)
            with contextlib.suppress(ValueError):
                self.lines.append(json.loads(line))

    def seen(self, event: str, **match: Any) -> list[dict[str, Any]]:
        return [
            e
            for e in list(self.lines)
            if e.get("event") == event and all(e.get(k) == v for k, v in match.items())
        ]

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 15.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def write_build(
    directory: Path, *, junit: str | None = None, marker: bool = True, result: str = "SUCCESS"
) -> None:
    """A build output: a JUnit report and, by default, a marker written as `mark` would."""
    reports = directory / "test-results"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "junit.xml").write_text(
        junit
        or (
            '<testsuite name="unit" time="1.5" timestamp="2026-11-20T09:14:03Z">'
            '<testcase classname="a" name="t1" time="1"/><testcase classname="a" name="t2" '
            'time="0.5"/></testsuite>'
        )
    )
    if marker:
        from sei_watch.context.marker import write_marker

        write_marker(directory, {"result": result, "facts": {}, "sources": {}, "params": {}})
