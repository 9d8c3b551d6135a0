"""structlog set-up: JSON lines under systemd or in a pipe, readable console output on a TTY."""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import MutableMapping
from typing import Any, TextIO

from sei_watch.termsafe import visible

__all__ = ["LEVELS", "configure_logging", "get_logger", "redact", "register_secret"]

# The stdlib's numbers, without importing `logging` (and its `traceback`, `string`, ...) in a
# one-shot command that may log nothing at all.
NOTSET, DEBUG, INFO, WARNING, ERROR, CRITICAL = 0, 10, 20, 30, 40, 50
LEVELS = {"debug": DEBUG, "info": INFO, "warning": WARNING, "error": ERROR, "critical": CRITICAL}


class _LazyLogger:
    """A structlog logger made on first use: importing a module costs no structlog (and its
    asyncio), so `sei-watch --version` and `mark` start at once."""

    __slots__ = ("_log", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._log: Any = None

    def __getattr__(self, attr: str) -> Any:
        # An event below the configured level needs no structlog (and no asyncio): a CI job,
        # which logs errors only, never pays ~100 ms for a logger it does not use.
        if self._log is None and _LEVELS.get(attr, CRITICAL) < _threshold():
            return _discard
        if _PENDING:
            _apply()
        if self._log is None:
            import structlog  # noqa: PLC0415  (lazy: see the class docstring)

            self._log = structlog.get_logger(self._name)
        return getattr(self._log, attr)


_LEVELS = {**LEVELS, "msg": INFO, "warn": WARNING, "exception": ERROR}  # a logger's methods


def _discard(*_args: Any, **_kwargs: Any) -> None:
    return None


def _threshold() -> int:
    """The least severe level that is written: the pending set-up's, else the applied one's."""
    if _PENDING:
        return int(_PENDING.get("level", INFO))
    return _APPLIED_LEVEL[0]


def get_logger(name: str) -> Any:
    """The logger for a module, bound lazily."""
    return _LazyLogger(name)


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


_PENDING: dict[str, Any] = {}  # a set-up asked for, applied when a logger is first used
_APPLIED_LEVEL = [NOTSET]  # the level of the set-up in force (NOTSET: none yet)
_APPLYING = threading.Lock()


def configure_logging(
    *,
    stream: TextIO | None = None,
    json: bool | None = None,
    level: int = INFO,
    color: bool | None = None,
) -> None:
    """Route structlog events to `stream` (stderr by default) as JSON or as console text.
    structlog (and the asyncio it imports) is loaded when something first logs, not here."""
    _PENDING.clear()
    _PENDING.update(stream=stream or sys.stderr, json=json, level=level, color=color)
    if "structlog" in sys.modules:
        _apply()


# syslog priorities, so that `journalctl -p warning` shows warnings and worse.
_PRIORITY = {"critical": 2, "exception": 3, "error": 3, "warning": 4, "info": 6, "debug": 7}


class _Journald:
    """Prefix each JSON line with `<N>`, its syslog priority, as journald reads it from a
    stream (the JSON itself stays intact after the prefix)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, logger: Any, name: str, event: MutableMapping[str, Any]) -> str:
        prio = _PRIORITY.get(str(event.get("level", "info")), 6)
        return f"<{prio}>{self.inner(logger, name, event)}"


def _terminal_safe(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """For the console renderer, which prints a plain string value and a traceback as they
    are: a file name or an exception message quoting a build's file could carry ESC to an
    operator's terminal. A traceback keeps its line breaks."""
    for key, value in event.items():
        if not isinstance(value, str):
            continue
        if key in ("exception", "stack"):
            event[key] = "\n".join(visible(line) for line in value.split("\n"))
        else:
            event[key] = visible(value)
    return event


def _is_journal(stream: TextIO) -> bool:
    """Whether `stream` is the journal's: JOURNAL_STREAM names its device and inode."""
    want = os.environ.get("JOURNAL_STREAM", "")
    if not want:
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return want == f"{st.st_dev}:{st.st_ino}"


def _apply() -> None:
    with _APPLYING:  # two threads logging first at once apply the set-up once
        _apply_locked()


def _apply_locked() -> None:
    if not _PENDING:
        return
    import structlog  # noqa: PLC0415  (only commands that log pay for it)

    stream, json, level = _PENDING["stream"], _PENDING["json"], _PENDING["level"]
    _APPLIED_LEVEL[0] = level
    color = _PENDING.get("color")
    _PENDING.clear()
    if json is None:
        json = "JOURNAL_STREAM" in os.environ or not stream.isatty()
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=stream.isatty() if color is None else color)
    )
    if json and _is_journal(stream):
        renderer = _Journald(renderer)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            *(() if json else (_terminal_safe,)),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
