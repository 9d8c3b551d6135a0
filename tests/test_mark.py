"""`sei-watch mark` in a CI job, then `parse` elsewhere: the marker carries the job's facts, the
state carries the previous build, and no credential gets anywhere."""

from __future__ import annotations

import json
from pathlib import Path

from sei_watch.context.marker import MARKER_NAME

from .conftest_sei import API_KEY
from .gitrepo import Repo
from .sei_server import StandIn

TOKEN = "glpat-Zq8sECRETtoken"


def gitlab_env(repo: Repo, job_id: str) -> dict[str, str]:
    return {
        "GITLAB_CI": "true",
        "CI_PROJECT_PATH": "shop/cart",
        "CI_JOB_NAME": "build",
        "CI_JOB_ID": job_id,
        "CI_COMMIT_SHA": repo.head(),
        "CI_COMMIT_BRANCH": "main",
        "CI_PIPELINE_SOURCE": "push",
        "GITLAB_USER_LOGIN": "jdoe",
        "CI_SERVER_URL": "https://gitlab.example.com",
        "CI_JOB_TOKEN": TOKEN,
        "CI_REPOSITORY_URL": f"https://gitlab-ci-token:{TOKEN}@gitlab.example.com/s/c.git",
        "SEI_API_KEY": API_KEY,
    }


def make_repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "checkout")
    repo.commit("first")
    repo.git("remote", "add", "origin", f"https://oauth2:{TOKEN}@gitlab.example.com/s/c.git")
    return repo


def run_in_env(run_cli, env: dict[str, str], *argv: str):  # type: ignore[no-untyped-def]
    return run_cli(*argv, environ=env)


def test_mark_writes_an_allow_listed_marker(run_cli, tmp_path: Path) -> None:
    """The marker holds CI and git facts, the result and params; no token, no raw env."""
    repo = make_repo(tmp_path)
    out = tmp_path / "out"
    res = run_in_env(
        run_cli,
        gitlab_env(repo, "900"),
        "mark",
        "--result",
        "failed",
        "--param",
        "environment=staging",
        "--dir",
        str(out),
        "--repo",
        str(repo.path),
    )
    assert res.status == 0, res.err
    assert [p.name for p in out.iterdir()] == [MARKER_NAME]  # no temp file left behind
    raw = (out / MARKER_NAME).read_text()
    assert TOKEN not in raw
    assert API_KEY not in raw
    doc = json.loads(raw)
    assert doc["vendor"] == "gitlab"
    assert doc["result"] == "FAILURE"
    assert doc["facts"]["job"] == "shop/cart/build"
    assert doc["facts"]["repo_url"] == "https://gitlab.example.com/s/c.git"
    assert doc["params"] == {"environment": "staging"}
    assert doc["repo"] == str(repo.path)


def test_parse_uses_marker_and_state_gives_the_commit_range(
    run_cli, tmp_path: Path, sei: StandIn, sei_config: Path
) -> None:
    """Build 1 is reported; two commits later, build 2 reports exactly those two commits."""
    repo = make_repo(tmp_path)
    out1, out2 = tmp_path / "b1", tmp_path / "b2"
    run_in_env(
        run_cli, gitlab_env(repo, "901"), "mark", "--dir", str(out1), "--repo", str(repo.path)
    )
    first = run_in_env(
        run_cli, {"SEI_API_KEY": API_KEY}, "parse", str(out1), "--post", "--config", str(sei_config)
    )
    assert first.status == 0, first.err
    c2, c3 = repo.commit("second"), repo.commit("third")
    run_in_env(
        run_cli,
        gitlab_env(repo, "902"),
        "mark",
        "--result",
        "success",
        "--dir",
        str(out2),
        "--repo",
        str(repo.path),
    )
    second = run_in_env(
        run_cli, {"SEI_API_KEY": API_KEY}, "parse", str(out2), "--post", "--config", str(sei_config)
    )
    assert second.status == 0, second.err
    p1, p2 = sei.accepted
    assert p1["scm_commit_ids"] == [p1["scm_commit_ids"][0]]
    assert p2["scm_commit_ids"] == [c3, c2]
    # GitLab builds every branch under one job name: the branch is part of SEI's job.
    assert (p2["job_full_name"], p2["build_number"], p2["branch_name"]) == (
        "shop/cart/build/branches/main",
        902,
        "main",
    )
    assert p2["trigger_chain"] == [{"id": "SCMTrigger", "type": "SCMTriggerCause"}]
    assert p2["user_id"] == "jdoe"
    assert p2["repo_url"] == "https://gitlab.example.com/s/c.git"
    everything = (
        json.dumps(sei.accepted)
        + first.err
        + second.err
        + "".join(p.read_bytes().decode("latin-1") for p in (tmp_path / "state").iterdir())
    )
    assert TOKEN not in everything


def test_explain_names_every_source(run_cli, tmp_path: Path) -> None:
    """--explain prints each field with where it came from: marker, git, default, derived."""
    repo = make_repo(tmp_path)
    out = tmp_path / "b"
    run_in_env(
        run_cli, gitlab_env(repo, "903"), "mark", "--dir", str(out), "--repo", str(repo.path)
    )
    res = run_in_env(run_cli, {}, "parse", str(out), "--explain")
    lines = {line.split()[0]: line for line in res.out.splitlines() if line.strip()}
    assert "marker:env:CI_JOB_ID" in lines["build_number"]
    assert "marker:env:CI_PROJECT_PATH+CI_JOB_NAME" in lines["job_full_name"]
    assert "git (HEAD alone)" in lines["scm_commit_ids"]
    assert "default: this host's name" in lines["instance_name"]
    assert "derived" in lines["duration"]


def test_broken_marker_is_a_problem_not_a_crash(run_cli, tmp_path: Path) -> None:
    """A marker that is not JSON is reported as a problem; the build is still parsed."""
    out = tmp_path / "b"
    out.mkdir()
    (out / MARKER_NAME).write_text("{not json")
    res = run_in_env(run_cli, {}, "parse", str(out), "--json")
    assert res.status == 1
    assert ".sei-watch.json" in res.err
    assert json.loads(res.out)["pipeline"] == "b"


def test_marker_wins_over_the_parsing_environment_with_its_provenance(
    run_cli, tmp_path: Path
) -> None:
    """Parsed inside another CI job, a marker's facts keep both their values and sources."""
    repo = make_repo(tmp_path)
    out = tmp_path / "b"
    run_in_env(
        run_cli, gitlab_env(repo, "904"), "mark", "--dir", str(out), "--repo", str(repo.path)
    )
    other = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_RUN_ID": "777",
        "GITHUB_REPOSITORY": "x/y",
        "GITHUB_WORKFLOW": "w",
        "GITHUB_JOB": "j",
    }
    res = run_in_env(run_cli, other, "parse", str(out), "--explain")
    lines = {line.split()[0]: line for line in res.out.splitlines() if line.strip()}
    assert "904" in lines["build_number"]
    assert "marker:env:CI_JOB_ID" in lines["build_number"]
    assert "marker:env:CI_PROJECT_PATH+CI_JOB_NAME" in lines["job_full_name"]
