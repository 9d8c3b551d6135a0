"""One job per branch and matrix leg, one run per attempt: the names a CI build gets in SEI.

SEI keeps a job's `scm_url`, `branch_name` and normalised name from the LAST post (NULL
included) and a run's fields from the FIRST. Outside Jenkins a CI job name says nothing of the
branch, the matrix leg or the attempt, so every branch would relabel every run of the job, two
legs would share one run, and a re-run would keep attempt 1's result with attempt 2's stages.
So, for the CIs that build many branches under one job name, as Jenkins multibranch does:

- `job_full_name` and `qualified_name` are `<job>[/<leg>]/branches/<branch>`; `pipeline` is
  unchanged, so SEI still groups the jobs by pipeline;
- a leg is the job's matrix values (`SEI_MATRIX`, the recipe passes `toJSON(matrix)`) or
  its index (`SEI_JOB_INDEX`, from `strategy.job-index`); GitLab names its parallel and
  matrix jobs itself (`test 1/3`, `test: [ruby, 3.2]`), so its job name already differs;
- where a retry keeps the build number (GitHub's run id, Azure's build id, Buildkite's build
  number), the run is `<build number> * 100 + <attempt>`; GitLab, CircleCI and the others give a
  retry a new number of its own.

The same rule applies to the daemon (the marker records these facts), `parse` and backfill.
`[assemble] identity = "plain"` keeps the CI's own names and numbers.
"""

from __future__ import annotations

import json
import re

__all__ = ["BRANCHED", "attempt_number", "job_suffix"]

# CIs whose job name is the same for every branch, leg and attempt.
BRANCHED = frozenset(
    {
        "github", "gitlab", "azure", "buildkite", "bitbucket", "circleci", "travis", "drone",
        "woodpecker", "codebuild",
    }
)  # fmt: skip
# CIs whose retry keeps the build number (the attempt is told apart by its own variable).
_ATTEMPTED = frozenset({"github", "azure", "buildkite"})
_SAFE = re.compile(r"[^\w.,@+=-]+")


def _leg(matrix: str | None, index: str | None) -> str | None:
    if matrix:
        try:
            doc = json.loads(matrix)
        except ValueError:
            doc = matrix
        if isinstance(doc, dict):
            values = [str(v) for _, v in sorted(doc.items()) if not isinstance(v, dict | list)]
            text = ",".join(values)
        else:
            text = str(doc)
        text = _SAFE.sub("-", text).strip("-")
        if text and text not in ("null", "{}"):
            return text[:60]
    if index is not None and index.strip().isdigit():
        return f"leg-{int(index)}"
    return None


def job_suffix(
    vendor: str | None, branch: str | None, matrix: str | None, index: str | None
) -> str:
    """What follows the CI's job name: `/<leg>` and `/branches/<branch>`, or ''."""
    if vendor not in BRANCHED:
        return ""
    parts = []
    leg = _leg(matrix, index)
    if leg:
        parts.append(leg)
    if branch:
        parts.append(f"branches/{branch}")
    return "".join(f"/{p}" for p in parts)


def attempt_number(vendor: str | None, number: int, attempt: str | None) -> int:
    """The run's build number: `number * 100 + attempt` where a retry keeps the number."""
    if vendor not in _ATTEMPTED:
        return number
    tried = int(attempt) if attempt is not None and attempt.strip().isdigit() else 1
    return number * 100 + min(max(tried, 1), 99)
