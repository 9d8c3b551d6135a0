"""`sei-watch parse`: one workspace (or one file) into the payload, shown, explained, drawn,
or posted through the outbox."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sei_watch.config import Settings, coerce_field
from sei_watch.context import STATE_FILE
from sei_watch.errors import ConfigError, SeiWatchError
from sei_watch.payload import Given, Report, build_report
from sei_watch.scan import parse_claimed, parse_file
from sei_watch.schema import REQUIRED
from sei_watch.show import dump_json, record_json, visible, write_summary
from sei_watch.status import ExitStatus

from .args import parse_assignment
from .ciout import gitlab_section, in_ci, soft_warning, step_summary
from .io import Io, registry_for, settings_for, use_color
from .oneshot import soft_fail_on, usable_state

if TYPE_CHECKING:
    from sei_watch.context import BuildState

__all__ = ["cmd_parse"]


def _fields(settings: Settings, sets: Sequence[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The fields and params that `--set` states (the config's come through the settings)."""
    fields: dict[str, Any] = {}
    params: dict[str, str] = {}
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
    from sei_watch.context import BuildState  # noqa: PLC0415  (sqlite3: only with a state)

    try:
        return BuildState(path)
    except SeiWatchError:
        if create:
            raise
        return None  # a read-only look: no previous build known


def _explain(io: Io, report: Report, *, as_json: bool) -> None:
    p, sources = report.payload, report.assembly.sources
    if as_json:
        rows = [{"field": k, "value": v, "source": sources.get(k, "?")} for k, v in p.items()]
        dump_json(io.stdout, rows + [{"note": n} for n in report.context.notes])
        return
    for key, value in p.items():
        text = json.dumps(value, ensure_ascii=False)
        if len(text) > 60:
            text = text[:57] + "..."
        io.stdout.write(f"{key:<16} {visible(text):<62} {visible(sources.get(key, '?'))}\n")
    for note in report.context.notes:
        io.stdout.write(f"note: {visible(note)}\n")


_WHY = {
    ExitStatus.PROBLEMS: "some files could not be read (listed above)",
    ExitStatus.USAGE: "the configuration is not usable (see above)",
    ExitStatus.INVALID_PAYLOAD: "SEI would not store this build (see above)",
    ExitStatus.NOT_DELIVERED: "SEI was not reached in time; the payload is saved (see above)",
    ExitStatus.INTERRUPTED: "interrupted before SEI answered; the payload is saved (see above)",
    ExitStatus.TERMINATED: "the job was cancelled before SEI answered; the payload is saved",
}


def cmd_parse(args: argparse.Namespace, io: Io) -> ExitStatus:
    """Parse a workspace into the payload SEI would receive, and show it (and post it).

    With --soft-fail (or SEI_WATCH_SOFT_FAIL) the step never fails the job: a missing key or
    GUID, a bad URL, an unwritable directory, SEI down or refusing, all exit 0 with one
    warning; only a usage error in the command line itself (argparse's) stays non-zero."""
    soft = soft_fail_on(args.soft_fail, io.environ)
    try:
        status = _cmd_parse(args, io)
    except (SeiWatchError, OSError) as exc:
        if not soft:
            raise
        why = str(exc) if isinstance(exc, SeiWatchError) else f"{type(exc).__name__}: {exc}"
        soft_warning(io, f"the build was not reported to SEI: {why}")
        step_summary(io, [f"not reported: {why}"])
        return ExitStatus.OK
    if args.post:
        step_summary(io, [_outcome(status)])
    if soft and status != ExitStatus.OK:
        soft_warning(io, f"{_outcome(status)} (exit {int(status)} without --soft-fail)")
        return ExitStatus.OK
    return status


def _outcome(status: ExitStatus) -> str:
    if status == ExitStatus.OK:
        return "the build was delivered to SEI"
    return f"the build was not fully reported: {_WHY.get(status, f'exit {int(status)}')}"


def _cmd_parse(args: argparse.Namespace, io: Io) -> ExitStatus:
    settings = settings_for(args, io)
    if args.post:
        settings, note = usable_state(settings, io.environ)
        if note and not in_ci(io.environ):  # a throwaway runner's state is gone anyway
            io.stderr.write(f"sei-watch: {note}\n")
    if args.parser:
        return _parse_one(args, io, settings)
    if args.path.is_file():
        return _parse_claimed(args, io, settings)
    fields, params = _fields(settings, args.sets)
    state = _state(settings, create=args.post)
    try:
        report = build_report(
            args.path,
            registry_for(settings, io),
            settings,
            given=Given(fields=fields, sources=dict.fromkeys(fields, "--set"), params=params),
            environ=io.environ,
            hostname=io.hostname(),
            now_ms=io.now_ms(),
            state=state,
            repo=args.repo,
            # SEI's test zip, begun on the other core as soon as the files are read
            zip_ahead=args.post and settings.sei.transport == "multipart",
        )
        try:
            return _show_and_post(args, io, settings, report, state)
        finally:
            report.cancel_attachment()  # a zip begun and not taken (no post after all)
    finally:
        if state is not None:
            state.close()


def _show_and_post(
    args: argparse.Namespace,
    io: Io,
    settings: Settings,
    report: Report,
    state: BuildState | None,
) -> ExitStatus:
    asm, result, invalid = report.assembly, report.scan, list(report.invalid)
    if args.strict:
        invalid += [
            f"$.{key}: not stated ({why})"
            for key, why in asm.defaults
            if key in (*REQUIRED, "build_number")  # a defaulted number makes a new run each time
        ]
    if args.records:
        dump_json(io.stdout, [record_json(r) for r in result.records])
    elif args.explain:
        _explain(io, report, as_json=args.json)
    elif args.json:
        if not invalid:
            dump_json(io.stdout, asm.payload)
    elif args.timeline:
        tty = io.stdout.isatty()
        color = use_color(args, io, io.stdout)
        import shutil  # noqa: PLC0415  (the timeline only)

        from sei_watch.show import render_text  # noqa: PLC0415

        width = args.width or shutil.get_terminal_size((100, 24)).columns
        io.stdout.write(
            render_text(asm.payload, width=width, ascii_only=args.ascii or not tty, color=color)
        )
    else:
        title = (
            f"sei-watch parse {result.root}  ({result.files_seen} files seen, "
            f"{result.files_parsed} parsed)"
        )
        # Posting, the instance's name is SEI's: not a default a CI user should set.
        settled = ("instance_name",) if args.post and in_ci(io.environ) else ()
        with gitlab_section(io, "sei-watch: the build as SEI will store it"):
            write_summary(io.stdout, asm, title=title, settled=settled)
    if args.html:
        from sei_watch.show import render_html  # noqa: PLC0415  (the page only)

        args.html.write_text(render_html(asm.payload), encoding="utf-8")
    if args.json or args.records or args.explain or args.timeline:  # else in the summary
        io.stderr.writelines(f"sei-watch: problem: {visible(str(p))}\n" for p in asm.problems)
    if invalid:
        io.stderr.write("sei-watch: the payload is not valid:\n")
        io.stderr.writelines(f"  {visible(line)}\n" for line in invalid)
        return ExitStatus.INVALID_PAYLOAD
    if args.post:
        refusal = report.refusal()
        if refusal is not None:  # before the key is read: the fix is the config, not the key
            io.stderr.write(f"sei-watch: not posted: {refusal}\n")
            return ExitStatus.INVALID_PAYLOAD
        from .post import post  # noqa: PLC0415  (HTTP only when posting)

        return post(io, settings, report, state, args)
    return ExitStatus.PROBLEMS if asm.problems else ExitStatus.OK
