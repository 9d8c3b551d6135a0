"""Git facts from real repositories: ranges, fallbacks, branches, URLs, refusals."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from sei_watch.context.gitinfo import Git, GitError, clean_url, gather, normalise_branch

from .gitrepo import Repo, clone


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "repo")
    for n in range(5):
        r.commit(f"c{n}")
    return r


def shas(r: Repo, n: int) -> list[str]:
    return r.git("rev-list", f"--max-count={n}", "HEAD").split()


def test_linear_history_since_previous_build(repo: Repo) -> None:
    """Commits new since the previous reported HEAD, newest first, from one rev-list."""
    previous = shas(repo, 3)[2]
    facts = gather(Git(repo.path), previous=previous)
    assert facts.commits == shas(repo, 2)
    assert facts.commits_source == "previous reported build"
    assert facts.head == repo.head()
    assert facts.branch == "main"


def test_merge_history_includes_both_sides(repo: Repo) -> None:
    """After a merge, the range holds the merged branch's commits and the merge commit."""
    base = repo.head()
    repo.git("checkout", "-q", "-b", "feature")
    f1 = repo.commit("feature work")
    repo.git("checkout", "-q", "main")
    (repo.path / "other.txt").write_text("x")
    repo.git("add", "other.txt")
    repo.git("commit", "-q", "-m", "main work")
    repo.git("merge", "-q", "--no-ff", "-m", "merge", "feature")
    facts = gather(Git(repo.path), previous=base)
    assert len(facts.commits) == 3
    assert f1 in facts.commits
    assert facts.commits[0] == repo.head()


def test_cap_at_100_newest_first_and_flagged(tmp_path: Path) -> None:
    """More than 100 new commits: the newest 100, flagged truncated."""
    r = Repo(tmp_path / "r")
    first = r.commit("first")
    for n in range(120):
        r.commit(f"c{n}")
    facts = gather(Git(r.path), previous=first)
    assert len(facts.commits) == 100
    assert facts.truncated
    assert facts.commits[0] == r.head()


def test_explicit_list_wins_and_short_shas_are_left_out(repo: Repo) -> None:
    """SEI_SCM_COMMIT_IDS-style lists win; anything but a full SHA is left out and noted."""
    full = shas(repo, 2)
    facts = gather(
        Git(repo.path), explicit=[full[0].upper(), "abc123", full[1]], previous=shas(repo, 5)[4]
    )
    assert facts.commits == full
    assert facts.commits_source == "explicit"
    assert any("not full SHAs" in n for n in facts.notes)


def test_ci_range_used_when_no_previous_and_zero_sha_means_none(repo: Repo) -> None:
    """A CI before-SHA gives the range; the all-zero SHA means no range (HEAD alone)."""
    before = shas(repo, 3)[2]
    facts = gather(
        Git(repo.path),
        ranges=[
            ("0" * 40, "env:CI_COMMIT_BEFORE_SHA"),
            (before, "env:GIT_PREVIOUS_SUCCESSFUL_COMMIT"),
        ],
    )
    assert facts.commits == shas(repo, 2)
    assert facts.commits_source == "env:GIT_PREVIOUS_SUCCESSFUL_COMMIT"
    facts = gather(Git(repo.path), ranges=[("0" * 40, "env:CI_COMMIT_BEFORE_SHA")])
    assert (facts.commits, facts.commits_source) == ([repo.head()], "HEAD alone")


def test_force_push_falls_back(repo: Repo) -> None:
    """A previous HEAD that is no longer an ancestor falls back to the next source, noted."""
    old = repo.head()
    repo.git("reset", "-q", "--hard", "HEAD~2")
    new = repo.commit("rewritten")
    facts = gather(Git(repo.path), previous=old)
    assert facts.commits == [new]
    assert any("not an ancestor" in n for n in facts.notes)


def test_shallow_clone_falls_back(repo: Repo, tmp_path: Path) -> None:
    """In a shallow clone the previous commit is missing: the next source is used, noted."""
    previous = shas(repo, 5)[4]
    shallow = clone(repo, tmp_path / "shallow", "--depth", "1")
    facts = gather(Git(shallow.path), previous=previous)
    assert facts.commits == [repo.head()]
    assert any("shallow clone" in n for n in facts.notes)


def test_detached_head_branch_from_remote(repo: Repo, tmp_path: Path) -> None:
    """A detached HEAD takes its branch from the remote branches that contain it."""
    c = clone(repo, tmp_path / "c")
    c.git("checkout", "-q", "--detach", "HEAD~1")
    facts = gather(Git(c.path))
    assert facts.branch == "main"
    assert "detached" in facts.branch_source


def test_ci_branch_wins_and_tags_are_not_branches(repo: Repo) -> None:
    """The CI's branch comes first, normalised; a tag ref is no branch."""
    facts = gather(Git(repo.path), branch=("refs/heads/release/2.x", "env:GITHUB_REF"))
    assert (facts.branch, facts.branch_source) == ("release/2.x", "env:GITHUB_REF")
    assert normalise_branch("refs/tags/v1.0") is None
    assert normalise_branch("origin/feature/x") == "feature/x"


def test_pr_merge_commit_reports_the_pr_head(repo: Repo) -> None:
    """On a PR merge commit (refs/pull/N/merge) the PR head, HEAD^2, is reported."""
    repo.git("checkout", "-q", "-b", "pr")
    pr_head = repo.commit("pr change")
    repo.git("checkout", "-q", "main")
    (repo.path / "m.txt").write_text("m")
    repo.git("add", "m.txt")
    repo.git("commit", "-q", "-m", "main moved")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge pr into main", "pr")
    facts = gather(Git(repo.path), pr_merge=True)
    assert facts.head == pr_head
    assert facts.commits == [pr_head]
    assert any("HEAD^2" in n for n in facts.notes)


def test_repo_owned_by_another_user_is_read(repo: Repo) -> None:
    """A checkout owned by another uid is read (through our own shadow git directory, so no
    safe.directory exception is needed), where plain git refuses it."""
    from .test_workspace import effective_nobody

    base = Path(tempfile.mkdtemp(prefix="sei-watch-git-"))
    try:
        base.chmod(0o755)
        other = base / "repo"
        shutil.copytree(repo.path, other)
        os.system(f"chmod -R a+rX {other}")
        with effective_nobody():  # as root: nobody reads root's repo; else: the owner differs
            facts = gather(Git(other))
        assert facts.head == repo.head()
        if os.geteuid() == 0:  # the control: git without our safe.directory refuses
            plain = Repo(other, init=False)
            with effective_nobody(), pytest.raises(subprocess.CalledProcessError) as refused:
                plain.git("rev-parse", "HEAD")
            assert "dubious ownership" in refused.value.stderr
    finally:
        shutil.rmtree(base)


def test_missing_git_binary_and_non_repo(tmp_path: Path) -> None:
    """No git binary and a directory that is no repository are clear errors."""
    with pytest.raises(GitError, match="git is not installed"):
        Git(tmp_path, git="/nonexistent/git").head()
    with pytest.raises(GitError, match="not a git repository"):
        Git(tmp_path).head()


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("https://user:ghp_secret123@github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("https://oauth2:glpat-abcdef@gitlab.com/g/p.git", "https://gitlab.com/g/p.git"),
        (
            "https://x-token@host.example:8443/r.git?private_token=abc#frag",
            "https://host.example:8443/r.git",
        ),
        ("ssh://git@github.com/org/repo.git", "ssh://git@github.com/org/repo.git"),
        ("ssh://deploy:pw@host/repo.git", "ssh://host/repo.git"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
    ],
)
def test_clean_url_strips_credentials(url: str, clean: str) -> None:
    """user:token@, oauth2 tokens and query strings never survive; git@ (scp) stays."""
    assert clean_url(url) == clean


def test_remote_url_is_credential_free(repo: Repo) -> None:
    """The origin remote is read through git and cleaned."""
    repo.git("remote", "add", "origin", "https://bot:s3cr3t-token@git.example.com/team/app.git")
    assert gather(Git(repo.path)).repo_url == "https://git.example.com/team/app.git"


def test_submodules_and_extra_repos_go_into_params(tmp_path: Path) -> None:
    """The primary repo makes the payload; submodules and other repos are named in params."""
    from sei_watch.context import BuildContext, finish

    lib = Repo(tmp_path / "lib")
    lib_head = lib.commit("lib")
    app = Repo(tmp_path / "app")
    app.commit("app")
    app.git(
        "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib.path), "vendor/lib"
    )
    app.git("commit", "-q", "-m", "add lib")
    other = Repo(tmp_path / "tools")
    tools_head = other.commit("tools")
    other.git("remote", "add", "origin", "https://ci:tok3n@git.example.com/tools.git")
    ctx = BuildContext(repo=app.path, extra_repos=[other.path])
    payload: dict[str, object] = {"instance_guid": "g", "job_full_name": "j"}
    finish(payload, {}, ctx, app.path, state=None)
    params = {p["name"]: p["value"] for p in payload["job_run_params"]}  # type: ignore[index,union-attr]
    assert params["submodule:vendor/lib"] == lib_head
    assert params["repo:tools"] == f"https://git.example.com/tools.git@{tools_head}"
    assert payload["scm_commit_ids"] == [app.head()]
