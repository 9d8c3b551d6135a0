"""The NATS connection both sides use: servers, credentials and TLS from the settings, a
per-client inbox prefix, nats-py's reports as JSON log lines, and URLs with their passwords
masked wherever they are shown or stored."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

from sei_watch.config import NatsSettings, redact_url
from sei_watch.errors import ConfigError, DeliveryError
from sei_watch.logs import get_logger

__all__ = ["AUTHORIZATION", "PERMISSION", "connect", "redact_text"]

log = get_logger("sei_watch.nats")


def _nats() -> Any:
    try:
        import nats  # noqa: PLC0415  (only agents and relays that use NATS need it)
    except ImportError as exc:
        raise ConfigError(
            "[deliver] target = nats needs the NATS client: pip install 'sei-watch[nats]'"
        ) from exc
    return nats


PERMISSION = "permissions violation"
AUTHORIZATION = "authorization violation"


async def connect(settings: NatsSettings, *, on_error: Callable[[str], None] | None = None) -> Any:
    """A connection that reconnects for ever; credentials from the files the config names,
    TLS from its files. nats-py's own reports (errors, disconnects) become JSON log lines,
    and a server's permission refusals also go to `on_error`, in the server's words."""
    nats = _nats()
    options: dict[str, Any] = {
        "servers": settings.server_list(),
        "connect_timeout": settings.publish_timeout,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 1,
        "allow_reconnect": True,
        "inbox_prefix": settings.inbox_prefix,
        **_callbacks(settings, on_error),
    }
    if settings.creds_file:
        options["user_credentials"] = settings.creds_file
    if settings.nkey_file:
        options["nkeys_seed"] = settings.nkey_file
    if settings.tls_ca_file or settings.tls_cert_file:
        options["tls"] = _tls(settings)
    try:
        return await nats.connect(**options)
    except ModuleNotFoundError as exc:  # nkeys, for a creds or nkey file
        raise ConfigError(
            f"NATS credentials need the {exc.name} module: pip install 'sei-watch[nats]'"
        ) from exc
    except Exception as exc:  # nats-py raises its own and OSError kinds alike
        raise DeliveryError(
            f"cannot reach NATS at {settings.shown()}: {redact_text(repr(exc), settings)}"
        ) from exc


def _tls(settings: NatsSettings) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=settings.tls_ca_file or None)
    if settings.tls_cert_file:
        try:
            ctx.load_cert_chain(settings.tls_cert_file, settings.tls_key_file or None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"[nats] tls_cert_file {settings.tls_cert_file}: cannot load: {exc}"
            ) from exc
    return ctx


def redact_text(text: str, settings: NatsSettings) -> str:
    """`text` with every server URL's password masked, as it may be logged or stored."""
    for url in settings.server_list():
        shown = redact_url(url)
        if shown != url:
            text = text.replace(url, shown)
            secret = url.partition("://")[2].partition("@")[0]
            text = text.replace(secret, shown.partition("://")[2].partition("@")[0])
    return text


def _callbacks(settings: NatsSettings, on_error: Callable[[str], None] | None) -> dict[str, Any]:
    """nats-py prints tracebacks through `logging` unless given these: one JSON line each."""

    async def error_cb(exc: Exception) -> None:
        text = redact_text(str(exc) or repr(exc), settings)
        low = text.lower()
        if PERMISSION in low or AUTHORIZATION in low:
            what = "permission_denied" if PERMISSION in low else "auth_failed"
            log.error(f"nats.{what}", error=text, action="fix the server's users or this client's")
            if on_error is not None:
                on_error(text)
        else:
            log.warning("nats.error", error=text[:300])

    async def disconnected_cb() -> None:
        log.info("nats.disconnected", servers=settings.shown())  # also on a deliberate close

    async def reconnected_cb() -> None:
        log.info("nats.reconnected", servers=settings.shown())

    return {
        "error_cb": error_cb,
        "disconnected_cb": disconnected_cb,
        "reconnected_cb": reconnected_cb,
    }
