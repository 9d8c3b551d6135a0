"""Files that real producers wrote (`../shared/corpus/real`, see its PROVENANCE.md): each one
matches what its source states, or a reference computed here independently (lxml counts,
regexes), never our own earlier output."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from parsers.junit import JUnitParser
from parsers.test_native import CTestParser, RobotParser
from sei_watch.plugins import ParseContext, load_parsers
from sei_watch.records import ParseProblem, Stage, SuiteSummary
from sei_watch.workspace import parse_file

from .paths import corpus_dir

REAL = corpus_dir() / "real"
JUNIT = sorted((REAL / "junit").glob("*.xml")) if (REAL / "junit").is_dir() else []

# (tests, passed, failed + errored, skipped) as PROVENANCE.md quotes the source: launchable's
# record_test_result.json, Flank's and quick-junit's self-declared root counts.
STATED = {
    "launchable-jest-junit.xml": (10, 10, 0, 0),
    "launchable-vitest-report.xml": (5, 3, 2, 0),
    "launchable-cypress-test-result.xml": (3, 3, 0, 0),
    "launchable-playwright-report.xml": (93, 84, 3, 6),
    "launchable-googletest-fail-output.xml": (3, 2, 1, 0),
    "launchable-bazel-mylib_test1-test.xml": (1, 1, 0, 0),
    "launchable-bazel-mylib_test6-test.xml": (1, 1, 0, 0),
    "launchable-xctest-junit.xml": (9, 7, 2, 0),
    "launchable-gradle-recursion-1.xml": (4, 4, 0, 0),
    "launchable-pytest-report.xml": (12, 8, 4, 0),
    "launchable-rspec.xml": (16, 16, 0, 0),
    "launchable-ctest-Test.xml": (4, 2, 1, 1),
    "launchable-robot-output.xml": (6, 4, 2, 0),
    "flank-android-error_result-NexusLowRes-27-test_result_1.xml": (2, 1, 1, 0),
    "flank-android-success_result-NexusLowRes-28-test_result_1.xml": (2, 2, 0, 0),
    "flank-ftl-android_fail.xml": (2, 1, 1, 0),
    "nextest-tests-junit.xml": (3, 2, 1, 0),
    "quick-junit-basic_report.xml": (7, 3, 3, 1),
}
# Summed case time in ms where the source states it (launchable sums its case durations).
STATED_MS = {
    "launchable-jest-junit.xml": 1377,
    "launchable-vitest-report.xml": 17,
    "launchable-cypress-test-result.xml": 315,
    "launchable-playwright-report.xml": 151887,
    "launchable-ctest-Test.xml": 15,
    "launchable-robot-output.xml": 11,
    "launchable-xctest-junit.xml": 37326,
}
NATIVE = {"launchable-ctest-Test.xml": CTestParser(), "launchable-robot-output.xml": RobotParser()}


def _suites(path: Path) -> tuple[list[SuiteSummary], list[ParseProblem]]:
    parser = NATIVE.get(path.name, JUnitParser())
    records = list(parser.parse(path, ParseContext(root=path.parent)))
    return (
        [r for r in records if isinstance(r, SuiteSummary)],
        [r for r in records if isinstance(r, ParseProblem)],
    )


def _totals(suites: list[SuiteSummary]) -> tuple[int, int, int, int]:
    return (
        sum(s.tests for s in suites),
        sum(s.passed for s in suites),
        sum(s.failures + s.errors for s in suites),
        sum(s.skipped for s in suites),
    )


@pytest.mark.parametrize("path", JUNIT, ids=[p.name for p in JUNIT])
def test_real_test_report(path: Path) -> None:
    """Every real report: our counts equal what its source states; where it states nothing,
    the number of <testcase> elements (a retry inside one element is one test), and the
    root's own tests= where it has one."""
    suites, problems = _suites(path)
    assert problems == []
    assert suites
    if path.name in STATED:
        assert _totals(suites) == STATED[path.name]
    if path.name in STATED_MS:
        assert abs(sum(s.case_time_ms for s in suites) - STATED_MS[path.name]) <= len(suites)
    if path.name in NATIVE:
        return
    root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    assert sum(s.tests for s in suites) == len(root.findall(".//testcase"))
    declared = root.getroot().get("tests")
    # Where the source states the count, it wins over the root's: mocha-junit-reporter's root
    # in the Cypress file says tests="6" over its 3 cases.
    if declared is not None and path.name not in STATED:
        assert sum(s.tests for s in suites) == int(declared)


def test_suite_without_cases_is_no_step() -> None:
    """Cypress' empty "Root Suite" (tests="0", no cases) gives no suite, so no empty step."""
    suites, _ = _suites(REAL / "junit" / "launchable-cypress-test-result.xml")
    assert [s.name for s in suites] == ["Window"]


def test_go_test_reports_each_hold_the_nine_cases() -> None:
    """launchable's go_test record (9 cases, all passed) covers reportv1 and reportv2, which
    hold the same nine tests: each file alone gives nine passing tests."""
    for name in ("launchable-go_test-reportv1.xml", "launchable-go_test-reportv2.xml"):
        assert _totals(_suites(REAL / "junit" / name)[0]) == (9, 9, 0, 0)


def test_googletest_pair_gives_six_passing_cases() -> None:
    """launchable's googletest record: 6 cases over output_a and output_b, all passed."""
    pair = [REAL / "junit" / f"launchable-googletest-output_{x}.xml" for x in "ab"]
    assert _totals([s for p in pair for s in _suites(p)[0]]) == (6, 6, 0, 0)


def test_go_junit_report_root_counts() -> None:
    """go-junit-report's golden files state tests/failures/errors/skipped on their root."""
    for path in sorted((REAL / "junit").glob("go-junit-report-*.xml")):
        root = etree.parse(str(path)).getroot()
        tests, _, bad, skipped = _totals(_suites(path)[0])
        assert tests == int(root.get("tests", "0")), path.name
        assert bad == int(root.get("failures", "0")) + int(root.get("errors", "0")), path.name
        assert skipped == int(root.get("skipped", "0")), path.name


# -- logs ------------------------------------------------------------------------------------

LOGS = REAL / "logs"
_MODULE = re.compile(rb"(?m)^\[INFO\] Building ([^:\r\n]+?)(?: +\[\d+/\d+\])?\r?$")
_MOJO = re.compile(rb"(?m)^\[INFO\] --- \S+ (?:\([^)]*\) )?@ (\S+) ---")


def _records(parser: str, path: Path) -> list[Any]:
    lp = load_parsers().get(parser)
    return parse_file(lp, path, path.parent)


@pytest.mark.parametrize(
    "name",
    [
        "analysis-model-maven.txt",
        "analysis-model-maven-enforcer.log",
        "analysis-model-maven-error-prone.log",
        "analysis-model-eclipse-maven-withjavadoc.log",
    ],
)
def test_maven_logs_keep_their_modules(name: str) -> None:
    """Maven logs with and without a Reactor Summary: a stage per module header (else per
    `@ module` of the mojo headers), a step per mojo execution, counted here by regex."""
    data = (LOGS / name).read_bytes()
    records = _records("log-maven", LOGS / name)
    stages = [r for r in records if isinstance(r, Stage)]
    assert not [r for r in records if isinstance(r, ParseProblem)]
    # The header's trailing version is no part of the name (`Building x 0.0.1-SNAPSHOT`).
    modules = [re.sub(r" \d[\w.+-]*$", "", m.decode().strip()) for m in _MODULE.findall(data)]
    mojo_modules = [m.decode() for m in _MOJO.findall(data)]
    expected = modules or list(dict.fromkeys(mojo_modules))
    assert [s.name for s in stages] == expected
    assert sum(len(s.steps) for s in stages) == len(mojo_modules)


def test_maven_enforcer_log_is_timed_from_its_total() -> None:
    """A one-module build cut short: its module lasts the log's own `Total time: 7.251 s`,
    ending at `Finished at`, and carries the BUILD FAILURE."""
    (stage,) = [r for r in _records("log-maven", LOGS / "analysis-model-maven-enforcer.log")
                if isinstance(r, Stage)]  # fmt: skip
    assert (stage.name, stage.duration_ms, stage.result) == ("warnings-ng", 7251, "FAILURE")


def test_buildkite_raw_agent_log() -> None:
    """The raw agent log (OSC `_bk;t=` times, CR/CRLF, ANSI): a stage per ~~~/---/+++ header,
    each starting at its header's own timestamp, found here by regex."""
    data = (LOGS / "buildkite-bash-example.log").read_bytes()
    headers = re.findall(rb"(?:^|[\r\n])\x1b_bk;t=(\d+)\x07(?:~~~|---|\+\+\+) ([^\r\n]*)", data)
    stages = [r for r in _records("log-buildkite", LOGS / "buildkite-bash-example.log")
              if isinstance(r, Stage)]  # fmt: skip
    assert [(s.start_ms, s.name) for s in stages] == [
        (int(t), " ".join(re.sub(rb"\x1b\[[0-9;]*m", b"", n).decode().split())) for t, n in headers
    ]


@pytest.mark.parametrize(
    "name",
    [
        "go-test-teamcity-output-subtest.txt",
        "go-test-teamcity-output-race.txt",
        "go-test-teamcity-output-json-testrace.txt",
    ],
)
def test_teamcity_test_messages_become_suites(name: str) -> None:
    """TeamCity test service messages: one test per distinct testStarted name, failed when a
    testFailed names it, skipped when only a testIgnored does; counted here by regex."""
    data = (LOGS / name).read_bytes()
    started = set(re.findall(rb"##teamcity\[testStarted [^\]]*?name='((?:[^'|]|\|.)*)'", data))
    failed = set(re.findall(rb"##teamcity\[testFailed [^\]]*?name='((?:[^'|]|\|.)*)'", data))
    ignored = set(re.findall(rb"##teamcity\[testIgnored [^\]]*?name='((?:[^'|]|\|.)*)'", data))
    suites = [r for r in _records("log-teamcity", LOGS / name) if isinstance(r, SuiteSummary)]
    assert sum(s.tests for s in suites) == len(started | ignored)
    assert sum(s.failures for s in suites) == len(failed)
    assert sum(s.skipped for s in suites) == len(ignored - failed)
