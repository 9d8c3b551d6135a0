"""`sei-watch outbox ...` and `sei-watch register`: inspect and repair the outbox, create a GUID."""

from __future__ import annotations

import argparse
import json
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sei_watch.config import Settings
from sei_watch.deliver import (
    OUTBOX_FILE,
    destination_for,
    make_sender,
    open_outbox,
)
from sei_watch.errors import ConfigError
from sei_watch.show import dump_json, visible
from sei_watch.status import ExitStatus

from .ciout import in_ci
from .io import settings_for
from .oneshot import load_payloads

if TYPE_CHECKING:
    from sei_watch.deliver import Outbox

    from .io import Io

__all__ = ["cmd_outbox", "run_outbox"]


def _age(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def cmd_outbox(args: argparse.Namespace, io: Io, settings: Settings) -> ExitStatus:
    """The outbox subcommands. Those that only look open the file read-only: nothing they do
    can change a row a running daemon holds."""
    looking = args.action in ("list", "show", "stats")
    if looking and not (settings.state_dir / OUTBOX_FILE).exists():
        if args.action == "show":
            raise ConfigError(f"no outbox in {settings.state_dir} yet: nothing was queued there")
        if args.action == "list":
            io.stdout.write("[]\n" if args.json else "")
            return ExitStatus.OK
    # stats of a directory with no outbox yet: an empty one is made, as before.
    outbox = open_outbox(settings, readonly=looking and (settings.state_dir / OUTBOX_FILE).exists())
    try:
        if args.action == "list" and args.json:
            rows = outbox.rows(state=args.state)
            dump_json(io.stdout, [{**_meta(r), "updated": r.updated} for r in rows])
        elif args.action == "list":
            for r in outbox.rows(state=args.state):
                err = f"  {visible(r.last_error[:80])}" if r.last_error else ""
                key = visible(r.key)
                where = f"  -> {visible(r.destination)}" if r.destination else ""
                io.stdout.write(
                    f"{r.id:>6} {r.state:<9} {r.attempts:>3} {_age(r.updated)}  {key}{where}{err}\n"
                )
        elif args.action == "show":
            r = outbox.find(args.key)
            io.stdout.write(
                json.dumps({**_meta(r), "payload": json.loads(r.body or b"{}")}, indent=2) + "\n"
            )
        elif args.action == "retry":
            if args.all_dead:
                io.stdout.write(f"{outbox.requeue_dead()} dead rows queued again\n")
            elif args.key:
                io.stdout.write(f"{visible(outbox.requeue(args.key).key)} queued again\n")
            else:
                raise ConfigError("outbox retry needs KEY or --all-dead")
        elif args.action == "drop":
            io.stdout.write(f"{visible(outbox.drop(args.key).key)} dropped\n")
        elif args.action == "stats":
            io.stdout.write(json.dumps(outbox.stats(), indent=2) + "\n")
        elif args.action == "import":
            payloads = [p for f in args.files for p in load_payloads(f)]
            destination = destination_for(settings, io.environ)
            for payload in payloads:
                outcome = outbox.enqueue(payload, destination=destination)
                key = f"{payload['job_full_name']}#{payload['build_number']}"
                io.stdout.write(f"{visible(key)} {outcome}\n")
            return _flush(args, io, settings, outbox) if args.flush else ExitStatus.OK
        else:
            return _flush(args, io, settings, outbox)
    finally:
        outbox.close()
    return ExitStatus.OK


def _meta(r: Any) -> dict[str, Any]:
    keys = (
        "id", "instance_guid", "job", "build_number", "state", "attempts", "last_error", "size",
        "destination", "key_fp", "queued_by",
    )  # fmt: skip
    return {k: getattr(r, k) for k in keys}


def _flush(args: argparse.Namespace, io: Io, settings: Settings, outbox: Any) -> ExitStatus:
    sender = make_sender(settings, outbox, io.environ)
    stop = threading.Event()
    timer = threading.Timer(args.timeout, stop.set)
    timer.daemon = True
    timer.start()
    try:
        sender.run(stop, idle=0.2, until_empty=True)
    finally:
        timer.cancel()
        sender.client.close()
    waiting = outbox.stats()
    io.stdout.write(
        f"delivered {sender.delivered_count}; pending {waiting['pending']}, "
        f"dead {waiting['dead']}\n"
    )
    return ExitStatus.OK if waiting["pending"] == 0 else ExitStatus.NOT_DELIVERED


def deliver_one(
    io: Io, settings: Settings, key: str, timeout: float, *, outbox: Outbox | None = None
) -> ExitStatus:
    """After `parse --post`: deliver this payload, and only this one, until it is out (or
    dead). Other rows in the state directory may be another job's, for another SEI or key:
    they are named once and left where they are. An `outbox` given stays open (the caller
    queued the row through it: opening the file again would check it again)."""
    owned = outbox is None
    if outbox is None:
        outbox = open_outbox(settings)
    mine = outbox.find(key)
    sender = make_sender(settings, outbox, io.environ, row_id=mine.id)
    deadline = time.monotonic() + timeout
    try:
        others = outbox.others_waiting(mine.id)
        if others:
            io.stderr.write(
                f"sei-watch: {len(others)} other row(s) wait in {settings.state_dir} (not sent "
                f"by this job; `sei-watch outbox list` shows them): {_names(others)}\n"
            )
        while time.monotonic() < deadline:
            row = outbox.find(str(mine.id))
            if row.state in ("delivered", "dead"):
                break
            # No single request may run past what is left of --timeout.
            sender.client.deadline = max(deadline - time.monotonic(), 0.1)
            if not sender.step():
                time.sleep(0.1)
            if sender.held:  # a refused key stays refused for this job: no retry loop
                break
        row = outbox.find(str(mine.id))
    finally:
        sender.client.close()
        if owned:
            outbox.close()
    if row.state == "delivered":
        io.stderr.write(f"sei-watch: {visible(row.key)} delivered to SEI\n")
        return ExitStatus.OK
    if row.state == "dead":
        io.stderr.write(
            f"sei-watch: SEI refused {visible(row.key)}: {visible(row.last_error or '')}\n"
        )
        return ExitStatus.INVALID_PAYLOAD
    if sender.held:
        io.stderr.write(f"sei-watch: {visible(row.key)} not delivered: {visible(sender.held)}\n")
        return ExitStatus.NOT_DELIVERED
    if in_ci(io.environ):
        return ExitStatus.NOT_DELIVERED  # the runner may not outlive the job: see the saved file
    io.stderr.write(
        f"sei-watch: {visible(row.key)} is not delivered yet "
        f"({visible(row.last_error or 'no answer')}); it stays queued in {settings.state_dir}, "
        "where `sei-watch outbox flush` with the same key (or a daemon using that directory "
        "and key) sends it\n"
    )
    return ExitStatus.NOT_DELIVERED


def _names(rows: list[Any]) -> str:
    shown = ", ".join(visible(r.key) for r in rows[:5])
    return shown + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")


def run_outbox(args: argparse.Namespace, io: Io) -> ExitStatus:
    """`sei-watch outbox ACTION`, with the config the command names."""
    return cmd_outbox(args, io, settings_for(args, io))
