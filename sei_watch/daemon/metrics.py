"""What the daemon does, for Prometheus and for probes: `[metrics] listen = "127.0.0.1:9464"`
(off by default) serves `/metrics` in Prometheus' text format (written here, every value in
full precision; the tests read it with prometheus_client's own parser), `/healthz` (alive: the
observers, workers and sender run, and SEI takes the key) and `/readyz` (the config is
loaded, the state writable).

The server is bounded: a fixed pool of threads, a read timeout, a cap on connections waiting;
a connection past the cap is closed at once. Idle or half-sent connections from any local
user cost a socket, never a thread, and never delay a delivery."""

from __future__ import annotations

import contextlib
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from sei_watch import __version__
from sei_watch.errors import ConfigError

__all__ = ["HELP", "Metrics", "MetricsServer", "parse_listen", "serve_metrics"]

HELP = {
    "builds_seen_total": ("counter", "Builds found complete and handed to a worker."),
    "builds_completed_total": ("counter", "Builds parsed and assembled."),
    "builds_reported_total": ("counter", "Builds whose payload was queued for SEI."),
    "builds_failed_total": ("counter", "Builds not queued, by reason."),
    "payloads_enqueued_total": ("counter", "Payloads written to the outbox, by outcome."),
    "payloads_delivered_total": ("counter", "Payloads SEI accepted (202)."),
    "payloads_retried_total": ("counter", "Delivery attempts to be retried."),
    "payloads_dead_total": ("counter", "Payloads refused for good (kept in the outbox)."),
    "payloads_refused_total": ("counter", "Posts SEI refused for the key or access, by reason."),
    "reloads_total": ("counter", "Configuration reloads (SIGHUP), by result."),
    "parse_problems_total": ("counter", "Problems found in build files, by parser."),
    "watch_overflows_total": ("counter", "inotify queue overflows (each starts a rescan)."),
    "rescans_total": ("counter", "Full reconciliations of the watch roots."),
    "outbox_depth": ("gauge", "Payloads waiting (pending or in flight)."),
    "stream_lag": ("gauge", "sei-watch relay: payloads in the stream not yet acked (NAKed too)."),
    "outbox_dead": ("gauge", "Dead payloads kept in the outbox."),
    "outbox_waiting_bytes": ("gauge", "Bytes waiting in the outbox (runs and tests' zips)."),
    "outbox_zips_dropped": ("gauge", "Tests' zips dropped to stay under the byte cap, ever."),
    "outbox_oldest_pending_seconds": ("gauge", "Age of the oldest waiting payload."),
    "oldest_pending_age_seconds": ("gauge", "Age of the oldest waiting payload (alias)."),
    "last_delivery_timestamp_seconds": ("gauge", "When SEI last accepted a payload (epoch)."),
    # sei-watch relay only (shown once it has a value):
    "relay_requests_total": ("counter", "Requests to SEI, by status (or outcome)."),
    "relay_breaker_opened_total": ("counter", "Times the circuit breaker opened."),
    "relay_post_seconds": ("histogram", "Time of one POST to SEI."),
    "relay_nats_connected": ("gauge", "1 while connected to NATS."),
    "relay_hold": ("gauge", "1 while held: SEI refused the key, or NATS a permission."),
    "relay_breaker_open": ("gauge", "1 while the breaker keeps SEI unasked."),
    "relay_stream_bytes": ("gauge", "Bytes in the payload stream."),
    "relay_stream_bytes_ratio": ("gauge", "The payload stream's bytes over its max_bytes."),
    "relay_oldest_message_age_seconds": ("gauge", "Age of the oldest payload in the stream."),
    "relay_consumer_pending": ("gauge", "Messages the relays' consumer has not handed out."),
    "relay_ack_pending": ("gauge", "Messages handed out and not yet acked."),
    "relay_redelivered": ("gauge", "Messages handed out more than once."),
    "relay_dead_messages": ("gauge", "Dead letters kept in the dead stream."),
}
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Each bucket's bound and its `le` label; a histogram's count is its +Inf bucket, kept once.
_LE = tuple((b, "+Inf" if b == math.inf else repr(b)) for b in (*BUCKETS, math.inf))
_SUM = (("", "sum"),)


def _number(value: float) -> str:
    """A sample value in full: whole numbers as integers, others as the shortest exact float
    (`:g` kept six digits: an epoch time came out thousands of seconds off)."""
    if math.isfinite(value) and value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(
        f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in sorted(labels.items())
    )
    return "{" + inner.replace("\n", "\\n") + "}"


class Metrics:
    """Counters the daemon's threads add to, and gauges read when scraped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
        self.gauges: Callable[[], dict[str, float | None]] = dict

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._values.setdefault(name, {})
            series[key] = series.get(key, 0.0) + amount

    def observe(self, name: str, value: float) -> None:
        """One sample of a histogram (cumulative buckets, as Prometheus reads them)."""
        with self._lock:
            series = self._values.setdefault(name, {})
            for bound, le in _LE:
                if value <= bound:
                    series[(("le", le),)] = series.get((("le", le),), 0.0) + 1
            series[_SUM] = series.get(_SUM, 0.0) + value

    def value(self, name: str, **labels: str) -> float:
        with self._lock:
            return self._values.get(name, {}).get(tuple(sorted(labels.items())), 0.0)

    def render(self) -> str:
        """The Prometheus text exposition format, version 0.0.4."""
        with self._lock:
            snapshot = {k: dict(v) for k, v in self._values.items()}
        gauges = self.gauges()
        lines: list[str] = []
        for name, (kind, text) in HELP.items():
            full = f"sei_watch_{name}"
            if name.startswith("relay_") and name not in snapshot and gauges.get(name) is None:
                continue  # a relay's own: not on the daemon's page
            lines += [f"# HELP {full} {text}", f"# TYPE {full} {kind}"]
            if kind == "histogram":
                lines += _histogram(full, snapshot.get(name, {}))
                continue
            if kind == "gauge":
                value = gauges.get(name)
                if value is not None:
                    lines.append(f"{full} {_number(value)}")
                continue
            series = snapshot.get(name) or {(): 0.0}
            for key, value in sorted(series.items()):
                lines.append(f"{full}{_labels(dict(key))} {_number(value)}")
        lines += [
            "# HELP sei_watch_build_info The running sei-watch's version.",
            "# TYPE sei_watch_build_info gauge",
            f'sei_watch_build_info{{version="{__version__}"}} 1',
            *_process(),
        ]
        return "\n".join(lines) + "\n"


def _histogram(full: str, series: dict[tuple[tuple[str, str], ...], float]) -> list[str]:
    out = [f'{full}_bucket{{le="{le}"}} {_number(series.get((("le", le),), 0.0))}' for _, le in _LE]
    out.append(f"{full}_sum {_number(series.get(_SUM, 0.0))}")
    out.append(f"{full}_count {_number(series.get((('le', '+Inf'),), 0.0))}")
    return out


def _process() -> list[str]:
    """The standard process metrics (as prometheus_client's ProcessCollector names them),
    read from /proc/self; nothing where there is no /proc."""
    try:
        stat = Path("/proc/self/stat").read_text().rpartition(")")[2].split()
        fds = len(os.listdir("/proc/self/fd"))
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, StopIteration, ValueError, IndexError):
        return []
    tick, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    values = {
        "process_cpu_seconds_total": ("counter", (int(stat[11]) + int(stat[12])) / tick),
        "process_resident_memory_bytes": ("gauge", int(stat[21]) * page),
        "process_virtual_memory_bytes": ("gauge", int(stat[20])),
        "process_start_time_seconds": ("gauge", boot + int(stat[19]) / tick),
        "process_open_fds": ("gauge", fds),
    }
    out = []
    for name, (kind, value) in values.items():
        out += [f"# HELP {name} {name.replace('_', ' ')}.", f"# TYPE {name} {kind}"]
        out.append(f"{name} {_number(float(value))}")
    return out


def parse_listen(text: str) -> tuple[str, int]:
    """`host:port` (IPv6 as `[::1]:9464`)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ConfigError(f"[metrics] listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9464")
    return host.strip("[]"), int(port)


class _Handler(BaseHTTPRequestHandler):
    server: MetricsServer
    timeout = 2.0  # a request not sent whole within this closes the connection

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, *, body: bool) -> None:
        srv = self.server
        if self.path == "/metrics":
            status, text = 200, srv.metrics.render()
            ctype = "text/plain; version=0.0.4; charset=utf-8"
        elif self.path in ("/healthz", "/readyz"):
            ok, detail = (srv.health if self.path == "/healthz" else srv.ready)()
            status, text, ctype = (200 if ok else 503), detail + "\n", "text/plain"
        else:
            status, text, ctype = 404, "not found\n", "text/plain"
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)


WORKERS = 4
MAX_WAITING = 16


class MetricsServer(HTTPServer):
    """The endpoint: one accepting thread, `WORKERS` answering; it only reads what the daemon
    exposes."""

    def __init__(
        self,
        listen: str,
        metrics: Metrics,
        *,
        health: Callable[[], tuple[bool, str]],
        ready: Callable[[], tuple[bool, str]],
    ) -> None:
        try:
            super().__init__(parse_listen(listen), _Handler)
        except OSError as exc:
            raise ConfigError(f"[metrics] listen {listen!r}: {exc.strerror}") from exc
        self.metrics, self.health, self.ready = metrics, health, ready
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="metrics")
        self._waiting = 0
        self._count = threading.Lock()
        threading.Thread(target=self.serve_forever, name="metrics", daemon=True).start()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._count:
            full = self._waiting >= MAX_WAITING
            if not full:
                self._waiting += 1
        if full:  # past the cap: closed at once, never queued
            self.shutdown_request(request)
            return
        self._pool.submit(self._serve, request, client_address)

    def _serve(self, request: socket.socket, client_address: Any) -> None:
        try:
            with contextlib.suppress(Exception):  # one client's broken request, not the server
                self.finish_request(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._count:
                self._waiting -= 1

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


def serve_metrics(daemon: Any, listen: str) -> MetricsServer:
    """The endpoint for a running daemon: its counters, its outbox read at each scrape, its
    threads for /healthz, its config and state directory for /readyz."""

    def gauges() -> dict[str, float | None]:
        stats = daemon.outbox.stats()
        last = daemon.sender.last_delivery if daemon.sender is not None else None
        return {
            "outbox_depth": float(stats["pending"] + stats["inflight"]),
            "outbox_dead": float(stats["dead"]),
            "outbox_waiting_bytes": float(stats["waiting_bytes"]),
            "outbox_zips_dropped": float(stats["attachments_dropped"]),
            "outbox_oldest_pending_seconds": float(stats["oldest_pending_age_s"] or 0.0),
            "oldest_pending_age_seconds": float(stats["oldest_pending_age_s"] or 0.0),
            "last_delivery_timestamp_seconds": last,
        }

    def health() -> tuple[bool, str]:
        watcher = daemon.watcher
        alive = watcher is not None and daemon.healthy(watcher)
        if not alive:
            return False, "a thread died"
        held = daemon.sender.held if daemon.sender is not None else None
        if held:  # a revoked key or an instance without access: nothing will be delivered
            return False, f"SEI refused delivery: {held}"
        stale = daemon.live.settings.metrics_stale_after if daemon.live is not None else 0.0
        if stale:
            stats = daemon.outbox.stats()
            waiting = stats["pending"] + stats["inflight"]
            last = daemon.sender.last_delivery if daemon.sender is not None else None
            since = time.time() - (last if last is not None else daemon.started_at)
            if waiting and since > stale:
                return False, (
                    f"no post has succeeded for {since:.0f} s while {waiting} payload(s) wait "
                    f"([metrics] stale_after = {stale:g})"
                )
        return True, "ok: observers, workers and sender run"

    def ready() -> tuple[bool, str]:
        live = daemon.live
        if live is None:
            return False, "config not loaded"
        state = live.settings.state_dir
        if not os.access(state, os.W_OK | os.X_OK):
            return False, f"state directory {state} is not writable"
        return True, f"ready: {len(live.settings.watches)} watches, state in {state}"

    daemon.metrics.gauges = gauges
    return MetricsServer(listen, daemon.metrics, health=health, ready=ready)
