"""The one exception tree. Third-party errors are translated into these at the boundary."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DeliveryError",
    "OutboxError",
    "OutboxFull",
    "ParseError",
    "PayloadError",
    "PluginError",
    "SeiWatchError",
    "UnsafePathError",
]


class SeiWatchError(Exception):
    """Root of every error sei-watch raises on purpose."""


class ConfigError(SeiWatchError):
    """A config file, a `--set` or an environment override is wrong; the message names it."""


class PluginError(SeiWatchError):
    """A parser plugin could not be loaded or clashes with another one."""


class ParseError(SeiWatchError):
    """A parser could not read a file. Carries the line where it is known."""

    def __init__(self, reason: str, *, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


class UnsafePathError(ParseError):
    """A path is a symlink out of the root, not a regular file, or too large."""


class PayloadError(SeiWatchError):
    """A payload breaks the SEI contract; `problems` lists each one with its JSON path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class DeliveryError(SeiWatchError):
    """A request to SEI could not be made (connection, TLS, timeout), or SEI refused it."""


class OutboxError(SeiWatchError):
    """The outbox database cannot be opened or written (read-only, full disk, corrupt)."""


class OutboxFull(OutboxError):
    """The outbox is at its row or byte cap: the new build is refused, old rows are kept."""
