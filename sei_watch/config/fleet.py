"""The fleet settings: where an agent delivers (`[deliver] target`), the NATS JetStream it
publishes to (`[nats]`), and how `sei-watch relay` shares SEI's rate limit (`[relay]`)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FLEET_SCALARS", "TARGETS", "NatsSettings", "RelaySettings", "redact_url"]

TARGETS = ("sei", "nats")

# Scalar sections: key -> type, as in settings._SCALARS (SEI_WATCH_NATS_SERVERS and so on).
FLEET_SCALARS: dict[str, dict[str, type]] = {
    "deliver": {"target": str},
    "nats": {
        "servers": list,  # a TOML array of URLs, or one comma-separated string
        "creds_file": str,
        "nkey_file": str,
        "tls_ca_file": str,
        "tls_cert_file": str,
        "tls_key_file": str,
        "inbox_prefix": str,
        "subject_prefix": str,
        "stream": str,
        "dead_subject": str,
        "replicas": int,
        "duplicate_window": float,
        "max_age_days": float,
        "max_bytes": int,
        "dead_max_bytes": int,
        "publish_timeout": float,
    },
    "relay": {
        "instances": int,
        "durable": str,
        "ack_wait": float,
        "window": float,
        "in_flight": int,
        "limiter": str,
        "breaker_failures": int,
        "breaker_pause": float,
        "unhealthy_after": float,
    },
}


@dataclass(frozen=True, slots=True, kw_only=True)
class NatsSettings:
    """The JetStream both sides use. `servers` is a comma-separated list of URLs; credentials
    are read from files (a `.creds` file or an nkey seed), never from the config itself."""

    servers: str = "nats://127.0.0.1:4222"
    creds_file: str | None = None
    nkey_file: str | None = None
    tls_ca_file: str | None = None  # TLS: the CA that signed the servers' certificates
    tls_cert_file: str | None = None  # and this client's certificate and key, for mutual TLS
    tls_key_file: str | None = None
    # Replies come to <inbox_prefix>.<random>: a per-agent prefix lets the server's
    # permissions give each agent its own inbox instead of every client's `_INBOX.>`.
    inbox_prefix: str = "_INBOX"
    subject_prefix: str = "sei.payloads"  # an agent publishes to <prefix>.<instance_guid>
    stream: str = "SEI_PAYLOADS"
    dead_subject: str = "sei.dead"  # refused payloads, with SEI's reason, for a person
    replicas: int = 1  # 3 in a cluster
    duplicate_window: float = 3600.0  # seconds; at least the agents' longest retry gap
    max_age_days: float = 7.0
    max_bytes: int = 1 << 30  # when full, publishes are refused: agents keep their rows
    dead_max_bytes: int = 256 << 20  # the dead letters: the oldest go first when full
    publish_timeout: float = 5.0

    def server_list(self) -> list[str]:
        return [s.strip() for s in self.servers.split(",") if s.strip()]

    def shown(self) -> str:
        """The servers as they may be printed or stored: a password in a URL is masked."""
        return ",".join(redact_url(s) for s in self.server_list())

    @property
    def dead_stream(self) -> str:
        """The stream that holds `dead_subject`'s letters, beside `stream`."""
        return f"{self.stream}_DEAD"

    @property
    def anonymous(self) -> bool:
        """No credentials of any kind: any client that reaches the server may publish."""
        userinfo = any("@" in s.partition("://")[2].partition("/")[0] for s in self.server_list())
        return not (self.creds_file or self.nkey_file or self.tls_cert_file or userinfo)


def redact_url(url: str) -> str:
    """`nats://user:secret@host` as `nats://user:***@host` (a token alone as `***`)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    auth, at, host = rest.partition("@")
    if not at:
        return url
    user, colon, _secret = auth.partition(":")
    masked = f"{user}:***" if colon else "***"
    return f"{scheme}{sep}{masked}@{host}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RelaySettings:
    """`sei-watch relay`: `instances` relays share `[sei] max_per_minute` evenly."""

    instances: int = 1
    durable: str = "sei-relay"
    # A POST in flight tells JetStream it is still working every third of this (in_progress),
    # so a POST slower than ack_wait is not handed to another relay; a relay that died holds
    # its messages back no longer than this.
    ack_wait: float = 30.0
    window: float = 60.0  # the budget's window: Harness counts per minute
    in_flight: int = 4  # POSTs at once per relay, all paced by the one limiter
    # "auto": the KV token bucket on a server that keeps compare-and-set exact (2.9.21 or
    # newer), else the even split; "kv" or "split" to choose (deliver/kvlimit.py).
    limiter: str = "auto"
    breaker_failures: int = 5  # consecutive 5xx or network failures that open the breaker
    breaker_pause: float = 30.0  # seconds without a request then (doubling up to 10 min)
    unhealthy_after: float = 60.0  # /healthz fails after this long cut off from NATS

    @property
    def max_ack_pending(self) -> int:
        """For the one consumer all relays share: every relay's POSTs in flight."""
        return max(self.in_flight, 1) * max(self.instances, 1)
