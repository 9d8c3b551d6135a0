"""`[otel]`: a second output, off by default. Each finished run also goes, as an OpenTelemetry
trace, to an OTLP/HTTP endpoint (a Collector in front of Tempo, Jaeger or Honeycomb). The
standard `OTEL_EXPORTER_OTLP_*` variables, `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`
are read as the OpenTelemetry SDKs read them, over the config file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

__all__ = ["OTEL_SCALARS", "OtelSettings", "otel_settings"]

OTEL_SCALARS: dict[str, dict[str, type]] = {
    "otel": {"endpoint": str, "headers": str, "timeout": float, "service_name": str},
}


@dataclass(frozen=True, slots=True, kw_only=True)
class OtelSettings:
    """Where traces go: `traces_url` is `{endpoint}/v1/traces` (or the traces endpoint as
    given); `headers` (an API key for the backend) are secrets, never logged."""

    traces_url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 10.0
    service_name: str | None = None
    resource: Mapping[str, str] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return bool(self.traces_url)


def _pairs(text: str) -> dict[str, str]:
    """W3C-baggage-like `k=v,k=v`, percent-decoded, as OTEL_EXPORTER_OTLP_HEADERS is."""
    out = {}
    for item in text.split(","):
        key, eq, value = item.partition("=")
        if eq and key.strip():
            out[unquote(key.strip())] = unquote(value.strip())
    return out


def otel_settings(table: Mapping[str, Any], environ: Mapping[str, str]) -> OtelSettings:
    """The `[otel]` table with the environment over it (the SDKs' precedence)."""
    traces = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or str(table.get("endpoint") or "")
    url = traces or (f"{base.rstrip('/')}/v1/traces" if base else None)
    headers = _pairs(str(table.get("headers") or ""))
    headers |= _pairs(environ.get("OTEL_EXPORTER_OTLP_HEADERS", ""))
    headers |= _pairs(environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS", ""))
    timeout = float(table.get("timeout") or 10.0)  # already a float: settings._scalars
    for var in ("OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"):
        if environ.get(var, "").strip().isdigit():
            timeout = int(environ[var]) / 1000.0  # milliseconds, per the specification
    return OtelSettings(
        traces_url=url or None,
        headers=headers,
        timeout=timeout,
        service_name=environ.get("OTEL_SERVICE_NAME")
        or (str(table.get("service_name") or "") or None),
        resource=_pairs(environ.get("OTEL_RESOURCE_ATTRIBUTES", "")),
    )
