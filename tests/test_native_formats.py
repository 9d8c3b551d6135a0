"""Test formats that are not JUnit, read natively (`../shared/corpus/real/junit-like`): every
file through the parsers that claim it by content, as a folder scan would, against the counts
its PROVENANCE.md reference states (the file's own counters or its elements, tallied by its
source)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sei_watch.plugins import load_parsers
from sei_watch.records import ParseProblem, SuiteSummary
from sei_watch.scan.workspace import parse_claimed

from .paths import corpus_dir

LIKE = corpus_dir() / "real" / "junit-like"

# file: (reader, tests, failed, errored, skipped, a problem that must be said or None).
# Failed + errored is what the source calls failed where it does not tell them apart.
STATED: dict[str, tuple[str, int, int, int, int, str | None]] = {
    # TRX: Counters total/passed/failed/notExecuted, inner results and data rows included.
    "trx/allure2-testresultsWithChildren.trx": ("trx", 7, 4, 0, 0, None),
    "trx/mstest-plugin-DataDriven.2013.trx": ("trx", 12, 0, 0, 0, None),
    "trx/teamcity-xml-reporting-tests.simple.q.dll.trx": ("trx", 8, 3, 0, 0, None),
    "trx/trx2junit-nunit-datadriven.trx": ("trx", 5, 2, 0, 0, None),
    "trx/trx2junit-xunit-ignore.trx": ("trx", 4, 1, 0, 1, None),
    # NUnit 3 test-run totals; NUnit 2 total + not-run = the test-cases listed.
    "nunit/nunit3-nunit-plugin-issue110-Money.xml": ("nunit", 23, 1, 0, 1, None),
    "nunit/nunit3-autofixture-TestResult.xml": ("nunit", 65, 0, 0, 0, None),
    "nunit/nunit3-teamcity-DifferentTypesOfTests.xml": ("nunit", 4, 1, 0, 2, None),
    # 52 cases (testcasecount=52, total=50) and two fixtures whose OneTimeTearDown failed
    # after their cases passed: two error cases more.
    "nunit/nunit3-spekt-reference-test-result.xml": ("nunit", 54, 8, 8, 12, "total=50"),
    # total=1 passed=1, but the fixture's TearDown failed, so NUnit failed the run.
    "nunit/nunit3-NUnitDisposeError-TestResult.xml": ("nunit", 2, 0, 1, 0, None),
    "nunit/nunit2-format-from-nunit3-console-issue44315-3.xml": ("nunit", 35, 0, 0, 0, None),
    "nunit/nunit2-mono-2.4.8-bank-TestResult.xml": ("nunit", 3, 0, 0, 1, None),
    "nunit/nunit2-nunit-results-TestResult-2.2.10.xml": ("nunit", 776, 1, 0, 2, None),
    "nunit/nunit2-nunit-results-mock-assembly-2.6.2.xml": ("nunit", 28, 1, 1, 8, None),
    "nunit/nunit2-teamcity-TW46544.xml": ("nunit", 35, 0, 0, 1, None),
    # xUnit.net v2 assembly totals; the qlnet file was cut by hand (INCONSISTENT).
    "xunit-net/xunit-testlogger-netcore-test-results.xml": ("xunit-net", 4, 2, 0, 0, None),
    "xunit-net/xunit-testlogger-netfull-test-results.xml": ("xunit-net", 4, 2, 0, 0, None),
    "xunit-net/xunit-to-junit-failed-test.xml": ("xunit-net", 1, 1, 0, 0, None),
    "xunit-net/xunit-to-junit-skipped-test.xml": ("xunit-net", 1, 0, 0, 1, None),
    "xunit-net/junit-converter-xunit-qlnet-cut.xml": ("xunit-net", 56, 1, 0, 1, "total=476"),
    # go test -json: test-level pass/fail/skip actions; a failed build is one error.
    "go-json/go-junit-report-103-subtests.gojson.txt": ("go-test-json", 4, 2, 0, 0, None),
    "go-json/go-junit-report-104-race.gojson.txt": ("go-test-json", 1, 1, 0, 0, None),
    "go-json/go-junit-report-112-parallel.gojson.txt": ("go-test-json", 3, 3, 0, 0, None),
    "go-json/gotestsum-go-test-json-with-parallel-fails.out": ("go-test-json", 12, 8, 0, 0, None),
    "go-json/gotestsum-go-test-build-failed.out": ("go-test-json", 1, 0, 1, 0, None),
    # Plain build output between events; 20 tests started and never finished.
    "go-json/go-test-teamcity-input-testrace.json.txt": (
        "go-test-json",
        5,
        3,
        0,
        1,
        "20 tests started and never finished",
    ),
    # Jest numTotalTests and its assertionResults (one 'todo' no counter covers).
    "jest-json/danger-plugin-jest-failed-tests-j20.json": ("jest-json", 7, 4, 0, 0, None),
    "jest-json/jest-coverage-report-action-jsonReport.json": ("jest-json", 12, 0, 0, 0, None),
    "jest-json/jest-editor-support-failing_jest_json.json": (
        "jest-json",
        32,
        1,
        0,
        2,
        "numTotalTests=31",
    ),
    "jest-json/jest-editor-support-monorepo_root_1.json": ("jest-json", 48, 2, 0, 0, None),
    "jest-json/jest-editor-support-with-ancestors-and-each.json": ("jest-json", 7, 2, 0, 0, None),
    # Mocha: no test ran, one `before all` hook failed: a failed case and a problem.
    "mocha-json/repro-js-test-frameworks-before-all-hook-failure.json": (
        "mocha-json",
        1,
        1,
        0,
        0,
        "hook(s) failed",
    ),
    # RSpec summary.example_count / failure_count / pending_count.
    "rspec-json/analyze-rspec-report-workers.json": ("rspec-json", 7, 0, 0, 2, None),
    "rspec-json/fac-rspec-reports-toolbox-rspec_39.json": ("rspec-json", 610, 1, 0, 0, None),
    "rspec-json/http_loader-rspec-3.13-with-trailing-simplecov.json": (
        "rspec-json",
        134,
        79,
        0,
        0,
        None,
    ),
    "rspec-json/rspec-report-action-dummy_results-0.json": ("rspec-json", 25, 1, 0, 0, None),
    "rspec-json/tableware-rspec-3.4.json": ("rspec-json", 12, 0, 0, 0, None),
    # QTestLib incidents: pass, fail + xpass (QTest's totals count xpass failed), skip, and the
    # blacklisted b* incidents as skipped; xfail is informational (its function's result
    # follows). Three documents in one file.
    "qtestlib/QtTestRunner-three-TestCase-documents.xml.txt": ("qtestlib", 19, 3, 0, 0, None),
    "qtestlib/qtbase-selftest-expected_benchlibwalltime.xml": ("qtestlib", 5, 0, 0, 0, None),
    "qtestlib/qtbase-selftest-expected_blacklisted.xml": ("qtestlib", 38, 0, 0, 36, None),
    "qtestlib/qtbase-selftest-expected_counting.xml": ("qtestlib", 32, 8, 0, 8, None),
    # 23 pass, 7 fail + 10 xpass = the txt golden's 17 failed; 5 skip incidents (txt: 4).
    "qtestlib/qtbase-selftest-expected_expectfail.xml": ("qtestlib", 45, 17, 0, 5, None),
    # Boost.Test reports: each TestCase's result (aborted is an error).
    "boost-test/vs-boost-adapter-AbortedTest-sample.test.report.xml": (
        "boost-test",
        1,
        0,
        1,
        0,
        None,
    ),
    "boost-test/vs-boost-adapter-DataTestCase-sample.test.report.xml": (
        "boost-test",
        5,
        1,
        0,
        0,
        None,
    ),
    "boost-test/vs-boost-adapter-InvalidXmlLog-test_hlp.exe.test.report.xml": (
        "boost-test",
        2,
        1,
        0,
        0,
        None,
    ),
}
# Boost.Test's logs beside their reports: not read, so a build with both counts once.
NOT_READ = {
    "boost-test/vs-boost-adapter-AbortedTest-sample.test.log.xml",
    "boost-test/vs-boost-adapter-DataTestCase-sample.test.log.xml",
    "boost-test/vs-boost-adapter-InvalidXmlLog-test_hlp.exe.test.log.xml",
}


@pytest.mark.parametrize("rel", sorted(STATED))
def test_each_native_report_matches_its_stated_counts(rel: str, tmp_path: Path) -> None:
    """The file, claimed by content alone (copied under a neutral name), is read by its one
    reader into suites whose counts are the reference's, with the stated problem if any."""
    src = LIKE / rel
    if not src.is_file():
        pytest.skip(f"{src} is not here (the shared corpus is beside the repository in CI)")
    reader, tests, failed, errored, skipped, problem = STATED[rel]
    neutral = tmp_path / f"report{src.suffix}"
    shutil.copyfile(src, neutral)
    names, records = parse_claimed(neutral, load_parsers())
    assert names == [reader], names
    suites = [r for r in records if isinstance(r, SuiteSummary)]
    problems = [r.reason for r in records if isinstance(r, ParseProblem)]
    got = (
        sum(s.tests for s in suites),
        sum(s.failures for s in suites),
        sum(s.errors for s in suites),
        sum(s.skipped for s in suites),
    )
    assert got == (tests, failed, errored, skipped), problems
    assert suites
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def test_every_native_corpus_file_is_in_the_table() -> None:
    """No file of the new formats in the corpus goes untested."""
    if not LIKE.is_dir():
        pytest.skip("no shared corpus here")
    dirs = {"trx", "nunit", "xunit-net", "go-json", "jest-json", "mocha-json", "rspec-json",
            "qtestlib", "boost-test"}  # fmt: skip
    present = {f"{d.name}/{f.name}" for d in LIKE.iterdir() if d.name in dirs for f in d.iterdir()}
    assert present == set(STATED) | NOT_READ


@pytest.mark.parametrize("rel", sorted(NOT_READ))
def test_boost_logs_are_left_to_their_reports(rel: str, tmp_path: Path) -> None:
    """A Boost.Test log is claimed by no reader: its report beside it counts the build."""
    src = LIKE / rel
    if not src.is_file():
        pytest.skip("no shared corpus here")
    neutral = tmp_path / "boost.xml"
    shutil.copyfile(src, neutral)
    assert parse_claimed(neutral, load_parsers())[0] == []


def test_a_go_stream_cut_mid_line_is_read_up_to_the_cut(tmp_path: Path) -> None:
    """A `go test -json` stream cut off in the middle of an event: the events before the cut
    are counted, and the tests that never finished are named in a problem."""
    src = LIKE / "go-json" / "go-junit-report-103-subtests.gojson.txt"
    if not src.is_file():
        pytest.skip("no shared corpus here")
    data = src.read_bytes()
    cut = tmp_path / "cut.json"
    cut.write_bytes(data[: len(data) // 2])
    names, records = parse_claimed(cut, load_parsers())
    assert names == ["go-test-json"]
    assert any(isinstance(r, ParseProblem) and "never finished" in r.reason for r in records)


def _trx(tmp_path: Path, size: int) -> tuple[Path, int]:
    """A TRX of about `size` bytes as `dotnet test` writes it (results first, definitions
    after), from bench/native_memory.py's generator (500 tests a class), and its test count."""
    import importlib.util

    from .paths import ROOT

    spec = importlib.util.spec_from_file_location(
        "native_memory", ROOT / "bench" / "native_memory.py"
    )
    assert spec is not None
    assert spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    path = tmp_path / "results.trx"
    return path, int(gen.write_trx(path, size))


def test_a_trx_past_the_spill_point_keeps_its_classes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the number of test definitions kept in memory, the rest go to a temporary SQLite
    file: every result still lands in its class, and the counts match `<Counters total>`."""
    from sei_watch_parsers import test_dotnet

    monkeypatch.setattr(test_dotnet._Classes, "SPILL_AT", 700)
    path, written = _trx(tmp_path, 1_500_000)
    names, records = parse_claimed(path, load_parsers(), max_bytes=1 << 30)
    assert names == ["trx"]
    assert not [r for r in records if isinstance(r, ParseProblem)]
    found = [r for r in records if isinstance(r, SuiteSummary)]
    assert all(s.name.startswith("Shop.Tests.Class") for s in found)
    assert written > 700
    assert sum(s.tests for s in found) == written
    assert {s.tests for s in found[:-1]} == {500}


def test_a_big_trx_is_read_in_flat_memory(tmp_path: Path) -> None:
    """A 40 MB TRX: the reader drops each result and definition once read (the pull parser
    builds the whole tree otherwise: a 9 MB file peaked at 124 MiB), so the peak stays under
    64 MiB; bench/native_memory.py measures the 1 GiB case."""
    import subprocess
    import sys

    path, written = _trx(tmp_path, 40 << 20)
    assert written > 80_000
    probe = (
        "import resource, subprocess, sys; "
        "p = subprocess.run(sys.argv[1:], capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, sys.executable, "-m", "sei_watch", "parse", str(path),
         "--parser", "trx"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert float(out) < 64, out


def test_a_qtestlib_duration_with_a_decimal_comma_is_read(tmp_path: Path) -> None:
    """QTestLib written under a comma locale (`msecs="1,567"`, xunit-plugin's own test case)
    gives its three cases with their durations, as xunit-plugin's expected result does; the
    reader crashed on the comma and the file gave nothing."""
    src = (corpus_dir() / "testreports" / "xunit-plugin/src/test/resources/org/jenkinsci"
           / "plugins/xunit/types/qtestlib/testcase3/input.xml")  # fmt: skip
    if not src.is_file():
        pytest.skip("no shared corpus here")
    names, records = parse_claimed(src, load_parsers())
    assert names == ["qtestlib"]
    assert not [r for r in records if isinstance(r, ParseProblem)]
    (suite,) = [r for r in records if isinstance(r, SuiteSummary)]
    assert suite.tests == 3
    assert [round(c.seconds, 6) for c in suite.cases] == [0.001, 0.001567, 0.001567]
