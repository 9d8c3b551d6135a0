"""A worker's one job: a complete build becomes a queued payload, logged and counted.

What leaves is the key to mark the build reported, or None when it must be tried again (a
refusal that a config fix and a rescan cure)."""

from __future__ import annotations

import threading

from sei_watch.config import Settings
from sei_watch.context import BuildState
from sei_watch.deliver import Destination, Lookup, Outbox, submit
from sei_watch.logs import get_logger
from sei_watch.payload import report_watched
from sei_watch.plugins import Registry

from .metrics import Metrics
from .timelines import TimelineStore
from .tracker import Candidate, fingerprint_time

__all__ = ["report_candidate"]

log = get_logger("sei_watch.daemon")


def report_candidate(
    cand: Candidate,
    *,
    settings: Settings,
    registry: Registry,
    outbox: Outbox,
    state: BuildState,
    metrics: Metrics,
    wake: threading.Event,
    hostname: str,
    now_ms: int,
    destination: Destination | None,
    lookup: Lookup | None = None,
) -> str | None:
    """Report one build, queued for `destination`; return its key once it needs no further
    attempt."""
    watch = cand.watch
    trigger = fingerprint_time(cand.fingerprint)
    newer = trigger - watch.min_age if watch.min_age and trigger else None
    report = report_watched(
        watch,
        cand.dir,
        cand.captures,
        registry,
        settings,
        hostname=hostname,
        now_ms=now_ms,
        state=state,
        newer_than=newer,
    )
    key = report.key
    log.info(
        "build.completed",
        dir=str(cand.dir),
        key=key,
        watch=watch.name,
        problems=len(report.problems),
        rereport=cand.rereport,
    )
    metrics.inc("builds_completed_total")
    for prob in report.problems:
        metrics.inc("parse_problems_total", parser=prob.parser or "scan")
        log.warning(
            "parse.problem",
            key=key,
            path=prob.path,
            line=prob.line,
            reason=prob.reason,
            parser=prob.parser,
        )
    done = submit(outbox, report, settings, state, destination=destination, lookup=lookup)
    if done.queued is not None:
        wake.set()
        TimelineStore(settings.state_dir / "timelines", settings.timeline_keep).save(report.payload)
        log.info("payload.queued", key=key, outcome=done.queued)
        metrics.inc("builds_reported_total")
        metrics.inc("payloads_enqueued_total", outcome=done.queued)
    elif done.invalid:
        log.error(
            "payload.invalid",
            key=key,
            dir=str(cand.dir),
            problems=list(done.invalid),
            action="fix the fields in [[watch]] fields or the marker",
        )
        metrics.inc("builds_failed_total", reason="invalid")
    else:
        # Not marked reported: once the config is fixed (SIGHUP), a rescan posts it.
        log.error("payload.refused", key=key, dir=str(cand.dir), reason=done.refused)
        metrics.inc("builds_failed_total", reason="outbox_full" if done.full else "refused")
        return None
    return key
