"""The SEI custom CI/CD payload: its vocabulary, its field types and limits, and the forms SEI
parses (results, instants, ids). `validation` checks a whole payload against them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final, TypeGuard

__all__ = [
    "FIELD_TYPES",
    "ID_LIMIT",
    "INSTANT",
    "NAME_LIMIT",
    "REQUIRED",
    "RESULTS",
    "STAGE_TEXT_LIMIT",
    "STATES",
    "STEP_TEXT_LIMIT",
    "fit",
    "instant_ms",
    "is_int",
    "is_provisional",
    "iso_instant",
    "node_id",
    "normalise_result",
    "plausible_ms",
    "shorten",
    "storable_update",
    "uuid5_dns",
]

# SEI's columns: what is longer is cut by the server, so we cut it ourselves, where it shows.
NAME_LIMIT: Final = 50
ID_LIMIT: Final = 50
STAGE_TEXT_LIMIT: Final = 200
STEP_TEXT_LIMIT: Final = 50
# Times outside these years are a producer's mistake (gotestsum's 0001-01-01), not a build.
_EARLIEST_MS: Final = 946_684_800_000  # 2000-01-01
_LATEST_MS: Final = 4_102_444_800_000  # 2100-01-01
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z\Z")
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
    # Optional in SEI's documentation, passed through as stated.
    "web_url": str,
    "execution_id": str,
    "cfr_status": str,
    "themes": list,
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
        "none",
    ),
}
_RESULT_OF = {word: result for result, words in _SYNONYMS.items() for word in words}


# Words a CI says while the build is still going: SEI keeps the first result it is sent.
_PROVISIONAL: Final = frozenset(
    ("running", "pending", "in_progress", "inprogress", "queued", "started", "created", "waiting")
)


_NAMESPACE_DNS = bytes.fromhex("6ba7b8109dad11d180b400c04fd430c8")


def uuid5_dns(name: str) -> str:
    """`str(uuid.uuid5(uuid.NAMESPACE_DNS, name))` without importing `uuid`, which probes the
    platform on import: a fifteenth of a small one-shot `parse`."""
    import hashlib  # noqa: PLC0415  (OpenSSL's loading: only for a derived id)

    raw = bytearray(hashlib.sha1(_NAMESPACE_DNS + name.encode(), usedforsecurity=False).digest())
    raw[6] = (raw[6] & 0x0F) | 0x50
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw[:16].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def is_provisional(text: str | None) -> bool:
    """Whether a CI's status word means the build has not finished yet."""
    word = (text or "").strip().lower().replace("-", "_").replace(" ", "_")
    return word in _PROVISIONAL


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


def fit(text: str, limit: int) -> str:
    """`text` on one line within `limit` characters, cut at the end with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def node_id(path: tuple[str, ...]) -> str:
    """A stage or step id from its place in the build (the names from the top), so a re-post
    upserts the same rows; within 50 characters, the tail hashed when the path is longer."""
    text = "/".join(" ".join(part.split()) or "(unnamed)" for part in path)
    if len(text) <= ID_LIMIT:
        return text
    import hashlib  # noqa: PLC0415

    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return f"{text[: ID_LIMIT - 11]}~{digest}"


def plausible_ms(ms: int) -> bool:
    """Whether epoch ms is a time a build can have (2000 to 2100)."""
    return _EARLIEST_MS <= ms < _LATEST_MS


def iso_instant(ms: int) -> str | None:
    """Epoch ms as SEI's stage clock wants it (`Instant.parse`: ISO-8601 UTC, ms, `Z`); None
    for a time no build can have."""
    if not plausible_ms(ms):
        return None
    when = datetime.fromtimestamp(ms / 1000, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def is_int(value: Any) -> TypeGuard[int]:
    """An int that is not a bool (JSON true is no number)."""
    return isinstance(value, int) and not isinstance(value, bool)


def instant_ms(text: Any) -> int | None:
    """The epoch ms of an ISO instant we wrote (or a number, as older payloads held)."""
    if is_int(text):
        return text
    if not isinstance(text, str) or not INSTANT.match(text):
        return None
    when = datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    frac = (text[20:-1] if "." in text else "").ljust(3, "0")[:3]
    return int(when.timestamp()) * 1000 + int(frac)


# What SEI takes from a second post of a run: it replaces the artifacts and upserts stages by id;
# every other field keeps the value of the first post.
_REPOSTABLE: Final = ("artifacts", "job_run")


def storable_update(
    sent: Mapping[str, Any], new: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The body to post again for a run SEI may already hold: `sent`'s run fields with `new`'s
    artifacts and stages; and the fields whose change SEI would ignore."""
    merged = {k: v for k, v in sent.items() if k not in _REPOSTABLE}
    merged.update({k: new[k] for k in _REPOSTABLE if k in new})
    ignored = sorted(k for k in {*sent, *new} if k not in _REPOSTABLE and sent.get(k) != new.get(k))
    return merged, ignored
