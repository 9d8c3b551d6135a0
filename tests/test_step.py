"""`sei-watch step NAME -- COMMAND`: the command runs untouched (its output, its exit status,
its death by a signal), and each step lands in SEI as a stage, nested steps as its steps."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from .conftest_sei import API_KEY, GUID
from .paths import ROOT
from .sei_server import StandIn

SEI_WATCH = shutil.which("sei-watch") or str(Path(sys.executable).parent / "sei-watch")


def _env(ws: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEI_WATCH_", "GITHUB_"))}
    return {**env, "SEI_WATCH_WORKSPACE": str(ws), **extra}


def _steps(ws: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (ws / ".sei-watch-steps.jsonl").read_text().splitlines()]


def test_output_and_status_pass_through_untouched(tmp_path: Path) -> None:
    """Bytes on stdout and stderr (a NUL, no final newline) and exit 7 are exactly what the
    bare command gives; the step is recorded as FAILURE with its exit status."""
    script = "printf 'a\\0b'; printf 'to err' >&2; exit 7"
    bare = subprocess.run(["sh", "-c", script], capture_output=True, check=False)
    wrapped = subprocess.run(
        [SEI_WATCH, "step", "unit", "--", "sh", "-c", script],
        capture_output=True, check=False, env=_env(tmp_path),
    )  # fmt: skip
    assert (wrapped.returncode, wrapped.stdout, wrapped.stderr) == (
        bare.returncode,
        bare.stdout,
        bare.stderr,
    )
    (step,) = _steps(tmp_path)
    assert (step["name"], step["result"], step["exit"]) == ("unit", "FAILURE", 7)


def test_a_death_by_signal_is_passed_on(tmp_path: Path) -> None:
    """A command killed by SIGTERM leaves `step` killed by SIGTERM too (the shell sees 143, as
    for the bare command), and the step is ABORTED."""
    proc = subprocess.run(
        [SEI_WATCH, "step", "x", "--", "sh", "-c", "kill -TERM $$"],
        capture_output=True, check=False, env=_env(tmp_path),
    )  # fmt: skip
    assert proc.returncode == -signal.SIGTERM
    assert _steps(tmp_path)[0]["result"] == "ABORTED"


def test_an_unwritable_workspace_never_changes_the_status(tmp_path: Path) -> None:
    """Where the step cannot be recorded, the command's own status stands and one line says
    why; a command that does not exist is 127, as in a shell."""
    missing = tmp_path / "gone"
    ok = subprocess.run(
        [SEI_WATCH, "step", "--workspace", str(missing), "t", "--", "true"],
        capture_output=True, text=True, check=False, env=_env(tmp_path),
    )  # fmt: skip
    assert ok.returncode == 0
    assert ok.stderr.count("\n") == 1
    assert "not recorded" in ok.stderr
    absent = subprocess.run(
        [SEI_WATCH, "step", "t", "--", "no-such-command-here"],
        capture_output=True, text=True, check=False, env=_env(tmp_path),
    )  # fmt: skip
    assert absent.returncode == 127


def test_steps_are_stored_as_stages_with_their_nested_steps(
    run_cli, tmp_path: Path, sei: StandIn
) -> None:
    """A job that wraps `build` (with `compile` and `test` inside it) and `deploy`: SEI stores
    two stages, `build` holding its two steps, each with its result, start and duration;
    the rest of the payload (the tests' stage) is unchanged."""
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "examples" / "maven-flaky", ws)
    inner = f"{SEI_WATCH} step compile -- true && {SEI_WATCH} step test -- sh -c 'exit 1'; true"
    env = _env(ws)
    for argv in (["build", "--", "sh", "-c", inner], ["deploy", "--", "sleep", "0.05"]):
        subprocess.run([SEI_WATCH, "step", *argv], check=True, env=env, capture_output=True)
    res = run_cli(
        "parse", str(ws), "--post",
        environ={"SEI_URL": sei.url, "SEI_API_KEY": API_KEY, "SEI_INSTANCE_GUID": GUID,
                 "SEI_INSTANCE_NAME": "ci", "SEI_WATCH_STATE_DIR": str(tmp_path / "state")},
    )  # fmt: skip
    assert res.status in (0, 1), res.err
    (run,) = sei.store.runs.values()
    stages = {st.name: st for st in run.stages.values()}
    assert {"build", "deploy"} <= set(stages)
    build = stages["build"]
    assert build.result == "SUCCESS"
    assert [(s.name, s.result) for s in build.steps.values()] == [
        ("compile", "SUCCESS"),
        ("test", "FAILURE"),
    ]
    assert stages["deploy"].start >= build.start


def test_a_bad_line_is_a_problem_and_the_other_steps_count(run_cli, tmp_path: Path) -> None:
    """A line that is not a step (hand-edited, cut off) is a problem naming its line; the
    steps on the other lines are still stages."""
    ws = tmp_path / "ws"
    ws.mkdir()
    good = {"v": 1, "id": "1", "parent": None, "name": "lint", "start_ms": 1_750_000_000_000,
            "duration_ms": 1200, "exit": 0, "result": "SUCCESS"}  # fmt: skip
    (ws / ".sei-watch-steps.jsonl").write_text(json.dumps(good) + '\n{"name": "cut off\n')
    res = run_cli("parse", str(ws), "--records")
    records = json.loads(res.out)
    assert [r["name"] for r in records if r["kind"] == "Stage"] == ["lint"]
    (problem,) = [r for r in records if r["kind"] == "ParseProblem"]
    assert problem["line"] == 2
