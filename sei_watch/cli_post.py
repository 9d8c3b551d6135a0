"""`parse --post`: queue the payload durably, deliver it within --timeout, and keep it in a file
when SEI cannot be reached (the runner may be gone before any retry)."""

from __future__ import annotations

import argparse
from dataclasses import replace

from . import cli_outbox
from .cli_io import Io
from .config import Settings
from .delivery import load_api_key, open_outbox, queue_report
from .oneshot import save_payload, undelivered_path
from .report import Report
from .state import BuildState
from .status import ExitStatus
from .termsafe import visible

__all__ = ["post"]


def post(
    io: Io, settings: Settings, report: Report, state: BuildState | None, args: argparse.Namespace
) -> ExitStatus:
    payload = report.payload
    load_api_key(settings, io.environ)  # a malformed key fails here, before anything is queued
    outbox = open_outbox(settings)
    try:
        queued = queue_report(outbox, report, settings)
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
