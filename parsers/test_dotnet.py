"""The .NET test formats teams keep without converting: MSTest/`dotnet test` TRX, NUnit 3
(`<test-run>`) and NUnit 2 (`<test-results>`), and xUnit.net v2 (`<assemblies>`).

Each is claimed by its root element, never by its file name, and streamed through the
hardened pull parser: a case is counted and dropped as it ends. Cases are what is reported;
where the file's own totals disagree with the cases it lists, a problem says so.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any

from sei_watch.durations import parse_time
from sei_watch.plugins import ParseContext, ParseError
from sei_watch.records import Record

from ._tally import ERROR, FAIL, PASS, SKIP, Suites, stated_problem
from ._xml import pull_events, root_tag

__all__ = ["NUnitParser", "TrxParser", "XUnitNetParser"]

# TRX outcomes (Microsoft.VisualStudio.TestTools.Common.TestOutcome).
_TRX = {
    "Passed": PASS, "PassedButRunAborted": PASS, "Warning": PASS, "Completed": PASS,
    "Failed": FAIL, "Error": ERROR, "Timeout": ERROR, "Aborted": ERROR,
}  # fmt: skip
_NUNIT3 = {"Passed": PASS, "Failed": FAIL, "Skipped": SKIP, "Inconclusive": SKIP, "Warning": PASS}
_NUNIT2 = {
    "Success": PASS, "Failure": FAIL, "Error": ERROR, "Cancelled": ERROR, "Ignored": SKIP,
    "NotRunnable": SKIP, "Skipped": SKIP, "Inconclusive": SKIP,
}  # fmt: skip
_XUNIT = {"Pass": PASS, "Fail": FAIL, "Skip": SKIP, "NotRun": SKIP}


def _local(tag: Any) -> str:
    text = str(tag)
    return text.rpartition("}")[2]


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


def _secs(value: str | None) -> float:
    if not value:
        return 0.0
    t = parse_time(value)
    return 0.0 if t.bad or t.negative else t.seconds


def _message(el: Any, path: str) -> str:
    found = el.find(path)
    return (found.text or "") if found is not None else ""


class TrxParser:
    """A `.trx` `<TestRun>`: every `UnitTestResult`, data rows and inner results included (as
    its `<Counters total>` counts them), in a suite per test class from `TestDefinitions`."""

    name = "trx"
    sniff_suffixes = (".trx", ".xml")

    def matches(self, path: PurePath) -> bool:
        return False  # claimed by its <TestRun> root only

    def sniff(self, head: bytes) -> bool:
        root = root_tag(head)
        return root is not None and root[0] == "TestRun" and b"TeamTest" in head

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        # Test classes are defined after the results: a first pass keeps testId -> class.
        with _Classes() as classes:
            for event, el in pull_events(path, ctx, ("{*}UnitTest", "{*}UnitTestResult")):
                if event != "end":
                    continue
                if _local(el.tag) == "UnitTest":
                    method = next((c for c in el if _local(c.tag) == "TestMethod"), None)
                    if method is not None and el.get("id"):
                        name = method.get("className") or ""
                        classes.add(el.get("id") or "", name.split(",")[0].strip())
                _drop(el)
            yield from self._results(path, ctx, classes)

    def _results(self, path: Path, ctx: ParseContext, classes: _Classes) -> Iterator[Record]:
        suites, stated = Suites(), None
        tags = ("{*}UnitTestResult", "{*}Counters", "{*}UnitTest")
        for event, el in pull_events(path, ctx, tags):
            if event != "end":
                continue
            kind = _local(el.tag)
            if kind == "Counters":
                stated = stated if stated is not None else _int(el.get("total"))
                continue
            if kind == "UnitTest":
                _drop(el)
                continue
            outcome = _TRX.get(el.get("outcome") or "", SKIP)
            test = el.get("testName") or "(unnamed)"
            cls = classes.get(el.get("testId") or "") or test.rpartition(".")[0] or "TRX"
            message = ""
            for child in el.iter("{*}Message"):
                message = child.text or ""
                break
            suites.add(cls, test, outcome, _secs(el.get("duration")), message=message)
            _drop(el)
        if not suites.total and stated is None:
            raise ParseError("a TRX <TestRun> with no test results")
        yield from suites.summaries(ctx.rel(path))
        problem = stated_problem(ctx, path, "Counters total", stated, suites.total)
        if problem:
            yield problem


def _drop(el: Any) -> None:
    """Forget a finished top-level result or definition and every one before it: the pull
    parser builds the whole tree, tag filter or not. An inner result goes with its outer one."""
    parent = el.getparent()
    if parent is None or _local(parent.tag) not in ("Results", "TestDefinitions"):
        return
    el.clear()
    while el.getprevious() is not None:
        del parent[0]


class _Classes:
    """testId -> test class from `TestDefinitions`: in memory up to `SPILL_AT` tests, then in
    a temporary SQLite file, so that a TRX of millions of tests is read in flat memory."""

    SPILL_AT = 100_000

    def __init__(self) -> None:
        self.mem: dict[str, str] = {}
        self.db: Any = None
        self.tmp: Any = None
        self.batch: list[tuple[str, str]] = []

    def __enter__(self) -> _Classes:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.db is not None:
            self.db.close()
            self.tmp.cleanup()

    def add(self, test_id: str, cls: str) -> None:
        if self.db is None and len(self.mem) < self.SPILL_AT:
            self.mem[test_id] = sys.intern(cls)
            return
        if self.db is None:
            self._spill()
        self.batch.append((test_id, cls))
        if len(self.batch) >= 10_000:
            self._flush()

    def get(self, test_id: str) -> str:
        if test_id in self.mem:
            return self.mem[test_id]
        if self.db is None:
            return ""
        self._flush()
        row = self.db.execute("SELECT cls FROM c WHERE id=?", (test_id,)).fetchone()
        return str(row[0]) if row else ""

    def _spill(self) -> None:
        import sqlite3  # noqa: PLC0415  (only for a TRX this large)
        import tempfile  # noqa: PLC0415

        self.tmp = tempfile.TemporaryDirectory(prefix="sei-watch-trx-")
        self.db = sqlite3.connect(f"{self.tmp.name}/classes.db")
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("CREATE TABLE c (id TEXT PRIMARY KEY, cls TEXT) WITHOUT ROWID")
        self.batch.extend(self.mem.items())
        self.mem = {}

    def _flush(self) -> None:
        if self.batch:
            self.db.executemany("INSERT OR REPLACE INTO c VALUES (?, ?)", self.batch)
            self.batch = []


class NUnitParser:
    """NUnit 3's `<test-run>` and NUnit 2's `<test-results>`: a `test-case` per test, in the
    suite of its nearest fixture (`test-suite`); a fixture whose own set-up or tear-down failed
    is an error case of its own (NUnit fails the run for it)."""

    name = "nunit"
    sniff_suffixes = (".xml",)

    def matches(self, path: PurePath) -> bool:
        return False  # `TestResult.xml` is too common a name: claimed by its root only

    def sniff(self, head: bytes) -> bool:
        root = root_tag(head)
        return root is not None and root[0] in ("test-run", "test-results")

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        suites, stated, version, fixture_errors = Suites(), None, 0, 0
        # (type, name, failed cases inside) of the open test-suites
        fixtures: list[list[Any]] = []
        tags = ("test-run", "test-results", "test-suite", "test-case")
        for event, el in pull_events(path, ctx, tags):
            tag = el.tag
            if tag in ("test-run", "test-results"):
                if event == "start":
                    version = 3 if tag == "test-run" else 2
                    total = _int(el.get("total"))
                    extra = _int(el.get("not-run")) if version == 2 else 0
                    stated = None if total is None else total + (extra or 0)
                continue
            if tag == "test-suite":
                if event == "start":
                    name = el.get("fullname") or el.get("name") or ""
                    fixtures.append([el.get("type") or "", name, 0])
                elif fixtures:
                    _, name, failed_inside = fixtures.pop()
                    if fixtures:
                        fixtures[-1][2] += failed_inside
                    site = el.get("site") or ""
                    if (
                        el.get("result") == "Failed"
                        and site in ("SetUp", "TearDown")
                        and (not failed_inside)
                    ):
                        # The fixture itself failed (its cases may all have passed): NUnit
                        # fails the run, so the report must not look green.
                        message = _message(el, "failure/message")
                        suites.add(name, f"{name} [{site}]", ERROR, message=message)
                        fixture_errors += 1
                    el.clear()
                continue
            if event != "end":
                continue
            suite = next((n for t, n, _ in reversed(fixtures) if t == "TestFixture"), "")
            suite = suite or (fixtures[-1][1] if fixtures else "NUnit")
            name = el.get("fullname") or el.get("name") or "(unnamed)"
            if version == 3:
                outcome = _NUNIT3.get(el.get("result") or "", FAIL)
                if outcome == FAIL and el.get("label") in ("Error", "Cancelled", "Invalid"):
                    outcome = ERROR
                secs = _secs(el.get("duration"))
            else:
                outcome = self._nunit2(el)
                secs = _secs(el.get("time"))
            message = _message(el, "failure/message") or _message(el, "reason/message")
            suites.add(suite, name, outcome, secs, message=message)
            if outcome in (FAIL, ERROR) and fixtures:
                fixtures[-1][2] += 1
            el.clear()
        if version == 0:
            raise ParseError("neither an NUnit 3 <test-run> nor an NUnit 2 <test-results>")
        yield from suites.summaries(ctx.rel(path))
        problem = stated_problem(ctx, path, "total", stated, suites.total - fixture_errors)
        if problem:
            yield problem

    @staticmethod
    def _nunit2(el: Any) -> str:
        if el.get("executed") == "False":
            return SKIP
        result = el.get("result")
        if result is not None:
            return _NUNIT2.get(result, FAIL)
        return PASS if el.get("success") == "True" else FAIL  # NUnit 2.2: no result attribute


class XUnitNetParser:
    """xUnit.net v2's `<assemblies>`: a `<test>` per case, in a suite per test class (`type`),
    the assembly's `total` checked against them."""

    name = "xunit-net"
    sniff_suffixes = (".xml",)

    def matches(self, path: PurePath) -> bool:
        return False

    def sniff(self, head: bytes) -> bool:
        root = root_tag(head)
        return root is not None and root[0] in ("assemblies", "assembly")

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        suites, stated, seen = Suites(), 0, False
        for event, el in pull_events(path, ctx, ("assemblies", "assembly", "test")):
            if el.tag in ("assemblies", "assembly"):
                seen = True
                if event == "start" and el.tag == "assembly":
                    stated = stated + (_int(el.get("total")) or 0)
                continue
            if event != "end":
                continue
            name = el.get("name") or "(unnamed)"
            suite = el.get("type") or name.rpartition(".")[0] or "xUnit"
            outcome = _XUNIT.get(el.get("result") or "", FAIL)
            message = _message(el, "failure/message") or _message(el, "reason")
            suites.add(suite, name, outcome, _secs(el.get("time")), message=message)
            el.clear()
        if not seen:
            raise ParseError("not an xUnit.net v2 <assemblies> report")
        yield from suites.summaries(ctx.rel(path))
        problem = stated_problem(ctx, path, "assembly total", stated, suites.total)
        if problem:
            yield problem
