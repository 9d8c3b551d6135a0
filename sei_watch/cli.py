"""The `sei-watch` command line. Every command returns an `ExitStatus`; I/O is injectable."""

from __future__ import annotations

import argparse
import logging
import shutil
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from . import __version__, cli_install, cli_mark, cli_outbox, cli_parse
from .backfill import Backfill, parse_rate, parse_since
from .cli_io import Io, registry_for, settings_for
from .config import find_config
from .daemon import Daemon
from .delivery import check_key_file
from .doctor import run_checks
from .errors import ConfigError, SeiWatchError
from .logs import configure_logging
from .report import require_instance
from .status import ExitStatus
from .summary import dump_json
from .termsafe import visible
from .timeline import render_html, render_text
from .timelines import TimelineStore

__all__ = ["Io", "main"]


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="sei-watch", description="Report CI builds to Harness SEI.")
    ap.add_argument("--version", action="version", version=f"sei-watch {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cli_parse.add_command(sub)

    ps = sub.add_parser("parsers", help="list the parsers found and where each came from")
    ps.add_argument("--config", type=Path, help="a TOML config file")
    cli_outbox.add_commands(sub)
    cli_mark.add_command(sub)
    cli_install.add_command(sub)
    rn = sub.add_parser("run", help="the daemon: watch the roots, report every build to SEI")
    rn.add_argument("--config", type=Path, help="default: ./sei-watch.toml, else /etc/sei-watch")
    cc = sub.add_parser("check-config", help="validate the config without running")
    cc.add_argument("--config", type=Path, help="a TOML config file")
    tl = sub.add_parser("timeline", help="show a build the daemon reported, as a Gantt chart")
    tl.add_argument("which", choices=["last"], help="the most recent build")
    tl.add_argument("--config", type=Path, help="a TOML config file")
    tl.add_argument("--ascii", action="store_true", help="plain ASCII")
    tl.add_argument("--width", type=int, help="default: the terminal's")
    tl.add_argument("--html", type=Path, metavar="FILE", help="also write the HTML page")
    bf = sub.add_parser("backfill", help="report every completed build under the roots")
    bf.add_argument("--config", type=Path, help="a TOML config file")
    win = bf.add_mutually_exclusive_group()
    win.add_argument("--since", metavar="YYYY-MM-DD", help="builds completed since this day")
    win.add_argument("--last", metavar="90d", help="builds of the last N days/hours/minutes")
    bf.add_argument("--watch", metavar="NAME", help="only this [[watch]]")
    bf.add_argument("--dry-run", action="store_true", help="count per job, show a sample")
    bf.add_argument("--rate", default="20/s", help="at most this many builds a second (20/s)")
    dr = sub.add_parser("doctor", help="check the install: config, key, SEI, roots, state, git")
    dr.add_argument("--config", type=Path, help="a TOML config file")
    dr.add_argument("--json", action="store_true", help="the results as JSON, for monitoring")
    return ap


def cmd_run(args: argparse.Namespace, io: Io) -> ExitStatus:
    """Run the daemon until SIGTERM or SIGINT."""
    configure_logging(stream=io.stdout)  # JSON lines to the journal; readable on a TTY
    config = find_config(args.config, io.environ)
    daemon = Daemon(config=config, environ=io.environ, hostname=io.hostname())
    return ExitStatus(daemon.run())


def cmd_check_config(args: argparse.Namespace, io: Io) -> ExitStatus:
    """Validate the config and the parsers it names; print what would be watched."""
    settings = settings_for(args, io)
    registry_for(settings, io)
    require_instance(settings)
    if settings.sei.api_key_file:
        warning = check_key_file(Path(settings.sei.api_key_file))
        if warning:
            io.stderr.write(f"sei-watch: warning: {warning}\n")
    io.stdout.write(f"{settings.source}: ok\n")
    for w in settings.watches:
        pattern = "/".join(w.pattern) or "(the root itself)"
        kind = w.complete_when.kind + (f":{w.complete_when.glob}" if w.complete_when.glob else "")
        if w.complete_when.kind == "quiet":
            kind += f":{w.complete_when.quiet:g}"
        io.stdout.write(
            f"  watch {w.name}: {w.root} / {pattern}, complete when {kind}"
            f"{'' if w.root.is_dir() else '  (root does not exist yet)'}\n"
        )
    return ExitStatus.OK


def cmd_parsers(args: argparse.Namespace, io: Io) -> ExitStatus:
    """List the parsers in use with their origin."""
    registry = registry_for(settings_for(args, io), io)
    for lp in registry.parsers:
        extra = f"  +globs {', '.join(lp.extra.patterns)}" if lp.extra else ""
        io.stdout.write(f"{lp.name:<20} {lp.origin}{extra}\n")
    return ExitStatus.PROBLEMS if registry.failures else ExitStatus.OK


COMMANDS: dict[str, Callable[[argparse.Namespace, Io], ExitStatus]] = {
    "parse": cli_parse.cmd_parse,
    "parsers": cmd_parsers,
    "outbox": lambda args, io: cli_outbox.cmd_outbox(args, io, settings_for(args, io)),
    "register": lambda args, io: cli_outbox.cmd_register(args, io, settings_for(args, io)),
    "mark": cli_mark.cmd_mark,
    "install-unit": cli_install.cmd_install_unit,
    "run": cmd_run,
    "check-config": cmd_check_config,
}


def cmd_doctor(args: argparse.Namespace, io: Io) -> ExitStatus:
    """One line per check, ✔ or ✖, with the fix; exit 0 only when everything holds."""
    checks = run_checks(args.config, io.environ)
    if args.json:
        dump_json(io.stdout, [c.as_dict() for c in checks])
    else:
        for c in checks:
            io.stdout.write(f"{'✔' if c.ok else '✖'} {c.name}: {visible(c.detail)}\n")
            if not c.ok and c.fix:
                io.stdout.write(f"    fix: {c.fix}\n")
    return ExitStatus.OK if all(c.ok for c in checks) else ExitStatus.PROBLEMS


COMMANDS["doctor"] = cmd_doctor


def cmd_timeline(args: argparse.Namespace, io: Io) -> ExitStatus:
    """Draw the most recent build the daemon reported."""
    settings = settings_for(args, io)
    payload = TimelineStore(settings.state_dir / "timelines", settings.timeline_keep).last()
    if payload is None:
        io.stderr.write(f"sei-watch: no timelines in {settings.state_dir / 'timelines'} yet\n")
        return ExitStatus.PROBLEMS
    tty = io.stdout.isatty()
    width = args.width or shutil.get_terminal_size((100, 24)).columns
    io.stdout.write(render_text(payload, width=width, ascii_only=args.ascii or not tty, color=tty))
    if args.html:
        args.html.write_text(render_html(payload), encoding="utf-8")
    return ExitStatus.OK


COMMANDS["timeline"] = cmd_timeline


def cmd_backfill(args: argparse.Namespace, io: Io) -> ExitStatus:
    """Report past builds through the outbox, rate-limited; interruptible and resumable."""
    settings = settings_for(args, io)
    # One line per delivered build would bury the progress bar: only warnings and errors.
    configure_logging(stream=io.stderr, level=logging.WARNING)
    job = Backfill(
        settings,
        io.environ,
        io.hostname(),
        io.stdout,
        io.stderr,
        since=parse_since(args.since, args.last, time.time()),
        watch=args.watch,
        rate=parse_rate(args.rate),
    )
    if args.dry_run:
        job.dry_run()
        return ExitStatus.OK
    previous = signal.signal(signal.SIGTERM, lambda *_: job.stop.set())
    try:
        _, pending = job.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
    return ExitStatus.OK if pending == 0 and not job.stop.is_set() else ExitStatus.NOT_DELIVERED


COMMANDS["backfill"] = cmd_backfill


def main(argv: Sequence[str] | None = None, io: Io | None = None) -> int:
    """Run one command; return its exit status."""
    io = io or Io()
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help, --version and usage errors
        return int(exc.code or 0) and ExitStatus.USAGE
    configure_logging(stream=io.stderr)
    try:
        return COMMANDS[args.command](args, io)
    except ConfigError as exc:
        io.stderr.write(f"sei-watch: {visible(str(exc))}\n")
        return ExitStatus.USAGE
    except SeiWatchError as exc:
        io.stderr.write(f"sei-watch: {visible(str(exc))}\n")
        return ExitStatus.USAGE
