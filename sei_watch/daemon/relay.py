"""`sei-watch relay`: the fleet's one door to SEI. It pulls the agents' payloads from JetStream
(one durable consumer shared by every relay, so each message goes to one of them), posts each
with the central API key, and acks only after SEI's 202.

A permanent refusal (400, 413...) goes to the dead subject with SEI's reason, and leaves the
stream; a 429, a 5xx or a network error is NAKed with a backoff delay, so JetStream hands it out
again later. The relays pace themselves: `[sei] max_per_minute` is the fleet's budget, split
evenly among `[relay] instances`, one request every window/share seconds, so a relay that is
killed and restarted does not burst; it takes one message at a time, so a relay killed
mid-post holds back only that one (until `[relay] ack_wait`). Threads stop through one Event.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Mapping
from typing import Any

from sei_watch.config import Settings
from sei_watch.deliver import Backoff, connect, ensure_streams, load_api_key, sei_client
from sei_watch.errors import ConfigError
from sei_watch.logs import get_logger, register_secret

from .metrics import Metrics, MetricsServer

__all__ = ["Relay", "init_streams"]

log = get_logger("sei_watch.relay")


def init_streams(settings: Settings) -> list[str]:
    """`relay --init`: the payload and dead-letter streams, created or brought up to date."""

    async def run() -> list[str]:
        nc = await connect(settings.nats)
        try:
            return await ensure_streams(nc.jetstream(), settings.nats)
        finally:
            await nc.close()

    return asyncio.run(run())


class Relay:
    """One relay process: pull, post, ack. `run` blocks until `stop` is set."""

    def __init__(
        self, settings: Settings, environ: Mapping[str, str], stop: threading.Event | None = None
    ) -> None:
        if not settings.sei.url:
            raise ConfigError(f"{settings.source}: [sei] url is not set; the relay posts there")
        self.settings = settings
        register_secret(load_api_key(settings, environ))  # the one SEI key, here only
        self.client = sei_client(settings, environ)
        budget, instances = settings.sei.max_per_minute, max(settings.relay.instances, 1)
        share = max(budget // instances, 1) if budget > 0 else 0
        self.interval = settings.relay.window / share if share else 0.0
        self.backoff = Backoff(cap=settings.sei.backoff_cap)
        self.rng = random.Random()
        self.stop = stop or threading.Event()
        self.metrics = Metrics()
        self.lag: int | None = None
        self._next_slot = 0.0

    def run(self) -> int:
        server = None
        if self.settings.metrics_listen:
            server = MetricsServer(
                self.settings.metrics_listen,
                self.metrics,
                health=lambda: (not self.stop.is_set(), "ok: pulling"),
                ready=lambda: (self.lag is not None, f"stream lag {self.lag}"),
            )
            self.metrics.gauges = lambda: {"stream_lag": float(self.lag or 0)}
        try:
            asyncio.run(self._main())
        finally:
            self.client.close()
            if server is not None:
                server.shutdown()
        return 0

    async def _main(self) -> None:
        nats, relay = self.settings.nats, self.settings.relay
        nc = await connect(nats)  # first: without nats-py installed, this says how to get it
        from nats.errors import TimeoutError as NatsTimeout  # noqa: PLC0415
        from nats.js.api import AckPolicy, ConsumerConfig  # noqa: PLC0415

        js = nc.jetstream()
        sub = await js.pull_subscribe(
            f"{nats.subject_prefix}.>",
            durable=relay.durable,
            stream=nats.stream,
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT, ack_wait=relay.ack_wait, max_deliver=-1
            ),
        )
        log.info("relay.ready", stream=nats.stream, durable=relay.durable, sei=self.client.base)
        checked = 0.0
        try:
            while not self.stop.is_set():
                # Wait for the slot first, then take one message: a relay killed now holds at
                # most one, which JetStream hands out again after ack_wait.
                if not await self._sleep(self._next_slot - time.monotonic()):
                    break
                try:
                    if time.monotonic() - checked > 2:
                        checked = time.monotonic()
                        self.lag = (await sub.consumer_info()).num_pending
                    msgs = await sub.fetch(1, timeout=1)
                except NatsTimeout:
                    continue  # nothing waiting
                except Exception as exc:  # a node lost, a leader election: try again shortly
                    log.warning("relay.pull_failed", error=repr(exc)[:300], action="retrying")
                    await self._sleep(1.0)
                    continue
                for msg in msgs:
                    self._next_slot = time.monotonic() + self.interval
                    try:
                        await self._one(js, msg)
                    except Exception as exc:  # an ack lost in a failover: redelivered later
                        log.warning("relay.ack_failed", error=repr(exc)[:300], action="redelivery")
        finally:
            await nc.close()

    async def _sleep(self, seconds: float) -> bool:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self.stop.is_set():
                return False
            await asyncio.sleep(min(left, 0.2))
        return not self.stop.is_set()

    async def _one(self, js: Any, msg: Any) -> None:
        outcome = await asyncio.to_thread(self.client.post_run, msg.data)
        msg_id = (msg.headers or {}).get("Nats-Msg-Id", "")
        fields = {"msg_id": msg_id, "status": outcome.status}
        if outcome.kind == "delivered":
            await msg.ack_sync()
            self.metrics.inc("payloads_delivered_total")
            log.info("payload.sent", **fields)
            return
        if outcome.kind == "dead":
            nats = self.settings.nats
            await js.publish(
                nats.dead_subject + msg.subject[len(nats.subject_prefix) :],
                msg.data,
                headers={
                    "Nats-Msg-Id": f"{msg_id}/dead",
                    "Sei-Status": str(outcome.status),
                    "Sei-Reason": outcome.message[:1000],
                },
            )
            await msg.term()
            self.metrics.inc("payloads_dead_total")
            log.error("payload.dead", reason=outcome.message, **fields)
            return
        attempt = msg.metadata.num_delivered if msg.metadata else 1
        delay = self.backoff.retry_in(attempt, self.rng, outcome.retry_after)
        await msg.nak(delay=delay)
        self.metrics.inc("payloads_retried_total")
        log.warning("payload.retry", reason=outcome.message, retry_in_s=round(delay, 2), **fields)
        if outcome.status == 429 or outcome.kind == "hold":
            # Over the budget at SEI (or a config fault): every relay's requests count there.
            await self._sleep(min(delay, 60.0))
