"""The JSON test reports CI jobs already keep: `go test -json` (test2json), Jest's `--json`,
Mocha's `json` reporter and RSpec's `--format json`.

Each is claimed by its JSON shape in the first bytes, never by its file name. `go test -json`
is a stream, read line by line (bounded lines, flat memory), and may hold plain build output
between its events; a stream cut off mid-run is read up to the cut, with a problem naming the
tests that never finished. The other three are one JSON document each, read whole within the
JSON bound; RSpec's may be followed by plain text (SimpleCov writes there), which is ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any

from sei_watch.plugins import ParseContext, ParseError
from sei_watch.records import Record

from ._json import MAX_JSON_BYTES, decode_json
from ._tally import ERROR, FAIL, PASS, SKIP, Suites, stated_problem

__all__ = ["GoTestJson", "JestJson", "MochaJson", "RspecJson"]

MAX_LINE = 1 << 20
_GO_OUTCOMES = {"pass": PASS, "fail": FAIL, "skip": SKIP}
_JEST = {"passed": PASS, "failed": FAIL, "pending": SKIP, "skipped": SKIP, "todo": SKIP,
         "disabled": SKIP, "focused": PASS}  # fmt: skip
_RSPEC = {"passed": PASS, "failed": FAIL, "pending": SKIP}


def _epoch_ms(text: Any) -> int | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


class GoTestJson:
    """`go test -json`: a case per test or subtest that ends in pass, fail or skip, in a suite
    per package; a package that failed with no failing test (a build failure, a panic before
    any test) is one error case."""

    name = "go-test-json"
    sniff_suffixes = (".json", ".jsonl", ".txt", ".out", ".log")

    def matches(self, path: PurePath) -> bool:
        return False

    def sniff(self, head: bytes) -> bool:
        for line in head.splitlines():
            text = line.lstrip()
            if text.startswith(b'{"') and b'"Action":"' in text:
                return b'"Package":"' in text or b'"ImportPath":"' in text
        return False

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        suites = Suites()
        running: dict[tuple[str, str], int | None] = {}
        failed_packages: dict[str, str] = {}
        events = other = 0
        with ctx.open(path) as fh:
            while line := fh.readline(MAX_LINE):
                if not line.endswith(b"\n") and len(line) == MAX_LINE:
                    fh.readline()  # the rest of an overlong line
                    other += 1
                    continue
                event = self._event(line)
                if event is None:
                    other += 1
                    continue
                events += 1
                self._take(event, suites, running, failed_packages)
        if not events:
            raise ParseError("no `go test -json` event in the file")
        for package, why in failed_packages.items():
            if why:
                suites.add(package, f"{package} [{why}]", ERROR, message=why)
        yield from suites.summaries(ctx.rel(path))
        if running:
            names = ", ".join(sorted(t for _, t in running)[:5])
            yield ctx.problem(
                path,
                f"{len(running)} tests started and never finished (the run was cut off or "
                f"crashed): {names}",
            )

    @staticmethod
    def _event(line: bytes) -> dict[str, Any] | None:
        text = line.strip()
        if not text.startswith(b"{"):
            return None
        try:
            event = json.loads(text)
        except (ValueError, RecursionError):
            return None
        return event if isinstance(event, dict) and isinstance(event.get("Action"), str) else None

    @staticmethod
    def _take(
        event: dict[str, Any],
        suites: Suites,
        running: dict[tuple[str, str], int | None],
        failed_packages: dict[str, str],
    ) -> None:
        action = event["Action"]
        package = str(event.get("Package") or event.get("ImportPath") or "").split(" [")[0]
        test = event.get("Test")
        if action == "build-fail":
            failed_packages[package] = "build failed"
            return
        if not isinstance(test, str):
            if action == "fail" and package not in failed_packages:
                failed_packages[package] = "package failed"  # a panic before any test
            return
        key = (package, test)
        if action == "run":
            running[key] = _epoch_ms(event.get("Time"))
            return
        outcome = _GO_OUTCOMES.get(action)
        if outcome is None:
            return
        start = running.pop(key, None)
        if outcome == FAIL:
            failed_packages[package] = ""  # its failing tests say it: no extra error case
        suites.add(package, test, outcome, _number(event.get("Elapsed")), start_ms=start)


class JestJson:
    """Jest's `--json`: a suite per test file, a case per assertion result; `numTotalTests`
    is checked against them."""

    name = "jest-json"
    sniff_suffixes = (".json",)

    def matches(self, path: PurePath) -> bool:
        return False

    def sniff(self, head: bytes) -> bool:
        return b'"numTotalTests"' in head or (
            b'"numFailedTestSuites"' in head and b'"testResults"' in head
        )

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        doc = decode_json(ctx.read_bytes(path, limit=MAX_JSON_BYTES * 4))
        if not isinstance(doc, dict) or not isinstance(doc.get("testResults"), list):
            raise ParseError("not a Jest --json report (no testResults)")
        suites = Suites()
        for result in doc["testResults"]:
            if not isinstance(result, dict):
                continue
            suite = str(result.get("name") or result.get("testFilePath") or "jest")
            start = result.get("startTime")
            for case in result.get("assertionResults") or []:
                if not isinstance(case, dict):
                    continue
                outcome = _JEST.get(str(case.get("status")), FAIL)
                messages = case.get("failureMessages") or []
                suites.add(
                    suite,
                    str(case.get("fullName") or case.get("title") or "(unnamed)"),
                    outcome,
                    _number(case.get("duration")) / 1000,
                    message=str(messages[0]) if messages else "",
                    start_ms=start if isinstance(start, int) else None,
                )
        yield from suites.summaries(ctx.rel(path))
        stated = doc.get("numTotalTests")
        problem = stated_problem(
            ctx, path, "numTotalTests", stated if isinstance(stated, int) else None, suites.total
        )
        if problem:
            yield problem


class MochaJson:
    """Mocha's `json` reporter: a case per entry of `tests`, and a failed hook (listed only in
    `failures`) as a failed case of its own, so that a run whose `before` hook failed is not
    reported green; `stats.tests` is checked against the tests."""

    name = "mocha-json"
    sniff_suffixes = (".json",)

    def matches(self, path: PurePath) -> bool:
        return False

    def sniff(self, head: bytes) -> bool:
        return head.lstrip().startswith(b"{") and b'"stats"' in head and b'"passes"' in head

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        doc = decode_json(ctx.read_bytes(path, limit=MAX_JSON_BYTES * 4))
        if not isinstance(doc, dict) or not isinstance(doc.get("stats"), dict):
            raise ParseError("not a Mocha json report (no stats)")
        pending = {self._key(t) for t in doc.get("pending") or [] if isinstance(t, dict)}
        suites, listed = Suites(), set()
        start = _epoch_ms(doc["stats"].get("start"))
        for test in doc.get("tests") or []:
            if not isinstance(test, dict):
                continue
            key = self._key(test)
            listed.add(key)
            err = _obj(test.get("err"))
            outcome = SKIP if key in pending else (FAIL if err else PASS)
            self._add(suites, test, outcome, str(err.get("message") or ""), start)
        for failure in doc.get("failures") or []:
            if isinstance(failure, dict) and self._key(failure) not in listed:
                err = _obj(failure.get("err"))
                self._add(suites, failure, FAIL, str(err.get("message") or "hook failed"), start)
        yield from suites.summaries(ctx.rel(path))
        stated = doc["stats"].get("tests")
        hooks = suites.total - len(listed)
        problem = stated_problem(
            ctx, path, "stats.tests", stated + hooks if isinstance(stated, int) else None,
            suites.total,
        )  # fmt: skip
        if problem:
            yield problem
        if hooks:
            yield ctx.problem(path, f"{hooks} hook(s) failed; counted as failed cases")

    @staticmethod
    def _key(test: dict[str, Any]) -> str:
        return str(test.get("fullTitle") or test.get("title") or "")

    @staticmethod
    def _add(
        suites: Suites, test: dict[str, Any], outcome: str, msg: str, start: int | None
    ) -> None:
        full, title = str(test.get("fullTitle") or ""), str(test.get("title") or "")
        suite = full[: -len(title)].strip() if title and full.endswith(title) else ""
        suites.add(
            suite or str(test.get("file") or "mocha"),
            full or title or "(unnamed)",
            outcome,
            _number(test.get("duration")) / 1000,
            message=msg,
            start_ms=start,
        )


class RspecJson:
    """RSpec's `--format json`: a suite per spec file, a case per example; `summary.
    example_count` is checked against them."""

    name = "rspec-json"
    sniff_suffixes = (".json",)

    def matches(self, path: PurePath) -> bool:
        return False

    def sniff(self, head: bytes) -> bool:
        start = head.lstrip()[:200]
        return start.startswith(b"{") and b'"examples"' in head and b'"version"' in start

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        data = ctx.read_bytes(path, limit=MAX_JSON_BYTES * 4)
        try:
            text = data.decode("utf-8-sig")
            doc, _ = json.JSONDecoder().raw_decode(text.lstrip())  # text may follow (SimpleCov)
        except (UnicodeDecodeError, ValueError, RecursionError):
            doc = decode_json(data)  # the same bytes, for the reader's own clear error
        if not isinstance(doc, dict) or not isinstance(doc.get("examples"), list):
            raise ParseError("not an RSpec json report (no examples)")
        suites = Suites()
        for ex in doc["examples"]:
            if not isinstance(ex, dict):
                continue
            exc = _obj(ex.get("exception"))
            suites.add(
                str(ex.get("file_path") or "rspec").removeprefix("./"),
                str(ex.get("full_description") or ex.get("description") or "(unnamed)"),
                _RSPEC.get(str(ex.get("status")), FAIL),
                _number(ex.get("run_time")),
                message=str(exc.get("message") or ex.get("pending_message") or ""),
            )
        yield from suites.summaries(ctx.rel(path))
        stated = _obj(doc.get("summary")).get("example_count")
        problem = stated_problem(
            ctx, path, "example_count", stated if isinstance(stated, int) else None, suites.total
        )
        if problem:
            yield problem
