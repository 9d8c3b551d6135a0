"""What a relay knows about itself and shows: the stream and consumer as JetStream reports
them, SEI's answers (a hold, the circuit breaker, POST latency), and `/healthz`."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sei_watch.config import Settings
from sei_watch.deliver import redact_text
from sei_watch.logs import get_logger

from .metrics import Metrics

__all__ = ["HOLD_PROBE", "RelayState", "dead_headers"]

log = get_logger("sei_watch.relay")

HOLD_PROBE = 60.0  # a held relay asks SEI again after this long (a key rotated, a fix made)


def dead_headers(msg: Any, status: int | None, reason: str) -> dict[str, str]:
    """Headers of a dead letter: its own id (one per message: two messages without an id, or
    one refused twice, are two dead letters), where it was published, and why it is dead."""
    headers = msg.headers or {}
    seq = msg.metadata.sequence.stream if msg.metadata else int(time.time() * 1e6)
    return {
        "Nats-Msg-Id": f"{headers.get('Nats-Msg-Id') or 'no-id'}/dead/{seq}",
        "Sei-Subject": msg.subject,
        "Sei-Status": "" if status is None else str(status),
        "Sei-Reason": reason[:1000],
    }


class RelayState:
    """Shared by a relay's tasks (one event loop): read by the metrics server's threads."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.nc: Any = None
        self.lag: int | None = None
        self.hold: str | None = None
        self.paused_until = 0.0
        self._failures = 0
        self._opened = 0
        self._cut_off_since: float | None = None
        self._gauges: dict[str, float | None] = {}

    def shown(self, exc: BaseException) -> str:
        return redact_text(repr(exc), self.settings.nats)[:300]

    # -- SEI's answers --------------------------------------------------------------------

    def answered(self, outcome: Any) -> None:
        """Count the answer; a hold pauses the relay, failures in a row open the breaker."""
        self.metrics.inc("relay_requests_total", status=str(outcome.status or outcome.kind))
        now = time.monotonic()
        if outcome.kind in {"delivered", "dead"}:
            if self.hold or self._opened:
                log.info("relay.resumed", after=self.hold or "the breaker")
            self.hold, self._failures, self._opened = None, 0, 0
            return
        if outcome.kind == "hold":
            self.hold = outcome.message[:300]
            self.paused_until = max(self.paused_until, now + HOLD_PROBE)
            log.error("relay.hold", reason=self.hold, retry_in_s=HOLD_PROBE)
            return
        if outcome.status is None or outcome.status >= 500:
            self._failures += 1
            relay = self.settings.relay
            if self._failures >= relay.breaker_failures:
                pause = min(relay.breaker_pause * 2**self._opened, 600.0)
                self._opened += 1
                self._failures = 0
                self.paused_until = max(self.paused_until, now + pause)
                self.metrics.inc("relay_breaker_opened_total")
                log.warning(
                    "relay.breaker_open",
                    reason=outcome.message[:300],
                    pause_s=pause,
                    action="SEI failing: no requests until the pause ends",
                )

    def refused(self, text: str) -> None:
        """The server refused a subscription or a publish: a person must fix permissions.
        The relay holds (asking again after HOLD_PROBE) rather than hammering the server."""
        self.hold = f"NATS refused: {text}"[:300]
        self.paused_until = max(self.paused_until, time.monotonic() + HOLD_PROBE)

    def timed(self, seconds: float) -> None:
        self.metrics.observe("relay_post_seconds", seconds)

    # -- JetStream's view -----------------------------------------------------------------

    async def observe(self, js: Any, sub: Any) -> None:
        """Refresh the gauges from stream_info and consumer_info (every ~2 s)."""
        nats = self.settings.nats
        connected = bool(self.nc is not None and self.nc.is_connected)
        now = time.monotonic()
        if connected:
            self._cut_off_since = None
        elif self._cut_off_since is None:
            self._cut_off_since = now
        gauges: dict[str, float | None] = {
            "relay_nats_connected": 1.0 if connected else 0.0,
            "relay_hold": 1.0 if self.hold else 0.0,
            "relay_breaker_open": 1.0 if self.paused_until > now and not self.hold else 0.0,
        }
        try:
            info = await js.stream_info(nats.stream)
            consumer = await sub.consumer_info()
        except Exception as exc:  # cut off, or a leader election: keep the last figures
            log.warning("relay.info_failed", error=self.shown(exc))
            self._gauges.update(gauges)
            return
        state = info.state
        # Work-queue retention: every message in the stream is not yet acked, including those
        # NAKed with a delay (consumer_info's num_pending leaves those out).
        self.lag = int(state.messages)
        limit = info.config.max_bytes or 0
        gauges.update(
            stream_lag=float(state.messages),
            relay_stream_bytes=float(state.bytes),
            relay_stream_bytes_ratio=(state.bytes / limit) if limit > 0 else None,
            relay_oldest_message_age_seconds=_age(getattr(state, "first_ts", None)),
            relay_consumer_pending=float(consumer.num_pending or 0),
            relay_ack_pending=float(consumer.num_ack_pending or 0),
            relay_redelivered=float(consumer.num_redelivered or 0),
        )
        try:
            dead = await js.stream_info(nats.dead_stream)
            gauges["relay_dead_messages"] = float(dead.state.messages)
        except Exception:  # no dead stream yet
            gauges["relay_dead_messages"] = None
        self._gauges = gauges

    def gauges(self) -> dict[str, float | None]:
        return dict(self._gauges)

    def health(self, *, stopping: bool) -> tuple[bool, str]:
        if stopping:
            return False, "stopping"
        if self.hold:
            return False, f"hold: {self.hold}"
        since = self._cut_off_since
        limit = self.settings.relay.unhealthy_after
        if since is not None and time.monotonic() - since > limit:
            return False, f"cut off from NATS for more than {limit:g} s"
        return True, "ok: pulling"


def _age(first_ts: Any) -> float | None:
    """Seconds since the oldest message was stored (JetStream's `first_ts`, RFC 3339)."""
    if not first_ts or str(first_ts).startswith("0001-"):
        return None
    text = str(first_ts).replace("Z", "+00:00")
    if "." in text:  # nanoseconds: fromisoformat takes at most microseconds
        head, _, rest = text.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((datetime.now(UTC) - when).total_seconds(), 0.0)
