"""The service: watches build directories, decides when a build is complete, and hands
it to payload and deliver on worker threads; also backfill of builds already on disk.

Enters: the settings' [[watch]] tables and the file-system events under their roots (the
relay: the fleet's JetStream).
Leaves: every completed build queued in the outbox once, and metrics and health endpoints
(the relay: each payload posted to SEI once, within the fleet's rate limit).
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .backfill import Backfill, parse_rate, parse_since
    from .daemon import Daemon
    from .relay import Relay
    from .relay_admin import init_streams, replay_dead
    from .timelines import TimelineStore
else:
    from sei_watch._lazy import exports

    __getattr__ = exports(
        __name__,
        {
            "replay_dead": "relay_admin",
            "Backfill": "backfill",
            "parse_rate": "backfill",
            "parse_since": "backfill",
            "Daemon": "daemon",
            "Relay": "relay",
            "init_streams": "relay_admin",
            "TimelineStore": "timelines",
        },
    )

__all__ = [
    "Backfill",
    "Daemon",
    "Relay",
    "TimelineStore",
    "init_streams",
    "parse_rate",
    "parse_since",
    "replay_dead",
]
