"""`sei-watch check-config`: every mistake of the config in one pass, each with its file,
line and key; then what would be watched."""

from __future__ import annotations

import argparse
import uuid
from pathlib import Path

from sei_watch.config import DEFAULT_CONFIGS, check_file, find_config
from sei_watch.deliver import check_key_file, resolve_base
from sei_watch.errors import SeiWatchError
from sei_watch.payload import require_instance
from sei_watch.show import dump_json, visible
from sei_watch.status import ExitStatus

from .io import Io, registry_for, settings_for

__all__ = ["cmd_check_config"]


def _url_problem(value: object) -> str | None:
    try:
        resolve_base(str(value))
    except SeiWatchError as exc:
        return str(exc)
    return None


def _guid_problem(value: object) -> str | None:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return f"{value!r} is not a UUID: SEI accepts the post with 202 and then drops it"
    return None


def _one_pass(args: argparse.Namespace, io: Io) -> ExitStatus | None:
    """Every mistake of the file at once (None: there is none, go on)."""
    path = find_config(args.config, io.environ)
    if path is None or not path.is_file():
        searched = [str(args.config)] if args.config else []
        if io.environ.get("SEI_WATCH_CONFIG"):
            searched.append(f"$SEI_WATCH_CONFIG={io.environ['SEI_WATCH_CONFIG']}")
        searched += [str(p) for p in DEFAULT_CONFIGS]
        why = f"no config file found (looked at {', '.join(searched)})"
        if args.json:
            dump_json(io.stdout, {"ok": False, "searched": searched, "errors": [why]})
        io.stderr.write(f"sei-watch: {why}\n")
        return ExitStatus.USAGE
    findings = check_file(
        path, io.environ, extra={"sei.url": _url_problem, "sei.instance_guid": _guid_problem}
    )
    if not findings:
        return None
    if args.json:
        errors = [
            {"file": f.file, "line": f.line, "key": f.key, "message": f.message} for f in findings
        ]
        dump_json(io.stdout, {"config": str(path), "ok": False, "errors": errors})
    io.stderr.writelines(f"{visible(str(f))}\n" for f in findings)
    io.stderr.write(f"sei-watch: {len(findings)} mistake(s) in {path}\n")
    return ExitStatus.USAGE


def cmd_check_config(args: argparse.Namespace, io: Io) -> ExitStatus:
    """Validate the config (every mistake in one pass) and the parsers it names; print what
    would be watched."""
    failed = _one_pass(args, io)
    if failed is not None:
        return failed
    settings = settings_for(args, io)
    registry_for(settings, io)
    require_instance(settings)
    if settings.sei.api_key_file:
        warning = check_key_file(Path(settings.sei.api_key_file))
        if warning:
            io.stderr.write(f"sei-watch: warning: {warning}\n")
    if args.json:
        watches = [
            {"name": w.name, "root": str(w.root), "pattern": "/".join(w.pattern),
             "complete_when": w.complete_when.kind, "root_exists": w.root.is_dir()}
            for w in settings.watches
        ]  # fmt: skip
        dump_json(io.stdout, {"config": settings.source, "ok": True, "watches": watches})
        return ExitStatus.OK
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
