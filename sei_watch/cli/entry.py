"""The `sei-watch` command line. Every command returns an `ExitStatus`; I/O is injectable.

A command's module is imported when it runs: `sei-watch --version` and `sei-watch mark`
(the last step of every build) never load HTTP, watchdog or the parsers.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Sequence

from sei_watch.errors import ConfigError, SeiWatchError
from sei_watch.logs import LEVELS, configure_logging
from sei_watch.show import visible
from sei_watch.status import ExitStatus

from .args import build_parser
from .ciout import in_ci
from .io import Io, use_color

__all__ = ["COMMANDS", "Io", "main"]

COMMANDS = {
    "parse": "parse:cmd_parse",
    "parsers": "ops:cmd_parsers",
    "outbox": "outbox:run_outbox",
    "register": "register:run_register",
    "mark": "mark:cmd_mark",
    "step": "step:cmd_step",
    "install-unit": "install:cmd_install_unit",
    "run": "ops:cmd_run",
    "relay": "fleet:cmd_relay",
    "check-config": "checkconfig:cmd_check_config",
    "doctor": "ops:cmd_doctor",
    "timeline": "ops:cmd_timeline",
    "backfill": "ops:cmd_backfill",
    "completion": "completion:cmd_completion",
}
_QUIET = {
    "mark",
    "step",
    "install-unit",
    "completion",
}  # commands that never log: no structlog set-up


def main(argv: Sequence[str] | None = None, io: Io | None = None) -> int:
    """Run one command; return its exit status."""
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
        return int(command(args, io))
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


def _silence_stdout(io: Io) -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, io.stdout.fileno())
