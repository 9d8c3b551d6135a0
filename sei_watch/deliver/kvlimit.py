"""The fleet's budget as one token bucket in JetStream KV, shared by every relay: a stopped
relay's share goes to the others, which the even split leaves idle.

Measured side by side (`bench/limiter.py`, 3-node cluster, budget 57 per window): on
nats-server 2.15.1 the bucket stays within budget (busiest window 57 of 57) and admits 55 a
window with one relay of three stopped, where the split admits 38. On 2.9.10 it went over
(93 of 57): concurrent updates expecting one revision were all accepted (nats-server #4320,
fixed in 2.9.21). So `[relay] limiter = "auto"` takes the bucket only from a server at 2.9.21
or newer, and the split otherwise.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sei_watch.config import NatsSettings

__all__ = [
    "MIN_KV_VERSION",
    "RATE_BUCKET",
    "KvTokenBucket",
    "ensure_rate_bucket",
    "kv_safe",
    "server_version",
]

RATE_BUCKET = "SEI_RATE"
RATE_KEY = "tokens"
MIN_KV_VERSION = (2, 9, 21)


def server_version(version: Any) -> tuple[int, int, int] | None:
    """nats-py's `connected_server_version` as numbers; None when it could not tell."""
    try:
        return (int(version.major), int(version.minor), int(version.patch))
    except (AttributeError, TypeError, ValueError):
        return None


def kv_safe(version: Any) -> bool:
    """Whether a server of this version keeps compare-and-set exact (nats-server #4320)."""
    found = server_version(version)
    return found is not None and found >= MIN_KV_VERSION


async def ensure_rate_bucket(js: Any, settings: NatsSettings) -> str:
    """The bucket `relay --init` makes: one key, its last value only."""
    from nats.js.api import KeyValueConfig  # noqa: PLC0415

    try:
        await js.key_value(RATE_BUCKET)
    except Exception:  # not found: create it
        await js.create_key_value(
            KeyValueConfig(bucket=RATE_BUCKET, history=1, replicas=settings.replicas)
        )
        return f"created key-value bucket {RATE_BUCKET}"
    return f"key-value bucket {RATE_BUCKET} is there"


class KvTokenBucket:
    """Capacity `burst`, refilled at (budget - burst) per window, so no window holds more
    than the budget; taken with compare-and-set, retried on a conflict."""

    def __init__(self, kv: Any, budget: int, window: float) -> None:
        self.kv = kv
        self.burst = max(budget // 20, 1)
        self.rate = max(budget - self.burst, 1) / window
        self.conflicts = 0

    async def take(self) -> float:
        """0 when a token was taken; else the seconds until one is due."""
        from nats.js.errors import APIError, KeyNotFoundError  # noqa: PLC0415

        while True:
            now = time.time()
            try:
                entry = await self.kv.get(RATE_KEY)
                state, revision = json.loads(entry.value), entry.revision
            except KeyNotFoundError:
                state, revision = {"tokens": float(self.burst), "at": now}, None
            tokens = min(
                float(self.burst),
                float(state["tokens"]) + max(now - float(state["at"]), 0.0) * self.rate,
            )
            if tokens < 1.0:
                return (1.0 - tokens) / self.rate
            value = json.dumps({"tokens": tokens - 1.0, "at": now}).encode()
            try:
                if revision is None:
                    await self.kv.create(RATE_KEY, value)
                else:
                    await self.kv.update(RATE_KEY, value, last=revision)
            except APIError:  # another relay took one first: read again
                self.conflicts += 1
                continue
            return 0.0
