"""Operating the daemon (issue #19, item 1): the real daemon's `/metrics` endpoint, scraped
over HTTP, moves as builds flow; `/healthz` and `/readyz` answer for probes."""

from __future__ import annotations

import re
import socket
import urllib.request
from pathlib import Path

from .daemonproc import DaemonProc, wait_for, write_build
from .sei_server import StandIn
from .test_daemon import spool


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scrape(port: int, path: str = "/metrics") -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _value(text: str, series: str) -> float:
    m = re.search(rf"(?m)^sei_watch_{re.escape(series)} (\S+)$", text)
    assert m is not None, f"{series} not in:\n{text}"
    return float(m.group(1))


def test_metrics_move_as_builds_flow(tmp_path: Path, sei: StandIn) -> None:
    """Before: nothing reported. After two builds (one with a broken report): two reported
    and delivered, one parse problem from junit, an empty outbox, a last delivery time."""
    port = _free_port()
    root, watches = spool(tmp_path)
    d = DaemonProc(tmp_path, sei, watches + f'\n[metrics]\nlisten = "127.0.0.1:{port}"\n').start()
    try:
        status, before = _scrape(port)
        assert status == 200
        assert "# TYPE sei_watch_builds_reported_total counter" in before
        assert _value(before, "builds_reported_total") == 0
        write_build(root / "app" / "1")
        write_build(root / "app" / "2", junit="<testsuite><testcase name='x'")
        wait_for(lambda: len(sei.accepted) == 2, 15, "two builds")
        wait_for(lambda: _value(_scrape(port)[1], "payloads_delivered_total") == 2, 10, "scrape")
        _, after = _scrape(port)
        assert _value(after, "builds_reported_total") == 2
        assert _value(after, "builds_seen_total") >= 2
        assert _value(after, "outbox_depth") == 0
        assert _value(after, "last_delivery_timestamp_seconds") > 0
        assert _value(after, 'parse_problems_total{parser="junit"}') >= 1
        assert _value(after, "rescans_total") >= 1
        assert _scrape(port, "/healthz") == (200, "ok: observers, workers and sender run\n")
        assert _scrape(port, "/readyz")[0] == 200
        assert _scrape(port, "/nope")[0] == 404
    finally:
        assert d.stop() == 0
