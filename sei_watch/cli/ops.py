"""The operator's commands: the daemon, its config check, the parsers, doctor, the last
timeline and backfill. Imported only when one of them runs."""

from __future__ import annotations

import argparse
import shutil
import signal
import time

from sei_watch.config import find_config, load_settings
from sei_watch.daemon import Backfill, Daemon, TimelineStore, parse_rate, parse_since
from sei_watch.logs import LEVELS, configure_logging
from sei_watch.show import dump_json, render_html, render_text, visible
from sei_watch.status import ExitStatus

from .doctor import run_checks
from .io import Io, registry_for, settings_for, use_color

__all__ = [
    "cmd_backfill",
    "cmd_doctor",
    "cmd_parsers",
    "cmd_run",
    "cmd_timeline",
]


def cmd_run(args: argparse.Namespace, io: Io) -> ExitStatus:
    """Run the daemon until SIGTERM or SIGINT."""
    config = find_config(args.config, io.environ)
    level = args.log_level or load_settings(config, io.environ).log_level
    # JSON lines to the journal (each with its syslog priority); readable on a TTY.
    configure_logging(stream=io.stdout, level=LEVELS[level.lower()])
    daemon = Daemon(config=config, environ=io.environ, hostname=io.hostname())
    return ExitStatus(daemon.run())


def cmd_parsers(args: argparse.Namespace, io: Io) -> ExitStatus:
    """List the parsers in use with their origin."""
    registry = registry_for(settings_for(args, io), io)
    if args.json:
        dump_json(
            io.stdout,
            {
                "parsers": [
                    {"name": lp.name, "origin": lp.origin, "reads": lp.reads,
                     "globs": list(lp.extra.patterns) if lp.extra else []}
                    for lp in registry.parsers
                ],
                "failures": [str(f) for f in registry.failures],
            },
        )  # fmt: skip
        return ExitStatus.PROBLEMS if registry.failures else ExitStatus.OK
    for lp in registry.parsers:
        extra = f"  +globs {', '.join(lp.extra.patterns)}" if lp.extra else ""
        io.stdout.write(f"{lp.name:<20} {lp.origin}{extra}\n")
        if lp.reads:
            io.stdout.write(f"{'':<20} {visible(lp.reads)}\n")
    return ExitStatus.PROBLEMS if registry.failures else ExitStatus.OK


def cmd_doctor(args: argparse.Namespace, io: Io) -> ExitStatus:
    """One line per check, ✔ or ✖, with the fix; exit 0 only when everything holds."""
    checks = run_checks(args.config, io.environ)
    if args.json:
        dump_json(io.stdout, [c.as_dict() for c in checks])
    else:
        for c in checks:
            io.stdout.write(f"{c.mark} {c.name}: {visible(c.detail)}\n")
            if c.state != "pass" and c.fix:
                io.stdout.write(f"    fix: {c.fix}\n")
    return ExitStatus.OK if all(c.ok for c in checks) else ExitStatus.PROBLEMS


def cmd_timeline(args: argparse.Namespace, io: Io) -> ExitStatus:
    """Draw the most recent build the daemon reported."""
    settings = settings_for(args, io)
    payload = TimelineStore(settings.state_dir / "timelines", settings.timeline_keep).last()
    if payload is None:
        io.stderr.write(f"sei-watch: no timelines in {settings.state_dir / 'timelines'} yet\n")
        return ExitStatus.PROBLEMS
    tty = io.stdout.isatty()
    width = args.width or shutil.get_terminal_size((100, 24)).columns
    color = use_color(args, io, io.stdout)
    io.stdout.write(
        render_text(payload, width=width, ascii_only=args.ascii or not tty, color=color)
    )
    if args.html:
        args.html.write_text(render_html(payload), encoding="utf-8")
    return ExitStatus.OK


def cmd_backfill(args: argparse.Namespace, io: Io) -> ExitStatus:
    """Report past builds through the outbox, rate-limited; interruptible and resumable."""
    settings = settings_for(args, io)
    # One line per delivered build would bury the progress bar: only warnings and errors.
    configure_logging(stream=io.stderr, level=LEVELS["warning"])
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
