"""The JUnit semantics the README promises, each on a small report written here."""

from __future__ import annotations

import gzip
import json
from pathlib import Path, PurePosixPath

import pytest

from sei_watch.plugins import load_parsers
from sei_watch.records import ParseProblem, SuiteSummary
from sei_watch.scan.workspace import parse_file, scan
from sei_watch_parsers._junit_values import parse_time, parse_timestamp
from sei_watch_parsers.junit import JUnitParser

from .paths import ROOT

PARSER = JUnitParser()


def parse_xml(tmp_path: Path, xml: str | bytes, name: str = "junit.xml") -> list[object]:
    path = tmp_path / name
    path.write_bytes(xml.encode() if isinstance(xml, str) else xml)
    return parse_file(load_parsers().get("junit"), path, tmp_path)


def suites(records: list[object]) -> list[SuiteSummary]:
    return [r for r in records if isinstance(r, SuiteSummary)]


def problems(records: list[object]) -> list[ParseProblem]:
    return [r for r in records if isinstance(r, ParseProblem)]


def one(tmp_path: Path, xml: str) -> SuiteSummary:
    recs = parse_xml(tmp_path, xml)
    assert problems(recs) == []
    (suite,) = suites(recs)
    return suite


def test_counts_come_from_cases_and_attributes_are_kept(tmp_path: Path) -> None:
    """Suite attributes that lie are kept as stated metadata; the counts are the cases'."""
    s = one(
        tmp_path,
        '<testsuite name="S" tests="9" failures="4" time="1.0">'
        '<testcase name="a" time="0.5"/><testcase name="b" time="0.5">'
        '<failure message="boom" type="AssertionError"/></testcase></testsuite>',
    )
    assert (s.tests, s.failures, s.passed) == (2, 1, 1)
    assert ("tests", "9") in s.stated
    assert not s.from_attributes
    assert s.failed_cases[0].case == "b"
    assert (s.failed_cases[0].type, s.failed_cases[0].message) == ("AssertionError", "boom")


def test_suite_without_cases_uses_its_attributes(tmp_path: Path) -> None:
    """A leaf suite with no testcases takes its counts from its attributes and says so."""
    s = one(tmp_path, '<testsuite name="S" tests="6" failures="1" skipped="2" time="3"/>')
    assert (s.tests, s.failures, s.skipped, s.time_ms, s.from_attributes) == (6, 1, 2, 3000, True)


def test_most_severe_result_wins(tmp_path: Path) -> None:
    """error > failure > skipped > passed within one case."""
    s = one(
        tmp_path,
        '<testsuite name="S"><testcase name="a"><skipped/><failure/><error/>'
        '</testcase><testcase name="b"><skipped/><failure/></testcase>'
        '<testcase name="c"><skipped/></testcase></testsuite>',
    )
    assert (s.errors, s.failures, s.skipped, s.passed) == (1, 1, 1, 0)


def test_surefire_flaky_and_rerun(tmp_path: Path) -> None:
    """Only flaky* elements: passed and flaky. rerun* with a failure: failed, attempts counted."""
    s = one(
        tmp_path,
        '<testsuite name="S" tests="5" failures="2">'
        '<testcase name="flaky"><flakyFailure message="x"/><flakyError/></testcase>'
        '<testcase name="broken"><failure message="f"/><rerunFailure/><rerunFailure/>'
        '</testcase><testcase name="ok"/></testsuite>',
    )
    assert (s.tests, s.passed, s.failures, s.flaky, s.attempts) == (3, 2, 1, 1, 7)


def test_rerun_without_final_failure_still_failed(tmp_path: Path) -> None:
    """A case with only rerunError elements failed on every attempt: it is an error."""
    s = one(tmp_path, '<testsuite name="S"><testcase name="x"><rerunError/></testcase></testsuite>')
    assert (s.errors, s.passed) == (1, 0)


def test_repeated_cases_are_attempts(tmp_path: Path) -> None:
    """Same (classname, name) right after a failed attempt is a retry: the last decides and
    fail-then-pass is flaky; a repeat after a pass (t3) is a test of its own."""
    s = one(
        tmp_path,
        '<testsuite name="S">'
        '<testcase classname="C" name="t1"><failure/></testcase>'
        '<testcase classname="C" name="t2"/>'
        '<testcase classname="C" name="t1"/>'
        '<testcase classname="C" name="t3"/>'
        '<testcase classname="C" name="t3"><error/></testcase>'
        '<testcase classname="D" name="t2"/>'
        "</testsuite>",
    )
    assert (s.tests, s.passed, s.errors, s.flaky, s.attempts) == (5, 4, 1, 1, 6)


def test_cases_without_names_are_never_merged(tmp_path: Path) -> None:
    """Nameless cases are distinct tests, not attempts of one."""
    s = one(
        tmp_path, "<testsuite><testcase/><testcase/><testcase><skipped/></testcase></testsuite>"
    )
    assert (s.tests, s.skipped) == (3, 1)
    assert s.name == "junit"


def test_time_rules(tmp_path: Path) -> None:
    """Suite time is its attribute, else the sum; missing and negative case times are flagged."""
    s = one(
        tmp_path,
        '<testsuite name="S"><testcase name="a" time="1.5"/>'
        '<testcase name="b"/><testcase name="c" time="-3"/></testsuite>',
    )
    assert (s.time_ms, s.case_time_ms) == (1500, 1500)
    assert "case_time_missing:1" in s.flags
    assert "negative_time:1" in s.flags
    s = one(tmp_path, '<testsuite name="S" time="10"><testcase name="a" time="1"/></testsuite>')
    assert (s.time_ms, s.case_time_ms) == (10000, 1000)


def test_ambiguous_comma_agrees_with_the_cases(tmp_path: Path) -> None:
    """`1,250` is 1250 s when the cases sum to that, and 1.25 s when they sum to that."""
    big = one(
        tmp_path,
        '<testsuite name="S" time="1,250"><testcase name="a" time="1,000.0"/>'
        '<testcase name="b" time="250"/></testsuite>',
    )
    assert big.time_ms == 1_250_000
    small = one(
        tmp_path,
        '<testsuite name="S" time="1,250"><testcase name="a" time="1"/>'
        '<testcase name="b" time="0,250"/></testsuite>',
    )
    assert small.time_ms == 1250
    cases = one(
        tmp_path, '<testsuite name="S" time="2.5"><testcase name="a" time="2,500"/></testsuite>'
    )
    assert cases.case_time_ms == 2500
    assert "time_ambiguous_resolved" in cases.flags


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("1.5", 1.5),
        ("1.5s", 1.5),
        ("2,503.1", 2503.1),
        ("0,250", 0.25),
        ("1,5", 1.5),
        ("01:02:03.5", 3723.5),
        ("02:03", 123.0),
        (" 7 ", 7.0),
    ],
)
def test_parse_time(raw: str, seconds: float) -> None:
    """Every documented time notation reads to seconds."""
    t = parse_time(raw)
    assert t.seconds == pytest.approx(seconds)
    assert not t.bad


@pytest.mark.parametrize("raw", ["abc", "nan", "inf", "1,2,3", "1:99x"])
def test_parse_time_bad(raw: str) -> None:
    """Unreadable times are flagged bad and count as 0."""
    assert parse_time(raw).bad
    assert parse_time(raw).seconds == 0


def test_parse_time_ambiguous_has_both_readings() -> None:
    """`1,250` keeps the decimal reading first and the thousands reading as the alternative."""
    t = parse_time("1,250")
    assert (t.seconds, t.alt) == (1.25, 1250.0)


@pytest.mark.parametrize(
    ("raw", "ms", "assumed"),
    [
        ("2026-11-20T09:14:03Z", 1795166043000, False),
        ("2026-11-20T10:14:03+01:00", 1795166043000, False),
        ("2026-11-20T09:14:03", 1795166043000, True),
        ("2026-11-20T09:14:03.250", 1795166043250, True),
        ("Fri, 20 Nov 2026 09:14:03 GMT", 1795166043000, False),
    ],
)
def test_parse_timestamp(raw: str, ms: int, assumed: bool) -> None:
    """ISO 8601 with or without zone (UTC assumed, flagged) and RFC 2822 dates."""
    assert parse_timestamp(raw) == (ms, assumed)


def test_timestamp_gives_start_and_flags_assumed_zone(tmp_path: Path) -> None:
    """A suite timestamp without a zone is its start in UTC, flagged tz_assumed."""
    s = one(
        tmp_path,
        '<testsuite name="S" timestamp="2026-11-20T09:14:03"><testcase name="a"/></testsuite>',
    )
    assert s.start_ms == 1795166043000
    assert "tz_assumed" in s.flags


def test_nested_suites_count_where_cases_are(tmp_path: Path) -> None:
    """Only suites with direct cases count; wrappers are skipped, depth does not matter."""
    recs = parse_xml(
        tmp_path,
        '<testsuites><testsuite name="outer"><testsuite name="mid">'
        '<testsuite name="inner"><testcase name="a"/></testsuite>'
        '<testcase name="b"/></testsuite></testsuite></testsuites>',
    )
    assert [(s.name, s.tests) for s in suites(recs)] == [("inner", 1), ("mid", 1)]


def test_googletest_notrun_and_result_skipped(tmp_path: Path) -> None:
    """GoogleTest's status="notrun" and result="skipped" count as skipped."""
    s = one(
        tmp_path,
        '<testsuite name="G"><testcase name="a" status="notrun" result="suppressed"/>'
        '<testcase name="b" status="run" result="skipped"/>'
        '<testcase name="c" status="run" result="completed"/></testsuite>',
    )
    assert (s.skipped, s.passed) == (2, 1)


@pytest.mark.parametrize(
    ("path", "claimed"),
    [
        ("target/surefire-reports/TEST-com.a.BTest.xml", True),
        ("build/test-results/test/TEST-x.xml", True),
        ("out/junit.xml", True),
        ("reports/report-JUnit-api.xml", True),
        ("a/test-results/deep/x.xml", True),
        ("target/failsafe-reports/x.xml", True),
        ("bazel-testlogs/pkg/t/test.xml", True),
        ("src/test.xml", False),
        ("pom.xml", False),
        ("junit.json", False),
    ],
)
def test_default_globs(path: str, claimed: bool) -> None:
    """The documented default paths are claimed by name, others are not."""
    assert PARSER.matches(PurePosixPath(path)) is claimed


@pytest.mark.parametrize(
    ("head", "claimed"),
    [
        (b'<?xml version="1.0"?>\n<!-- x -->\n<testsuites name="a">', True),
        (b"\xef\xbb\xbf<testsuite>", True),
        (b"<project>", False),
        (b'<testsuites xmlns="http://check.sourceforge.net/ns">', False),
        (b"\x00\x01", False),
    ],
)
def test_sniff(head: bytes, claimed: bool) -> None:
    """Sniffing reads only the head: a testsuite(s) root without a namespace is ours."""
    assert PARSER.sniff(head) is claimed


def test_sniffed_file_in_workspace(tmp_path: Path) -> None:
    """An XML report under an unusual name is found by its root element."""
    (tmp_path / "results.xml").write_text('<testsuite name="S"><testcase name="a"/></testsuite>')
    (tmp_path / "other.xml").write_text("<project/>")
    result = scan(tmp_path, load_parsers())
    assert [s.name for s in suites(list(result.records))] == ["S"]
    assert result.problems == ()


# --- hostile input: each costs only its own file ----------------------------------------------

BOMB = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol;" if i == 1 else f"&lol{i - 1};") * 10}">\n'
        for i in range(1, 10)
    )
    + ']>\n<testsuite name="s"><testcase name="a"><failure message="x">&lol9;</failure>'
    "</testcase></testsuite>\n"
)


def test_billion_laughs_does_not_expand(tmp_path: Path) -> None:
    """Nested entities are never expanded: a problem, and nothing large in memory or records."""
    recs = parse_xml(tmp_path, BOMB)
    assert len(json.dumps([str(r) for r in recs])) < 2000
    assert problems(recs)


@pytest.mark.parametrize("where", ["text", "attribute"])
def test_xxe_reads_no_file(tmp_path: Path, where: str) -> None:
    """An external entity pointing at /etc/passwd is never read, in text or in attributes."""
    use = (
        '<failure message="m">&xxe;</failure>'
        if where == "text"
        else '<failure message="&xxe;">x</failure>'
    )
    xml = (
        '<?xml version="1.0"?>\n<!DOCTYPE t [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        f'<testsuite name="s"><testcase name="a">{use}</testcase></testsuite>\n'
    )
    recs = parse_xml(tmp_path, xml)
    assert "root:" not in repr(recs)


def test_truncated_report_gives_partial_counts(tmp_path: Path) -> None:
    """A cut-off report keeps the counts up to the break, marked partial, plus the line."""
    recs = parse_xml(
        tmp_path,
        '<testsuites>\n<testsuite name="done"><testcase name="a"/>'
        '</testsuite>\n<testsuite name="open">\n<testcase name="b"/>\n'
        '<testcase name="c" ti',
    )
    assert [(s.name, s.tests, s.partial) for s in suites(recs)] == [
        ("done", 1, False),
        ("open", 1, True),
    ]
    (prob,) = problems(recs)
    assert prob.line == 5
    assert prob.reason.startswith("truncated:")
    assert prob.parser == "junit"


@pytest.mark.parametrize(
    "data",
    [
        b'<testsuite name="s"><testcase name="a"><system-out><![CDATA[bad \x01\x02]]></system-out>'
        b'</testcase><testcase name="b"><failure/></testcase></testsuite>',
        b'<testsuite name="s\xff\xfe"><testcase name="a"/><testcase name="b\xc3"/></testsuite>',
    ],
    ids=["control-chars-in-cdata", "invalid-utf8"],
)
def test_recoverable_damage_is_recovered_and_said(tmp_path: Path, data: bytes) -> None:
    """Control characters and invalid UTF-8 are recovered by libxml2, flagged, and reported."""
    recs = parse_xml(tmp_path, data)
    (s,) = suites(recs)
    assert s.tests == 2
    assert "recovered" in s.flags
    assert "libxml2 recovered 1 suites" in problems(recs)[0].reason


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (bytes(range(256)) * 20, "not well-formed XML"),
        (
            gzip.compress(
                b'<testsuite name="s">' + b'<testcase name="a"/>' * 1000 + b"</testsuite>"
            ),
            "not well-formed XML",
        ),
        (
            b"<testsuites>"
            + b'<testsuite name="d">' * 10_000
            + b"</testsuite>" * 10_000
            + b"</testsuites>",
            "Excessive depth",
        ),
        (b"", "file is empty"),
        (b"<suites><suite/></suites>", "not a JUnit report: the root element is <suites>"),
    ],
    ids=["binary", "gzip-not-inflated", "10k-deep", "empty", "other-root"],
)
def test_hostile_file_is_one_problem(tmp_path: Path, data: bytes, reason: str) -> None:
    """Garbage, gzip (never inflated), deep nesting, empty and foreign files give a problem."""
    recs = parse_xml(tmp_path, data)
    assert suites(recs) == []
    (prob,) = problems(recs)
    assert reason in prob.reason
    assert prob.path == "junit.xml"


def test_megabyte_attribute_is_bounded(tmp_path: Path) -> None:
    """A 1 MB failure message is parsed and kept only in a short form."""
    s = one(
        tmp_path,
        '<testsuite name="s"><testcase name="a"><failure message="'
        + "A" * (1 << 20)
        + '"/></testcase></testsuite>',
    )
    assert s.failures == 1
    assert len(s.failed_cases[0].message) <= 200


def test_hostile_files_cost_only_themselves(tmp_path: Path) -> None:
    """A workspace of hostile reports still reports its good one."""
    reports = tmp_path / "test-results"
    reports.mkdir()
    (reports / "bomb.xml").write_text(BOMB)
    (reports / "garbage.xml").write_bytes(bytes(range(256)) * 10)
    (reports / "good.xml").write_text('<testsuite name="good"><testcase name="a"/></testsuite>')
    result = scan(tmp_path, load_parsers())
    assert [s.name for s in suites(list(result.records))] == ["good"]
    assert {p.path for p in result.problems} == {
        "test-results/bomb.xml",
        "test-results/garbage.xml",
    }


def test_maven_workspace_summary(run_cli) -> None:
    """`parse` on a Maven workspace: a Tests stage with a step per suite, flaky in the counts."""
    res = run_cli("parse", str(ROOT / "examples" / "maven-flaky"), "--json")
    payload = json.loads(res.out)
    (stage,) = payload["job_run"]["stages"]
    assert stage["displayName"] == "Tests"
    steps = {s["displayName"]: s for s in stage["steps"]}
    cart = steps["com.example.shop.CartServiceTest"]
    assert cart["result"] == "FAILURE"
    assert cart["displayDescription"] == "6 tests, 1 failed, 1 skipped, 1 flaky: checksOutW\u2026"
    assert (
        "first failure com.example.shop.CartServiceTest checksOutWithTax"
        in (stage["displayDescription"])
    )
    assert steps["com.example.shop.InventoryClientTest"]["durationInMillis"] == 1_503_200
    assert payload["result"] == "FAILURE"
    records = json.loads(run_cli("parse", str(ROOT / "examples" / "maven-flaky"), "--records").out)
    assert sorted(r["name"] for r in records if r["kind"] == "SuiteSummary") == [
        "com.example.shop.CartServiceTest",
        "com.example.shop.InventoryClientTest",
    ]


def test_cases_with_only_their_output_count_like_plain_cases(tmp_path: Path) -> None:
    """A case whose children are only <system-out>/<system-err> passes as a plain case does,
    while output beside a failure, a skip or a status still decides as before."""
    s = one(
        tmp_path,
        '<testsuite name="S">'
        '<testcase name="a" time="1"><system-out>x</system-out><system-err/></testcase>'
        '<testcase name="b" time="1"><system-out>y</system-out><failure message="m"/></testcase>'
        '<testcase name="c" time="1" status="notrun"><system-out>z</system-out></testcase>'
        '<testcase name="d" time="1"><system-err>w</system-err><skipped/></testcase>'
        '<testcase name="e"><system-out/></testcase>'
        "</testsuite>",
    )
    assert (s.tests, s.passed, s.failures, s.skipped) == (5, 2, 1, 2)
    assert s.case_time_ms == 4000
    assert "case_time_missing:1" in s.flags
    assert [f.case for f in s.failed_cases] == ["b"]


def test_a_roll_up_suite_is_not_counted_on_top(tmp_path: Path) -> None:
    """A summary `<testsuite>` that states counts but holds no `<testcase>`, after suites that
    hold the cases it sums (TAP::Harness::JUnit-style and other harness roll-ups; no sample in
    the shared corpus, shape as the issue measured it): it is kept as a record flagged
    `roll_up` counting 0, so a file of 3 tests and 1 failure reports 3 and 1, not 4 and 2."""
    xml = (
        '<testsuites><testsuite name="t/a.t"><testcase classname="t/a.t" name="one"/>'
        '<testcase classname="t/a.t" name="two"><failure message="not ok 2"/></testcase>'
        '</testsuite><testsuite name="t/b.t"><testcase classname="t/b.t" name="three"/>'
        '</testsuite><testsuite name="Harness" tests="1" failures="1"/></testsuites>'
    )
    recs = parse_xml(tmp_path, xml)
    assert problems(recs) == []
    found = suites(recs)
    assert sum(s.tests for s in found) == 3
    assert sum(s.failures + s.errors for s in found) == 1
    (rollup,) = [s for s in found if s.name == "Harness"]
    assert "roll_up" in rollup.flags
    assert ("tests", "1") in rollup.stated


def test_caseless_suites_alone_still_count(tmp_path: Path) -> None:
    """Suites that state counts and hold no cases, with no case-holding suite beside them
    (an attributes-only report), are what the file has: they count."""
    xml = '<testsuites><testsuite name="a" tests="5" failures="1"/></testsuites>'
    (suite,) = suites(parse_xml(tmp_path, xml))
    assert (suite.tests, suite.failures) == (5, 1)
    assert "roll_up" not in suite.flags
