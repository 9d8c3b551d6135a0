"""CI and git facts for one build, from the marker, the environment and the repository, each
payload field with where it came from (what `parse --explain` prints)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sei_watch.config import coerce_field
from sei_watch.logs import get_logger
from sei_watch.schema import FIELD_TYPES, is_provisional, normalise_result

from .ci_env import CiFacts, detect, trigger_chain
from .gitinfo import clean_url, normalise_branch
from .identity import attempt_number, job_suffix
from .jenkins_names import from_environment
from .marker import read_marker

__all__ = ["BuildContext", "collect"]

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
    # Set for a build the daemon or backfill reports: a repository the build's own marker names
    # must then lie inside the build directory (the agent may read what the build may not).
    confine_marker_repo: bool = False
    repo_source: str = ""
    explicit: list[str] | None = None
    ranges: list[tuple[str, str]] = field(default_factory=list)
    pr_merge: bool = False
    branch_hint: tuple[str, str] | None = None
    extra_repos: list[Path] = field(default_factory=list)
    provisional: str | None = None  # "CI_JOB_STATUS=running": the build has not finished
    identity: str = "per-branch"  # or "plain": the CI's own job names and numbers

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
    job, number, how = v.get("job"), v.get("build_number", ""), ""
    if ctx.identity == "per-branch" and job and "SEI_JOB_FULL_NAME" not in s("job"):
        branch = normalise_branch(v.get("branch")) if v.get("branch") else None
        suffix = job_suffix(ci.vendor, branch, v.get("matrix"), v.get("job_index"))
        job, how = job + suffix, " (+ leg and branch: identity.py)" if suffix else ""
    ctx.put("job_full_name", job, s("job") + how)
    ctx.put("qualified_name", job, s("job") + how)
    if number.isdigit():
        attempt = v.get("attempt")
        if v.get("retry_count", "").isdigit():  # Buildkite counts retries from 0
            attempt = str(int(v["retry_count"]) + 1)
        if ctx.identity == "per-branch" and "SEI_BUILD_NUMBER" not in s("build_number"):
            runs = attempt_number(ci.vendor, int(number), attempt)
            how = " * 100 + attempt (identity.py)" if runs != int(number) else ""
            ctx.put("build_number", runs, s("build_number") + how)
        else:
            ctx.put("build_number", int(number), s("build_number"))
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
    ctx.put("web_url", v.get("build_url"), s("build_url"))  # SEI's link back to the run
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


def collect(
    root: Path,
    environ: Mapping[str, str],
    *,
    repo: Path | None = None,
    confine_marker_repo: bool = False,
    identity: str = "per-branch",
) -> BuildContext:
    """Facts for the build in `root`: its marker first, then this process's CI environment."""
    ctx = BuildContext()
    ctx.identity = identity
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
            repo = root / str(marker["repo"])
            ctx.repo_source = "marker"
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
    ctx.confine_marker_repo = confine_marker_repo
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
