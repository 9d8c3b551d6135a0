"""structlog set-up: JSON lines under systemd or in a pipe, readable console output on a TTY."""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

__all__ = ["configure_logging", "redact", "register_secret"]

_SECRETS: set[str] = set()
_URL_CREDS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s:]+:[^/@\s]+@", re.I)


def register_secret(value: str) -> None:
    """A value (the API key) that must never appear in a log line."""
    if len(value) >= 6:
        _SECRETS.add(value)


def _scrub(text: str) -> str:
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    return _URL_CREDS.sub(r"\g<scheme>[redacted]@", text)


def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: scrub secrets and URL credentials from every value, tracebacks too."""
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = _scrub(value)
        elif not isinstance(value, int | float | bool | type(None)):
            event[key] = _scrub(str(value))
    return event


def configure_logging(
    *, stream: TextIO | None = None, json: bool | None = None, level: int = logging.INFO
) -> None:
    """Route structlog events to `stream` (stderr by default) as JSON or as console text."""
    stream = stream or sys.stderr
    if json is None:
        json = "JOURNAL_STREAM" in os.environ or not stream.isatty()
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
