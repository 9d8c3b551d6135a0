"""Two jobs on one runner share a state directory: each job's SEI receives only its own build,
sent with its own key; the other's row stays queued for its own destination."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sei_watch.status import ExitStatus

from .conftest_sei import API_KEY, GUID
from .paths import ROOT
from .sei_server import StandIn

OTHER_GUID = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"


def _job(tmp: Path, name: str, job: str) -> tuple[Path, dict[str, str]]:
    ws = tmp / name
    shutil.copytree(ROOT / "examples" / "maven-flaky", ws)
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": f"{name}/app",
        "GITHUB_WORKFLOW": "ci",
        "GITHUB_JOB": job,
        "GITHUB_RUN_NUMBER": "7",
        "GITHUB_RUN_ID": "70007",
        "GITHUB_SERVER_URL": "https://github.com",
        "SEI_WATCH_STATE_DIR": str(tmp / "shared-state"),
        "SEI_INSTANCE_NAME": f"{name}-ci",
    }
    return ws, env


def test_two_jobs_one_state_directory_each_sei_gets_only_its_own(
    run_cli, tmp_path: Path, sei: StandIn
) -> None:
    """Job A (its SEI down, key A) leaves its row queued; job B (the stand-in, key B) then
    posts: B's SEI stores B's build only, A's row still waits for A's SEI and key, B names it
    once, and `outbox list` shows each row's destination."""
    ws_a, env_a = _job(tmp_path, "team-a", "build")
    env_a |= {
        "SEI_URL": "http://127.0.0.1:9",
        "SEI_API_KEY": "sk-team-a-0000",
        "SEI_INSTANCE_GUID": OTHER_GUID,
    }
    a = run_cli(
        "parse", str(ws_a), "--post", "--timeout", "1",
        "--save-undelivered", str(tmp_path / "a-undelivered.json"), environ=env_a,
    )  # fmt: skip
    assert a.status == ExitStatus.NOT_DELIVERED, a.err
    ws_b, env_b = _job(tmp_path, "team-b", "test")
    env_b |= {"SEI_URL": sei.url, "SEI_API_KEY": API_KEY, "SEI_INSTANCE_GUID": GUID}
    b = run_cli("parse", str(ws_b), "--post", "--timeout", "10", environ=env_b)
    assert b.status in (ExitStatus.OK, ExitStatus.PROBLEMS), b.err
    assert [p["job_full_name"] for p in sei.accepted] == ["team-b/app/ci/test"]
    assert "1 other row(s) wait" in b.err
    assert "team-a/app/ci/build#7" in b.err
    listed = json.loads(run_cli("outbox", "list", "--json", environ=env_b).out)
    by_job = {r["job"]: r for r in listed}
    assert by_job["team-a/app/ci/build"]["state"] == "pending"
    assert by_job["team-a/app/ci/build"]["destination"] == "http://127.0.0.1:9"
    assert by_job["team-b/app/ci/test"]["state"] == "delivered"
    assert by_job["team-a/app/ci/build"]["key_fp"] != by_job["team-b/app/ci/test"]["key_fp"]
    assert "sk-team-a" not in json.dumps(listed)
    # A flush with B's key and URL still leaves A's row alone.
    flushed = run_cli("outbox", "flush", "--timeout", "2", environ=env_b)
    assert "team-a" not in json.dumps(sei.accepted)
    assert flushed.status == ExitStatus.NOT_DELIVERED
