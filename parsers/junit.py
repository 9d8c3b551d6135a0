"""JUnit-family XML test reports into test-suite summaries, streamed with flat memory.

Counts come from the test cases, never from the suite attributes (those are kept as stated
metadata). Repeated (classname, name) in one suite are attempts of one test. See the README's
"JUnit semantics" for every rule. Memory stays flat: the pull parser builds only the open
suites, and their finished cases are counted and dropped every few thousand.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any, BinaryIO

from sei_watch.plugins import ParseContext, ParseError
from sei_watch.records import Record, SuiteSummary

from ._junit_suite import SuiteCounter
from ._xml import Feeder, UnendingTag, XMLSyntaxError, pull_parser, root_tag

__all__ = ["JUnitParser"]

CHUNK = 1 << 16
BATCH = 4096  # children of an open suite counted and dropped at a time
RECOVER_BUDGET = 32 << 20  # bytes the recovery pass reads before it gives up
_CONTENT_ERRORS = ("Char", "UTF-8", "encoding", "CData", "ntity", "amplification", "depth")
_SUITE_ROOTS = ("testsuite", "testsuites")


class _Stream:
    """Feeds one report through the pull parser, handing on each summary as its suite ends."""

    def __init__(self, source: str, fallback: str) -> None:
        self.source, self.fallback = source, fallback
        self.done: list[SuiteSummary] = []  # finished, not yet handed on
        self.emitted = 0
        self.closed = 0  # suites ended, those with no test case included
        self.stopped = False  # the recovery pass reached its budget
        self.stack: list[tuple[Any, SuiteCounter]] = []
        # Suites with counts but no cases wait for the end: beside suites that hold the cases
        # they sum, they are a harness's roll-up, not more tests.
        self.held: list[SuiteSummary] = []
        self.case_tests = 0
        self.case_bad = 0

    def run(self, fh: BinaryIO, *, recover: bool) -> Iterator[SuiteSummary]:
        parser = pull_parser(("testsuite",), recover=recover)
        feeder = Feeder(parser)
        fed = 0
        while chunk := fh.read(CHUNK):
            fed += len(chunk)
            if recover and fed > RECOVER_BUDGET:
                # libxml2's recovery keeps what it cannot place (all of a file that is not
                # XML): past the budget, what was recovered so far is all there is.
                self.stopped = True
                self.done += self.partial()
                yield from self._take()
                return
            feeder.feed(chunk)
            self._events(parser)
            for elem, counter in self.stack:
                if len(elem) > BATCH:
                    counter.drain(elem, keep_last=True)
            yield from self._take()
        parser.close()
        self._events(parser)
        self.done += self._settle()
        yield from self._take()

    def _settle(self) -> list[SuiteSummary]:
        """The held suites: a roll-up (its counts within those of the suites that hold cases)
        is kept as a record that counts nothing; any other counts as it states."""
        out = []
        for held in self.held:
            bad = held.failures + held.errors
            rolled = self.case_tests and held.tests <= self.case_tests and bad <= self.case_bad
            out.append(_counting_nothing(held) if rolled else held)
        self.held = []
        return out

    def _take(self) -> list[SuiteSummary]:
        done, self.done = self.done, []
        self.emitted += len(done)
        return done

    def _events(self, parser: Any) -> None:
        for event, elem in parser.read_events():
            if event == "start":
                if self.stack:
                    self.stack[-1][1].has_child_suite = True
                self.stack.append(
                    (elem, SuiteCounter({str(k): str(v) for k, v in elem.attrib.items()}))
                )
                continue
            _, counter = self.stack.pop()
            self.closed += 1
            counter.drain(elem, keep_last=False)
            summary = counter.summary(self.source, self.fallback, partial=False)
            if summary is not None and summary.from_attributes:
                self.held.append(summary)
            elif summary is not None:
                self.case_tests += summary.tests
                self.case_bad += summary.failures + summary.errors
                self.done.append(summary)
            # Drop what came before in the parent. Never its last child: the parser may still
            # be inside it, and lxml must not lose an element it is building.
            parent = elem.getparent()
            if parent is None:
                continue  # already dropped by an earlier drain of the parent
            if self.stack and self.stack[-1][0] is parent:
                self.stack[-1][1].drain(parent, keep_last=True)
            else:
                del parent[: len(parent) - 1]

    def partial(self) -> list[SuiteSummary]:
        """The suites still open after an error, counted up to the break (and those held for
        the end, as they state). The parser is dead by now, so every child can go, including
        a case cut off half-way."""
        out, self.held = self.held, []
        for elem, counter in reversed(self.stack):
            counter.drain(elem, keep_last=False)
            summary = counter.summary(self.source, self.fallback, partial=True)
            if summary is not None and summary.tests:
                out.append(summary)
        return out


def _last_line(fh: BinaryIO) -> int:
    fh.seek(0)
    lines, last = 1, b""
    while chunk := fh.read(1 << 20):
        lines += chunk.count(b"\n")
        last = chunk[-1:]
    return lines - (last == b"\n")


def _truncated(exc: XMLSyntaxError, fh: BinaryIO, seen_suite: bool) -> bool:
    """Whether the error is the end of a cut-off report rather than bad content inside it."""
    msg = str(exc.msg or "")
    if not seen_suite or any(word in msg for word in _CONTENT_ERRORS):
        return False
    return (exc.lineno or 0) >= _last_line(fh)


class JUnitParser:
    """Ant/JUnit4, Surefire/Failsafe, pytest, jest, mocha, Go, nextest, PHPUnit, Bazel, GoogleTest,
    CTest, Catch2, RSpec: every tool that writes `<testsuite>`/`<testsuites>`."""

    name = "junit"
    sniff_suffixes = (".xml",)

    def matches(self, path: PurePath) -> bool:
        name = path.name
        if not name.endswith(".xml"):
            return False
        parts = path.parts
        return (
            name.startswith("TEST-")
            or "junit" in name.lower()
            or "test-results" in parts[:-1]
            or (len(parts) > 1 and parts[-2] in ("surefire-reports", "failsafe-reports"))
            or (name == "test.xml" and any(p.startswith("bazel-testlogs") for p in parts))
        )

    def sniff(self, head: bytes) -> bool:
        root = root_tag(head)
        return root is not None and root[0] in _SUITE_ROOTS and not root[1]

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        source = ctx.rel(path)
        fallback = path.name.removesuffix(".xml").removeprefix("TEST-")
        with ctx.open(path) as fh:
            if os.fstat(fh.fileno()).st_size == 0:
                raise ParseError("file is empty")
            head = fh.read(_HEAD)
            if b"<!ENTITY" in head or (b"<!DOCTYPE" in head and root_tag(head) is None):
                # No test report declares entities; an entity bomb does. Refused before
                # libxml2 sees it, the same way whatever its own limits decide that day.
                raise ParseError("declares XML entities (an entity bomb?): not read")
            fh.seek(0)
            stream = _Stream(source, fallback)
            try:
                yield from stream.run(fh, recover=False)
            except UnendingTag as exc:
                found = stream.done + stream.partial()
                if not found and not stream.emitted:
                    raise
                yield from found
                yield ctx.problem(path, f"{exc.reason}; counts up to it are partial", line=exc.line)
                return
            except XMLSyntaxError as exc:
                yield from self._after_error(exc, fh, ctx=ctx, path=path, stream=stream)
                return
            if not stream.emitted and not stream.closed:
                raise ParseError(_no_suites(fh))

    def _after_error(
        self, exc: XMLSyntaxError, fh: BinaryIO, *, ctx: ParseContext, path: Path, stream: _Stream
    ) -> Iterator[Record]:
        line = exc.lineno or None
        why = " ".join(str(exc.msg or exc).split())
        if _truncated(exc, fh, bool(stream.emitted or stream.done or stream.stack)):
            found = stream.done + stream.partial()
            if not found and not stream.emitted:
                raise ParseError(f"truncated before any test case: {why}", line=line)
            yield from found
            yield ctx.problem(
                path,
                f"truncated: {why}; counts up to the break are reported and marked partial",
                line=line,
            )
            return
        # Parse again from the start in recovery mode; skip the suites already handed on.
        fh.seek(0)
        again = _Stream(stream.source, stream.fallback)
        recovered = 0
        try:
            for s in again.run(fh, recover=True):
                recovered += 1
                if recovered > stream.emitted:
                    yield SuiteSummary(**{**_fields(s), "flags": (*s.flags, "recovered")})
        except (XMLSyntaxError, UnendingTag):
            for s in again.done + again.partial():
                recovered += 1
                yield SuiteSummary(**{**_fields(s), "flags": (*s.flags, "recovered")})
        stopped = f"; recovery stopped after {RECOVER_BUDGET >> 20} MiB" if again.stopped else ""
        if not recovered and not stream.emitted:
            raise ParseError(f"not well-formed XML: {why}{stopped}", line=line)
        yield ctx.problem(
            path,
            f"not well-formed XML: {why}; libxml2 recovered "
            f"{recovered} suites, whose counts may be incomplete{stopped}",
            line=line,
        )


_HEAD = 1 << 16


def _no_suites(fh: BinaryIO) -> str:
    fh.seek(0)
    root = root_tag(fh.read(4096))
    if root is None:
        return "not XML"
    if root[0] in _SUITE_ROOTS:
        return f"<{root[0]}> in a namespace is not a JUnit report"
    return f"not a JUnit report: the root element is <{root[0]}>"


def _counting_nothing(s: SuiteSummary) -> SuiteSummary:
    """A roll-up suite, kept with what it states, counting no test of its own."""
    zero = dict.fromkeys(("tests", "failures", "errors", "skipped", "flaky"), 0)
    return SuiteSummary(**{**_fields(s), **zero, "flags": (*s.flags, "roll_up")})


def _fields(s: SuiteSummary) -> dict[str, Any]:
    return {name: getattr(s, name) for name in SuiteSummary.__dataclass_fields__}
