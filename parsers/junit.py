"""JUnit-family XML test reports into test-suite summaries, streamed with flat memory.

Counts come from the test cases, never from the suite attributes (those are kept as stated
metadata). Repeated (classname, name) in one suite are attempts of one test. See the README's
"JUnit semantics" for every rule.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any, BinaryIO

from sei_watch import CaseFailure, ParseContext, ParseError, Record, SuiteSummary

from ._junit_values import Time, parse_time, parse_timestamp
from ._xml import XMLSyntaxError, iter_elements, root_tag

__all__ = ["JUnitParser"]

PASS, SKIP, FAIL, ERROR = range(4)
_RESULT_TAGS = {"error": ERROR, "failure": FAIL, "skipped": SKIP}
_FLAKY_TAGS = frozenset({"flakyFailure", "flakyError"})
_RERUN_TAGS = {"rerunFailure": FAIL, "rerunError": ERROR}
_SKIP_STATUS = frozenset({"notrun", "disabled", "skipped", "ignored", "skip"})
_MAX_DETAILS = 5
_MAX_TEXT = 200
_MAX_TRACKED = 1_000_000  # per suite; past it, repeats are no longer merged (and we say so)
_NAME_GLOBS = ("TEST-", "junit")


def _short(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


class _Suite:
    """Counts of one suite while its cases stream past."""

    __slots__ = (
        "alt_secs",
        "ambiguous",
        "attempts",
        "attrs",
        "bad",
        "case_secs",
        "cases",
        "counts",
        "details",
        "flags",
        "flaky",
        "has_child_suite",
        "missing",
        "negative",
        "seen",
    )

    def __init__(self, attrs: dict[str, str]) -> None:
        self.attrs = attrs
        self.counts = [0, 0, 0, 0]
        self.flaky = self.attempts = self.cases = 0
        self.missing = self.negative = self.bad = self.ambiguous = 0
        self.case_secs = self.alt_secs = 0.0
        self.details: list[CaseFailure] = []
        self.flags: list[str] = []
        self.seen: dict[int, int] = {}
        self.has_child_suite = False

    def add(self, case: Any) -> None:
        outcome, flaky_marks, reruns = PASS, 0, 0
        detail: tuple[str, str, str] | None = None
        for child in case:
            tag = child.tag
            level = _RESULT_TAGS.get(tag)
            if level is not None:
                if level > outcome:
                    outcome = level
                    if level >= FAIL:
                        detail = (tag, child.get("type", ""), child.get("message", ""))
            elif tag in _FLAKY_TAGS:
                flaky_marks += 1
            elif tag in _RERUN_TAGS:
                reruns += 1
                if outcome < _RERUN_TAGS[tag]:
                    outcome = _RERUN_TAGS[tag]
                    detail = (tag, child.get("type", ""), child.get("message", ""))
        if outcome == PASS and (
            (case.get("status") or "").lower() in _SKIP_STATUS
            or (case.get("result") or "").lower() in _SKIP_STATUS
        ):
            outcome = SKIP  # GoogleTest notrun / result="skipped", tst's disabled
        self._time(case.get("time"))
        self.cases += 1
        self.attempts += 1 + flaky_marks + reruns
        name = case.get("name") or ""
        if outcome >= FAIL and detail and len(self.details) < _MAX_DETAILS:
            self.details.append(
                CaseFailure(
                    case=_short(name),
                    kind=detail[0],
                    type=_short(detail[1]),
                    message=_short(detail[2]),
                )
            )
        state = outcome | (4 if outcome >= FAIL else 0) | (8 if flaky_marks else 0)
        if not name or len(self.seen) >= _MAX_TRACKED:
            if name and "repeats_untracked" not in self.flags:
                self.flags.append("repeats_untracked")
            self._count(state, +1)
            return
        # PHPUnit and Codeception write `class`, not `classname`.
        key = hash((case.get("classname") or case.get("class") or case.get("file") or "", name))
        old = self.seen.get(key)
        if old is not None:  # another attempt of the same test: the last one decides
            self._count(old, -1)
            state |= old & 4
        self.seen[key] = state
        self._count(state, +1)

    def _count(self, state: int, sign: int) -> None:
        outcome = state & 3
        self.counts[outcome] += sign
        if outcome == PASS and state & 12:  # passed after failing, or with flaky marks
            self.flaky += sign

    def _time(self, raw: str | None) -> None:
        if raw is None:
            self.missing += 1
            return
        t = parse_time(raw)
        self.negative += t.negative
        self.bad += t.bad
        self.case_secs += t.seconds
        if t.alt is not None:
            self.ambiguous += 1
            self.alt_secs += t.alt - t.seconds

    def _seconds(self) -> tuple[float, float]:
        """(suite seconds, summed case seconds), settling ambiguous commas by agreement."""
        raw = self.attrs.get("time")
        stated = parse_time(raw) if raw is not None else None
        if stated is not None and (stated.bad or stated.negative):
            self.flags.append("suite_time_bad" if stated.bad else "negative_time")
            stated = None
        case_options = [self.case_secs] + (
            [self.case_secs + self.alt_secs] if self.ambiguous else []
        )
        suite_options = (
            []
            if stated is None
            else [stated.seconds] + ([stated.alt] if stated.alt is not None else [])
        )
        if not suite_options:
            if self.ambiguous:
                self.flags.append("time_ambiguous")
            return case_options[0], case_options[0]
        suite, cases = min(
            ((s, c) for s in suite_options for c in case_options),
            key=lambda pair: abs(pair[0] - pair[1]),
        )
        if self.ambiguous or (stated is not None and stated.alt is not None):
            self.flags.append("time_ambiguous_resolved")
        return suite, cases

    def summary(self, source: str, fallback: str, *, partial: bool) -> SuiteSummary | None:
        name = self.attrs.get("name") or fallback
        stated = tuple((k, _short(v)) for k, v in self.attrs.items())
        start = None
        if "timestamp" in self.attrs:
            parsed = parse_timestamp(self.attrs["timestamp"])
            if parsed is None:
                self.flags.append("timestamp_bad")
            else:
                start = parsed[0]
                if parsed[1]:
                    self.flags.append("tz_assumed")
        if self.cases == 0:
            if self.has_child_suite:
                return None  # a wrapper: its children are counted themselves
            return self._from_attributes(name, source, stated, start, partial)
        suite_secs, case_secs = self._seconds()
        for label, n in (
            ("case_time_missing", self.missing),
            ("negative_time", self.negative),
            ("case_time_bad", self.bad),
        ):
            if n:
                self.flags.append(f"{label}:{n}")
        return SuiteSummary(
            name=name,
            tests=sum(self.counts),
            failures=self.counts[FAIL],
            errors=self.counts[ERROR],
            skipped=self.counts[SKIP],
            flaky=self.flaky,
            attempts=self.attempts,
            time_ms=round(suite_secs * 1000),
            case_time_ms=round(case_secs * 1000),
            start_ms=start,
            source=source,
            partial=partial,
            flags=tuple(self.flags),
            stated=stated,
            failed_cases=tuple(self.details),
        )

    def _from_attributes(
        self,
        name: str,
        source: str,
        stated: tuple[tuple[str, str], ...],
        start: int | None,
        partial: bool,
    ) -> SuiteSummary:
        def num(key: str) -> int:
            try:
                return max(int(float(self.attrs.get(key, "0").replace(",", ""))), 0)
            except ValueError:
                return 0

        skipped = num("skipped") + num("skips") + num("disabled")
        t = parse_time(self.attrs["time"]) if "time" in self.attrs else Time(0.0)
        return SuiteSummary(
            name=name,
            tests=num("tests"),
            failures=num("failures"),
            errors=num("errors"),
            skipped=skipped,
            time_ms=round(t.seconds * 1000),
            start_ms=start,
            source=source,
            from_attributes=True,
            partial=partial,
            flags=tuple(self.flags),
            stated=stated,
        )


def _free(elem: Any) -> None:
    """Drop a finished element and its finished siblings, so memory stays flat."""
    elem.clear(keep_tail=False)
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


def _stream(
    fh: BinaryIO,
    source: str,
    fallback: str,
    out: list[SuiteSummary],
    stack: list[_Suite],
    *,
    recover: bool,
) -> None:
    """Parse into `out`; after an error, `stack` holds the suites that were still open."""
    for event, elem in iter_elements(fh, ("testsuite", "testcase"), recover=recover):
        if elem.tag == "testcase":
            if event == "end":
                if stack:
                    stack[-1].add(elem)
                _free(elem)
        elif event == "start":
            if stack:
                stack[-1].has_child_suite = True
            stack.append(_Suite({str(k): str(v) for k, v in elem.attrib.items()}))
        else:
            summary = stack.pop().summary(source, fallback, partial=False)
            if summary is not None:
                out.append(summary)
            _free(elem)


_CONTENT_ERRORS = ("Char", "UTF-8", "encoding", "CData", "ntity", "amplification", "depth")


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
            name.startswith(_NAME_GLOBS[0])
            or _NAME_GLOBS[1] in name.lower()
            or "test-results" in parts[:-1]
            or (len(parts) > 1 and parts[-2] in ("surefire-reports", "failsafe-reports"))
            or (name == "test.xml" and any(p.startswith("bazel-testlogs") for p in parts))
        )

    def sniff(self, head: bytes) -> bool:
        root = root_tag(head)
        return root is not None and root[0] in ("testsuite", "testsuites") and not root[1]

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        source = ctx.rel(path)
        fallback = path.name.removesuffix(".xml").removeprefix("TEST-")
        with ctx.open(path) as fh:
            if os.fstat(fh.fileno()).st_size == 0:
                raise ParseError("file is empty")
            done: list[SuiteSummary] = []
            stack: list[_Suite] = []
            try:
                _stream(fh, source, fallback, done, stack, recover=False)
            except XMLSyntaxError as exc:
                yield from self._after_error(exc, fh, ctx=ctx, path=path, done=done, stack=stack)
                return
        if not done:
            raise ParseError(self._no_suites(ctx, path))
        yield from done

    def _after_error(
        self,
        exc: XMLSyntaxError,
        fh: BinaryIO,
        *,
        ctx: ParseContext,
        path: Path,
        done: list[SuiteSummary],
        stack: list[_Suite],
    ) -> Iterator[Record]:
        source, fallback = ctx.rel(path), path.name.removesuffix(".xml")
        line = exc.lineno or None
        why = " ".join(str(exc.msg or exc).split())
        if _truncated(exc, fh, bool(done or stack)):
            partial = [s.summary(source, fallback, partial=True) for s in reversed(stack)]
            found = done + [s for s in partial if s is not None and s.tests]
            if not found:
                raise ParseError(f"truncated before any test suite: {why}", line=line)
            yield from found
            yield ctx.problem(
                path,
                f"truncated: {why}; counts up to the break are reported and marked partial",
                line=line,
            )
            return
        fh.seek(0)
        recovered: list[SuiteSummary] = []
        try:
            _stream(fh, source, fallback, recovered, [], recover=True)
        except XMLSyntaxError:
            recovered = []
        if not recovered:
            raise ParseError(f"not well-formed XML: {why}", line=line)
        for s in recovered:
            yield SuiteSummary(**{**_fields(s), "flags": (*s.flags, "recovered")})
        yield ctx.problem(
            path,
            f"not well-formed XML: {why}; libxml2 recovered "
            f"{len(recovered)} suites, whose counts may be incomplete",
            line=line,
        )

    def _no_suites(self, ctx: ParseContext, path: Path) -> str:
        with ctx.open(path) as fh:
            root = root_tag(fh.read(4096))
        if root is None:
            return "not XML"
        if root[0] in ("testsuite", "testsuites"):
            return f"<{root[0]}> in a namespace is not a JUnit report"
        return f"not a JUnit report: the root element is <{root[0]}>"


def _fields(s: SuiteSummary) -> dict[str, Any]:
    return {name: getattr(s, name) for name in SuiteSummary.__dataclass_fields__}
