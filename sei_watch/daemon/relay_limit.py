"""How a relay paces its requests to SEI: one token bucket in JetStream KV shared by the
fleet where the server keeps compare-and-set exact, else an even split of the budget among
`[relay] instances` (deliver/kvlimit.py has the measurements behind the choice)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from sei_watch.config import Settings
from sei_watch.deliver import RATE_BUCKET, KvTokenBucket, kv_safe, server_version
from sei_watch.logs import get_logger

from .relay_state import HOLD_PROBE, RelayState

__all__ = ["RelayLimiter"]

log = get_logger("sei_watch.relay")


def _version(version: Any) -> str:
    found = server_version(version)
    return ".".join(map(str, found)) if found is not None else "unknown"


class RelayLimiter:
    """One per relay, shared by its POSTs in flight."""

    def __init__(self, settings: Settings, state: RelayState) -> None:
        self.settings, self.state = settings, state
        budget, instances = settings.sei.max_per_minute, max(settings.relay.instances, 1)
        share = max(budget // instances, 1) if budget > 0 else 0
        self.interval = settings.relay.window / share if share else 0.0
        self.kind = "split"
        self._next_slot = 0.0
        self._bucket: KvTokenBucket | None = None

    async def choose(self, nc: Any, js: Any, sleep: Callable[[float], Awaitable[bool]]) -> None:
        """The shared KV bucket where the server keeps compare-and-set exact (or when told),
        else the even split (deliver/kvlimit.py has the measurements). Once the bucket is
        the choice the relay waits for it (a hold if it is missing or refused) and never paces
        by the split instead: the split beside other relays' bucket goes over the budget."""
        mode, budget = self.settings.relay.limiter, self.settings.sei.max_per_minute
        version = nc.connected_server_version
        safe = kv_safe(version)
        if budget <= 0 or mode == "split" or (mode == "auto" and not safe):
            log.info("relay.limiter", limiter="split", server=_version(version))
            return
        if not safe:
            log.warning("relay.limiter_unsafe", action="upgrade nats-server to 2.9.21 or newer")
        while True:
            try:
                kv = await js.key_value(RATE_BUCKET)
                break
            except Exception as exc:
                lasting = type(exc).__name__ in ("NotFoundError", "BucketNotFoundError")
                if lasting:
                    self.state.hold = f"the rate bucket {RATE_BUCKET} is missing: run relay --init"
                log.warning(
                    "relay.limiter_waiting",
                    bucket=RATE_BUCKET,
                    error=self.state.shown(exc),
                    action="run `sei-watch relay --init`; grant the relays $KV.SEI_RATE.>",
                )
                if not await sleep(HOLD_PROBE if lasting else 1.0):
                    return
        self.state.hold = None
        self._bucket = KvTokenBucket(kv, budget, self.settings.relay.window)
        self.kind = "kv"
        log.info("relay.limiter", limiter="kv", bucket=RATE_BUCKET, server=_version(version))

    async def token(self, sleep: Callable[[float], Awaitable[bool]]) -> bool:
        """Wait for the next request's turn; False when told to stop meanwhile."""
        if self._bucket is not None:
            while True:
                try:
                    wait = await self._bucket.take()
                except Exception as exc:  # a failover: no token, no request (never the split
                    # beside the bucket: the two together went over the budget)
                    log.warning("relay.limiter_failed", error=self.state.shown(exc))
                    wait = 1.0
                if wait <= 0:
                    return True
                if not await sleep(min(wait, 1.0)):
                    return False
        slot = max(self._next_slot, time.monotonic())
        self._next_slot = slot + self.interval
        return await sleep(slot - time.monotonic())
