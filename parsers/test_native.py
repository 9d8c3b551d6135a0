"""Test results in the formats two tools write by default, which are not JUnit: CTest's own
`Testing/<tag>/Test.xml` (the Dart/CDash format) and Robot Framework's `output.xml`.

Both stream through the hardened pull parser, so a large output.xml (every keyword is in it)
keeps memory flat: each finished test is counted and dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePath

from sei_watch.plugins import ParseContext, ParseError
from sei_watch.records import CaseFailure, Record, SuiteSummary

from ._xml import pull_events, root_tag

__all__ = ["CTestParser", "RobotParser"]

MAX_DETAILS = 5
_CTEST = {"passed": "pass", "failed": "fail", "notrun": "skip", "disabled": "skip"}
_ROBOT = {"PASS": "pass", "FAIL": "fail", "SKIP": "skip", "NOT RUN": "skip"}


class _Tally:
    """One suite's counts as its tests go past."""

    def __init__(self) -> None:
        self.counts = {"pass": 0, "fail": 0, "skip": 0}
        self.secs = 0.0
        self.start: int | None = None
        self.details: list[CaseFailure] = []

    def add(self, name: str, outcome: str, secs: float, message: str = "") -> None:
        self.counts[outcome] += 1
        self.secs += max(secs, 0.0)
        if outcome == "fail" and len(self.details) < MAX_DETAILS:
            self.details.append(CaseFailure(case=name[:200], kind="failure", message=message))

    def summary(self, name: str, source: str) -> SuiteSummary:
        c = self.counts
        return SuiteSummary(
            name=name,
            tests=sum(c.values()),
            failures=c["fail"],
            skipped=c["skip"],
            attempts=sum(c.values()),
            time_ms=round(self.secs * 1000),
            case_time_ms=round(self.secs * 1000),
            start_ms=self.start,
            source=source,
            failed_cases=tuple(self.details),
        )


class CTestParser:
    """`Testing/<tag>/Test.xml`: one suite, a test per `<Test>` with its Status and the
    "Execution Time" measurement."""

    name = "ctest"
    sniff_suffixes = (".xml",)

    def matches(self, path: PurePath) -> bool:
        return path.name == "Test.xml" and "Testing" in path.parts[:-1]

    def sniff(self, head: bytes) -> bool:
        root = root_tag(head)
        return root is not None and root[0] == "Site" and b"<Testing" in head

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        tally = _Tally()
        seen_testing = False
        for event, el in pull_events(path, ctx, ("Testing", "Test", "StartTestTime")):
            if event == "start" and el.tag == "Testing":
                seen_testing = True
            if event != "end":
                continue
            if el.tag == "StartTestTime" and (el.text or "").strip().isdigit():
                tally.start = int((el.text or "").strip()) * 1000
            elif el.tag == "Test" and el.get("Status") is not None:  # not a <TestList> entry
                outcome = _CTEST.get(el.get("Status", ""), "fail")
                secs = 0.0
                for m in el.iterfind("Results/NamedMeasurement"):
                    if m.get("name") == "Execution Time":
                        try:
                            secs = float(m.findtext("Value") or 0)
                        except ValueError:
                            secs = 0.0
                name = (el.findtext("Name") or "").strip() or "(unnamed)"
                tally.add(name, outcome, secs)
                el.clear()
        if not seen_testing:
            raise ParseError("a CTest <Site> without <Testing>: not a test run")
        yield tally.summary("CTest", ctx.rel(path))


def _robot_time(text: str | None) -> float | None:
    """Robot's `20210319 11:34:50.085` (RF < 7) or ISO 8601 (RF 7), as epoch seconds (UTC:
    the file says nothing of its zone)."""
    if not text:
        return None
    for fmt in ("%Y%m%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    return None


class RobotParser:
    """Robot Framework's `output.xml`: a suite per `<suite>` that holds tests, a test per
    `<test>` with the status of its own `<status>` (its last child)."""

    name = "robot"
    sniff_suffixes = (".xml",)

    def matches(self, path: PurePath) -> bool:
        return False  # `output.xml` is too common a name: claimed by its <robot> root only

    def sniff(self, head: bytes) -> bool:
        root = root_tag(head)
        return root is not None and root[0] == "robot"

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        tallies: list[tuple[str, _Tally]] = []
        stack: list[tuple[str, _Tally]] = []
        found_root = False
        for event, el in pull_events(path, ctx, ("robot", "suite", "test")):
            if el.tag == "robot":
                found_root = True
                continue
            if el.tag == "suite":
                if event == "start":
                    stack.append((el.get("name") or "(suite)", _Tally()))
                elif stack:
                    name, tally = stack.pop()
                    if sum(tally.counts.values()):
                        tallies.append((name, tally))
                    el.clear()
                continue
            if event != "end" or not stack:
                continue
            status = el.find("status")  # the test's own: a keyword's is nested deeper
            word = status.get("status", "") if status is not None else ""
            begin = _robot_time(status.get("starttime") if status is not None else None)
            end = _robot_time(status.get("endtime") if status is not None else None)
            elapsed = status.get("elapsed") if status is not None else None  # RF 7
            secs = float(elapsed) if elapsed else (end - begin if begin and end else 0.0)
            tally = stack[-1][1]
            if begin is not None and tally.start is None:
                tally.start = round(begin * 1000)
            message = " ".join((status.text or "").split())[:200] if status is not None else ""
            tally.add(el.get("name") or "(unnamed)", _ROBOT.get(word, "fail"), secs, message)
            el.clear()
        if not found_root:
            raise ParseError("not a Robot Framework output.xml")
        for name, tally in tallies:
            yield tally.summary(name, ctx.rel(path))
