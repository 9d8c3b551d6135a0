"""Exit statuses of every CLI command, in one place."""

from __future__ import annotations

from enum import IntEnum, unique

__all__ = ["ExitStatus"]


@unique
class ExitStatus(IntEnum):
    """What `sei-watch` returns to the shell."""

    OK = 0
    PROBLEMS = 1  # some files could not be read; the payload is still valid
    USAGE = 2  # bad arguments or configuration
    INVALID_PAYLOAD = 3  # the payload breaks the SEI contract, or SEI refused it for good
    NOT_DELIVERED = 4  # queued in the outbox, not delivered yet; it will be retried
    INTERRUPTED = 130  # SIGINT (128 + 2), as a shell reports it; the payload was saved first
    TERMINATED = 143  # SIGTERM (128 + 15): a cancelled CI job; the payload was saved first
