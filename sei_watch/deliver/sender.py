"""Delivery: take due rows from the outbox, POST them, and record what SEI said.

The outbox owns every retry (urllib3 never retries a POST by itself): exponential backoff with
full jitter and a cap, Retry-After honoured, 401/403 hold the whole queue, 429 pauses it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sei_watch.errors import OutboxError
from sei_watch.logs import get_logger

from .client import Outcome
from .destination import Scope
from .multipart import Attachment
from .outbox import Outbox, Row
from .ratelimit import RateLimit

__all__ = ["NO_COUNTERS", "Backoff", "Counters", "Poster", "Sender"]

log = get_logger("sei_watch.sender")

LARGE_BODY = 500_000  # Harness: requests over 500,000 characters ...
LARGE_EVERY = 10.0  # ... at most one every 10 s
HTTP_FORBIDDEN = 403


class Counters(Protocol):
    """Where delivery counts what it did: the daemon's /metrics, or nowhere."""

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None: ...


class Poster(Protocol):
    """What the sender posts through: SEI's HTTP client, or the fleet's JetStream publisher."""

    base: str
    deadline: float

    def post_run(self, body: bytes) -> Outcome: ...

    def post_multipart(self, body: bytes, attachment: Attachment | None) -> Outcome: ...

    def close(self) -> None: ...


class _NoCounters:
    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Count nothing: a one-shot `parse --post` has no /metrics to show counts on."""


NO_COUNTERS: Counters = _NoCounters()


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**attempt))."""

    base: float = 1.0
    cap: float = 600.0
    max_age: float | None = None  # seconds; a row failing for longer than this goes dead

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.cap, self.base * 2 ** min(attempt, 32)))

    def retry_in(self, attempt: int, rng: random.Random, retry_after: float | None) -> float:
        """The wait before attempt `attempt`: the jittered backoff, or the server's
        Retry-After when it asks for longer (within `cap`)."""
        wait = self.delay(attempt, rng)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.cap))
        return wait


@dataclass(slots=True, kw_only=True)
class Sender:
    """Delivers the outbox through one client. One Sender per sending thread."""

    outbox: Outbox
    client: Poster
    backoff: Backoff = field(default_factory=Backoff)
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], float] = time.time
    paused_until: float = 0.0
    last_delivery: float | None = None
    delivered_count: int = 0
    stop: threading.Event | None = None  # set: hand back claimed rows not yet attempted
    limit: RateLimit | None = None  # the client's own budget per API key
    metrics: Counters = NO_COUNTERS  # the daemon's /metrics, when it runs one
    multipart: bool = False  # the SEI plugin's transport: payload and reports' zip together
    retired: list[Poster] = field(default_factory=list)  # replaced clients, not yet closed
    scope: Scope = field(default_factory=Scope)  # the rows this sender may send
    multipart_refused: bool = False  # SEI answered 403 to multipart: the key is not an admin's
    last_large: float = -1e18  # when the last request over LARGE_BODY went out
    held: str | None = None  # why SEI refuses every post (a revoked key), until one succeeds

    def replace_client(self, client: Poster) -> None:
        """From another thread (a reload): later requests go through `client`. The old one is
        closed by the sending thread at its next step, when no request of it is in flight."""
        self.retired.append(self.client)
        self.client = client

    def step(self, limit: int = 32) -> int:
        """Deliver what is due now; return how many rows were attempted."""
        while self.retired:
            self.retired.pop().close()
        if self.clock() < self.paused_until:
            return 0
        rows = self.outbox.claim(limit, self.scope)
        for i, row in enumerate(rows):
            if self.stop is not None and self.stop.is_set():
                for rest in rows[i:]:  # shutting down: back to pending, no attempt counted
                    self.outbox.retry(rest, delay=0, error="not sent: shutting down", count=False)
                break
            hold = self.limit.wait(self.clock()) if self.limit is not None else 0.0
            if hold > 0:  # over the budget: the queue waits, nothing counts as an attempt
                self.paused_until = max(self.paused_until, self.clock() + hold)
                for rest in rows[i:]:
                    self.outbox.retry(rest, delay=hold, error="client rate limit", count=False)
                break
            large = row.size > LARGE_BODY  # the body and its zip
            if large and self.clock() - self.last_large < LARGE_EVERY:
                # Harness allows one large request per 10 s: this one waits, small ones go.
                wait = LARGE_EVERY - (self.clock() - self.last_large)
                self.outbox.retry(row, delay=wait, error="paced: one large request per 10 s",
                                  count=False)  # fmt: skip
                continue
            if large:
                self.last_large = self.clock()
            outcome = self._post(row)
            if self.limit is not None:
                self.limit.record(self.clock())
            self._record(row, outcome)
            if outcome.kind == "hold" or (outcome.status == 429):
                for rest in rows[i + 1 :]:  # not attempted: back without an attempt counted
                    self.outbox.retry(
                        rest,
                        delay=self.paused_until - self.clock(),
                        error="queue paused",
                        count=False,
                    )
                break
        return len(rows)

    def _post(self, row: Row) -> Outcome:
        """One row to SEI: with its tests' zip while the key may use the multipart endpoint;
        after a 403 there (it needs an ADMIN key, runs do not), as a plain run."""
        if self.multipart and not self.multipart_refused:
            with self.outbox.attachment(row) as attachment:
                outcome = self.client.post_multipart(row.body or b"", attachment)
            if outcome.status != HTTP_FORBIDDEN:
                return outcome
            self.multipart_refused = True
            log.warning(
                "multipart.refused",
                key=row.key,
                reason=outcome.message,
                action="SEI's multipart endpoint needs an API key with the Admin role; until "
                "then runs are posted to /v1/custom-cicd without their test rows",
            )
        return self.client.post_run(row.body or b"")

    def _record(self, row: Row, out: Outcome) -> None:
        fields = {"key": row.key, "instance_guid": row.instance_guid, "status": out.status}
        if out.kind == "delivered":
            self.held = None
            if self.outbox.delivered(row):
                self.delivered_count += 1
                self.last_delivery = self.clock()
                log.info("payload.sent", attempts=row.attempts + 1, **fields)
                self.metrics.inc("payloads_delivered_total")
            return
        if out.kind == "dead":
            self.outbox.dead(row, error=out.message)
            log.error("payload.dead", reason=out.message, **fields)
            self.metrics.inc("payloads_dead_total")
            return
        if out.kind == "hold":
            self.held = out.message
            reason = (
                "auth" if out.status in (401, 403) else "tls" if out.status is None else "other"
            )
            self.metrics.inc("payloads_refused_total", reason=reason)
            wait = self.backoff.delay(row.attempts + 1, self.rng) + self.backoff.base
            self.paused_until = self.clock() + wait
            self.outbox.retry(row, delay=wait, error=out.message, count=False)
            log.error(
                "sei.refused",
                reason=out.message,
                retry_in_s=round(wait, 1),
                action="check the API key, [sei] url and the instance; nothing is dropped",
                **fields,
            )
            return
        age = self.clock() - row.created
        if self.backoff.max_age is not None and age > self.backoff.max_age:
            self.outbox.dead(row, error=f"gave up after {age:.0f}s: {out.message}")
            log.error("payload.dead", reason=f"older than max_age: {out.message}", **fields)
            return
        wait = self.backoff.retry_in(row.attempts + 1, self.rng, out.retry_after)
        if out.status == 429:
            self.paused_until = self.clock() + wait
        self.outbox.retry(row, delay=wait, error=out.message)
        self.metrics.inc("payloads_retried_total")
        log.warning(
            "payload.retry",
            reason=out.message,
            retry_in_s=round(wait, 2),
            attempts=row.attempts + 1,
            **fields,
        )

    def run(
        self,
        stop: threading.Event,
        *,
        idle: float = 1.0,
        until_empty: bool = False,
        wake: threading.Event | None = None,
    ) -> None:
        """Deliver until `stop` is set (or, with until_empty, until nothing is waiting).

        Between rounds it sleeps until the next row is due, at most `idle` seconds; `wake`
        (set by whoever enqueues) cuts the sleep short.
        """
        self.stop = stop
        while not stop.is_set():
            try:
                attempted = self.step()
                due = None if attempted else self.outbox.next_due(self.scope)
            except OutboxError as exc:  # a full disk mid-run: wait and try again
                log.error("outbox.unavailable", error=str(exc))
                stop.wait(idle * 5)
                continue
            if attempted:
                continue
            if due is None and until_empty:
                return
            now = self.clock()
            wait = idle if due is None else max(due, self.paused_until) - now
            wait = min(max(wait, 0.005), idle)
            if wake is None:
                stop.wait(wait)
            elif wake.wait(wait):
                wake.clear()
