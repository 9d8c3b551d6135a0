"""`sei-watch doctor` for an agent that delivers through NATS (`[deliver] target = "nats"`):
no SEI key may be on it, and the fleet's stream must answer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping

from sei_watch.config import Settings
from sei_watch.deliver import connect, key_sources
from sei_watch.errors import SeiWatchError

from .doctor_host import Check

__all__ = ["fleet_checks"]


def _no_key(s: Settings, env: Mapping[str, str]) -> Check:
    found = [where for where, _, _ in key_sources(s, env)]
    if found:
        return Check(
            "api key",
            False,
            f"an SEI API key is on this agent ({', '.join(found)}), which delivers through NATS",
            "remove it: the relays hold the one key, and rotating it touches only them",
        )
    return Check("api key", True, "none on this agent, as it should be: the relays hold the key")


def _stream(s: Settings) -> Check:
    nats = s.nats

    async def ask() -> int:
        nc = await connect(nats)
        try:
            info = await nc.jetstream().stream_info(nats.stream)
            return int(info.state.messages)
        finally:
            await nc.close()

    try:
        waiting = asyncio.run(ask())
    except SeiWatchError as exc:
        return Check("nats", False, str(exc), "check [nats] servers and the credentials file")
    except Exception as exc:  # nats-py's NotFoundError and kin: no stream yet
        return Check(
            "nats",
            False,
            f"{nats.shown()} answered, but stream {nats.stream}: {exc!r}"[:300],
            "create it once for the fleet: sei-watch relay --init",
        )
    return Check("nats", True, f"stream {nats.stream} at {nats.shown()}: {waiting} waiting")


def _credentials(s: Settings) -> Check:
    if s.nats.anonymous:
        return Check(
            "nats credentials",
            True,
            "none: any client that reaches NATS may publish what the relays post with the key",
            "give each agent its own nkey or creds file and permissions (docs/fleet.md)",
            state="warning",
        )
    return Check("nats credentials", True, "this agent authenticates to NATS")


def fleet_checks(s: Settings, env: Mapping[str, str]) -> Iterator[Check]:
    yield _no_key(s, env)
    yield _credentials(s)
    yield _stream(s)
