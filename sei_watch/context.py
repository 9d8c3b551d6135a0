"""CI and git facts for one build, from the marker, the environment and the repository, each
payload field with where it came from (what `parse --explain` prints)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .ci_env import CiFacts, detect, trigger_chain
from .config import coerce_field
from .errors import SeiWatchError
from .gitinfo import Git, GitError, clean_url, gather
from .jenkins_names import from_environment
from .logs import get_logger
from .marker import read_marker
from .payload import FIELD_TYPES, is_provisional, normalise_result
from .state import BuildState

__all__ = ["BuildContext", "collect", "finish"]

log = get_logger("sei_watch.context")

_PARAMS = {
    "build_url": "build_url",
    "build_id": "build_id",
    "pr": "pull_request",
    "target_branch": "target_branch",
    "stage": "ci_stage",
    "attempt": "run_attempt",
    "tag": "tag",
}


@dataclass(slots=True)
class BuildContext:
    """Payload fields with their sources, job parameters, and what git needs to finish."""

    fields: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    repo: Path | None = None
    explicit: list[str] | None = None
    ranges: list[tuple[str, str]] = field(default_factory=list)
    pr_merge: bool = False
    branch_hint: tuple[str, str] | None = None
    extra_repos: list[Path] = field(default_factory=list)
    provisional: str | None = None  # "CI_JOB_STATUS=running": the build has not finished

    def put(self, key: str, value: Any, source: str) -> None:
        if value not in (None, "", []):
            self.fields[key] = value
            self.sources[key] = source


def _epoch_ms(text: str) -> int | None:
    text = text.strip()
    if text.isdigit():
        n = int(text)
        return n if n > 100_000_000_000 else n * 1000
    try:
        when = datetime.fromisoformat(text.replace(" +", "+"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _result(text: str) -> str | None:
    if text.strip().lstrip("-").isdigit():  # an exit status
        return "SUCCESS" if int(text) == 0 else "FAILURE"
    return normalise_result(text)


def _split_commits(text: str) -> list[str]:
    return [c for c in text.replace(";", ",").replace(",", " ").split() if c]


def _from_ci(ctx: BuildContext, ci: CiFacts, origin: str) -> None:
    v, src = ci.values, ci.sources

    def s(name: str) -> str:
        return f"{origin}:{src.get(name, name)}" if origin else src.get(name, name)

    ctx.put("pipeline", v.get("pipeline"), s("pipeline"))
    ctx.put("job_full_name", v.get("job"), s("job"))
    ctx.put("qualified_name", v.get("job"), s("job"))
    if v.get("build_number", "").isdigit():
        ctx.put("build_number", int(v["build_number"]), s("build_number"))
    elif v.get("build_number"):
        ctx.params.setdefault("build_id", v["build_number"])
    ctx.put("instance_url", v.get("server_url"), s("server_url"))
    ctx.put("branch_name", v.get("branch"), s("branch"))
    ctx.put("user_id", v.get("user"), s("user"))
    ctx.put("repo_url", clean_url(v["repo_url"]) if v.get("repo_url") else None, s("repo_url"))
    if v.get("result") and is_provisional(v["result"]):
        ctx.provisional = f"{s('result')} says {v['result']!r}"
    elif v.get("result") and (res := _result(v["result"])):
        ctx.put("result", res, s("result"))
    if v.get("start") and (ms := _epoch_ms(v["start"])):
        ctx.put("start_time", ms, s("start"))
    chain = trigger_chain(ci)
    ctx.put("trigger_chain", chain, s("trigger"))
    for name, param in _PARAMS.items():
        if v.get(name):
            ctx.params.setdefault(param, v[name])
    if ci.vendor:
        ctx.params.setdefault("ci_vendor", ci.vendor)
    if v.get("commits"):
        ctx.explicit = _split_commits(v["commits"])
    for hint in ("before", "merge_base"):  # a push's before-SHA, a PR's or MR's base
        if v.get(hint):
            ctx.ranges.append((v[hint], s(hint)))
    ctx.pr_merge = ctx.pr_merge or v.get("pr_merge") == "true"
    if v.get("branch") and ctx.branch_hint is None:
        ctx.branch_hint = (v["branch"], s("branch"))
    ctx.notes.extend(ci.notes)


def collect(root: Path, environ: Mapping[str, str], *, repo: Path | None = None) -> BuildContext:
    """Facts for the build in `root`: its marker first, then this process's CI environment."""
    ctx = BuildContext()
    marker = read_marker(root)
    if marker is not None:
        mci = CiFacts(
            vendor=marker.get("vendor"),
            values=dict(marker["facts"]),
            sources=dict(marker["sources"]),
        )
        _from_ci(ctx, mci, "marker")
        if marker.get("result") and is_provisional(str(marker["result"])):
            ctx.provisional = f"the marker says {marker['result']!r}"
        elif marker.get("result") and (res := _result(str(marker["result"]))):
            ctx.put("result", res, "marker:result")
        for key in ("start_time",):
            if isinstance(marker.get(key), int):
                ctx.put(key, marker[key], f"marker:{key}")
        if isinstance(marker.get("end_time"), int) and isinstance(marker.get("start_time"), int):
            ctx.put(
                "duration",
                max(marker["end_time"] - marker["start_time"], 0),
                "marker:end_time-start_time",
            )
        if marker.get("cd") is True:
            ctx.put("cd", True, "marker:cd")
        ctx.params.update(marker["params"])
        if marker["commits"]:
            ctx.explicit = marker["commits"]
        if marker.get("repo") and repo is None:
            repo = Path(str(marker["repo"]))
    env_ci = detect(environ)
    if env_ci.vendor or env_ci.values:
        # The marker wins over this process's environment, value and provenance alike.
        fields, sources, explicit = dict(ctx.fields), dict(ctx.sources), ctx.explicit
        _from_ci(ctx, env_ci, "")
        if env_ci.vendor == "jenkins":
            _jenkins_names(ctx, environ)
        ctx.fields.update(fields)
        ctx.sources.update(sources)
        ctx.explicit = explicit or ctx.explicit
    _field_overrides(ctx, environ)
    ctx.repo = repo
    return ctx


def _field_overrides(ctx: BuildContext, environ: Mapping[str, str]) -> None:
    """`SEI_<FIELD>` for every scalar payload field the CI table does not read already
    (SEI_INSTANCE_GUID, SEI_QUALIFIED_NAME, SEI_PROJECT_NAME, SEI_CI, ...), typed as SEI wants."""
    for key, typ in FIELD_TYPES.items():
        var = f"SEI_{key.upper()}"
        value = environ.get(var, "").strip()
        source = ctx.sources.get(key, "")
        if (
            value
            and typ in (str, int, bool)
            and not source.startswith("marker:")
            and var not in source
        ):
            ctx.put(key, coerce_field(key, value, f"env {var}"), f"env:{var}")


def _jenkins_names(ctx: BuildContext, environ: Mapping[str, str]) -> None:
    """Inside a Jenkins job, the names the SEI plugin gives it (and the JENKINS_HOME watcher
    gives it), where they came from JOB_NAME and not from an SEI_* override."""
    names = from_environment(environ)
    if names is None:
        return
    for key, value in (
        ("job_full_name", names.job_full_name),
        ("pipeline", names.pipeline),
        ("qualified_name", names.qualified_name),
        ("branch_name", names.branch),
        ("module_name", names.module),
    ):
        if value and ctx.sources.get(key, "env:JOB").startswith(("env:JOB", "env:BRANCH_NAME")):
            ctx.put(key, value, "JOB_NAME, BRANCH_NAME (as the SEI Jenkins plugin names jobs)")


def _in_a_repo(directory: Path) -> bool:
    """Whether `directory` or a parent has a `.git`: a few stats spare a git process per build
    outside any checkout (a JENKINS_HOME, a spool of copied reports)."""
    here = directory.resolve()
    return any((place / ".git").exists() for place in (here, *here.parents))


def _git_for(ctx: BuildContext, root: Path) -> Git | None:
    repo = ctx.repo
    if repo is None:
        if not _in_a_repo(root):
            ctx.notes.append(f"no git facts: {root} is not in a git repository")
            return None
        around = Git(root)
        try:
            top = around.run("rev-parse", "--show-toplevel").stdout.strip()
        except GitError as exc:
            ctx.notes.append(f"no git facts: {exc}")
            return None
        repo = Path(top)
    if not os.path.isdir(repo):
        ctx.notes.append(f"no git facts: repository {repo} does not exist")
        return None
    return Git(repo)


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
