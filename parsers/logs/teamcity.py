"""TeamCity service messages: `##teamcity[blockOpened name='..' timestamp='..']` and
`blockClosed`; `buildStatus` and `buildProblem` give the result; the test messages
(`testSuiteStarted`, `testStarted`, `testFailed`, `testIgnored`, `testFinished duration=`)
give a test suite per outermost `testSuiteStarted` (tests outside any suite: "TeamCity tests").
Values use TeamCity's escapes: |' || |n |r |[ |] |0xNNNN."""

from __future__ import annotations

import re

from sei_watch.records import CaseFailure, Record, SuiteSummary

from ._base import LogParser
from ._scan import LogScan, clean_name, iso_ms
from ._spans import Spans

__all__ = ["TeamCityLog", "unescape"]

_ATTR = re.compile(rb"(\w+)='((?:[^'|]|\|.|\|0x[0-9a-fA-F]{4})*)'")
_ESC = re.compile(rb"\|(0x[0-9a-fA-F]{4}|.)")
_SIMPLE = {b"'": b"'", b"|": b"|", b"n": b"\n", b"r": b"\r", b"[": b"[", b"]": b"]"}


def unescape(raw: bytes) -> bytes:
    def sub(m: re.Match[bytes]) -> bytes:
        code = m.group(1)
        if code.startswith(b"0x"):
            return chr(int(code[2:], 16)).encode()
        return _SIMPLE.get(code, code)

    return _ESC.sub(sub, raw)


class TeamCityLog(LogParser):
    """TeamCity service messages: `blockOpened`/`blockClosed` as stages, `buildStatus`,
    `buildProblem`, and the test messages as suites."""

    name = "log-teamcity"
    marker = re.compile(rb"##teamcity\[")
    pattern = re.compile(rb"##teamcity\[(\w+)((?: +\w+='(?:[^'|\r\n]|\|[^\r\n]){0,4096}')*) *\]")

    def begin(self, path: object, spans: Spans) -> None:
        self.suites: dict[str, dict[str, str]] = {}  # suite -> test -> pass/fail/skip
        self.suite_ms: dict[str, int] = {}
        self.suite_start: dict[str, int | None] = {}
        self.failed: dict[str, list[CaseFailure]] = {}
        self.open_suites: list[str] = []

    def _test(self, kind: bytes, attrs: dict[str, bytes], ts: int | None) -> None:
        suite = self.open_suites[0] if self.open_suites else "TeamCity tests"
        tests = self.suites.setdefault(suite, {})
        self.suite_start.setdefault(suite, ts)
        name = clean_name(attrs.get("name", b"test"))
        if kind == b"testStarted":
            tests.setdefault(name, "pass")
        elif kind == b"testFailed":
            if tests.get(name) != "fail" and len(self.failed.setdefault(suite, [])) < 5:
                message = clean_name(attrs.get("message", b"") or attrs.get("details", b""), 200)
                self.failed[suite].append(CaseFailure(case=name, kind="failure", message=message))
            tests[name] = "fail"
        elif kind == b"testIgnored":
            if tests.get(name) != "fail":
                tests[name] = "skip"
        elif kind == b"testFinished" and attrs.get("duration", b"").isdigit():
            self.suite_ms[suite] = self.suite_ms.get(suite, 0) + int(attrs["duration"])

    def extra_records(self, source: str) -> list[Record]:
        out: list[Record] = []
        for suite, tests in self.suites.items():
            outcomes = list(tests.values())
            ms = self.suite_ms.get(suite, 0)
            out.append(
                SuiteSummary(
                    name=suite,
                    tests=len(outcomes),
                    failures=outcomes.count("fail"),
                    skipped=outcomes.count("skip"),
                    attempts=len(outcomes),
                    time_ms=ms,
                    case_time_ms=ms,
                    start_ms=self.suite_start.get(suite),
                    source=source,
                    failed_cases=tuple(self.failed.get(suite, ())),
                )
            )
        return out

    def on_hit(self, m: re.Match[bytes], line: int, spans: Spans) -> None:
        kind = m.group(1)
        attrs = {k.decode(): unescape(v) for k, v in _ATTR.findall(m.group(2))}
        ts = iso_ms(attrs["timestamp"].replace(b"+0000", b"Z")) if "timestamp" in attrs else None
        if ts is not None:
            self.start = ts if self.start is None else self.start
            self.end = ts
        if kind.startswith(b"test"):
            if kind == b"testSuiteStarted":
                self.open_suites.append(clean_name(attrs.get("name", b"suite")))
            elif kind == b"testSuiteFinished" and self.open_suites:
                self.open_suites.pop()
            else:
                self._test(kind, attrs, ts)
            return
        name = clean_name(attrs.get("name", b"block"))
        if kind == b"blockOpened":
            spans.open(name, ts, line)
        elif kind == b"blockClosed":
            spans.close(name if any(s.key == name for s in spans.stack) else None, ts, line)
        elif kind == b"buildProblem":
            spans.fail()
            self.result = "FAILURE"
        elif kind == b"buildStatus":
            status = attrs.get("status", b"").decode().upper()
            self.result = {"SUCCESS": "SUCCESS", "FAILURE": "FAILURE", "ERROR": "FAILURE"}.get(
                status, self.result
            )

    def at_end(self, scan: LogScan, spans: Spans) -> None:
        if self.result is None and spans.top:
            self.result = "SUCCESS"
