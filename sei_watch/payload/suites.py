"""Test suites as SEI sees them: one step each in a Tests stage, described within SEI's
columns (a step's description is 50 characters, a stage's 200)."""

from __future__ import annotations

from sei_watch.records import Stage, Step, SuiteSummary
from sei_watch.schema import STAGE_TEXT_LIMIT, STEP_TEXT_LIMIT, fit

__all__ = ["step_description", "tests_stage"]


def step_description(s: SuiteSummary) -> str:
    """A suite in SEI's 50-character step description: the counts, then the first failure,
    e.g. `12 tests, 1 failed: checksOutWithTax`."""
    bits = [
        f"{n} {word}"
        for n, word in (
            (s.failures, "failed"),
            (s.errors, "errors"),
            (s.skipped, "skipped"),
            (s.flaky, "flaky"),
        )
        if n
    ]
    text = f"{s.tests} tests" + (", " + ", ".join(bits) if bits else " passed")
    room = STEP_TEXT_LIMIT - len(text) - 2
    if s.failed_cases and room >= 8:
        text += ": " + fit(s.failed_cases[0].case, room)
    return fit(text, STEP_TEXT_LIMIT)


def tests_stage(suites: list[SuiteSummary], name: str) -> Stage:
    steps = tuple(
        Step(
            name=s.name,
            duration_ms=s.time_ms,
            start_ms=s.start_ms,
            result="FAILURE" if s.failed else "SUCCESS",
            description=step_description(s),
            source=s.source,
        )
        for s in suites
    )
    starts = [s.start_ms for s in suites if s.start_ms is not None]
    if starts and len(starts) == len(suites):
        start: int | None = min(starts)
        duration = max(s.start_ms + s.time_ms for s in suites if s.start_ms is not None) - min(
            starts
        )
    else:
        start, duration = (min(starts) if starts else None), sum(s.time_ms for s in suites)
    total = sum(s.tests for s in suites)
    failed = sum(s.failures + s.errors for s in suites)
    text = (
        f"{total} tests in {len(suites)} suites, {failed} failed or errored, "
        f"{sum(s.skipped for s in suites)} skipped, {sum(s.flaky for s in suites)} flaky"
    )
    first = next((s for s in suites if s.failed_cases), None)
    if first is not None:
        case = first.failed_cases[0]
        what = ": ".join(x for x in (case.type, case.message) if x)
        text += f"; first failure {first.name} {case.case}" + (f": {what}" if what else "")
    return Stage(
        name=name,
        duration_ms=max(duration, 0),
        start_ms=start,
        result="FAILURE" if failed else "SUCCESS",
        description=fit(text, STAGE_TEXT_LIMIT),
        steps=steps,
    )
