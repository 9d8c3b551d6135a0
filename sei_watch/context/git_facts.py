"""After assembly, when the job's key is known: the commits since the job's last build, the
branch and the repository URL from git, and the other repositories named in params."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sei_watch.errors import SeiWatchError
from sei_watch.logs import get_logger

from .facts import BuildContext
from .gitinfo import Git, find_top, gather

if TYPE_CHECKING:
    from .state import BuildState

__all__ = ["finish"]

log = get_logger("sei_watch.context")


def _git_for(ctx: BuildContext, root: Path) -> Git | None:
    """The build's repository: the one configured or named by the marker, else the checkout at
    or around the build directory. For a watched build, a repository the marker names must lie
    inside the build directory (a build's file cannot point the agent at another team's
    checkout)."""
    repo, confine = ctx.repo, None
    if repo is not None and ctx.repo_source == "marker" and ctx.confine_marker_repo:
        confine = root
    if repo is None:
        # A few stats spare a git process per build outside any checkout (a JENKINS_HOME, a
        # spool of copied reports).
        repo = find_top(root)
        if repo is None:
            ctx.notes.append(f"no git facts: {root} is not in a git repository")
            return None
    if not os.path.isdir(repo):
        ctx.notes.append(f"no git facts: repository {repo} does not exist")
        return None
    if confine is not None and not Path(os.path.realpath(repo)).is_relative_to(
        os.path.realpath(confine)
    ):
        ctx.notes.append(f"no git facts: the marker's repository {repo} is outside {root}")
        return None
    return Git(repo, confine=confine)


def _other_repos(primary: Git, ctx: BuildContext) -> None:
    """The payload is about the primary repository; the others (configured, or submodules)
    are named in job_run_params with the commit each build used."""
    try:
        for path, sha in primary.submodules():
            ctx.params.setdefault(f"submodule:{path}", sha)
    except SeiWatchError as exc:
        ctx.notes.append(f"submodules not read: {exc}")
    for repo in ctx.extra_repos:
        other = Git(repo)
        try:
            head = other.head()
            url = other.remote_url() or str(repo)
        except SeiWatchError as exc:
            ctx.notes.append(f"repository {repo}: {exc}")
            continue
        ctx.params.setdefault(f"repo:{repo.name}", f"{url}@{head}")


def _add_params(payload: dict[str, Any], params: Mapping[str, str]) -> None:
    have = {p.get("name") for p in payload.get("job_run_params", [])}
    extra = [
        {"type": "StringParameterValue", "name": k, "value": str(v)}
        for k, v in params.items()
        if k not in have
    ]
    if extra:
        payload["job_run_params"] = [*payload.get("job_run_params", []), *extra]


def finish(
    payload: dict[str, Any],
    sources: dict[str, str],
    ctx: BuildContext,
    root: Path,
    *,
    state: BuildState | None,
    limit: int = 100,
) -> str | None:
    """Fill scm_commit_ids, branch and repo URL from git, now that the job's key is known.
    Returns the HEAD reported, which the caller records once the payload is queued."""
    head = _finish_git(payload, sources, ctx, root, state=state, limit=limit)
    _add_params(payload, ctx.params)
    return head


def _finish_git(
    payload: dict[str, Any],
    sources: dict[str, str],
    ctx: BuildContext,
    root: Path,
    *,
    state: BuildState | None,
    limit: int,
) -> str | None:
    git = _git_for(ctx, root)
    previous = None
    if state is not None:
        previous = state.previous(str(payload["instance_guid"]), str(payload["job_full_name"]))
    if git is None:
        if ctx.explicit:
            payload["scm_commit_ids"] = ctx.explicit[:limit]
            sources["scm_commit_ids"] = "explicit list (no repository to check)"
        return None
    try:
        facts = gather(
            git,
            explicit=ctx.explicit,
            previous=previous,
            ranges=ctx.ranges,
            pr_merge=ctx.pr_merge,
            branch=ctx.branch_hint,
            limit=limit,
        )
    except SeiWatchError as exc:
        ctx.notes.append(f"no git facts: {exc}")
        log.warning("git.failed", repo=str(git.repo), error=str(exc))
        return None
    ctx.notes.extend(facts.notes)
    stated = sources.get("scm_commit_ids", "")
    if not stated.startswith(("--set", "file ", "config")):  # a file or the user said so
        payload["scm_commit_ids"] = facts.commits
        sources["scm_commit_ids"] = f"git ({facts.commits_source})" + (
            "; truncated to 100" if facts.truncated else ""
        )
        if facts.truncated:
            ctx.params.setdefault("scm_commit_ids_truncated", "true")
    if facts.branch and "branch_name" not in payload:
        payload["branch_name"] = facts.branch
        sources["branch_name"] = facts.branch_source
    if facts.repo_url and "repo_url" not in payload:
        payload["repo_url"] = facts.repo_url
        sources["repo_url"] = "git remote origin (credentials removed)"
    _other_repos(git, ctx)
    return facts.head
