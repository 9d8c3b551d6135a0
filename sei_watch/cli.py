"""The `sei-watch` command line. Every command returns an `ExitStatus`; I/O is injectable.

A command's module is imported when it runs: `sei-watch --version` and `sei-watch mark`
(the last step of every build) never load HTTP, watchdog or the parsers.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from .cli_args import build_parser
from .cli_io import Io
from .errors import ConfigError, SeiWatchError
from .logs import configure_logging
from .status import ExitStatus
from .termsafe import visible

__all__ = ["COMMANDS", "Io", "main"]

COMMANDS = {
    "parse": "cli_parse:cmd_parse",
    "parsers": "cli_ops:cmd_parsers",
    "outbox": "cli_outbox:run_outbox",
    "register": "cli_outbox:run_register",
    "mark": "cli_mark:cmd_mark",
    "install-unit": "cli_install:cmd_install_unit",
    "run": "cli_ops:cmd_run",
    "check-config": "cli_ops:cmd_check_config",
    "doctor": "cli_ops:cmd_doctor",
    "timeline": "cli_ops:cmd_timeline",
    "backfill": "cli_ops:cmd_backfill",
}
_QUIET = {"mark", "install-unit"}  # commands that never log: no structlog set-up


def main(argv: Sequence[str] | None = None, io: Io | None = None) -> int:
    """Run one command; return its exit status."""
    io = io or Io()
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help, --version and usage errors
        return int(exc.code or 0) and ExitStatus.USAGE
    if args.command not in _QUIET:
        configure_logging(stream=io.stderr)
    module, name = COMMANDS[args.command].split(":")
    command = getattr(importlib.import_module(f"sei_watch.{module}"), name)
    try:
        return int(command(args, io))
    except ConfigError as exc:
        io.stderr.write(f"sei-watch: {visible(str(exc))}\n")
        return ExitStatus.USAGE
    except SeiWatchError as exc:
        io.stderr.write(f"sei-watch: {visible(str(exc))}\n")
        return ExitStatus.USAGE
