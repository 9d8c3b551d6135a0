"""The SEI payload rules: vocabulary, name shortening, and one validator test per rule."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sei_watch.schema import normalise_result, shorten
from sei_watch.validation import validate

SHA = "0123456789abcdef0123456789abcdef01234567"


def good() -> dict[str, Any]:
    return {
        "pipeline": "app",
        "job_full_name": "app/main",
        "qualified_name": "app/main",
        "instance_name": "agent-7",
        "instance_guid": "89d2491c-764a-4f77-93d9-18e8e372b795",
        "result": "SUCCESS",
        "start_time": 1_750_000_000_000,
        "duration": 1200,
        "build_number": 7,
        "scm_commit_ids": [SHA],
        "job_run_params": [{"type": "StringParameterValue", "name": "env", "value": "prod"}],
        "job_run": {
            "stages": [
                {
                    "id": "1",
                    "displayName": "Build",
                    "displayDescription": "Build",
                    "result": "SUCCESS",
                    "state": "FINISHED",
                    "durationInMillis": 1000,
                    "steps": [
                        {
                            "id": "2",
                            "displayName": "compile",
                            "displayDescription": "compile",
                            "result": "SUCCESS",
                            "state": "FINISHED",
                            "durationInMillis": 900,
                            "startTime": "2025-06-15T15:06:40.000Z",
                        }
                    ],
                }
            ]
        },
        "artifacts": [
            {
                "input": False,
                "output": True,
                "type": "container",
                "location": "ghcr.io/a",
                "name": "b",
                "qualifier": "1",
                "hash": "",
                "metadata": {"k": "v"},
            }
        ],
        "ci": True,
        "cd": False,
    }


def broken(path: str, value: Any) -> dict[str, Any]:
    """`good()` with the value at a dotted path replaced (or removed when value is ...)."""
    doc = copy.deepcopy(good())
    node: Any = doc
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    if value is ...:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


def test_good_payload_is_valid() -> None:
    """A complete payload gives no problems."""
    assert validate(good()) == []


@pytest.mark.parametrize(
    "field",
    ["pipeline", "job_full_name", "qualified_name", "instance_name", "instance_guid", "result"],
)
@pytest.mark.parametrize("value", [..., "", "   ", None])
def test_required_fields_must_be_non_empty(field: str, value: Any) -> None:
    """Each of the six server-required fields is reported when missing, empty or null."""
    assert f"$.{field}: required, a non-empty string" in validate(broken(field, value))


@pytest.mark.parametrize("field", ["start_time", "duration", "build_number"])
@pytest.mark.parametrize("value", [..., -1, "12", 1.5, True])
def test_times_and_build_number_are_whole_numbers(field: str, value: Any) -> None:
    """start_time, duration and build_number must be present integers >= 0."""
    assert f"$.{field}: required, a whole number >= 0" in validate(broken(field, value))


def test_start_time_in_seconds_is_caught() -> None:
    """A start time in epoch seconds is named as the likely mistake."""
    problems = validate(broken("start_time", 1_750_000_000))
    assert any("looks like seconds" in p for p in problems)


def test_result_vocabulary() -> None:
    """The run result must be one of SEI's five words, exactly."""
    assert any(p.startswith("$.result: 'success'") for p in validate(broken("result", "success")))


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("success", "SUCCESS"),
        ("Passed", "SUCCESS"),
        ("failed", "FAILURE"),
        ("FAILURE", "FAILURE"),
        ("canceled", "ABORTED"),
        ("cancelled", "ABORTED"),
        ("unstable", "UNSTABLE"),
        ("skipped", "NOT_BUILT"),
        ("not built", "NOT_BUILT"),
        ("timed out", "FAILURE"),
        ("partially-succeeded", "UNSTABLE"),
        ("bogus", None),
    ],
)
def test_normalise_result(word: str, expected: str | None) -> None:
    """What CI systems say maps onto SEI's vocabulary; unknown words stay unknown."""
    assert normalise_result(word) == expected


def test_shorten_keeps_both_ends_within_50() -> None:
    """Long names are cut in the middle to exactly 50 characters; short ones are untouched."""
    name = "com.example.very.long.package.name.SomeIntegrationTest.shouldDoTheThing"
    short = shorten(name)
    assert len(short) == 50
    assert short.startswith("com.example.very.long")
    assert short.endswith("shouldDoTheThing")
    assert "..." in short
    assert shorten("Build") == "Build"


def test_step_display_name_over_50_is_rejected() -> None:
    """A step name longer than 50 characters breaks the contract and names the step's path."""
    doc = broken("job_run.stages.0.steps.0.displayName", "x" * 51)
    assert "$.job_run.stages[0].steps[0].displayName: 51 characters, the limit is 50" in validate(
        doc
    )


@pytest.mark.parametrize("key", ["id", "displayName", "result", "state", "durationInMillis"])
@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("job_run.stages.0", "$.job_run.stages[0]"),
        ("job_run.stages.0.steps.0", "$.job_run.stages[0].steps[0]"),
    ],
)
def test_every_stage_and_step_field_is_required(key: str, path: str, where: str) -> None:
    """A stage or step without id, name, result, state or duration is reported at its path."""
    problems = validate(broken(f"{path}.{key}", ...))
    assert any(p.startswith(f"{where}.{key}:") for p in problems), problems


def test_stage_state_and_result_vocabulary() -> None:
    """Stage results use the run's words and states are FINISHED, SKIPPED or NOT_BUILT."""
    problems = validate(broken("job_run.stages.0.state", "completed"))
    assert any("$.job_run.stages[0].state: 'completed'" in p for p in problems)
    problems = validate(broken("job_run.stages.0.result", "succeeded"))
    assert any("$.job_run.stages[0].result: 'succeeded'" in p for p in problems)


def test_job_run_params_never_null() -> None:
    """A job parameter with a null value is rejected."""
    problems = validate(broken("job_run_params.0.value", None))
    assert "$.job_run_params[0].value: required, a string (never null)" in problems


@pytest.mark.parametrize("sha", ["abc123", SHA.upper(), SHA[:39] + "g", 42])
def test_commit_ids_are_full_shas(sha: Any) -> None:
    """scm_commit_ids must be full lower-case 40-hex SHAs."""
    problems = validate(broken("scm_commit_ids.0", sha))
    assert any(p.startswith("$.scm_commit_ids[0]:") for p in problems)


@pytest.mark.parametrize("key", ["type", "location", "name", "qualifier"])
def test_artifact_identity_fields_required(key: str) -> None:
    """An artifact without type, name or qualifier is reported; a container may have no
    location (SEI names `nginx:1.25` so), any other type may not."""
    payload = broken(f"artifacts.0.{key}", "")
    problem = f"$.artifacts[0].{key}: required, a non-empty string"
    assert (problem in validate(payload)) == (key != "location")
    if key == "location":
        payload["artifacts"][0]["type"] = "jar"
        assert problem in validate(payload)


def test_artifact_metadata_is_a_string_map() -> None:
    """Artifact metadata maps strings to strings; a number value is rejected."""
    assert "$.artifacts[0].metadata: must map strings to strings" in validate(
        broken("artifacts.0.metadata", {"size": 3})
    )


def test_ci_cd_flags_are_booleans_and_unknown_fields_are_named() -> None:
    """ci/cd must be booleans, and a field SEI does not know is named."""
    problems = validate({**good(), "ci": "yes", "colour": "blue"})
    assert "$.ci: must be of type bool" in problems
    assert "$.colour: not a field SEI knows" in problems


def test_all_problems_are_listed_at_once() -> None:
    """Validation reports every problem, not just the first."""
    doc = broken("pipeline", "")
    doc["result"] = "meh"
    doc["scm_commit_ids"] = ["short"]
    assert len(validate(doc)) == 3
