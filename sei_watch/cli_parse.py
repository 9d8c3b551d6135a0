"""`sei-watch parse`: one workspace (or one file) into the payload, shown, explained, drawn,
or posted through the outbox."""

from __future__ import annotations

import argparse
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import cli_outbox
from .cli_io import Io, registry_for, settings_for
from .config import Settings, coerce_field, parse_assignment
from .delivery import STATE_FILE, load_api_key, open_outbox
from .errors import ConfigError, SeiWatchError
from .oneshot import save_payload, soft_fail_on, undelivered_path, usable_state
from .payload import REQUIRED
from .report import Given, Report, build_report
from .state import BuildState
from .status import ExitStatus
from .summary import dump_json, record_json, write_summary
from .termsafe import visible
from .timeline import render_html, render_text
from .workspace import parse_claimed, parse_file

__all__ = ["add_command", "cmd_parse"]


def add_command(sub: Any) -> None:
    """The `parse` subcommand and its options."""
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
    p.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds --post tries to deliver, retries included (default 30)",
    )
    p.add_argument(
        "--save-undelivered",
        type=Path,
        metavar="FILE",
        help="where --post keeps a payload it could not deliver "
        "(default: ./sei-watch-undelivered-JOB-N.json)",
    )
    p.add_argument(
        "--soft-fail",
        action="store_true",
        help="exit 0 when files had problems or delivery failed (also SEI_WATCH_SOFT_FAIL=1)",
    )


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


def _parse_one(args: argparse.Namespace, io: Io, settings: Settings) -> ExitStatus:
    lp = registry_for(settings, io).get(args.parser)
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


def _parse_claimed(args: argparse.Namespace, io: Io, settings: Settings) -> ExitStatus:
    """`parse FILE`: the parsers that claim the file, as in a folder scan, print its records."""
    names, records = parse_claimed(
        args.path, registry_for(settings, io), max_bytes=settings.max_file_bytes
    )
    if not names:
        raise ConfigError(
            f"{args.path}: no parser claims this file by its name or first bytes; name one "
            "with --parser (`sei-watch parsers` lists them)"
        )
    io.stderr.write(f"sei-watch: {visible(args.path.name)} read by {', '.join(names)}\n")
    dump_json(io.stdout, [record_json(r) for r in records])
    problems = any(r["kind"] == "ParseProblem" for r in map(record_json, records))
    return ExitStatus.PROBLEMS if problems else ExitStatus.OK


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
        io.stdout.write(f"{key:<16} {visible(text):<62} {visible(sources.get(key, '?'))}\n")
    for note in report.context.notes:
        io.stdout.write(f"note: {visible(note)}\n")


def cmd_parse(args: argparse.Namespace, io: Io) -> ExitStatus:
    """Parse a workspace into the payload SEI would receive, and show it (and post it)."""
    status, posted = _cmd_parse(args, io)
    soft = soft_fail_on(args.soft_fail, io.environ)
    failed = status in (ExitStatus.PROBLEMS, ExitStatus.NOT_DELIVERED) or (
        posted and status == ExitStatus.INVALID_PAYLOAD
    )
    if soft and failed:
        io.stderr.write(f"sei-watch: --soft-fail: exit 0 instead of {int(status)}\n")
        return ExitStatus.OK
    return status


def _cmd_parse(args: argparse.Namespace, io: Io) -> tuple[ExitStatus, bool]:
    settings = settings_for(args, io)
    if args.post:
        settings, note = usable_state(settings, io.environ)
        if note:
            io.stderr.write(f"sei-watch: {note}\n")
    if args.parser:
        return _parse_one(args, io, settings), False
    if args.path.is_file():
        return _parse_claimed(args, io, settings), False
    fields, params = _fields(settings, args.sets)
    state = _state(settings, create=args.post)
    report = build_report(
        args.path,
        registry_for(settings, io),
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
        io.stderr.writelines(f"sei-watch: problem: {visible(str(p))}\n" for p in asm.problems)
    if invalid:
        io.stderr.write("sei-watch: the payload is not valid:\n")
        io.stderr.writelines(f"  {visible(line)}\n" for line in invalid)
        return ExitStatus.INVALID_PAYLOAD, False
    if args.post:
        refusal = report.refusal()
        if refusal is not None:
            io.stderr.write(f"sei-watch: not posted: {refusal}\n")
            return ExitStatus.INVALID_PAYLOAD, False
        return _post(io, settings, report, state, args), True
    return (ExitStatus.PROBLEMS if asm.problems else ExitStatus.OK), False


def _post(
    io: Io, settings: Settings, report: Report, state: BuildState | None, args: argparse.Namespace
) -> ExitStatus:
    payload = report.payload
    load_api_key(settings, io.environ)  # a malformed key fails here, before anything is queued
    outbox = open_outbox(settings)
    try:
        queued = outbox.enqueue(payload)
    finally:
        outbox.close()
    if state is not None:
        report.remember(state)
    key = report.key
    io.stderr.write(f"sei-watch: {visible(key)} {queued} in the outbox\n")
    # One request may not outlast the whole deadline.
    sei = replace(
        settings.sei,
        read_timeout=min(settings.sei.read_timeout, args.timeout),
        connect_timeout=min(settings.sei.connect_timeout, args.timeout),
    )
    sent = cli_outbox.deliver_one(io, replace(settings, sei=sei), key, args.timeout)
    if sent == ExitStatus.NOT_DELIVERED:
        # The runner may be gone before any retry: keep the payload where the job can save it.
        path = undelivered_path(args.save_undelivered, payload)
        save_payload(payload, path)
        io.stderr.write(
            f"sei-watch: not delivered within {args.timeout:g} s; the payload is saved in "
            f"{path}: keep it as a job artifact, and `sei-watch outbox import {path.name}` "
            "queues it on any machine that has the API key\n"
        )
    if sent != ExitStatus.OK:
        return sent
    return ExitStatus.PROBLEMS if report.problems else ExitStatus.OK
