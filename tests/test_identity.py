"""One SEI job per branch and matrix leg, one SEI run per attempt (`context/identity.py`),
asserted on what the stand-in stored, for the in-job `parse --post`."""

from __future__ import annotations

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
    "GITHUB_RUN_ATTEMPT": "1",
    "GITHUB_REF": "refs/heads/main",
    "SEI_INSTANCE_NAME": "gha",
}


def _post(run_cli, tmp: Path, sei: StandIn, name: str, **env: str) -> None:
    ws = tmp / name
    shutil.copytree(ROOT / "examples" / "maven-flaky", ws)
    environ = {
        **GITHUB,
        "SEI_URL": sei.url,
        "SEI_API_KEY": API_KEY,
        "SEI_INSTANCE_GUID": GUID,
        "SEI_WATCH_STATE_DIR": str(tmp / "state"),
        **env,
    }
    res = run_cli("parse", str(ws), "--post", "--timeout", "10", environ=environ)
    assert res.status in (ExitStatus.OK, ExitStatus.PROBLEMS), res.err


def test_two_legs_and_a_rerun_are_three_runs(run_cli, tmp_path: Path, sei: StandIn) -> None:
    """Two legs of one matrix (the recipe passes toJSON(matrix)) and a re-run attempt of the
    first: three SEI runs, each with its own result, none overwriting another."""
    _post(run_cli, tmp_path, sei, "leg1", SEI_MATRIX='{"python": "3.12", "os": "linux"}')
    _post(run_cli, tmp_path, sei, "leg2", SEI_MATRIX='{"python": "3.13", "os": "linux"}')
    _post(
        run_cli, tmp_path, sei, "retry",
        SEI_MATRIX='{"python": "3.12", "os": "linux"}', GITHUB_RUN_ATTEMPT="2",
    )  # fmt: skip
    keys = sorted((k[1], k[2]) for k in sei.store.runs)
    assert keys == [
        ("acme/shop/ci/test/linux,3.12/branches/main", 900041701),
        ("acme/shop/ci/test/linux,3.12/branches/main", 900041702),
        ("acme/shop/ci/test/linux,3.13/branches/main", 900041701),
    ]
    assert {run.fields["pipeline"] for run in sei.store.runs.values()} == {"acme/shop/ci"}


def test_two_branches_of_one_job_are_two_jobs(run_cli, tmp_path: Path, sei: StandIn) -> None:
    """The same workflow job on two branches: two SEI jobs, each with its own branch, so a
    post from one never relabels the other's runs."""
    _post(run_cli, tmp_path, sei, "main", GITHUB_RUN_ID="1001")
    _post(run_cli, tmp_path, sei, "feature", GITHUB_RUN_ID="1002", GITHUB_REF="refs/heads/feat/x")
    stored = {k[1]: run.fields["branch_name"] for k, run in sei.store.runs.items()}
    assert stored == {
        "acme/shop/ci/test/branches/main": "main",
        "acme/shop/ci/test/branches/feat/x": "feat/x",
    }
    # The jobs table (last write wins per job): each job keeps its branch after the other posts.
    jobs = {job: row.branch_name for (_, job), row in sei.store.jobs.items()}
    assert jobs == stored


@pytest.mark.parametrize(
    "case",
    [
        ({"SEI_JOB_INDEX": "1"}, "acme/shop/ci/test/leg-1/branches/main", 900041701),
        ({"SEI_JOB_FULL_NAME": "mine/fixed"}, "mine/fixed", 900041701),
        ({"SEI_BUILD_NUMBER": "77"}, "acme/shop/ci/test/branches/main", 77),
    ],
)
def test_stated_names_and_legs_by_index(
    run_cli, tmp_path: Path, sei: StandIn, case: tuple[dict[str, str], str, int]
) -> None:
    """A leg told by its index; a job name or build number the user states is kept as is."""
    env, job, number = case
    _post(run_cli, tmp_path, sei, "ws", **env)
    ((_, stored_job, stored_number),) = sei.store.runs
    assert (stored_job, stored_number) == (job, number)


def test_plain_identity_keeps_the_ci_names(run_cli, tmp_path: Path, sei: StandIn) -> None:
    """`[assemble] identity = "plain"`: the CI's own job name and run id, as before."""
    cfg = tmp_path / "plain.toml"
    cfg.write_text(f'[assemble]\nidentity = "plain"\n[sei]\ninstance_guid = "{GUID}"\n')
    _post(run_cli, tmp_path, sei, "ws", SEI_WATCH_CONFIG=str(cfg))
    ((_, job, number),) = sei.store.runs
    assert (job, number) == ("acme/shop/ci/test", 9000417)


def test_plain_identity_lets_the_last_branch_relabel_the_job(
    run_cli, tmp_path: Path, sei: StandIn
) -> None:
    """Why per-branch is the default: with "plain", the second branch's post relabels the one
    SEI job (the jobs table is last-write-wins), the first branch's runs included."""
    cfg = tmp_path / "plain.toml"
    cfg.write_text(f'[assemble]\nidentity = "plain"\n[sei]\ninstance_guid = "{GUID}"\n')
    _post(run_cli, tmp_path, sei, "main", GITHUB_RUN_ID="1001", SEI_WATCH_CONFIG=str(cfg))
    _post(
        run_cli, tmp_path, sei, "feature", GITHUB_RUN_ID="1002", GITHUB_REF="refs/heads/feat/x",
        SEI_WATCH_CONFIG=str(cfg),
    )  # fmt: skip
    ((_, job), row) = next(iter(sei.store.jobs.items()))
    assert len(sei.store.jobs) == 1
    assert (job, row.branch_name) == ("acme/shop/ci/test", "feat/x")
