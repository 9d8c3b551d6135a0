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

from sei_watch.config import NatsSettings
from sei_watch.errors import ConfigError, DeliveryError

from .client import Outcome
from .multipart import Attachment

__all__ = ["NatsPublisher", "connect", "ensure_streams", "message_id", "subject_for"]


def _nats() -> Any:
    try:
        import nats  # noqa: PLC0415  (only agents and relays that use NATS need it)
    except ImportError as exc:
        raise ConfigError(
            "[deliver] target = nats needs the NATS client: pip install 'sei-watch[nats]'"
        ) from exc
    return nats


async def connect(settings: NatsSettings) -> Any:
    """A connection that reconnects for ever; credentials from the files the config names."""
    nats = _nats()
    options: dict[str, Any] = {
        "servers": settings.server_list(),
        "connect_timeout": settings.publish_timeout,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 1,
        "allow_reconnect": True,
    }
    if settings.creds_file:
        options["user_credentials"] = settings.creds_file
    if settings.nkey_file:
        options["nkeys_seed"] = settings.nkey_file
    try:
        return await nats.connect(**options)
    except Exception as exc:  # nats-py raises its own and OSError kinds alike
        raise DeliveryError(f"cannot reach NATS at {settings.servers}: {exc!r}") from exc


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
            name=f"{settings.stream}_DEAD",
            subjects=[f"{settings.dead_subject}.>"],
            storage=StorageType.FILE,
            num_replicas=settings.replicas,
            max_age=30 * 86400,
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


def subject_for(settings: NatsSettings, payload: dict[str, Any]) -> str:
    guid = str(payload.get("instance_guid") or "unknown").replace(".", "_")
    return f"{settings.subject_prefix}.{guid}"


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
        self.base = settings.servers
        self.deadline = settings.publish_timeout * 2
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._nc: Any = None
        self._lock = threading.Lock()

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
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _publish(self, subject: str, body: bytes, msg_id: str) -> Any:
        if self._nc is None or self._nc.is_closed:
            self._nc = await connect(self.settings)
        js = self._nc.jetstream()
        return await js.publish(
            subject,
            body,
            timeout=self.settings.publish_timeout,
            stream=self.settings.stream,
            headers={"Nats-Msg-Id": msg_id},
        )

    def post_run(self, body: bytes, **_: Any) -> Outcome:
        """Publish one payload; `delivered` only once JetStream stored it."""
        try:
            payload = json.loads(body)
        except ValueError:
            return Outcome(kind="dead", status=None, message="the row is not a JSON payload")
        subject = subject_for(self.settings, payload)
        try:
            ack = self._run(
                self._publish(subject, body, message_id(payload, body)), self.deadline + 5
            )
        except ConfigError as exc:  # nats-py not installed: a person must act; nothing is lost
            return Outcome(kind="hold", status=None, message=str(exc))
        except Exception as exc:  # a timeout, no stream yet, a server gone: try again later
            return Outcome(kind="retry", status=None, message=f"NATS publish: {exc!r}"[:500])
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
