"""JUnit conformance over the shared corpus of real reports and other tools' expectations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sei_watch.errors import ParseError
from sei_watch.plugins import ParseContext
from sei_watch.records import ParseProblem, SuiteSummary
from sei_watch_parsers.junit import JUnitParser

from .paths import corpus_dir

PARSER = JUnitParser()
ENRICO = "testreports/publish-unit-test-result-action"
XUNIT = "testreports/xunit-plugin"


def run(path: Path) -> tuple[list[SuiteSummary], list[str]]:
    """Our parser on one file: its suites, and its problems (a raised ParseError included)."""
    try:
        records = list(PARSER.parse(path, ParseContext(root=path.parent)))
    except ParseError as exc:
        return [], [exc.reason]
    return (
        [r for r in records if isinstance(r, SuiteSummary)],
        [r.reason for r in records if isinstance(r, ParseProblem)],
    )


def enrico_cases(corpus_dir: Path) -> list[dict[str, Any]]:
    manifest = json.loads((corpus_dir / ENRICO / "MANIFEST_expected.json").read_text())
    return [m for m in manifest if m["format"] in ("junit-xml", "xml")]


CASES = enrico_cases(corpus_dir()) if (corpus_dir() / ENRICO).is_dir() else []


@pytest.mark.parametrize("case", CASES, ids=[c["input"] for c in CASES])
def test_enricomi_expected_stats(corpus: Path, case: dict[str, Any]) -> None:
    """Counts and summed case time match EnricoMi's expectations; its exceptions are problems.

    Deliberate differences: a truncated file (pytest/corrupt-xml.xml) gives the counts up to the
    break, marked partial, plus a problem, where EnricoMi gives only the exception. Flaky tests
    count as passed here and as failed there; no file of this set has Surefire flaky elements.
    Repeated names count as the producer counts them (EnricoMi's `runs`), not deduplicated
    (its `tests`); only a retry after a failed attempt is merged, and none of these files has
    one.
    """
    path = corpus / ENRICO / "python/test/files" / case["input"]
    suites, problems = run(path)
    if "exception" in case:
        assert problems, f"{case['input']} should give a problem"
        assert all(s.partial for s in suites)
        return
    stats = case["stats"]
    assert problems == []
    assert not any(f.startswith("retries_merged") for s in suites for f in s.flags)
    # Where names repeat, EnricoMi's `tests` deduplicates them and its `runs` does not.
    kind = "tests" if stats["tests"] == stats["runs"] else "runs"
    assert sum(s.tests for s in suites) == stats[kind]
    assert sum(s.passed for s in suites) == stats[f"{kind}_succ"]
    assert sum(s.skipped for s in suites) == stats[f"{kind}_skip"]
    assert sum(s.failures for s in suites) == stats[f"{kind}_fail"]
    assert sum(s.errors for s in suites) == stats[f"{kind}_error"]
    case_ms = sum(s.case_time_ms for s in suites)
    assert abs(case_ms - case["sum_case_time"] * 1000) <= max(len(suites), 1)


def xunit_inputs(base: Path) -> list[Path]:
    """The xunit-plugin inputs of the JUnit dialect: those our sniffer claims."""
    return sorted(p for p in base.rglob("input.xml") if PARSER.sniff(p.read_bytes()[:4096]))


def test_xunit_plugin_junit_inputs_match_their_results(corpus: Path) -> None:
    """For every JUnit-dialect input.xml, our counts equal those of xunit's result.xml."""
    inputs = xunit_inputs(corpus / XUNIT)
    assert len(inputs) >= 25
    compared = 0
    for path in inputs:
        suites, problems = run(path)
        assert problems == [], path
        ours = [
            sum(getattr(s, k) for s in suites) for k in ("tests", "failures", "errors", "skipped")
        ]
        result = path.with_name("result.xml")
        if result.exists():
            theirs_suites, _ = run(result)
            theirs = [
                sum(getattr(s, k) for s in theirs_suites)
                for k in ("tests", "failures", "errors", "skipped")
            ]
            assert ours == theirs, path
            compared += 1
        else:
            assert ours[0] > 0, path
    assert compared >= 20


def test_check_framework_xml_is_not_junit(corpus: Path) -> None:
    """libcheck's namespaced <testsuites> is another format: not sniffed, and named if forced."""
    path = next((corpus / XUNIT).rglob("types/check/testcase1/input.xml"))
    assert not PARSER.sniff(path.read_bytes()[:4096])
    _, problems = run(path)
    assert problems == ["<testsuites> in a namespace is not a JUnit report"]


@pytest.mark.parametrize(
    "folder",
    [
        "junit-plugin",
        "action-junit-report",
        "junitparser",
        "test-results-parser",
        "gitlabhq",
        "test-reporter",
    ],
)
def test_every_corpus_xml_parses_without_escaping(corpus: Path, folder: str) -> None:
    """Every XML in these folders parses, or gives a ParseError; nothing else escapes."""
    files = sorted((corpus / "testreports" / folder).rglob("*.xml"))
    assert files
    parsed = 0
    for path in files:
        suites, _ = run(path)
        parsed += bool(suites)
    assert parsed >= len(files) // 3
