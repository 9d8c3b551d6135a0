"""Jenkins jobs named as the SEI Jenkins plugin names them, so that a build reported by
sei-watch (from JENKINS_HOME, or from inside the job) is the same SEI job as the plugin's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["JobNames", "from_environment"]

_KINDS = ("jobs", "branches", "modules")


@dataclass(frozen=True, slots=True, kw_only=True)
class JobNames:
    """A Jenkins job named as the SEI plugin names it, from `jobs/F/jobs/MB/branches/main`:
    job_full_name keeps the segments (`F/jobs/MB/branches/main`), pipeline is the last job
    (`MB`), qualified_name the names alone (`F/MB/main`), branch and module from their
    segments."""

    job_full_name: str
    pipeline: str
    qualified_name: str
    branch: str | None = None
    module: str | None = None
    number: str = ""

    @classmethod
    def from_segments(cls, pairs: list[tuple[str, str]], number: str = "") -> JobNames | None:
        """From (kind, name) pairs, kind one of jobs, branches, modules."""
        if not pairs or any(kind not in _KINDS for kind, _ in pairs) or pairs[0][0] != "jobs":
            return None
        full = "/".join([pairs[0][1], *(f"{k}/{n}" for k, n in pairs[1:])])
        names = [n for _, n in pairs]
        kinds = dict((k, n) for k, n in pairs)  # the last of each kind
        jobs = [n for k, n in pairs if k == "jobs"]
        return cls(
            job_full_name=full,
            pipeline=jobs[-1],
            qualified_name="/".join(names),
            branch=kinds.get("branches"),
            module=kinds.get("modules"),
            number=number,
        )


def from_environment(environ: Mapping[str, str]) -> JobNames | None:
    """The names of the job a process runs in, from Jenkins' JOB_NAME; in a multibranch
    project (BRANCH_NAME set) the last segment is the branch."""
    names = [n for n in environ.get("JOB_NAME", "").strip("/").split("/") if n]
    if not names:
        return None
    kinds = ["jobs"] * len(names)
    if environ.get("BRANCH_NAME") and len(names) > 1:
        kinds[-1] = "branches"
    return JobNames.from_segments(
        list(zip(kinds, names, strict=True)), environ.get("BUILD_NUMBER", "")
    )
