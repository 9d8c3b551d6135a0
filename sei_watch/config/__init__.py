"""The shared ground every stage reads: the TOML config and the [[watch]] tables.

Enters: a config file's path (or none) and the environment.
Leaves: one frozen `Settings`, every key checked, or a `ConfigError` that names the key.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .check import Finding, check_file
    from .fleet import NatsSettings, RelaySettings, redact_url
    from .model import DEFAULT_EXCLUDE, Settings
    from .otel import OtelSettings
    from .settings import DEFAULT_CONFIGS, check_trusted, coerce_field, find_config, load_settings
    from .watches import WatchSpec
else:
    from sei_watch._lazy import exports

    __getattr__ = exports(
        __name__,
        {
            "redact_url": "fleet",
            "Finding": "check",
            "check_file": "check",
            "DEFAULT_CONFIGS": "settings",
            "NatsSettings": "fleet",
            "RelaySettings": "fleet",
            "OtelSettings": "otel",
            "DEFAULT_EXCLUDE": "model",
            "Settings": "model",
            "check_trusted": "settings",
            "coerce_field": "settings",
            "find_config": "settings",
            "load_settings": "settings",
            "WatchSpec": "watches",
        },
    )

__all__ = [
    "DEFAULT_CONFIGS",
    "DEFAULT_EXCLUDE",
    "Finding",
    "NatsSettings",
    "OtelSettings",
    "RelaySettings",
    "Settings",
    "WatchSpec",
    "check_file",
    "check_trusted",
    "coerce_field",
    "find_config",
    "load_settings",
    "redact_url",
]
