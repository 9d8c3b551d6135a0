"""The `sei-watch` command line. Every command returns an `ExitStatus`; I/O is injectable."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from . import __version__, cli_mark, cli_outbox
from .backfill import Backfill, parse_rate, parse_since
from .config import Settings, coerce_field, find_config, load_settings, parse_assignment
from .daemon import Daemon
from .delivery import STATE_FILE, open_outbox
from .doctor import run_checks
from .errors import ConfigError, SeiWatchError
from .logs import configure_logging
from .payload import REQUIRED
from .plugins import Registry, load_parsers
from .report import Given, Report, build_report
from .state import BuildState
from .status import ExitStatus
from .summary import dump_json, record_json, write_summary
from .timeline import render_html, render_text
from .timelines import TimelineStore
from .workspace import parse_file

__all__ = ["Io", "main"]


@dataclass(slots=True, kw_only=True)
class Io:
    """Everything a command touches outside the process, so that tests can replace it."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    hostname: Callable[[], str] = socket.gethostname
    now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="sei-watch", description="Report CI builds to Harness SEI.")
    ap.add_argument("--version", action="version", version=f"sei-watch {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("parse", help="parse a workspace (or one file) and show the payload")
    p.add_argument("path", type=Path, help="the build workspace, or one file with --parser")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print exactly the payload to post")
    out.add_argument("--records", action="store_true", help="print every record and problem")
    p.add_argument("--parser", metavar="NAME", help="run only this parser on the file PATH")
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a payload field (param.NAME=VALUE adds a job parameter)",
    )
    p.add_argument("--config", type=Path, help="a TOML config file")
    p.add_argument(
        "--strict", action="store_true", help="fail when a required field would be defaulted"
    )
    p.add_argument(
        "--post", action="store_true", help="queue the payload in the outbox and deliver it now"
    )
    out.add_argument(
        "--explain",
        action="store_true",
        help="print every payload field, its value and where it came from",
    )
    p.add_argument("--repo", type=Path, help="the git checkout (default: the one around PATH)")
    out.add_argument("--timeline", action="store_true", help="draw the build as a Gantt chart")
    p.add_argument("--ascii", action="store_true", help="plain ASCII for --timeline")
    p.add_argument("--width", type=int, help="--timeline width (default: the terminal's)")
    p.add_argument("--html", type=Path, metavar="FILE", help="write the timeline as HTML")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds --post waits for delivery")

    ps = sub.add_parser("parsers", help="list the parsers found and where each came from")
    ps.add_argument("--config", type=Path, help="a TOML config file")
    cli_outbox.add_commands(sub)
    cli_mark.add_command(sub)
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
    settings = _settings(args, io)
    _registry(settings, io)
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


def _settings(args: argparse.Namespace, io: Io) -> Settings:
    return load_settings(find_config(args.config, io.environ), io.environ)


def _registry(settings: Settings, io: Io) -> Registry:
    registry = load_parsers(settings.parsers)
    for failure in registry.failures:
        io.stderr.write(f"sei-watch: warning: {failure}\n")
    return registry


def _fields(settings: Settings, sets: Sequence[str]) -> tuple[dict[str, Any], dict[str, str]]:
    fields = dict(settings.fields)
    params = dict(settings.params)
    for text in sets:
        key, value = parse_assignment(text)
        if key.startswith("param."):
            params[key.removeprefix("param.")] = value
        else:
            fields[key] = coerce_field(key, value, f"--set {key}")
    return fields, params


def cmd_parsers(args: argparse.Namespace, io: Io) -> ExitStatus:
    """List the parsers in use with their origin."""
    registry = _registry(_settings(args, io), io)
    for lp in registry.parsers:
        extra = f"  +globs {', '.join(lp.extra.patterns)}" if lp.extra else ""
        io.stdout.write(f"{lp.name:<20} {lp.origin}{extra}\n")
    return ExitStatus.PROBLEMS if registry.failures else ExitStatus.OK


def _parse_one(args: argparse.Namespace, io: Io, settings: Settings) -> ExitStatus:
    lp = _registry(settings, io).get(args.parser)
    path: Path = args.path
    if not path.is_file():
        raise ConfigError(f"{path}: --parser needs one file, and this is not a file")
    root = Path(os.path.realpath(path.parent))
    records = parse_file(lp, root / path.name, root, max_bytes=settings.max_file_bytes)
    dump_json(io.stdout, [record_json(r) for r in records])
    return (
        ExitStatus.PROBLEMS
        if any(r["kind"] == "ParseProblem" for r in map(record_json, records))
        else ExitStatus.OK
    )


def _state(settings: Settings, *, create: bool) -> BuildState | None:
    path = settings.state_dir / STATE_FILE
    if not create and not path.exists():
        return None
    try:
        return BuildState(path)
    except SeiWatchError:
        if create:
            raise
        return None  # a read-only look: no previous build known


def _explain(io: Io, report: Report) -> None:
    p, sources = report.payload, report.assembly.sources
    for key, value in p.items():
        text = json.dumps(value, ensure_ascii=False)
        if len(text) > 60:
            text = text[:57] + "..."
        io.stdout.write(f"{key:<16} {text:<62} {sources.get(key, '?')}\n")
    for note in report.context.notes:
        io.stdout.write(f"note: {note}\n")


def cmd_parse(args: argparse.Namespace, io: Io) -> ExitStatus:
    """Parse a workspace into the payload SEI would receive, and show it."""
    settings = _settings(args, io)
    if args.parser:
        return _parse_one(args, io, settings)
    fields, params = _fields(settings, args.sets)
    state = _state(settings, create=args.post)
    report = build_report(
        args.path,
        _registry(settings, io),
        settings,
        given=Given(
            fields={k: v for k, v in fields.items() if k not in settings.fields},
            sources=dict.fromkeys(fields, "--set"),
            params=params,
        ),
        environ=io.environ,
        hostname=io.hostname(),
        now_ms=io.now_ms(),
        state=state,
        repo=args.repo,
    )
    asm, result, invalid = report.assembly, report.scan, list(report.invalid)
    if args.strict:
        invalid += [f"$.{key}: not stated ({why})" for key, why in asm.defaults if key in REQUIRED]
    if args.records:
        dump_json(io.stdout, [record_json(r) for r in result.records])
    elif args.json:
        if not invalid:
            dump_json(io.stdout, asm.payload)
    elif args.explain:
        _explain(io, report)
    elif args.timeline:
        tty = io.stdout.isatty()
        width = args.width or shutil.get_terminal_size((100, 24)).columns
        io.stdout.write(
            render_text(asm.payload, width=width, ascii_only=args.ascii or not tty, color=tty)
        )
    else:
        title = (
            f"sei-watch parse {result.root}  ({result.files_seen} files seen, "
            f"{result.files_parsed} parsed)"
        )
        write_summary(io.stdout, asm, title=title)
    if args.html:
        args.html.write_text(render_html(asm.payload), encoding="utf-8")
    if args.json or args.records or args.explain or args.timeline:  # else in the summary
        io.stderr.writelines(f"sei-watch: problem: {prob}\n" for prob in asm.problems)
    if invalid:
        io.stderr.write("sei-watch: the payload is not valid:\n")
        io.stderr.writelines(f"  {line}\n" for line in invalid)
        return ExitStatus.INVALID_PAYLOAD
    if args.post:
        return _post(io, settings, report, state, args.timeout)
    return ExitStatus.PROBLEMS if asm.problems else ExitStatus.OK


def _post(
    io: Io, settings: Settings, report: Report, state: BuildState | None, timeout: float
) -> ExitStatus:
    payload = report.payload
    outbox = open_outbox(settings)
    try:
        queued = outbox.enqueue(payload)
    finally:
        outbox.close()
    if state is not None and report.head:
        state.record(
            str(payload["instance_guid"]),
            str(payload["job_full_name"]),
            report.head,
            int(payload["build_number"]),
        )
    key = f"{payload['job_full_name']}#{payload['build_number']}"
    io.stderr.write(f"sei-watch: {key} {queued} in the outbox\n")
    sent = cli_outbox.deliver_one(io, settings, key, timeout)
    if sent != ExitStatus.OK:
        return sent
    return ExitStatus.PROBLEMS if report.problems else ExitStatus.OK


COMMANDS: dict[str, Callable[[argparse.Namespace, Io], ExitStatus]] = {
    "parse": cmd_parse,
    "parsers": cmd_parsers,
    "outbox": lambda args, io: cli_outbox.cmd_outbox(args, io, _settings(args, io)),
    "register": lambda args, io: cli_outbox.cmd_register(args, io, _settings(args, io)),
    "mark": cli_mark.cmd_mark,
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
            io.stdout.write(f"{'✔' if c.ok else '✖'} {c.name}: {c.detail}\n")
            if not c.ok and c.fix:
                io.stdout.write(f"    fix: {c.fix}\n")
    return ExitStatus.OK if all(c.ok for c in checks) else ExitStatus.PROBLEMS


COMMANDS["doctor"] = cmd_doctor


def cmd_timeline(args: argparse.Namespace, io: Io) -> ExitStatus:
    """Draw the most recent build the daemon reported."""
    settings = _settings(args, io)
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
    settings = _settings(args, io)
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
        io.stderr.write(f"sei-watch: {exc}\n")
        return ExitStatus.USAGE
    except SeiWatchError as exc:
        io.stderr.write(f"sei-watch: {exc}\n")
        return ExitStatus.USAGE
