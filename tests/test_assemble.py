"""The assembler: how records and stated facts become one payload."""

from __future__ import annotations

from sei_watch.payload.assemble import AssemblyInput, assemble
from sei_watch.records import Artifact, BuildFacts, CaseFailure, Stage, Step, SuiteSummary
from sei_watch.validation import validate

GIVEN = AssemblyInput(workspace_name="ws", hostname="agent", now_ms=1_750_000_100_000)
T0 = 1_750_000_000_000


def test_start_is_earliest_and_duration_runs_to_latest_end() -> None:
    """The run spans from the earliest known start to the latest known end."""
    recs = [
        Stage(
            name="build",
            start_ms=T0 + 500,
            duration_ms=1000,
            steps=(Step(name="compile", start_ms=T0 + 600, duration_ms=4000),),
        ),
        Stage(name="lint", start_ms=T0, duration_ms=200),
    ]
    p = assemble(recs, GIVEN).payload
    assert p["start_time"] == T0
    assert p["duration"] == 4600
    assert validate(p) == []


def test_failed_stage_or_failed_test_gives_failure() -> None:
    """Without a stated result, a failed stage or a failed test makes the run FAILURE."""
    assert (
        assemble([Stage(name="a", duration_ms=1, result="failed")], GIVEN).payload["result"]
        == "FAILURE"
    )
    suite = SuiteSummary(name="s", tests=3, failures=1, time_ms=10)
    assert assemble([suite], GIVEN).payload["result"] == "FAILURE"
    assert assemble([Stage(name="a", duration_ms=1)], GIVEN).payload["result"] == "SUCCESS"


def test_stated_facts_win_over_derived_and_given_fields_win_over_facts() -> None:
    """A file's stated result beats the derived one; --set/config beats the file."""
    recs = [
        Stage(name="a", duration_ms=1, result="failed"),
        BuildFacts(result="success", start_ms=T0, end_ms=T0 + 50, build_number="77"),
    ]
    p = assemble(recs, GIVEN).payload
    assert (p["result"], p["build_number"], p["duration"]) == ("SUCCESS", 77, 50)
    given = AssemblyInput(fields={"result": "ABORTED", "build_number": 5}, now_ms=T0)
    p = assemble(recs, given).payload
    assert (p["result"], p["build_number"]) == ("ABORTED", 5)


def test_suites_become_steps_of_the_tests_stage() -> None:
    """Each suite is a step under the tests stage, with its counts and first failure."""
    suites = [
        SuiteSummary(
            name="com.acme.AppTest",
            tests=4,
            failures=1,
            skipped=1,
            flaky=1,
            time_ms=1500,
            start_ms=T0,
            failed_cases=(
                CaseFailure(
                    case="testPay", kind="failure", type="AssertionError", message="expected 2"
                ),
            ),
        ),
        SuiteSummary(name="com.acme.DbTest", tests=2, time_ms=500, start_ms=T0 + 2000),
    ]
    p = assemble(suites, AssemblyInput(tests_stage="Unit tests", now_ms=T0)).payload
    (stage,) = p["job_run"]["stages"]
    assert stage["displayName"] == "Unit tests"
    assert stage["result"] == "FAILURE"
    assert stage["durationInMillis"] == 2500
    first, second = stage["steps"]
    assert first["result"] == "FAILURE"
    assert first["displayDescription"] == "4 tests, 1 failed, 1 skipped, 1 flaky: testPay"
    assert (
        "first failure com.acme.AppTest testPay: AssertionError: expected 2"
        in (stage["displayDescription"])
    )
    assert second["result"] == "SUCCESS"
    assert [s["id"] for s in (stage, first, second)] == [
        "Unit tests",
        "Unit tests/com.acme.AppTest",
        "Unit tests/com.acme.DbTest",
    ]


def test_long_names_shortened_and_skipped_state() -> None:
    """Names over 50 characters are cut in the middle; a skipped stage has state SKIPPED."""
    p = assemble([Stage(name="x" * 30 + "y" * 30, duration_ms=0, result="skipped")], GIVEN).payload
    stage = p["job_run"]["stages"][0]
    assert len(stage["displayName"]) == 50
    assert (stage["result"], stage["state"]) == ("NOT_BUILT", "SKIPPED")
    assert stage["displayDescription"] == "x" * 30 + "y" * 30


def test_artifacts_dedup_and_set_ci_cd() -> None:
    """Artifacts are deduplicated; outputs make it CI, inputs make it CD, and without evidence
    the flag is left out (null), as the SEI plugin sends it, unless set."""
    out = Artifact(type="container", location="r/a:1", name="r/a", qualifier="1", output=True)
    inp = Artifact(
        type="container", location="r/a:1", name="r/a", qualifier="1", input=True, hash="sha256:x"
    )
    p = assemble([out, out], GIVEN).payload
    assert (len(p["artifacts"]), p["ci"], p.get("cd")) == (1, True, None)
    p = assemble([inp], GIVEN).payload
    assert (p.get("ci"), p["cd"]) == (None, True)
    p = assemble([inp], AssemblyInput(fields={"ci": True}, now_ms=T0)).payload
    assert (p["ci"], p["cd"]) == (True, True)


def test_params_are_strings_never_null() -> None:
    """Given params become StringParameterValue entries."""
    p = assemble([], AssemblyInput(params={"environment": "production"}, now_ms=T0)).payload
    assert p["job_run_params"] == [
        {"type": "StringParameterValue", "name": "environment", "value": "production"}
    ]
    assert validate(p) == []
