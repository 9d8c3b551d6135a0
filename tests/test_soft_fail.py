"""`--soft-fail` means soft: in the everyday failure modes of a CI job the step exits 0 with
one warning line (a GitHub annotation on GitHub, and the step summary says why), and exits
non-zero without it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from sei_watch.status import ExitStatus

from .conftest_sei import API_KEY, GUID
from .conftest_sei import GITHUB as GITHUB_JOB
from .paths import ROOT
from .sei_server import StandIn

GITHUB = {
    **GITHUB_JOB,
    "SEI_INSTANCE_NAME": "gha",
}


def _case(name: str, tmp: Path, sei_url: str) -> tuple[dict[str, str], Path]:
    ws = tmp / name / "ws"
    shutil.copytree(ROOT / "examples" / "maven-flaky", ws)
    env = {
        **GITHUB,
        "SEI_URL": sei_url,
        "SEI_API_KEY": API_KEY,
        "SEI_INSTANCE_GUID": GUID,
        "SEI_WATCH_STATE_DIR": str(tmp / name / "state"),
        "GITHUB_STEP_SUMMARY": str(tmp / name / "summary.md"),
    }
    if name == "no-key":
        del env["SEI_API_KEY"]
    elif name == "no-guid":
        del env["SEI_INSTANCE_GUID"]
    elif name == "bad-preset":
        env["SEI_URL"] = "prod22"
    elif name in ("sei-down", "read-only-dir"):
        env["SEI_URL"] = "http://127.0.0.1:9"
    return env, ws


@pytest.mark.parametrize(
    ("name", "hard"),
    [
        ("no-key", ExitStatus.USAGE),
        ("no-guid", ExitStatus.INVALID_PAYLOAD),
        ("bad-preset", ExitStatus.USAGE),
        ("sei-down", ExitStatus.NOT_DELIVERED),
        ("read-only-dir", ExitStatus.NOT_DELIVERED),
    ],
)
def test_every_everyday_failure_exits_0_under_soft_fail(
    run_cli, tmp_path: Path, sei: StandIn, name: str, hard: ExitStatus
) -> None:
    """Each row of the in-job table: exit `hard` without --soft-fail; with it, exit 0, one
    `::warning::` line naming the cause, the step summary written, and no traceback."""
    env, ws = _case(name, tmp_path, sei.url)
    here = os.getcwd()
    work = tmp_path / name / "cwd"  # where a job's undelivered payload lands
    work.mkdir()
    os.chdir(work)
    if name == "read-only-dir":
        work.chmod(0o500)
    try:
        args = ("parse", str(ws), "--post", "--timeout", "1")
        strict = run_cli(*args, environ=env)
        soft = run_cli(*args, "--soft-fail", environ=env)
    finally:
        os.chdir(here)
    if name == "read-only-dir" and os.geteuid() == 0:
        hard = ExitStatus.NOT_DELIVERED  # root writes anyway: still not delivered
    assert strict.status == hard, strict.err
    assert soft.status == ExitStatus.OK, soft.err
    warnings = [line for line in soft.out.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 1, soft.out + soft.err
    assert "Traceback" not in soft.err
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert "sei-watch" in summary
    assert sei.requests == 0
    if name in ("no-key", "sei-down"):  # the payload is kept for the job to save
        assert list(work.glob("sei-watch-undelivered-*.json"))


def test_a_refused_key_is_not_retried_for_the_rest_of_the_timeout(
    run_cli, tmp_path: Path, sei: StandIn
) -> None:
    """A wrong key: one POST, then `parse --post` stops and says the key was refused (401,
    wrong or revoked), exit 4 (0 under --soft-fail); it used to retry until --timeout."""
    env, ws = _case("wrong-key", tmp_path, sei.url)
    env["SEI_API_KEY"] = "sk-wrong-0000"
    here = os.getcwd()
    work = tmp_path / "wrong-key" / "cwd"
    work.mkdir()
    os.chdir(work)
    try:
        res = run_cli("parse", str(ws), "--post", "--timeout", "30", environ=env)
    finally:
        os.chdir(here)
    assert res.status == ExitStatus.NOT_DELIVERED
    assert "401: wrong or revoked key" in res.err
    assert sei.requests == 1
