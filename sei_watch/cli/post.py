"""`parse --post`: queue the payload durably, deliver it within --timeout, and keep it in a file
when SEI cannot be reached (the runner may be gone before any retry)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from sei_watch.config import Settings
from sei_watch.context import BuildState
from sei_watch.deliver import destination_for, open_outbox, sei_client, submit
from sei_watch.errors import ConfigError
from sei_watch.payload import Report
from sei_watch.show import visible
from sei_watch.status import ExitStatus

from .io import Io
from .oneshot import save_payload, undelivered_path
from .outbox import deliver_one

if TYPE_CHECKING:
    from sei_watch.deliver import Destination, Outbox, SeiClient

__all__ = ["post"]


class _Cancelled(BaseException):
    """A cancelled job's signal. A BaseException, so no `except Exception` on the way (the HTTP
    client's, the sender's) can swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _cancellable() -> Iterator[None]:
    """SIGTERM and SIGINT raise `_Cancelled` while the payload waits on SEI, so the caller can
    save it before the process goes (CI cancels a job with SIGTERM, then SIGKILL)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return

    def cancel(signum: int, _frame: FrameType | None) -> None:
        raise _Cancelled(signum)

    previous = {sig: signal.signal(sig, cancel) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _keep(args: argparse.Namespace, report: Report) -> tuple[Path, str]:
    """Save the payload where the job can keep it (the runner may be gone before any retry);
    where it went, and the line that tells a CI user what to do with it."""
    path = save_payload(report.payload, undelivered_path(args.save_undelivered, report.payload))
    hint = (
        f"the payload is saved in {path}: keep it as a job artifact, and `sei-watch outbox "
        f"import {path.name}` queues it on any machine that has the API key"
    )
    return path, hint


def _send_traces(io: Io, settings: Settings) -> None:
    from sei_watch.deliver import send_queued  # noqa: PLC0415  (the trace output on only)

    try:
        sent, left = send_queued(settings, within=min(settings.otel.timeout, 10.0))
    except Exception as exc:  # the trace output costs nothing else
        io.stderr.write(f"sei-watch: the trace was not sent: {visible(repr(exc))[:200]}\n")
        return
    if left:
        io.stderr.write(f"sei-watch: the trace is queued ({left} waiting), not yet sent\n")
    elif sent:
        io.stderr.write("sei-watch: the trace was sent to the OTLP endpoint\n")


def post(
    io: Io, settings: Settings, report: Report, state: BuildState | None, args: argparse.Namespace
) -> ExitStatus:
    try:
        with _cancellable():
            return _post(io, settings, report, state, args)
    except _Cancelled as cancelled:
        _, hint = _keep(args, report)
        name = signal.Signals(cancelled.signum).name
        io.stderr.write(f"sei-watch: {name} before SEI confirmed the build; {hint}\n")
        return (
            ExitStatus.INTERRUPTED if cancelled.signum == signal.SIGINT else ExitStatus.TERMINATED
        )


def _post(
    io: Io, settings: Settings, report: Report, state: BuildState | None, args: argparse.Namespace
) -> ExitStatus:
    # A missing or malformed key or URL fails here, before anything is queued; the payload is
    # kept, as when SEI is down (a fork's pull request has no secrets).
    try:
        destination = destination_for(settings, io.environ)
    except ConfigError as exc:
        path, _ = _keep(args, report)
        raise ConfigError(f"{exc}; the payload is saved in {path}") from exc
    client = sei_client(settings, io.environ) if settings.target == "sei" else None
    outbox = open_outbox(settings)
    try:
        return _queue_and_send(
            io, settings, report, state, args, outbox=outbox, client=client, destination=destination
        )
    finally:
        outbox.close()


def _queue_and_send(
    io: Io,
    settings: Settings,
    report: Report,
    state: BuildState | None,
    args: argparse.Namespace,
    *,
    outbox: Outbox,
    client: SeiClient | None,
    destination: Destination,
) -> ExitStatus:
    try:
        done = submit(
            outbox, report, settings, state, destination=destination, queued_by="job",
            lookup=client.instance if client is not None else None,
        )  # fmt: skip
    finally:
        if client is not None:
            client.close()
    if done.full:  # the run is fine; the machine is out of room: keep it for later
        path, _ = _keep(args, report)
        io.stderr.write(f"sei-watch: not queued: {visible(done.refused or '')}; the payload "
                        f"is saved in {path}\n")  # fmt: skip
        return ExitStatus.NOT_DELIVERED
    if done.queued is None:
        why = done.refused or "; ".join(done.invalid)
        io.stderr.write(f"sei-watch: not posted: {visible(why)}\n")
        return ExitStatus.INVALID_PAYLOAD
    key = report.key
    io.stderr.write(f"sei-watch: {visible(key)} {done.queued} in the outbox\n")
    # One request may not outlast the whole deadline.
    sei = replace(
        settings.sei,
        read_timeout=min(settings.sei.read_timeout, args.timeout),
        connect_timeout=min(settings.sei.connect_timeout, args.timeout),
    )
    sent = deliver_one(io, replace(settings, sei=sei), key, args.timeout, outbox=outbox)
    if settings.otel.enabled:  # after SEI, within its own bound: never the job's exit status
        _send_traces(io, settings)
    if sent == ExitStatus.NOT_DELIVERED:
        _, hint = _keep(args, report)
        io.stderr.write(f"sei-watch: not delivered within {args.timeout:g} s; {hint}\n")
    if sent != ExitStatus.OK:
        return sent
    return ExitStatus.PROBLEMS if report.problems else ExitStatus.OK
