"""NATS JetStream for the fleet: an agent publishes its payloads to a stream, and relays post
them to SEI with the one central key (`sei-watch relay`).

nats-py is asyncio; the rest of sei-watch is threads. The agent's publisher runs one event
loop on its own thread and waits for each publish's PubAck there: a payload counts as delivered
only once JetStream has stored it (with its replicas). Errors of nats-py stop here and become
an `Outcome`, as HTTP errors do in `client`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import threading
from collections.abc import Coroutine
from typing import Any

from sei_watch.config import NatsSettings, RelaySettings
from sei_watch.errors import ConfigError
from sei_watch.validation import is_uuid

from .client import Outcome
from .multipart import Attachment
from .natsconn import AUTHORIZATION, connect, redact_text

__all__ = [
    "NatsPublisher",
    "consumer_config",
    "consumer_drift",
    "ensure_consumer",
    "ensure_streams",
    "message_id",
    "subject_for",
]


async def ensure_streams(js: Any, settings: NatsSettings) -> list[str]:
    """Create (or update) the payload stream and the dead-letter stream; return what was done.

    Payloads: file storage, work-queue retention (a message leaves once a relay acked it), a
    duplicate window over the agents' retry gap, and discard=new: a full stream refuses new
    payloads, which then wait in the agents' outboxes, so nothing accepted is ever dropped."""
    from nats.js.api import (  # noqa: PLC0415
        DiscardPolicy,
        RetentionPolicy,
        StorageType,
        StreamConfig,
    )

    wanted = [
        StreamConfig(
            name=settings.stream,
            subjects=[f"{settings.subject_prefix}.>"],
            storage=StorageType.FILE,
            retention=RetentionPolicy.WORK_QUEUE,
            num_replicas=settings.replicas,
            duplicate_window=settings.duplicate_window,
            max_age=settings.max_age_days * 86400,
            max_bytes=settings.max_bytes,
            discard=DiscardPolicy.NEW,
        ),
        StreamConfig(
            name=settings.dead_stream,
            subjects=[f"{settings.dead_subject}.>"],
            storage=StorageType.FILE,
            num_replicas=settings.replicas,
            max_age=30 * 86400,
            max_bytes=settings.dead_max_bytes,  # junk must never fill the store agents need
            discard=DiscardPolicy.OLD,
        ),
    ]
    done = []
    for config in wanted:
        try:
            await js.stream_info(config.name)
        except Exception:  # not found: create it
            await js.add_stream(config)
            done.append(f"created stream {config.name}")
        else:
            await js.update_stream(config)
            done.append(f"updated stream {config.name}")
    return done


def consumer_config(relay: RelaySettings, subject_prefix: str) -> Any:
    """The relays' one durable pull consumer, as the settings want it."""
    from nats.js.api import AckPolicy, ConsumerConfig  # noqa: PLC0415

    return ConsumerConfig(
        durable_name=relay.durable,
        filter_subject=f"{subject_prefix}.>",
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=relay.ack_wait,
        max_deliver=-1,
        max_ack_pending=relay.max_ack_pending,
    )


def consumer_drift(live: Any, relay: RelaySettings) -> list[str]:
    """What the live consumer has that the settings do not: `relay --init` brings it in line."""
    drift = []
    if live.ack_wait is not None and abs(float(live.ack_wait) - relay.ack_wait) > 0.5:
        drift.append(f"ack_wait {live.ack_wait:g} s, the settings say {relay.ack_wait:g}")
    if live.max_ack_pending not in (None, relay.max_ack_pending):
        drift.append(
            f"max_ack_pending {live.max_ack_pending}, the settings say {relay.max_ack_pending}"
        )
    return drift


async def ensure_consumer(js: Any, settings: NatsSettings, relay: RelaySettings) -> str:
    """Create the relays' consumer, or update it to the settings (`relay --init`)."""
    config = consumer_config(relay, settings.subject_prefix)
    try:
        await js.consumer_info(settings.stream, relay.durable)
    except Exception:  # not found: create it
        await js.add_consumer(settings.stream, config)
        return f"created consumer {relay.durable}"
    # nats-py's add_consumer with a durable's name is JetStream's create-or-update.
    await js.add_consumer(settings.stream, config)
    return f"updated consumer {relay.durable}"


def subject_for(settings: NatsSettings, payload: dict[str, Any]) -> str:
    """`<prefix>.<instance_guid>`; a GUID that is not a UUID (a `*`, `>` or space would make
    an invalid or wildcard subject) is refused for good."""
    guid = str(payload.get("instance_guid") or "")
    if not is_uuid(guid):
        raise ValueError(f"instance_guid {guid!r} is not a UUID: no subject can carry it")
    return f"{settings.subject_prefix}.{guid.lower()}"


def message_id(payload: dict[str, Any], body: bytes) -> str:
    """JetStream drops a second message with the same id in its window: the run's key and
    the body's hash, so a retry is dropped and a changed re-post (artifacts) is not."""
    run = f"{payload.get('instance_guid')}/{payload.get('job_full_name')}#"
    return f"{run}{payload.get('build_number')}/{hashlib.sha256(body).hexdigest()[:16]}"


class NatsPublisher:
    """The agent's client when `[deliver] target = "nats"`: `post_run` publishes and waits for
    the PubAck. It holds no SEI key; the relays do."""

    def __init__(self, settings: NatsSettings) -> None:
        self.settings = settings
        self.base = settings.shown()
        self.deadline = settings.publish_timeout * 2
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._nc: Any = None
        self._lock = threading.Lock()
        self._denied: list[str] = []  # the server's permission refusals, newest last

    def __repr__(self) -> str:
        return f"NatsPublisher({self.base!r})"

    def _run(self, coro: Coroutine[Any, Any, Any], timeout: float) -> Any:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="nats-io", daemon=True
                )
                self._thread.start()
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except BaseException:
            future.cancel()  # a connect still trying must not finish later, as a second one
            raise

    def _refused(self, text: str) -> None:
        self._denied = [*self._denied[-9:], text]

    async def _connection(self) -> Any:
        if self._nc is None or self._nc.is_closed:
            nc = await connect(self.settings, on_error=self._refused)
            if self._nc is not None and not self._nc.is_closed:  # another call won the race
                await nc.close()
            else:
                self._nc = nc
        return self._nc

    async def _publish(self, subject: str, body: bytes, msg_id: str) -> Any:
        nc = await self._connection()
        if len(body) > nc.max_payload:
            raise _TooLarge(len(body), nc.max_payload)
        return await nc.jetstream().publish(
            subject,
            body,
            timeout=self.settings.publish_timeout,
            stream=self.settings.stream,
            headers={"Nats-Msg-Id": msg_id},
        )

    def post_run(self, body: bytes, **_: Any) -> Outcome:
        """Publish one payload; `delivered` only once JetStream stored it. What can never be
        published (too large, no valid subject, refused by the server's permissions) is dead
        at once with the reason: the job's later builds are not held behind it."""
        try:
            payload = json.loads(body)
            subject = subject_for(self.settings, payload)
        except (ValueError, AttributeError) as exc:
            return Outcome(kind="dead", status=None, message=f"not publishable: {exc}"[:500])
        self._denied.clear()
        try:
            ack = self._run(
                self._publish(subject, body, message_id(payload, body)), self.deadline + 5
            )
        except ConfigError as exc:  # nats-py not installed: a person must act; nothing is lost
            return Outcome(kind="hold", status=None, message=str(exc))
        except _TooLarge as exc:
            return Outcome(kind="dead", status=None, message=str(exc))
        except Exception as exc:  # a timeout, no stream yet, a server gone: try again later
            refused = [d for d in self._denied if AUTHORIZATION in d.lower()]
            if refused:  # this client's credentials: a person must act; nothing is lost
                return Outcome(
                    kind="hold", status=None, message=f"NATS refused this agent: {refused[-1]}"
                )
            denied = [d for d in self._denied if subject in d]
            if denied:
                return Outcome(
                    kind="dead", status=None, message=f"NATS refused the publish: {denied[-1]}"
                )
            why = redact_text(f"NATS publish: {exc!r}", self.settings)
            return Outcome(kind="retry", status=None, message=why[:500])
        dup = " (a duplicate: stored before)" if ack.duplicate else ""
        return Outcome(
            kind="delivered", status=None, message=f"stream {ack.stream} seq {ack.seq}{dup}"
        )

    def post_multipart(self, body: bytes, attachment: Attachment | None) -> Outcome:
        return Outcome(kind="hold", status=None, message="multipart is not carried over NATS")

    def close(self) -> None:
        loop, nc = self._loop, self._nc
        if loop is None:
            return
        if nc is not None and not nc.is_closed:
            # Closing a dead connection: nothing is left to do.
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(nc.close(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._loop = self._nc = None


class _TooLarge(Exception):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"the payload is {size:,} bytes, over the NATS server's max_payload of {limit:,}: "
            "raise max_payload on the servers, or send this build straight to SEI"
        )
