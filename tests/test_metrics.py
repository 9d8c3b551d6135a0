"""Operating the daemon (issue #19, item 1): the real daemon's `/metrics` endpoint, scraped
over HTTP, moves as builds flow; `/healthz` and `/readyz` answer for probes."""

from __future__ import annotations

import http.client
import re
import socket
import urllib.request
from pathlib import Path

from .conftest_sei import API_KEY, GUID
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


def _answers(port: int) -> bool:
    """Whether a scrape is answered now (a connection over the cap is closed unanswered)."""
    try:
        return _scrape(port)[0] == 200
    except (OSError, http.client.HTTPException):
        return False


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


def test_scrape_parses_and_tells_the_last_delivery_to_the_millisecond(
    tmp_path: Path, sei: StandIn
) -> None:
    """prometheus_client's own parser reads the scrape; the last delivery's time is exact
    (`:g` wrote 1.79628e+09, up to thousands of seconds off); HEAD /healthz answers 200."""
    import time

    from prometheus_client.parser import text_string_to_metric_families

    port = _free_port()
    root, watches = spool(tmp_path)
    d = DaemonProc(tmp_path, sei, watches + f'\n[metrics]\nlisten = "127.0.0.1:{port}"\n').start()
    try:
        write_build(root / "app" / "1")
        wait_for(lambda: len(sei.accepted) == 1, 15, "the build")
        accepted_at = time.time()
        wait_for(lambda: _value(_scrape(port)[1], "payloads_delivered_total") == 1, 10, "scrape")
        families = {f.name: f for f in text_string_to_metric_families(_scrape(port)[1])}
        (sample,) = families["sei_watch_last_delivery_timestamp_seconds"].samples
        assert abs(sample.value - accepted_at) < 2.0
        assert sample.value != round(sample.value)  # milliseconds kept, not rounded away
        head = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", method="HEAD")
        with urllib.request.urlopen(head, timeout=5) as resp:
            assert resp.status == 200
    finally:
        assert d.stop() == 0


def test_healthz_turns_503_when_sei_refuses_the_key(tmp_path: Path) -> None:
    """A revoked key: SEI answers 401 to every post; /healthz is 503 with the reason, /readyz
    stays 200, and the refusal is counted."""
    sei = StandIn("another-key", instances={}).start()
    port = _free_port()
    root, watches = spool(tmp_path)
    d = DaemonProc(tmp_path, sei, watches + f'\n[metrics]\nlisten = "127.0.0.1:{port}"\n')
    try:
        d.start()
        write_build(root / "app" / "1")
        wait_for(lambda: _scrape(port, "/healthz")[0] == 503, 20, "healthz 503")
        _, body = _scrape(port, "/healthz")
        assert "refused" in body
        assert _scrape(port, "/readyz")[0] == 200
        assert _value(_scrape(port)[1], 'payloads_refused_total{reason="auth"}') >= 1
    finally:
        d.stop()
        sei.stop()


def test_idle_connections_never_starve_the_daemon(tmp_path: Path, sei: StandIn) -> None:
    """300 idle connections to /metrics (a slowloris from any local user): the daemon keeps a
    bounded number of threads, still answers a scrape, and still delivers a build."""
    port = _free_port()
    root, watches = spool(tmp_path)
    d = DaemonProc(tmp_path, sei, watches + f'\n[metrics]\nlisten = "127.0.0.1:{port}"\n').start()
    idle: list[socket.socket] = []
    try:
        for _ in range(300):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /metr")  # half a request, never finished
            idle.append(s)
        assert d.proc is not None
        status = Path(f"/proc/{d.proc.pid}/status").read_text()
        threads = int(re.search(r"(?m)^Threads:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        assert threads < 40, threads
        write_build(root / "app" / "1")
        wait_for(lambda: len(sei.accepted) == 1, 20, "a build delivered beside 300 idle sockets")
        wait_for(lambda: _answers(port), 30, "a scrape answered once the idle ones timed out")
    finally:
        for s in idle:
            s.close()
        assert d.stop() == 0


def _with_sei_down(tmp_path: Path, extra: str) -> tuple[StandIn, DaemonProc, int, Path]:
    """A stand-in answering 503 to every post, and the real daemon serving metrics, with
    `extra` config lines after `[metrics] listen`."""
    down = StandIn(API_KEY, instances={GUID: "agents"}, fault_rate=1.0, faults=("503",)).start()
    port = _free_port()
    root, watches = spool(tmp_path)
    config = f'{watches}\n[metrics]\nlisten = "127.0.0.1:{port}"\n{extra}'
    return down, DaemonProc(tmp_path, down, config).start(), port, root


def test_a_full_outbox_refuses_builds_with_a_metric_and_stays_up(tmp_path: Path) -> None:
    """SEI down and the outbox at its row cap: the next build is refused with a log line that
    says why and `builds_failed_total{reason="outbox_full"}`; the daemon keeps running, and the
    waiting bytes are a gauge."""
    down, d, port, root = _with_sei_down(tmp_path, "[outbox]\nmax_rows = 1\n")
    try:
        write_build(root / "app" / "1")
        wait_for(lambda: bool(d.seen("payload.queued")), 20, "the first build queued")
        write_build(root / "app" / "2")
        wait_for(lambda: bool(d.seen("payload.refused")), 20, "the second build refused")
        assert "is full" in str(d.seen("payload.refused")[0]["reason"])
        _, text = _scrape(port)
        assert _value(text, 'builds_failed_total{reason="outbox_full"}') == 1
        assert _value(text, "outbox_waiting_bytes") > 0
        assert d.proc is not None
        assert d.proc.poll() is None
    finally:
        assert d.stop() == 0
        down.stop()


def test_process_metrics_build_info_and_a_stale_queue(tmp_path: Path) -> None:
    """The scrape carries the standard `process_*` metrics, `sei_watch_build_info` and the
    oldest pending age, all read by prometheus_client's parser; with SEI answering 503 for
    longer than `[metrics] stale_after` while a payload waits, /healthz turns 503 and says so."""
    from prometheus_client.parser import text_string_to_metric_families

    down, d, port, root = _with_sei_down(tmp_path, "stale_after = 1.0\n")
    try:
        write_build(root / "app" / "1")
        wait_for(lambda: _scrape(port, "/healthz")[0] == 503, 20, "healthz 503 for a stale queue")
        assert "no post has succeeded" in _scrape(port, "/healthz")[1]
        families = {f.name: f for f in text_string_to_metric_families(_scrape(port)[1])}
        assert families["process_resident_memory_bytes"].samples[0].value > 10 << 20
        assert families["process_open_fds"].samples[0].value > 3
        (info,) = families["sei_watch_build_info"].samples
        assert info.labels["version"]
        assert families["sei_watch_oldest_pending_age_seconds"].samples[0].value >= 0
    finally:
        assert d.stop() == 0
        down.stop()
