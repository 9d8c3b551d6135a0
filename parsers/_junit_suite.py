"""One test suite's counts, taken from its test cases in batches as the report streams."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from lxml import etree

from sei_watch.records import CaseFailure, SuiteSummary

from ._junit_values import Time, parse_time, parse_timestamp

__all__ = ["SuiteCounter"]

PASS, SKIP, FAIL, ERROR = range(4)
FAILED_BIT, FLAKY_BIT = 4, 8
_RESULT_TAGS = {"error": ERROR, "failure": FAIL, "skipped": SKIP}
_FLAKY_TAGS = frozenset({"flakyFailure", "flakyError"})
_RERUN_TAGS = {"rerunFailure": FAIL, "rerunError": ERROR}
_SKIP_WORDS = ("notrun", "disabled", "skipped", "ignored", "skip")
MAX_DETAILS = 5
MAX_TEXT = 200
MAX_TRACKED = 200_000  # keys kept per suite (~16 MB); past it repeats are not merged (flagged)


_XPath = Callable[..., Any]  # lxml's stubs type every XPath result as a union of all kinds


class _Paths:
    """Compiled XPaths over the test cases of a suite, or of all but its last child."""

    def __init__(self, base: str) -> None:
        # Paths that end in a parent step (`/..`) are several times faster in libxml2 than the
        # same test written as a predicate.
        self.count: _XPath = etree.XPath(f"count({base})")
        self.times: _XPath = etree.XPath(f"{base}/@time", smart_strings=False)
        self.names: _XPath = etree.XPath(f"{base}/@name", smart_strings=False)
        self.classes: _XPath = etree.XPath(f"{base}/@classname", smart_strings=False)
        # A case whose only children are its captured output (Surefire with output capture,
        # pytest's junit_logging) passes as a plain case does: it is counted in the columns.
        self.special: _XPath = etree.XPath(
            f"{base}/*[not(self::system-out or self::system-err)]/.. "
            f"| {base}/@status/.. | {base}/@result/.."
        )
        self.cases: _XPath = etree.XPath(base)


_FULL = _Paths("testcase")
_PARTIAL = _Paths("*[position() < last()]/self::testcase")


def _short(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


class SuiteCounter:
    """Counts of one suite while its cases stream past, then its summary."""

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
        "merged",
        "missing",
        "negative",
        "seen",
    )

    def __init__(self, attrs: dict[str, str]) -> None:
        self.attrs = attrs
        self.counts = [0, 0, 0, 0]
        self.flaky = self.attempts = self.cases = self.merged = 0
        self.missing = self.negative = self.bad = self.ambiguous = 0
        self.case_secs = self.alt_secs = 0.0
        self.details: list[CaseFailure] = []
        self.flags: list[str] = []
        self.seen: dict[int, int] = {}
        self.has_child_suite = False

    # -- taking cases ----------------------------------------------------------------------

    def drain(self, suite: Any, *, keep_last: bool) -> None:
        """Count the test cases among the children of `suite`, then drop those children.

        keep_last leaves the last child alone: the parser may still be inside it.
        """
        paths = _PARTIAL if keep_last else _FULL
        n = int(paths.count(suite))
        if n and not self._columns(suite, paths, n):
            for case in paths.cases(suite):
                self.add(case)
        end = len(suite) - keep_last
        if end > 0:
            del suite[:end]

    def _columns(self, suite: Any, paths: _Paths, n: int) -> bool:
        """Count a batch column-wise inside libxml2; False when it needs the case-by-case path
        (a repeat, a nameless case, a time that is not a plain number)."""
        names = paths.names(suite)
        classes = paths.classes(suite)
        if len(names) != n or len(classes) != n or "" in names:
            return False
        batch = dict.fromkeys(map(hash, zip(classes, names, strict=True)), PASS)
        seen = self.seen
        if len(batch) != n or len(seen) + n > MAX_TRACKED or not seen.keys().isdisjoint(batch):
            return False
        times = paths.times(suite)
        try:
            values = list(map(float, times))
        except ValueError:
            return False
        total = math.fsum(values)
        if not math.isfinite(total) or (values and min(values) < 0):
            return False
        special = paths.special(suite)  # cases with children or a status: classified one by one
        seen.update(batch)
        plain = n - len(special)
        self.counts[PASS] += plain
        self.cases += plain
        self.attempts += plain
        self.case_secs += total
        self.missing += n - len(times)
        for case in special:
            del seen[hash((case.get("classname"), case.get("name")))]
            self.add(case, timed=False)
        return True

    def _detail(self, case: Any, outcome: int) -> None:
        for child in case:
            tag = child.tag
            if _RESULT_TAGS.get(tag, _RERUN_TAGS.get(tag, -1)) == outcome:
                self.details.append(
                    CaseFailure(
                        case=_short(case.get("name")),
                        kind=tag,
                        type=_short(child.get("type")),
                        message=_short(child.get("message")),
                    )
                )
                return

    def add(self, case: Any, *, timed: bool = True) -> None:
        """Count one test case, case by case (its time too, unless already summed)."""
        get = case.get
        outcome = PASS
        marks = 0
        if len(case):
            rerun = PASS
            for child in case:
                tag = child.tag
                level = _RESULT_TAGS.get(tag)
                if level is not None:
                    outcome = max(outcome, level)
                elif tag in _FLAKY_TAGS:
                    marks |= FLAKY_BIT
                    self.attempts += 1
                elif tag in _RERUN_TAGS:
                    self.attempts += 1
                    rerun = max(rerun, _RERUN_TAGS[tag])
            # Surefire: <failure> with <rerunError>s is a failure that failed again; the first
            # element decides, a rerun only when nothing else says how the case ended.
            outcome = outcome if outcome != PASS else rerun
            if outcome >= FAIL and len(self.details) < MAX_DETAILS:
                self._detail(case, outcome)
        if outcome == PASS and (get("status") in _SKIP_WORDS or get("result") in _SKIP_WORDS):
            outcome = SKIP  # GoogleTest notrun / result="skipped", tst's disabled
        raw = get("time") if timed else ""
        if raw is None:
            self.missing += 1
        elif timed:
            try:
                secs = float(raw)
            except ValueError:
                secs = -1.0
            if 0.0 <= secs < math.inf:
                self.case_secs += secs
            else:
                self._time(raw)
        self.cases += 1
        self.attempts += 1
        state = outcome | marks | (FAILED_BIT if outcome >= FAIL else 0)
        name = get("name")
        seen = self.seen
        if not name or len(seen) >= MAX_TRACKED:
            if name and "repeats_untracked" not in self.flags:
                self.flags.append("repeats_untracked")
            self._count(state, +1)
            return
        # PHPUnit and Codeception write `class`, not `classname`.
        key = hash((get("classname") or get("class") or get("file") or "", name))
        old = seen.get(key)
        # A repeat right after a failed or errored attempt is a retry: the last attempt
        # decides, and a pass makes it flaky. Any other repeat is a test of its own (go test
        # -count=3, parametrised cases sharing a name), counted as the producer counts it.
        if old is not None and old & 3 >= FAIL:
            self._count(old, -1)
            state |= old & FAILED_BIT
            self.merged += 1
        seen[key] = state
        if state == PASS:
            self.counts[PASS] += 1
        else:
            self._count(state, +1)

    def _count(self, state: int, sign: int) -> None:
        outcome = state & 3
        self.counts[outcome] += sign
        if outcome == PASS and state & (FAILED_BIT | FLAKY_BIT):
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

    # -- the summary -----------------------------------------------------------------------

    def _seconds(self) -> tuple[float, float]:
        """(suite seconds, summed case seconds), settling ambiguous commas by agreement."""
        raw = self.attrs.get("time")
        stated = parse_time(raw) if raw is not None else None
        if stated is not None and (stated.bad or stated.negative):
            self.flags.append("suite_time_bad" if stated.bad else "negative_time")
            stated = None
        case_options = [self.case_secs]
        if self.ambiguous:
            case_options.append(self.case_secs + self.alt_secs)
        if stated is None:
            if self.ambiguous:
                self.flags.append("time_ambiguous")
            return self.case_secs, self.case_secs
        suite_options = [stated.seconds] + ([stated.alt] if stated.alt is not None else [])
        suite, cases = min(
            ((s, c) for s in suite_options for c in case_options),
            key=lambda pair: abs(pair[0] - pair[1]),
        )
        if self.ambiguous or stated.alt is not None:
            self.flags.append("time_ambiguous_resolved")
        return suite, cases

    def summary(self, source: str, fallback: str, *, partial: bool) -> SuiteSummary | None:
        """The suite's record; None for a wrapper whose children are counted themselves."""
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
                return None
            counted = self._from_attributes(name, source, stated, start, partial)
            # A suite with no cases that claims none (Cypress' "Root Suite") is no step.
            return counted if counted.tests or partial else None
        suite_secs, case_secs = self._seconds()
        for label, n in (
            ("retries_merged", self.merged),
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
