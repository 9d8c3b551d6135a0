"""`sei-watch relay --init` and `relay --replay-dead`: the fleet's streams and consumer set up
to the settings, and dead letters sent back to be posted again once their cause is fixed."""

from __future__ import annotations

import asyncio
from typing import Any

from sei_watch.config import Settings
from sei_watch.deliver import connect, ensure_consumer, ensure_rate_bucket, ensure_streams

__all__ = ["init_streams", "replay_dead"]


def _warnings(settings: Settings) -> list[str]:
    if settings.nats.anonymous:
        return [
            "warning: NATS is reached without credentials: any client that reaches it may "
            "publish payloads the relays post with the central key (docs/fleet.md, "
            "Authorization)"
        ]
    return []


def init_streams(settings: Settings) -> list[str]:
    """The streams and the relays' consumer, created or brought up to date; what was done."""

    async def run() -> list[str]:
        nc = await connect(settings.nats)
        try:
            js = nc.jetstream()
            done = await ensure_streams(js, settings.nats)
            done.append(await ensure_consumer(js, settings.nats, settings.relay))
            if settings.relay.limiter != "split":
                done.append(await ensure_rate_bucket(js, settings.nats))
            return done
        finally:
            await nc.close()

    return _warnings(settings) + asyncio.run(run())


def replay_dead(settings: Settings) -> list[str]:
    """Every dead letter published again to the subject it came from, then removed from the
    dead stream: after a fix (a key, a permission, SEI's own fault), they are posted again."""
    nats = settings.nats
    dead_stream = nats.dead_stream

    async def run() -> list[str]:
        from nats.js.errors import NotFoundError  # noqa: PLC0415

        nc = await connect(nats)
        try:
            js = nc.jetstream()
            info = await js.stream_info(dead_stream)
            done = []
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                try:
                    msg = await js.get_msg(dead_stream, seq)
                except NotFoundError:  # deleted, or aged out
                    continue
                done.append(await _replay(js, msg, seq, nats.subject_prefix, dead_stream))
            return done or ["no dead letters"]
        finally:
            await nc.close()

    return asyncio.run(run())


async def _replay(js: Any, msg: Any, seq: int, prefix: str, dead_stream: str) -> str:
    headers = msg.headers or {}
    subject = headers.get("Sei-Subject") or ""
    if not subject.startswith(prefix + "."):
        return f"dead letter {seq}: left (no original subject)"
    old = headers.get("Nats-Msg-Id") or f"dead-{seq}"
    ack = await js.publish(subject, msg.data or b"", headers={"Nats-Msg-Id": f"{old}/replay"})
    await js.delete_msg(dead_stream, seq)
    return f"dead letter {seq}: replayed to {subject} (stream seq {ack.seq})"
