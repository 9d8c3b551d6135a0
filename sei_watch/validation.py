"""Validation of a whole payload against the SEI contract (`schema`): every problem at once,
each with its JSON path, so a user fixes them in one go."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from .schema import (
    FIELD_TYPES,
    ID_LIMIT,
    INSTANT,
    NAME_LIMIT,
    REQUIRED,
    RESULTS,
    STAGE_TEXT_LIMIT,
    STATES,
    STEP_TEXT_LIMIT,
    is_int,
)

__all__ = ["is_uuid", "validate"]

_MIN_EPOCH_MS: Final = 100_000_000_000  # 1973 in ms; anything smaller is seconds by mistake
# SEI stores run times in Java longs and rejects nothing, but no build runs outside this range.
_EARLIEST_MS: Final = 946_684_800_000  # 2000-01-01
_LATEST_MS: Final = 4_102_444_800_000  # 2100-01-01
_JAVA_LONG: Final = 2**63 - 1
# Longer names are not a CI's: SEI's tables index them, and a 10 MB name is a broken build.
_TEXT_LIMIT: Final = 1024
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")

_SHA = re.compile(r"[0-9a-f]{40}\Z")


def is_uuid(text: str) -> bool:
    """Whether `text` is a UUID in its canonical 8-4-4-4-12 hex form, any case."""
    return bool(_UUID.match(text))


def _check_node(node: Any, path: str, out: list[str], *, kind: str) -> None:
    if not isinstance(node, Mapping):
        out.append(f"{path}: a {kind} must be an object")
        return
    if not isinstance(node.get("id"), str) or not node.get("id"):
        out.append(f"{path}.id: required, a non-empty string")
    elif len(node["id"]) > ID_LIMIT:
        out.append(f"{path}.id: {len(node['id'])} characters, the limit is {ID_LIMIT}")
    name = node.get("displayName")
    if not isinstance(name, str) or not name.strip():
        out.append(f"{path}.displayName: required, a non-empty string")
    elif len(name) > NAME_LIMIT:
        out.append(f"{path}.displayName: {len(name)} characters, the limit is {NAME_LIMIT}")
    text = node.get("displayDescription", "")
    limit = STAGE_TEXT_LIMIT if kind == "stage" else STEP_TEXT_LIMIT
    if not isinstance(text, str):
        out.append(f"{path}.displayDescription: must be a string")
    elif len(text) > limit:
        out.append(f"{path}.displayDescription: {len(text)} characters, the limit is {limit}")
    if node.get("result") not in RESULTS:
        out.append(f"{path}.result: {node.get('result')!r} is not one of {', '.join(RESULTS)}")
    if node.get("state") not in STATES:
        out.append(f"{path}.state: {node.get('state')!r} is not one of {', '.join(STATES)}")
    dur = node.get("durationInMillis")
    if not is_int(dur) or dur < 0:
        out.append(f"{path}.durationInMillis: required, a whole number of ms >= 0")
    if "startTime" in node and (
        not isinstance(node["startTime"], str) or not INSTANT.match(node["startTime"])
    ):
        out.append(
            f"{path}.startTime: {node['startTime']!r} is not an ISO-8601 UTC instant "
            "(SEI drops every stage of the run)"
        )


def _check_artifact(art: Any, path: str, out: list[str]) -> None:
    if not isinstance(art, Mapping):
        out.append(f"{path}: an artifact must be an object")
        return
    for flag in ("input", "output"):
        if not isinstance(art.get(flag), bool):
            out.append(f"{path}.{flag}: required, true or false")
    for key in ("type", "location", "name", "qualifier"):
        # SEI names a container `nginx:1.25` with no location, as Harness CD records it.
        optional = key == "location" and art.get("type") == "container"
        if not isinstance(art.get(key), str) or not (art.get(key) or optional):
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
        if not is_int(payload.get(key)) or payload[key] < 0:
            out.append(f"$.{key}: required, a whole number >= 0")
        elif payload[key] > _JAVA_LONG:
            out.append(f"$.{key}: {payload[key]} is past SEI's range (a Java long, 2^63-1)")
    start = payload.get("start_time")
    if is_int(start) and 0 < start < _MIN_EPOCH_MS:
        out.append(f"$.start_time: {start} looks like seconds; SEI wants epoch milliseconds")
    elif is_int(start) and start and not _EARLIEST_MS <= start < _LATEST_MS:
        out.append(f"$.start_time: {start} is not a time between 2000 and 2100")
    duration = payload.get("duration")
    if is_int(duration) and duration > _LATEST_MS - _EARLIEST_MS:
        out.append(f"$.duration: {duration} ms is longer than a century")
    guid = payload.get("instance_guid")
    if isinstance(guid, str) and guid.strip() and not is_uuid(guid):
        out.append(
            f"$.instance_guid: {guid[:60]!r} is not a UUID; SEI drops the run "
            "(UUID.fromString); `sei-watch register` creates an instance and prints its GUID"
        )
    for key, typ in FIELD_TYPES.items():
        value = payload.get(key)
        if typ is str and isinstance(value, str) and len(value) > _TEXT_LIMIT:
            out.append(f"$.{key}: {len(value)} characters, the limit is {_TEXT_LIMIT}")
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
