"""Wiring for every command that posts: the API key, the outbox and the sender, from Settings.

The API key is read here and handed to the client only: it never reaches a log, the outbox,
a payload or an error message.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path

from .client import SeiClient
from .config import Settings
from .errors import ConfigError
from .outbox import Outbox
from .sender import Backoff, Sender

__all__ = ["OUTBOX_FILE", "STATE_FILE", "load_api_key", "make_sender", "open_outbox"]

OUTBOX_FILE = "outbox.db"
STATE_FILE = "state.db"
_MAX_KEY_BYTES = 4096


def _read_key(path: Path, what: str) -> str:
    try:
        with path.open("rb") as fh:
            raw = fh.read(_MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"API key {what} {path}: cannot read: {exc.strerror}") from exc
    key = raw.decode("utf-8", "replace").strip()
    if not key or len(raw) > _MAX_KEY_BYTES or any(c.isspace() for c in key):
        raise ConfigError(f"API key {what} {path}: empty or not a single token")
    return key


def load_api_key(settings: Settings, environ: Mapping[str, str]) -> str:
    """SEI_API_KEY, else [sei] api_key_file, else $CREDENTIALS_DIRECTORY/api-key (systemd)."""
    if environ.get("SEI_API_KEY", "").strip():
        return environ["SEI_API_KEY"].strip()
    if settings.sei.api_key_file:
        return _read_key(Path(settings.sei.api_key_file), "file")
    creds = environ.get("CREDENTIALS_DIRECTORY")
    if creds and (Path(creds) / "api-key").exists():
        return _read_key(Path(creds) / "api-key", "credential")
    raise ConfigError(
        "no API key: set SEI_API_KEY, [sei] api_key_file, or systemd LoadCredential=api-key:FILE"
    )


def open_outbox(settings: Settings) -> Outbox:
    return Outbox(
        settings.state_dir / OUTBOX_FILE,
        max_rows=settings.outbox.max_rows,
        max_bytes=settings.outbox.max_bytes,
    )


def make_sender(settings: Settings, outbox: Outbox, environ: Mapping[str, str]) -> Sender:
    """A sender for this config; needs [sei] url (or SEI_URL) and an API key."""
    if not settings.sei.url:
        raise ConfigError(
            f"{settings.source}: [sei] url is not set (a preset such as prod2, "
            "or the base URL); SEI_URL also works"
        )
    client = SeiClient(
        settings.sei.url,
        load_api_key(settings, environ),
        connect_timeout=settings.sei.connect_timeout,
        read_timeout=settings.sei.read_timeout,
        ca_bundle=settings.sei.ca_bundle,
    )
    backoff = Backoff(cap=settings.sei.backoff_cap, max_age=settings.sei.max_age)
    return Sender(outbox=outbox, client=client, backoff=backoff, rng=random.Random())
