"""Property test: the streaming JUnit counts equal a plain reference model of the rules,
whatever the batch and chunk sizes (so the column-wise and case-by-case paths agree)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sei_watch_parsers.junit as junit_mod
from sei_watch.plugins import ParseContext
from sei_watch.records import SuiteSummary
from sei_watch_parsers.junit import JUnitParser

SEVERITY = {"error": 3, "failure": 2, "skipped": 1}
RERUN = {"rerunFailure": 2, "rerunError": 3}

case_st = st.fixed_dictionaries(
    {
        "cls": st.sampled_from(["A", "B"]),
        "name": st.one_of(st.none(), st.sampled_from(["t1", "t2", "t3", "t4", "t5"])),
        "children": st.lists(
            st.sampled_from(
                [
                    "failure",
                    "error",
                    "skipped",
                    "flakyFailure",
                    "rerunFailure",
                    "rerunError",
                    "system-out",
                ]
            ),
            max_size=3,
        ),
        "status": st.sampled_from([None, None, "run", "notrun"]),
        "time": st.one_of(st.none(), st.integers(0, 5000).map(lambda ms: f"{ms / 1000:.3f}")),
    }
)


def outcome(case: dict[str, Any]) -> int:
    """failure/error/skipped decide; rerun elements only when none of those is there."""
    level = max((SEVERITY.get(c, 0) for c in case["children"]), default=0)
    if level == 0:
        level = max((RERUN.get(c, 0) for c in case["children"]), default=0)
    if level == 0 and case["status"] == "notrun":
        level = 1
    return level


def model(cases: list[dict[str, Any]]) -> dict[str, int]:
    """The README's rules, written the plain way."""
    tests: list[tuple[int, bool, bool]] = []  # (outcome, ever failed, flaky mark)
    last: dict[object, int] = {}  # key -> index of its latest test in `tests`
    attempts = 0
    for i, case in enumerate(cases):
        level = outcome(case)
        marks = any(c.startswith("flaky") for c in case["children"])
        attempts += 1 + sum(c.startswith(("flaky", "rerun")) for c in case["children"])
        key: object = (case["cls"], case["name"]) if case["name"] else i
        at = last.get(key)
        if at is not None and tests[at][0] >= 2:  # a retry of a failed attempt
            tests[at] = (level, True, marks)
        else:  # a test of its own, a repeated name included
            last[key] = len(tests)
            tests.append((level, level >= 2, marks))
    levels = [t[0] for t in tests]
    return {
        "tests": len(tests),
        "failures": levels.count(2),
        "errors": levels.count(3),
        "skipped": levels.count(1),
        "flaky": sum(1 for lv, ever, marks in tests if lv == 0 and (ever or marks)),
        "attempts": attempts,
    }


def render(cases: list[dict[str, Any]]) -> str:
    out = ['<testsuites><testsuite name="S">']
    for case in cases:
        attrs = f'classname="{case["cls"]}"'
        if case["name"]:
            attrs += f' name="{case["name"]}"'
        if case["status"]:
            attrs += f' status="{case["status"]}"'
        if case["time"] is not None:
            attrs += f' time="{case["time"]}"'
        inner = "".join(f"<{c}/>" for c in case["children"])
        out.append(f"<testcase {attrs}>{inner}</testcase>")
    out.append("</testsuite></testsuites>")
    return "".join(out)


@pytest.mark.parametrize(("batch", "chunk"), [(4096, 65536), (2, 7), (5, 64)])
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cases=st.lists(case_st, min_size=1, max_size=40))
def test_counts_match_the_model(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    batch: int,
    chunk: int,
    cases: list[dict[str, Any]],
) -> None:
    """Counts, flaky and attempts equal the model for any report, batch size and chunk size."""
    monkeypatch.setattr(junit_mod, "BATCH", batch)
    monkeypatch.setattr(junit_mod, "CHUNK", chunk)
    path = tmp_path / "junit.xml"
    path.write_text(render(cases))
    (s,) = [
        r
        for r in JUnitParser().parse(path, ParseContext(root=tmp_path))
        if isinstance(r, SuiteSummary)
    ]
    got = {
        k: getattr(s, k) for k in ("tests", "failures", "errors", "skipped", "flaky", "attempts")
    }
    assert got == model(cases)
    expected_ms = sum(round(float(c["time"]) * 1000) for c in cases if c["time"] is not None)
    assert abs(s.case_time_ms - expected_ms) <= 1
