"""The SEI custom CI/CD payload: its vocabulary, its field types, and validation.

Validation reports every problem at once, each with its JSON path, so a user fixes them in one go.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, TypeGuard

__all__ = [
    "FIELD_TYPES",
    "NAME_LIMIT",
    "REQUIRED",
    "RESULTS",
    "STATES",
    "normalise_result",
    "shorten",
    "validate",
]

NAME_LIMIT: Final = 50
RESULTS: Final = ("SUCCESS", "FAILURE", "UNSTABLE", "ABORTED", "NOT_BUILT")
STATES: Final = ("FINISHED", "SKIPPED", "NOT_BUILT")
REQUIRED: Final = (
    "pipeline",
    "job_full_name",
    "qualified_name",
    "instance_name",
    "instance_guid",
    "result",
)
# The type of every top-level field we send; `--set` coerces to these.
FIELD_TYPES: Final[Mapping[str, type]] = {
    "pipeline": str,
    "job_full_name": str,
    "qualified_name": str,
    "instance_name": str,
    "instance_guid": str,
    "instance_url": str,
    "result": str,
    "start_time": int,
    "duration": int,
    "build_number": int,
    "user_id": str,
    "repo_url": str,
    "branch_name": str,
    "project_name": str,
    "module_name": str,
    "ci": bool,
    "cd": bool,
    "scm_commit_ids": list,
    "job_run_params": list,
    "trigger_chain": list,
    "artifacts": list,
    "job_run": dict,
}

_SYNONYMS: Final = {
    "SUCCESS": ("success", "succeeded", "successful", "passed", "pass", "ok", "green", "fixed"),
    "FAILURE": (
        "failure",
        "failed",
        "fail",
        "error",
        "errored",
        "broken",
        "red",
        "timedout",
        "timed_out",
        "timeout",
    ),
    "UNSTABLE": (
        "unstable",
        "partiallysucceeded",
        "partially_succeeded",
        "succeededwithissues",
        "warning",
        "warnings",
    ),
    "ABORTED": ("aborted", "canceled", "cancelled", "cancel", "killed", "interrupted", "stopped"),
    "NOT_BUILT": (
        "not_built",
        "notbuilt",
        "skipped",
        "skip",
        "not_run",
        "notrun",
        "manual",
        "pending",
        "none",
    ),
}
_RESULT_OF = {word: result for result, words in _SYNONYMS.items() for word in words}
_SHA = re.compile(r"[0-9a-f]{40}\Z")
_MIN_EPOCH_MS: Final = 100_000_000_000  # 1973 in ms; anything smaller is seconds by mistake


def normalise_result(text: str | None) -> str | None:
    """Map what CI systems say ("passed", "canceled", "Failed") onto SEI's vocabulary."""
    if text is None:
        return None
    word = text.strip().lower().replace("-", "_").replace(" ", "_")
    return _RESULT_OF.get(word) or _RESULT_OF.get(word.replace("_", ""))


def shorten(name: str, limit: int = NAME_LIMIT) -> str:
    """Cut a name to `limit` characters in the middle, keeping its start and its end."""
    name = " ".join(name.split())
    if len(name) <= limit:
        return name
    keep = limit - 3
    head = (keep + 1) // 2
    return f"{name[:head]}...{name[len(name) - (keep - head) :]}"


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_node(node: Any, path: str, out: list[str], *, kind: str) -> None:
    if not isinstance(node, Mapping):
        out.append(f"{path}: a {kind} must be an object")
        return
    if not isinstance(node.get("id"), str) or not node.get("id"):
        out.append(f"{path}.id: required, a non-empty string")
    name = node.get("displayName")
    if not isinstance(name, str) or not name.strip():
        out.append(f"{path}.displayName: required, a non-empty string")
    elif len(name) > NAME_LIMIT:
        out.append(f"{path}.displayName: {len(name)} characters, the limit is {NAME_LIMIT}")
    if not isinstance(node.get("displayDescription", ""), str):
        out.append(f"{path}.displayDescription: must be a string")
    if node.get("result") not in RESULTS:
        out.append(f"{path}.result: {node.get('result')!r} is not one of {', '.join(RESULTS)}")
    if node.get("state") not in STATES:
        out.append(f"{path}.state: {node.get('state')!r} is not one of {', '.join(STATES)}")
    dur = node.get("durationInMillis")
    if not _is_int(dur) or dur < 0:
        out.append(f"{path}.durationInMillis: required, a whole number of ms >= 0")
    if "startTime" in node and (not _is_int(node["startTime"]) or node["startTime"] < 0):
        out.append(f"{path}.startTime: must be epoch ms")


def _check_artifact(art: Any, path: str, out: list[str]) -> None:
    if not isinstance(art, Mapping):
        out.append(f"{path}: an artifact must be an object")
        return
    for flag in ("input", "output"):
        if not isinstance(art.get(flag), bool):
            out.append(f"{path}.{flag}: required, true or false")
    for key in ("type", "location", "name", "qualifier"):
        if not isinstance(art.get(key), str) or not art.get(key):
            out.append(f"{path}.{key}: required, a non-empty string")
    if not isinstance(art.get("hash", ""), str):
        out.append(f"{path}.hash: must be a string")
    meta = art.get("metadata", {})
    if not isinstance(meta, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in meta.items()
    ):
        out.append(f"{path}.metadata: must map strings to strings")


def validate(payload: Mapping[str, Any]) -> list[str]:
    """Every way `payload` breaks the SEI contract, each as "$.path: reason"; empty if none."""
    out: list[str] = []
    for key in payload:
        if key not in FIELD_TYPES:
            out.append(f"$.{key}: not a field SEI knows")
    for key in REQUIRED:
        value = payload.get(key)
        if not isinstance(value, str) or not value.strip():
            out.append(f"$.{key}: required, a non-empty string")
    if isinstance(payload.get("result"), str) and payload["result"] not in RESULTS:
        out.append(f"$.result: {payload['result']!r} is not one of {', '.join(RESULTS)}")
    for key in ("start_time", "duration", "build_number"):
        if not _is_int(payload.get(key)) or payload[key] < 0:
            out.append(f"$.{key}: required, a whole number >= 0")
    start = payload.get("start_time")
    if _is_int(start) and 0 < start < _MIN_EPOCH_MS:
        out.append(f"$.start_time: {start} looks like seconds; SEI wants epoch milliseconds")
    for key, typ in FIELD_TYPES.items():
        checked_above = key in REQUIRED or typ is int
        if key in payload and not checked_above and not isinstance(payload[key], typ):
            out.append(f"$.{key}: must be of type {typ.__name__}")
    for i, sha in enumerate(payload.get("scm_commit_ids") or ()):
        if not isinstance(sha, str) or not _SHA.match(sha):
            out.append(f"$.scm_commit_ids[{i}]: {sha!r} is not a full 40-hex commit SHA")
    for i, param in enumerate(payload.get("job_run_params") or ()):
        where = f"$.job_run_params[{i}]"
        if not isinstance(param, Mapping):
            out.append(f"{where}: must be an object")
            continue
        for key in ("name", "value", "type"):
            if not isinstance(param.get(key), str):
                out.append(f"{where}.{key}: required, a string (never null)")
    stages = (payload.get("job_run") or {}).get("stages", [])
    for i, stage in enumerate(stages if isinstance(stages, list) else ()):
        _check_node(stage, f"$.job_run.stages[{i}]", out, kind="stage")
        steps = stage.get("steps", []) if isinstance(stage, Mapping) else []
        for j, step in enumerate(steps):
            _check_node(step, f"$.job_run.stages[{i}].steps[{j}]", out, kind="step")
    for i, art in enumerate(payload.get("artifacts") or ()):
        _check_artifact(art, f"$.artifacts[{i}]", out)
    for i, cause in enumerate(payload.get("trigger_chain") or ()):
        if not isinstance(cause, Mapping) or not cause.get("id") or not cause.get("type"):
            out.append(f"$.trigger_chain[{i}]: needs a non-empty id and type")
    return out
