"""The fleet settings: where an agent delivers (`[deliver] target`), the NATS JetStream it
publishes to (`[nats]`), and how `sei-watch relay` shares SEI's rate limit (`[relay]`)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FLEET_SCALARS", "TARGETS", "NatsSettings", "RelaySettings"]

TARGETS = ("sei", "nats")

# Scalar sections: key -> type, as in settings._SCALARS (SEI_WATCH_NATS_SERVERS and so on).
FLEET_SCALARS: dict[str, dict[str, type]] = {
    "deliver": {"target": str},
    "nats": {
        "servers": str,
        "creds_file": str,
        "nkey_file": str,
        "subject_prefix": str,
        "stream": str,
        "dead_subject": str,
        "replicas": int,
        "duplicate_window": float,
        "max_age_days": float,
        "max_bytes": int,
        "publish_timeout": float,
    },
    "relay": {"instances": int, "durable": str, "ack_wait": float, "window": float},
}


@dataclass(frozen=True, slots=True, kw_only=True)
class NatsSettings:
    """The JetStream both sides use. `servers` is a comma-separated list of URLs; credentials
    are read from files (a `.creds` file or an nkey seed), never from the config itself."""

    servers: str = "nats://127.0.0.1:4222"
    creds_file: str | None = None
    nkey_file: str | None = None
    subject_prefix: str = "sei.payloads"  # an agent publishes to <prefix>.<instance_guid>
    stream: str = "SEI_PAYLOADS"
    dead_subject: str = "sei.dead"  # refused payloads, with SEI's reason, for a person
    replicas: int = 1  # 3 in a cluster
    duplicate_window: float = 3600.0  # seconds; at least the agents' longest retry gap
    max_age_days: float = 7.0
    max_bytes: int = 1 << 30  # when full, publishes are refused: agents keep their rows
    publish_timeout: float = 5.0

    def server_list(self) -> list[str]:
        return [s.strip() for s in self.servers.split(",") if s.strip()]


@dataclass(frozen=True, slots=True, kw_only=True)
class RelaySettings:
    """`sei-watch relay`: `instances` relays share `[sei] max_per_minute` evenly."""

    instances: int = 1
    durable: str = "sei-relay"
    ack_wait: float = 60.0  # longer than one POST's deadline: a slow SEI is no redelivery
    window: float = 60.0  # the budget's window: Harness counts per minute
