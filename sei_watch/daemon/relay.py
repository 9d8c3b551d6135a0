"""`sei-watch relay`: the fleet's one door to SEI. It pulls the agents' payloads from JetStream
(one durable consumer shared by every relay, so each message goes to one of them), posts each
with the central API key, and acks only after SEI's 202.

Only a valid SEI payload is posted: JSON, valid by the contract, and for the instance its
subject names (an agent may publish only to its own instance's subject; a body naming another
instance is an agent posting for a team it is not). Anything else, and a permanent refusal
(400, 413...), goes to the dead subject with the reason and leaves the stream, without a
request to SEI. A 429, a 5xx or a network error is NAKed with a backoff delay; after
`breaker_failures` of those in a row the relay stops asking SEI for `breaker_pause`.

The relays pace themselves within `[sei] max_per_minute`, the fleet's budget: one token bucket
in JetStream KV shared by all (where the server keeps compare-and-set exact), else an even
split among `[relay] instances` (`relay_limit.py`). Each relay runs `in_flight` POSTs at once,
all taking their turns from that one limiter, so the drain keeps pace with a slow SEI. While a
POST runs the message is kept alive (`in_progress`), so a POST slower than `ack_wait` is never
handed to another relay. Threads and tasks stop through one Event.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sei_watch.config import Settings
from sei_watch.deliver import (
    Backoff,
    connect,
    consumer_drift,
    ensure_consumer,
    load_api_key,
    sei_client,
)
from sei_watch.errors import ConfigError
from sei_watch.logs import get_logger, register_secret
from sei_watch.validation import validate

from .metrics import Metrics, MetricsServer
from .relay_limit import RelayLimiter
from .relay_state import RelayState, dead_headers

__all__ = ["Relay", "check_payload"]

log = get_logger("sei_watch.relay")


def check_payload(
    subject: str, prefix: str, data: bytes
) -> tuple[dict[str, Any], None] | tuple[None, str]:
    """The payload, when this message may be posted with the central key; else why not."""
    try:
        payload = json.loads(data)
    except ValueError:
        return None, "not JSON"
    if not isinstance(payload, dict):
        return None, f"not an SEI payload: a JSON {type(payload).__name__}"
    problems = validate(payload)
    if problems:
        return None, "not a valid SEI payload: " + "; ".join(problems[:5])
    on_subject = subject[len(prefix) + 1 :] if subject.startswith(prefix + ".") else ""
    if on_subject.lower() != str(payload.get("instance_guid", "")).lower():
        return None, "subject/instance_guid mismatch"
    return payload, None


class Relay:
    """One relay process: pull, check, post, ack. `run` blocks until `stop` is set."""

    def __init__(
        self, settings: Settings, environ: Mapping[str, str], stop: threading.Event | None = None
    ) -> None:
        if not settings.sei.url:
            raise ConfigError(f"{settings.source}: [sei] url is not set; the relay posts there")
        self.settings = settings
        register_secret(load_api_key(settings, environ))  # the one SEI key, here only
        self.client = sei_client(settings, environ)
        self.backoff = Backoff(cap=settings.sei.backoff_cap)
        self.rng = random.Random()
        self.stop = stop or threading.Event()
        self.metrics = Metrics()
        self.state = RelayState(settings, self.metrics)
        self.limiter = RelayLimiter(settings, self.state)
        self._pool = ThreadPoolExecutor(max(settings.relay.in_flight, 1), "relay-post")

    @property
    def lag(self) -> int | None:
        return self.state.lag

    def run(self) -> int:
        server = None
        if self.settings.metrics_listen:
            server = MetricsServer(
                self.settings.metrics_listen,
                self.metrics,
                health=lambda: self.state.health(stopping=self.stop.is_set()),
                ready=lambda: (self.state.lag is not None, f"stream lag {self.state.lag}"),
            )
            self.metrics.gauges = self.state.gauges
        if self.settings.otel.enabled:
            from sei_watch.deliver import run_traces  # noqa: PLC0415  (the trace output on only)

            threading.Thread(
                target=run_traces, args=(self.settings, self.stop), name="traces", daemon=True
            ).start()
        try:
            asyncio.run(self._main())
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self.client.close()
            if server is not None:
                server.shutdown()
        return 0

    async def _main(self) -> None:
        nats, relay = self.settings.nats, self.settings.relay
        if nats.anonymous:
            log.warning(
                "nats.anonymous",
                servers=nats.shown(),
                action="give each agent and relay its own credentials (docs/fleet.md)",
            )
        log.info("relay.connecting", servers=nats.shown(), stream=nats.stream)
        nc = await self._until_stopped(connect(nats, on_error=self.state.refused))
        if nc is None:
            return
        self.state.nc = nc
        try:
            js = nc.jetstream()
            await self._bind_consumer(js)
            await self.limiter.choose(nc, js, self._sleep)
            sub = await js.pull_subscribe_bind(relay.durable, stream=nats.stream)
            log.info(
                "relay.ready",
                stream=nats.stream,
                durable=relay.durable,
                in_flight=relay.in_flight,
                sei=self.client.base,
            )
            workers = [
                asyncio.create_task(self._worker(js, sub)) for _ in range(max(relay.in_flight, 1))
            ]
            watcher = asyncio.create_task(self._observe(js, sub))
            await asyncio.gather(*workers)
            watcher.cancel()
        finally:
            await nc.close()

    async def _until_stopped(self, coro: Any) -> Any:
        """`coro`'s result, or None as soon as `stop` is set (a connect that keeps trying
        must not outlive a SIGTERM)."""
        task = asyncio.ensure_future(coro)
        while not task.done():
            if self.stop.is_set():
                task.cancel()
                return None
            await asyncio.wait({task}, timeout=0.2)
        return task.result()

    async def _bind_consumer(self, js: Any) -> None:
        nats, relay = self.settings.nats, self.settings.relay
        try:
            live = await js.consumer_info(nats.stream, relay.durable)
        except Exception:  # none yet: made to the settings
            log.info("relay.consumer_created", durable=relay.durable)
            await ensure_consumer(js, nats, relay)
            return
        drift = consumer_drift(live.config, relay)
        if drift:
            log.warning(
                "relay.consumer_drift",
                durable=relay.durable,
                drift="; ".join(drift),
                action="run `sei-watch relay --init` to apply the settings",
            )

    async def _observe(self, js: Any, sub: Any) -> None:
        while not self.stop.is_set():
            await self.state.observe(js, sub)
            await self._sleep(2.0)

    async def _slot(self) -> bool:
        """Wait for the next slot (the fleet's KV bucket, or this relay's share of the
        budget), and while a breaker or a hold keeps SEI unasked."""
        if not await self.limiter.token(self._sleep):
            return False
        while (wait := self.state.paused_until - time.monotonic()) > 0:
            if not await self._sleep(min(wait, 1.0)):
                return False
        return True

    async def _worker(self, js: Any, sub: Any) -> None:
        from nats.errors import TimeoutError as NatsTimeout  # noqa: PLC0415

        while not self.stop.is_set():
            # The slot first, then one message: a relay killed now holds at most in_flight
            # messages, which JetStream hands out again after ack_wait.
            if not await self._slot():
                break
            try:
                msgs = await sub.fetch(1, timeout=1)
            except NatsTimeout:
                continue  # nothing waiting
            except Exception as exc:  # a node lost, a leader election: try again shortly
                log.warning("relay.pull_failed", error=self.state.shown(exc), action="retrying")
                await self._sleep(1.0)
                continue
            for msg in msgs:
                try:
                    await self._one(js, msg)
                except Exception as exc:  # an ack lost in a failover: redelivered later
                    log.warning(
                        "relay.ack_failed", error=self.state.shown(exc), action="redelivery"
                    )

    async def _sleep(self, seconds: float) -> bool:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self.stop.is_set():
                return False
            await asyncio.sleep(min(left, 0.2))
        return not self.stop.is_set()

    async def _dead(self, js: Any, msg: Any, status: int | None, reason: str) -> None:
        nats = self.settings.nats
        await js.publish(
            nats.dead_subject + msg.subject[len(nats.subject_prefix) :],
            msg.data,
            headers=dead_headers(msg, status, reason),
        )
        await msg.term()
        self.metrics.inc("payloads_dead_total")
        log.error("payload.dead", reason=reason, status=status, subject=msg.subject)

    async def _one(self, js: Any, msg: Any) -> None:
        payload, refusal = check_payload(
            msg.subject, self.settings.nats.subject_prefix, msg.data or b""
        )
        if refusal is not None:  # never sent with the central key
            await self._dead(js, msg, None, refusal)
            return
        outcome = await self._post_keeping_alive(msg)
        fields = {"msg_id": (msg.headers or {}).get("Nats-Msg-Id", ""), "status": outcome.status}
        self.state.answered(outcome)
        if outcome.kind == "delivered":
            await msg.ack_sync()
            self.metrics.inc("payloads_delivered_total")
            log.info("payload.sent", **fields)
            if self.settings.otel.enabled and payload is not None:
                from sei_watch.deliver import queue_trace  # noqa: PLC0415

                queue_trace(self.settings, payload)  # stages and steps: suites stay on agents
            return
        if outcome.kind == "dead":
            await self._dead(js, msg, outcome.status, outcome.message)
            return
        attempt = msg.metadata.num_delivered if msg.metadata else 1
        delay = self.backoff.retry_in(attempt, self.rng, outcome.retry_after)
        await msg.nak(delay=delay)
        self.metrics.inc("payloads_retried_total")
        log.warning("payload.retry", reason=outcome.message, retry_in_s=round(delay, 2), **fields)
        if outcome.status == 429:  # over the budget at SEI: every relay's requests count there
            await self._sleep(min(delay, 60.0))

    async def _post_keeping_alive(self, msg: Any) -> Any:
        """POST on a pool thread; meanwhile tell JetStream the message is still being worked
        on every third of ack_wait, so it is not redelivered to another relay."""
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        post = loop.run_in_executor(self._pool, self.client.post_run, msg.data)
        every = max(self.settings.relay.ack_wait / 3, 0.5)
        while True:
            done, _ = await asyncio.wait({post}, timeout=every)
            if done:
                break
            try:
                await msg.in_progress()
            except Exception as exc:  # a failover: the ack may still land
                log.warning("relay.in_progress_failed", error=self.state.shown(exc))
        self.state.timed(time.monotonic() - started)
        return post.result()
