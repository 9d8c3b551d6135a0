"""Wiring for every command that posts: the API key, the outbox and the sender, from Settings.

The API key is read here and handed to the client only: it never reaches a log, the outbox,
a payload or an error message.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sei_watch.config import Settings, check_trusted
from sei_watch.errors import ConfigError, OutboxFull, SeiWatchError
from sei_watch.logs import get_logger
from sei_watch.safeio import read_operator_file

from .client import SeiClient
from .destination import Destination, Scope, key_fingerprint, resolve_base
from .instance import Lookup, resolve_instance
from .outbox import Enqueued, Outbox
from .ratelimit import RateLimit
from .sender import Backoff, Sender

if TYPE_CHECKING:
    from sei_watch.context import BuildState
    from sei_watch.payload import Report

__all__ = [
    "OUTBOX_FILE",
    "Submission",
    "check_key",
    "check_key_file",
    "destination_for",
    "key_sources",
    "load_api_key",
    "make_sender",
    "open_outbox",
    "sei_client",
    "submit",
]

log = get_logger("sei_watch.delivery")

OUTBOX_FILE = "outbox.db"
_MAX_KEY_BYTES = 4096


def check_key_file(path: Path) -> str | None:
    """Refuse a key file any user can write (they could swap the key); a warning when others
    can read it, as ssh and Filebeat do."""
    try:
        st = os.stat(path)
    except OSError:
        return None  # reading it will say why
    mode = st.st_mode
    if mode & 0o002:
        raise ConfigError(
            f"API key file {path} is writable by any user: chmod 600 {path} (owner: the service "
            "user)"
        )
    check_trusted(path, st, what="API key file")  # group-writable, another owner, its dirs
    if mode & 0o044:
        return f"API key file {path} is readable by other users: chmod 600 {path}"
    return None


def check_key(key: str, what: str) -> str:
    """The key as it will go into the Authorization header, or a clear error: a line break,
    a space or a character outside printable ASCII can never be a working key (and a
    non-Latin-1 one cannot even be sent)."""
    key = key.strip()
    if not key:
        raise ConfigError(f"{what} is empty")
    if "\n" in key or "\r" in key:
        raise ConfigError(f"{what} is not a valid API key: it contains a line break")
    if any(c.isspace() for c in key):
        raise ConfigError(f"{what} is not a valid API key: it contains a space")
    if not all("!" <= c <= "~" for c in key):
        raise ConfigError(
            f"{what} is not a valid API key: it has a character outside printable ASCII"
        )
    return key


def _read_key(path: Path, what: str) -> str:
    warning = check_key_file(path)
    if warning:
        log.warning("key.readable", path=str(path), action=f"chmod 600 {path}")
    raw = read_operator_file(path, max_bytes=_MAX_KEY_BYTES, what=f"API key {what}")
    return check_key(raw.decode("utf-8", "replace"), f"API key {what} {path}")


def key_sources(
    settings: Settings, environ: Mapping[str, str]
) -> list[tuple[str, str, Path | None]]:
    """Every place an API key is set, in the order `load_api_key` takes them: (where, kind,
    file), the file None for SEI_API_KEY. `doctor` lists them all on an agent that must hold
    none."""
    out: list[tuple[str, str, Path | None]] = []
    if environ.get("SEI_API_KEY", "").strip():
        out.append(("SEI_API_KEY", "env", None))
    if settings.sei.api_key_file:
        out.append(("[sei] api_key_file", "file", Path(settings.sei.api_key_file)))
    creds = environ.get("CREDENTIALS_DIRECTORY")
    if creds and (Path(creds) / "api-key").exists():
        out.append(("$CREDENTIALS_DIRECTORY/api-key", "credential", Path(creds) / "api-key"))
    return out


def load_api_key(settings: Settings, environ: Mapping[str, str]) -> str:
    """SEI_API_KEY, else [sei] api_key_file, else $CREDENTIALS_DIRECTORY/api-key (systemd)."""
    sources = key_sources(settings, environ)
    if not sources:
        raise ConfigError(
            "no API key: set SEI_API_KEY, [sei] api_key_file, or systemd "
            "LoadCredential=api-key:FILE"
        )
    _, kind, path = sources[0]
    if path is None:
        return check_key(environ["SEI_API_KEY"], "SEI_API_KEY")
    return _read_key(path, kind)


def open_outbox(settings: Settings, *, readonly: bool = False) -> Outbox:
    return Outbox(
        settings.state_dir / OUTBOX_FILE,
        max_rows=settings.outbox.max_rows,
        max_bytes=settings.outbox.max_bytes,
        readonly=readonly,
    )


def _require_url(settings: Settings) -> str:
    if not settings.sei.url:
        raise ConfigError(
            f"{settings.source}: [sei] url is not set (a preset such as prod2, "
            "or the base URL); SEI_URL also works"
        )
    try:
        return resolve_base(settings.sei.url)
    except SeiWatchError as exc:
        raise ConfigError(f"{settings.source}: [sei] url: {exc}") from exc


def destination_for(
    settings: Settings, environ: Mapping[str, str], *, key: str | None = None
) -> Destination:
    """Where this config sends: SEI's base URL and the key's fingerprint, or the NATS servers.
    `key`: the API key already read, if it was."""
    if settings.target == "nats":
        # The servers without any user:password@ a URL may carry.
        return Destination(url="nats:" + re.sub(r"//[^/@,]*@", "//", settings.nats.servers))
    url = _require_url(settings)
    key = key if key is not None else load_api_key(settings, environ)
    return Destination(url=url, key_fp=key_fingerprint(key))


def make_sender(
    settings: Settings,
    outbox: Outbox,
    environ: Mapping[str, str],
    *,
    row_id: int | None = None,
) -> Sender:
    """A sender for this config: to SEI (needs [sei] url and an API key), or with
    `[deliver] target = "nats"` to the fleet's JetStream (no SEI key on this host). It sends
    only rows queued for this destination, or with `row_id` that one row."""
    backoff = Backoff(cap=settings.sei.backoff_cap, max_age=settings.sei.max_age)
    key = load_api_key(settings, environ) if settings.target == "sei" else None
    scope = Scope(destination=destination_for(settings, environ, key=key), row_id=row_id)
    if settings.target == "nats":
        from .jetstream import NatsPublisher  # noqa: PLC0415  (nats-py only where used)

        # No rate limit here: the relays pace the whole fleet against SEI's.
        return Sender(
            outbox=outbox,
            client=NatsPublisher(settings.nats),
            backoff=backoff,
            rng=random.Random(),
            scope=scope,
        )
    return Sender(
        outbox=outbox,
        client=sei_client(settings, environ, key=key),
        backoff=backoff,
        rng=random.Random(),
        limit=RateLimit(settings.sei.max_per_minute),
        multipart=_multipart(settings),
        scope=scope,
    )


def sei_client(
    settings: Settings, environ: Mapping[str, str], *, key: str | None = None
) -> SeiClient:
    """The HTTP client to SEI, with the API key (read here unless given)."""
    return SeiClient(
        settings.sei.url or "",
        key if key is not None else load_api_key(settings, environ),
        connect_timeout=settings.sei.connect_timeout,
        read_timeout=settings.sei.read_timeout,
        ca_bundle=settings.sei.ca_bundle,
    )


def _multipart(settings: Settings) -> bool:
    return settings.sei.transport == "multipart"


@dataclass(frozen=True, slots=True, kw_only=True)
class Submission:
    """What became of a built report: queued (the outbox's word for it), or why it was not."""

    queued: Enqueued | None = None
    invalid: tuple[str, ...] = ()
    refused: str | None = None
    full: bool = False  # refused because the outbox is at its caps


def submit(
    outbox: Outbox,
    report: Report,
    settings: Settings,
    state: BuildState | None,
    *,
    destination: Destination | None,
    queued_by: str = "agent",
    lookup: Lookup | None = None,
    invalid: tuple[str, ...] = (),
) -> Submission:
    """The one door from a built report to the outbox, for `parse --post`, the daemon and
    backfill alike. An invalid payload (its own problems and the caller's `invalid`) or one SEI
    would drop is not queued. A queued one carries its JUnit zip when the transport sends one,
    and its HEAD becomes the start of the job's next commit range."""
    problems = (*report.invalid, *invalid)
    if problems:
        return Submission(invalid=problems)
    refusal = report.refusal()
    if refusal is None and settings.target == "sei":  # a relay's payloads: its own config
        refusal = resolve_instance(
            report.payload,
            report.assembly.sources,
            defaulted=any(key == "instance_name" for key, _ in report.assembly.defaults),
            state_dir=settings.state_dir,
            lookup=lookup,
        )
    if refusal is not None:
        return Submission(refused=refusal)
    attachment = report.attachment() if _multipart(settings) else None
    try:
        queued = outbox.enqueue(
            report.payload, attachment, destination=destination, queued_by=queued_by
        )
    except OutboxFull as exc:
        return Submission(refused=str(exc), full=True)
    if state is not None:
        report.remember(state)
    if settings.otel.enabled:
        _queue_trace(report, settings)
    return Submission(queued=queued)


def _queue_trace(report: Report, settings: Settings) -> None:
    """The run and its test suites as a trace, beside the SEI row just queued."""
    import socket  # noqa: PLC0415

    from sei_watch.records import SuiteSummary  # noqa: PLC0415

    from .otlp import queue_trace  # noqa: PLC0415  (the trace output on only)

    suites = [r for r in report.scan.records if isinstance(r, SuiteSummary)]
    queue_trace(
        settings,
        report.payload,
        suites,
        worker=socket.gethostname(),
        traceparent=os.environ.get("TRACEPARENT"),
    )
