"""The `sei-watch` command: parses arguments, calls the stages, prints, and returns an
`ExitStatus`.

Enters: argv and an `Io` (streams, environment, clock) that tests replace.
Leaves: an exit status.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not `typing`'s: `sei-watch step` wraps every step and must start fast
if TYPE_CHECKING:
    from collections.abc import Sequence

    from .io import Io

__all__ = ["main"]


def main(argv: Sequence[str] | None = None, io: Io | None = None) -> int:
    """Run one command; return its exit status. `step` skips argparse and every import the
    other commands need: it runs around each step of a build."""
    if io is None:
        args = sys.argv[1:] if argv is None else list(argv)
        if args[:1] == ["step"]:
            from .step import run_step  # noqa: PLC0415  (nothing else for `step`)

            return run_step(args[1:], os.environ)
    from .entry import main as run  # noqa: PLC0415  (argparse and the rest, after `step`)

    return run(argv, io)
