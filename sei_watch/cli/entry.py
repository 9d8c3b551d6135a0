"""The `sei-watch` command line. Every command returns an `ExitStatus`; I/O is injectable.

A command's module is imported when it runs: `sei-watch --version` and `sei-watch mark`
(the last step of every build) never load HTTP, watchdog or the parsers.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from sei_watch.errors import ConfigError, SeiWatchError
from sei_watch.logs import LEVELS, configure_logging
from sei_watch.show import visible
from sei_watch.status import ExitStatus

from .args import COMMANDS, build_parser
from .ciout import in_ci
from .io import Io, use_color

__all__ = ["COMMANDS", "Io", "main"]

_QUIET = {
    "mark",
    "step",
    "install-unit",
    "completion",
}  # commands that never log: no structlog set-up


# One-shot commands a CI job runs: in their own process they leave without the interpreter's
# teardown of every module (`_leave`), unless a thread is still alive (a delivery's).
_LEAVE_FAST = {"parse", "mark"}


def main(argv: Sequence[str] | None = None, io: Io | None = None) -> int:
    """Run one command; return its exit status."""
    process = argv is None and io is None  # the process's own command line and streams
    io = io or Io()
    try:
        args = build_parser(sys.argv[1:] if argv is None else argv).parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help, --version and usage errors
        return int(exc.code or 0) and ExitStatus.USAGE
    if args.command not in _QUIET:
        # In a CI job the log is a person's: readable lines, errors only (each outcome has its
        # own closing line); the JSON log only when asked for.
        ci = in_ci(io.environ) and args.log_format == "auto"
        fmt = "console" if ci else args.log_format
        level = LEVELS[(args.log_level or ("error" if ci else "info")).lower()]
        configure_logging(
            stream=io.stderr,
            color=use_color(args, io, io.stderr),
            level=level,
            json={"json": True, "console": False}.get(fmt),
        )
    module, name = COMMANDS[args.command].split(":")
    command = getattr(importlib.import_module(f"sei_watch.cli.{module}"), name)
    try:
        status = int(command(args, io))
    except BrokenPipeError:
        # `sei-watch ... | head`: the reader left. Quietly stop, as cat and grep do; stdout
        # goes to /dev/null so that Python's flush at exit cannot raise again.
        _silence_stdout(io)
        return ExitStatus.OK
    except ConfigError as exc:
        io.stderr.write(f"sei-watch: {visible(str(exc))}\n")
        return ExitStatus.USAGE
    except SeiWatchError as exc:
        io.stderr.write(f"sei-watch: {visible(str(exc))}\n")
        return ExitStatus.USAGE
    if process and args.command in _LEAVE_FAST and threading.active_count() == 1:
        _leave(status)
    return status


def _leave(status: int) -> NoReturn:
    """Exit at once: the exit hooks run (a git shadow directory is removed, logs flushed), the
    output is flushed, and the interpreter's teardown of every module is skipped: about a
    tenth of a small `parse` (`farm-bench`, see the README)."""
    import atexit  # noqa: PLC0415

    atexit._run_exitfuncs()  # what a normal exit runs before the teardown
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that left
            stream.flush()
    os._exit(status)


def _silence_stdout(io: Io) -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, io.stdout.fileno())
