"""What a config says, as frozen settings: the shape every stage reads (the loader is in
`settings`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sei_watch.plugins import DEFAULT_MAX_BYTES, ParserSettings

from .fleet import NatsSettings, RelaySettings
from .otel import OtelSettings
from .watches import WatchSpec

__all__ = ["DEFAULT_EXCLUDE", "DaemonSettings", "OutboxSettings", "SeiSettings", "Settings"]

# Never build output, and never our own temporary files.
DEFAULT_EXCLUDE = (".git", "node_modules", "__pycache__", ".sei-watch.tmp*")


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonSettings:
    """The daemon's threads and timers. events=false relies on the periodic rescan alone."""

    workers: int = 2
    rescan: float = 300.0
    queue_size: int = 10_000
    events: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class SeiSettings:
    """Where and how to post. `url` is a preset name or a base URL."""

    url: str | None = None
    api_key_file: str | None = None
    instance_guid: str | None = None
    instance_name: str | None = None
    instance_url: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    ca_bundle: str | None = None
    backoff_cap: float = 600.0
    max_age: float | None = None
    max_per_minute: int = 900  # below Harness' 1,000 per key per minute; 0: no limit
    transport: str = "custom-cicd"  # or "multipart": the SEI Jenkins plugin's path, tests too


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxSettings:
    """Caps of the outbox and how long delivered rows are kept."""

    max_rows: int = 100_000
    max_bytes: int = 1 << 30
    prune_days: float = 14.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything the config file says, validated."""

    fields: Mapping[str, Any] = field(default_factory=dict)
    field_sources: Mapping[str, str] = field(default_factory=dict)  # where each field came from
    params: Mapping[str, str] = field(default_factory=dict)
    tests_stage: str = "Tests"
    identity: str = "per-branch"  # [assemble] identity: "plain" keeps the CI's own job names
    parsers: Mapping[str, ParserSettings] = field(default_factory=dict)
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    max_file_bytes: int = DEFAULT_MAX_BYTES
    sei: SeiSettings = field(default_factory=SeiSettings)
    state_dir: Path = Path("/var/lib/sei-watch")
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    watches: tuple[WatchSpec, ...] = ()
    timeline_keep: int = 50
    log_level: str = "info"
    metrics_listen: str | None = None  # "127.0.0.1:9464": /metrics, /healthz, /readyz
    metrics_stale_after: float = 3600.0  # /healthz 503: no delivery this long while rows wait
    target: str = "sei"  # [deliver] target: "nats" publishes to the fleet relay instead
    nats: NatsSettings = field(default_factory=NatsSettings)
    relay: RelaySettings = field(default_factory=RelaySettings)
    otel: OtelSettings = field(default_factory=OtelSettings)  # [otel]: traces, off by default
    source: str = "(defaults)"
