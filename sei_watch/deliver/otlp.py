"""The trace output's own outbox and sender: runs as OTLP/HTTP JSON to `[otel]`'s endpoint.

A second destination beside SEI, with its own state per row in its own SQLite file
(`traces.db` in the state directory), so the SEI post is never delayed or blocked by it: a
trace is queued after the run was, and sent by its own thread (the daemon) or once after the
SEI post (`parse --post`). Up to 100 runs go in one request. A 429 or a 5xx (or no answer)
is retried with backoff and Retry-After; any other 4xx is dead, kept with the reason.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sei_watch.config import OtelSettings, Settings
from sei_watch.logs import get_logger, register_secret
from sei_watch.payload import build_trace, trace_id_for
from sei_watch.records import SuiteSummary

from .client import parse_retry_after

__all__ = [
    "TRACES_FILE",
    "TraceBox",
    "TraceSender",
    "export",
    "queue_trace",
    "run_traces",
    "send_queued",
]

log = get_logger("sei_watch.otlp")

TRACES_FILE = "traces.db"
BATCH = 100
_SCHEMA = """
CREATE TABLE IF NOT EXISTS traces (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    body BLOB NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS traces_due ON traces (state, next_at);
"""


class TraceBox:
    """Traces waiting for the endpoint: one row per run, a re-post replacing its row."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)  # a relay's state dir may not exist yet
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)

    def put(self, key: str, resource_spans: Mapping[str, Any]) -> None:
        body = json.dumps(resource_spans, separators=(",", ":")).encode()
        self.db.execute(
            "INSERT INTO traces (key, body) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
            "body = excluded.body, state = 'pending', attempts = 0, next_at = 0, last_error = NULL",
            (key, body),
        )

    def due(self, now: float, limit: int = BATCH) -> list[tuple[int, bytes]]:
        rows = self.db.execute(
            "SELECT id, body FROM traces WHERE state = 'pending' AND next_at <= ? "
            "ORDER BY id LIMIT ?",
            (now, limit),
        )
        return [(int(i), bytes(b)) for i, b in rows]

    def next_at(self) -> float | None:
        row = self.db.execute("SELECT min(next_at) FROM traces WHERE state = 'pending'").fetchone()
        return None if row[0] is None else float(row[0])

    def sent(self, ids: list[int]) -> None:
        self.db.executemany("DELETE FROM traces WHERE id = ?", [(i,) for i in ids])

    def retry(self, ids: list[int], at: float, error: str) -> None:
        self.db.executemany(
            "UPDATE traces SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ?",
            [(at, error, i) for i in ids],
        )

    def dead(self, ids: list[int], error: str) -> None:
        self.db.executemany(
            "UPDATE traces SET state = 'dead', last_error = ? WHERE id = ?",
            [(error, i) for i in ids],
        )

    def counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT state, count(*) FROM traces GROUP BY state")
        return {str(state): int(n) for state, n in rows}

    def close(self) -> None:
        self.db.close()


@dataclass(frozen=True, slots=True)
class Sent:
    """What one export came to: `kind` is sent, retry or dead."""

    kind: str
    status: int | None
    message: str
    retry_after: float | None = None


def export(settings: OtelSettings, session: Any, bodies: list[bytes]) -> Sent:
    """POST one ExportTraceServiceRequest of these runs' ResourceSpans."""
    import requests  # noqa: PLC0415  (only when the trace output is on)

    data = b'{"resourceSpans":[' + b",".join(bodies) + b"]}"
    headers = {"Content-Type": "application/json", **settings.headers}
    try:
        resp = session.post(
            settings.traces_url, data=data, headers=headers, timeout=settings.timeout
        )
    except requests.RequestException as exc:
        return Sent("retry", None, f"{type(exc).__name__} posting to the OTLP endpoint")
    status = resp.status_code
    if 200 <= status < 300:
        return Sent("sent", status, "accepted")
    why = f"OTLP endpoint answered {status}: {resp.text[:200]}"
    if status == 429 or status >= 500:
        return Sent("retry", status, why, parse_retry_after(resp.headers.get("Retry-After")))
    return Sent("dead", status, why)


class TraceSender:
    """Sends what the trace box holds, until `stop` is set (its own thread in the daemon)."""

    def __init__(self, settings: OtelSettings, box_path: Path, stop: threading.Event) -> None:
        import requests  # noqa: PLC0415

        self.settings, self.box_path, self.stop = settings, box_path, stop
        self.session = requests.Session()
        self.rng = random.Random()
        self._failures = 0
        for value in settings.headers.values():
            register_secret(value)

    def flush(self, box: TraceBox, *, until: float) -> int:
        """Send due batches until none is due or `until` (monotonic) passes; how many sent."""
        done = 0
        while time.monotonic() < until and not self.stop.is_set():
            batch = box.due(time.time())
            if not batch:
                break
            ids = [i for i, _ in batch]
            out = export(self.settings, self.session, [b for _, b in batch])
            self._failures = 0 if out.kind != "retry" else self._failures + 1
            if out.kind == "sent":
                box.sent(ids)
                done += len(ids)
                log.info("traces.sent", runs=len(ids))
            elif out.kind == "dead" and len(batch) > 1:
                # One run the endpoint refuses must not take 99 others with it: each alone.
                for one in batch:
                    done += self._alone(box, one)
            elif out.kind == "dead":
                box.dead(ids, out.message)
                log.error("traces.dead", runs=len(ids), reason=out.message)
            else:
                wait = min(self.rng.uniform(0, 2.0 ** min(self._failures, 8)) + 1.0, 300.0)
                wait = max(wait, out.retry_after or 0.0)
                box.retry(ids, time.time() + wait, out.message)
                log.warning("traces.retry", runs=len(ids), reason=out.message, retry_in_s=wait)
                break
        return done

    def _alone(self, box: TraceBox, row: tuple[int, bytes]) -> int:
        out = export(self.settings, self.session, [row[1]])
        if out.kind == "sent":
            box.sent([row[0]])
            return 1
        if out.kind == "dead":
            box.dead([row[0]], out.message)
            log.error("traces.dead", runs=1, reason=out.message)
        else:
            box.retry([row[0]], time.time() + max(out.retry_after or 0.0, 5.0), out.message)
        return 0

    def run(self) -> None:
        box = TraceBox(self.box_path)
        try:
            while not self.stop.is_set():
                self.flush(box, until=time.monotonic() + 30.0)
                nxt = box.next_at()
                wait = 1.0 if nxt is None else min(max(nxt - time.time(), 0.2), 5.0)
                self.stop.wait(wait)
        finally:
            box.close()
            self.session.close()


def queue_trace(
    settings: Settings,
    payload: Mapping[str, Any],
    suites: Sequence[SuiteSummary] = (),
    *,
    worker: str | None = None,
    traceparent: str | None = None,
) -> None:
    """The run as a trace in the trace outbox, its row keyed by the run's trace id (a re-post
    replaces it). A failure here is logged and costs the trace only, never the SEI post."""
    try:
        spans = build_trace(
            payload,
            suites,
            service_name=settings.otel.service_name,
            resource=settings.otel.resource,
            worker=worker,
            traceparent=traceparent,
            tests_stage=settings.tests_stage,
        )
        box = TraceBox(settings.state_dir / TRACES_FILE)
        try:
            box.put(trace_id_for(payload), spans)
        finally:
            box.close()
    except Exception as exc:  # a trace must never cost the build its SEI row
        log.error(
            "traces.not_queued",
            job=payload.get("job_full_name"),
            build_number=payload.get("build_number"),
            error=repr(exc)[:300],
        )


def send_queued(settings: Settings, *, within: float) -> tuple[int, int]:
    """Send what the trace box holds for at most `within` seconds, once (a one-shot post's
    trace): (runs sent, runs still waiting)."""
    sender = TraceSender(settings.otel, settings.state_dir / TRACES_FILE, threading.Event())
    box = TraceBox(sender.box_path)
    try:
        sent = sender.flush(box, until=time.monotonic() + within)
        return sent, sum(box.counts().values())
    finally:
        box.close()
        sender.session.close()


def run_traces(settings: Settings, stop: threading.Event) -> None:
    """The trace sender until `stop` (the daemon's and the relay's thread), restarted after a
    crash: a bug in the trace output must never end it, nor anything else."""
    while not stop.is_set():
        try:
            TraceSender(settings.otel, settings.state_dir / TRACES_FILE, stop).run()
        except Exception:
            log.exception("traces.crashed", action="restarting the trace sender")
            stop.wait(5.0)
