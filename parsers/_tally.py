"""Counting test cases into suites, for the readers of formats that are not JUnit: each case
is counted and dropped as it goes past, so memory holds only the suites' counts."""

from __future__ import annotations

import math
from pathlib import Path

from sei_watch.plugins import ParseContext
from sei_watch.records import CaseFailure, CaseRow, ParseProblem, Record, SuiteSummary

__all__ = ["PASS", "Suites", "stated_problem"]

PASS, FAIL, ERROR, SKIP = "pass", "fail", "error", "skip"
MAX_DETAILS = 5
MAX_CASE_SECONDS = 7 * 86400  # no single test case runs for a week
# Cases kept per file for SEI's test table (multipart): 20,000 rows are about 2 MB of zip
# entries; past them the counts go on and the suite says its rows were cut.
MAX_ROWS = 20_000
_STATUS = {PASS: "passed", FAIL: "failed", ERROR: "error", SKIP: "skipped"}


class _Suite:
    __slots__ = ("counts", "details", "rows", "secs", "start")

    def __init__(self) -> None:
        self.counts = {PASS: 0, FAIL: 0, ERROR: 0, SKIP: 0}
        self.secs = 0.0
        self.start: int | None = None
        self.details: list[CaseFailure] = []
        self.rows: list[CaseRow] = []


class Suites:
    """Suites by name, in the order first seen."""

    def __init__(self) -> None:
        self._suites: dict[str, _Suite] = {}
        self._rows = 0  # kept so far, across the file's suites

    def add(
        self,
        suite: str,
        case: str,
        outcome: str,
        secs: float = 0.0,
        *,
        message: str = "",
        start_ms: int | None = None,
    ) -> None:
        s = self._suites.get(suite)
        if s is None:
            s = self._suites[suite] = _Suite()
        s.counts[outcome] += 1
        timed = math.isfinite(secs) and 0 < secs < MAX_CASE_SECONDS  # else a broken clock
        if timed:
            s.secs += secs
        if start_ms is not None and (s.start is None or start_ms < s.start):
            s.start = start_ms
        failed = outcome in (FAIL, ERROR)
        text = " ".join(message.split()) if failed else ""
        if self._rows < MAX_ROWS:
            self._rows += 1
            s.rows.append(
                CaseRow(
                    name=case[:500],
                    status=_STATUS[outcome],
                    seconds=secs if timed else 0.0,
                    message=text[:1000],
                )
            )
        if failed and len(s.details) < MAX_DETAILS:
            kind = "failure" if outcome == FAIL else "error"
            s.details.append(CaseFailure(case=case[:200], kind=kind, message=text[:200]))

    @property
    def total(self) -> int:
        return sum(sum(s.counts.values()) for s in self._suites.values())

    def count(self, outcome: str) -> int:
        return sum(s.counts[outcome] for s in self._suites.values())

    def summaries(self, source: str) -> list[Record]:
        out: list[Record] = []
        for name, s in self._suites.items():
            c = s.counts
            out.append(
                SuiteSummary(
                    name=name or "(unnamed)",
                    tests=sum(c.values()),
                    failures=c[FAIL],
                    errors=c[ERROR],
                    skipped=c[SKIP],
                    attempts=sum(c.values()),
                    time_ms=round(s.secs * 1000),
                    case_time_ms=round(s.secs * 1000),
                    start_ms=s.start,
                    source=source,
                    failed_cases=tuple(s.details),
                    cases=tuple(s.rows),
                    flags=("rows_cut",) if len(s.rows) < sum(c.values()) else (),
                )
            )
        return out


def stated_problem(
    ctx: ParseContext, path: Path, what: str, stated: int | None, found: int
) -> ParseProblem | None:
    """A problem when the file's own total disagrees with the cases it lists (the cases are
    what is reported)."""
    if stated is None or stated == found:
        return None
    return ctx.problem(path, f"the file states {what}={stated}, and lists {found} test cases")
