"""Which CI system runs this job, and what it says about the build, each value with its source.

Values are normalised on the way in: `refs/heads/` and `origin/` go, the literal "false" means
no pull request, a commit that is not a full SHA is dropped (git fills in), and `SEI_<FIELD>`
variables override any field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .ci_vendors import VENDORS, Vendor
from .gitinfo import is_sha, normalise_branch

__all__ = ["CiFacts", "detect", "trigger_chain"]

_TEMPLATE = re.compile(r"\{([A-Za-z0-9_.]+)\}")
_MAX_SIDE_FILE = 4 * 1024 * 1024
# SEI_<NAME> -> our fact name; SEI_API_KEY and SEI_URL are configuration, not facts.
_OVERRIDES = {
    "SEI_PIPELINE": "pipeline",
    "SEI_JOB_FULL_NAME": "job",
    "SEI_BUILD_NUMBER": "build_number",
    "SEI_BUILD_URL": "build_url",
    "SEI_INSTANCE_URL": "server_url",
    "SEI_BRANCH": "branch",
    "SEI_BRANCH_NAME": "branch",
    "SEI_COMMIT": "commit",
    "SEI_USER_ID": "user",
    "SEI_TRIGGER": "trigger",
    "SEI_RESULT": "result",
    "SEI_REPO_URL": "repo_url",
    "SEI_PR": "pr",
    "SEI_START_TIME": "start",
    "SEI_SCM_COMMIT_IDS": "commits",
    "SEI_MATRIX": "matrix",  # a matrix leg's values (`toJSON(matrix)`): see identity.py
    "SEI_JOB_INDEX": "job_index",  # or its index (`strategy.job-index`)
}


@dataclass(slots=True)
class CiFacts:
    """Facts by name (pipeline, job, build_number, branch, commit, pr, user, trigger, ...)."""

    vendor: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def set(self, name: str, value: str, source: str) -> None:
        self.values[name] = value
        self.sources[name] = source


def _resolve(spec: str, env: Mapping[str, str]) -> tuple[str, str] | None:
    names = _TEMPLATE.findall(spec)
    if not names:
        value = env.get(spec, "").strip()
        return (value, f"env:{spec}") if value else None
    if not all(env.get(n, "").strip() for n in names):
        return None
    value = _TEMPLATE.sub(lambda m: env[m.group(1)].strip(), spec)
    return value, "env:" + "+".join(names)


def _teamcity_properties(env: Mapping[str, str]) -> dict[str, str]:
    """TeamCity keeps the branch and more in a Java properties file, not in the environment."""
    path = env.get("TEAMCITY_BUILD_PROPERTIES_FILE")
    if not path:
        return {}
    try:
        with open(path, "rb") as fh:
            text = fh.read(_MAX_SIDE_FILE).decode("utf-8", "replace")
    except OSError:
        return {}
    props = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        key, sep, value = line.partition("=")
        if sep:
            props[_unescape(key.strip())] = _unescape(value.strip())
    return props


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _github_event(env: Mapping[str, str], facts: CiFacts) -> None:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return
    try:
        with open(path, "rb") as fh:
            event = json.loads(fh.read(_MAX_SIDE_FILE))
    except (OSError, ValueError):
        facts.notes.append(f"GITHUB_EVENT_PATH {path} could not be read")
        return
    if not isinstance(event, dict):
        return
    pr = event.get("pull_request")
    if isinstance(pr, dict) and pr.get("number"):
        facts.set("pr", str(pr["number"]), "GITHUB_EVENT_PATH:pull_request.number")
    before = event.get("before")
    if isinstance(before, str) and before:
        facts.set("before", before, "GITHUB_EVENT_PATH:before")
    base = (pr or {}).get("base") if isinstance(pr, dict) else None
    if isinstance(base, dict) and isinstance(base.get("sha"), str) and base["sha"]:
        facts.set("merge_base", base["sha"], "GITHUB_EVENT_PATH:pull_request.base.sha")


def _vendor(env: Mapping[str, str]) -> Vendor | None:
    return next((v for v in VENDORS if v.detect(env)), None)


def detect(environ: Mapping[str, str]) -> CiFacts:
    """The CI facts of this environment; an empty CiFacts outside CI."""
    facts = CiFacts()
    vendor = _vendor(environ)
    env: dict[str, str] = dict(environ)
    if vendor is not None:
        facts.vendor = vendor.name
        if vendor.name == "teamcity":
            env.update(_teamcity_properties(environ))
        for name, specs in vendor.specs.items():
            for spec in specs:
                found = _resolve(spec, env)
                if found:
                    facts.set(name, *found)
                    break
        if vendor.name == "github":
            _github_event(environ, facts)
    for var, name in _OVERRIDES.items():
        if environ.get(var, "").strip():
            facts.set(name, environ[var].strip(), f"env:{var}")
    _normalise(facts)
    return facts


def _normalise(facts: CiFacts) -> None:
    v = facts.values
    ref = v.get("ref", "")
    if ref.startswith("refs/pull/") and "pr" not in v:
        facts.set("pr", ref.split("/")[2], facts.sources["ref"])
    if ref.startswith("refs/pull/") and ref.endswith("/merge"):
        facts.set("pr_merge", "true", facts.sources["ref"])
    pr = v.get("pr", "")
    if pr.lower() in ("false", "", "0") or pr.startswith("refs/"):
        v.pop("pr", None)
    elif "/" in pr:  # CircleCI gives the PR URL; CodeBuild gives pr/N
        tail = pr.rstrip("/").rsplit("/", 1)[-1]
        if tail.isdigit():
            v["pr"] = tail
        else:
            v.pop("pr")
    if v.get("tag") and v.get("branch") == v.get("tag"):
        v.pop("branch")  # GitLab's CI_COMMIT_REF_NAME on a tag pipeline: tags are not branches
    for key in ("branch", "target_branch"):
        if key in v:
            norm = normalise_branch(v[key])
            if norm:
                v[key] = norm
            else:
                v.pop(key)
    commit = v.get("commit")
    if commit is not None and not is_sha(commit.lower()):
        facts.notes.append(f"{facts.sources['commit']}: {commit!r} is not a full SHA; git decides")
        v.pop("commit")
    elif commit is not None:
        v["commit"] = commit.lower()
    if "range" in v and "..." in v["range"] and "before" not in v:
        facts.set("before", v["range"].split("...")[0], facts.sources["range"])


_TRIGGERS = {
    "push": "SCMTriggerCause",
    "pull_request": "SCMTriggerCause",
    "merge_request_event": "SCMTriggerCause",
    "individualci": "SCMTriggerCause",
    "batchedci": "SCMTriggerCause",
    "pullrequest": "SCMTriggerCause",
    "webhook": "SCMTriggerCause",
    "tag": "SCMTriggerCause",
    "external_pull_request_event": "SCMTriggerCause",
    "schedule": "TimerTriggerCause",
    "cron": "TimerTriggerCause",
    "web": "UserIdCause",
    "manual": "UserIdCause",
    "ui": "UserIdCause",
    "api": "RemoteCause",
    "workflow_dispatch": "UserIdCause",
    "trigger": "RemoteCause",
    "pipeline": "UpstreamCause",
    "parent_pipeline": "UpstreamCause",
    "buildcompletion": "UpstreamCause",
    "trigger_job": "UpstreamCause",
    "workflow_run": "UpstreamCause",
    "promote": "UserIdCause",
    "deployment": "UpstreamCause",
}


def trigger_chain(facts: CiFacts) -> list[dict[str, str]]:
    """SEI's trigger_chain from the CI's trigger word, as the Jenkins plugin names causes."""
    word = facts.values.get("trigger", "").strip().lower()
    if not word:
        return []
    kind = _TRIGGERS.get(word, _TRIGGERS.get(word.replace("_", ""), "unknown"))
    ident = {"SCMTriggerCause": "SCMTrigger", "TimerTriggerCause": "TimerTrigger"}.get(kind)
    if ident is None:
        ident = facts.values.get("user") or word
    return [{"id": ident, "type": kind}]
