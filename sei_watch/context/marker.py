"""The marker file `sei-watch mark` writes into a build's output: what the job knew.

The daemon never sees a job's environment, so the job writes its CI and git facts here. Only an
allow-list of fields is written, never the raw environment; the write is atomic (temp file,
fsync, rename, fsync of the directory).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sei_watch.errors import ParseError
from sei_watch.safeio import read_under

__all__ = ["MARKER_NAME", "MAX_MARKER_BYTES", "read_marker", "write_marker"]

MARKER_NAME = ".sei-watch.json"
MAX_MARKER_BYTES = 256 * 1024
VERSION = 1
_FACTS = frozenset(
    {
        "pipeline",
        "job",
        "build_number",
        "build_id",
        "build_url",
        "server_url",
        "branch",
        "target_branch",
        "commit",
        "pr",
        "pr_merge",
        "user",
        "trigger",
        "before",
        "tag",
        "stage",
        "attempt",
        "retry_count",
        "matrix",
        "job_index",
        "start",
        "result",
        "repo_url",
    }
)
_TOP = frozenset(
    {
        "version",
        "written_at",
        "vendor",
        "facts",
        "sources",
        "result",
        "start_time",
        "end_time",
        "params",
        "cd",
        "repo",
        "commits",
        "notes",
    }
)


def _clean(doc: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in doc.items() if k in _TOP}
    for key in ("facts", "sources"):
        table = out.get(key) or {}
        out[key] = {str(k): str(v) for k, v in table.items() if k in _FACTS and v is not None}
    out["params"] = {str(k): str(v) for k, v in (out.get("params") or {}).items() if v is not None}
    out["commits"] = [str(c) for c in out.get("commits") or []][:1000]
    return out


def write_marker(directory: Path, doc: dict[str, Any]) -> Path:
    """Write the marker atomically into `directory` and return its path."""
    data = json.dumps({"version": VERSION, **_clean(doc)}, indent=1, sort_keys=True).encode()
    if len(data) > MAX_MARKER_BYTES:
        raise ParseError(f"marker would be {len(data)} bytes, over {MAX_MARKER_BYTES}")
    directory.mkdir(parents=True, exist_ok=True)
    import tempfile  # noqa: PLC0415  (only `mark` writes one)

    fd, tmp = tempfile.mkstemp(prefix=".sei-watch.tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        target = directory / MARKER_NAME
        os.replace(tmp, target)
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def read_marker(root: Path) -> dict[str, Any] | None:
    """The marker of a build directory, cleaned to the allow-list; None if there is none."""
    path = root / MARKER_NAME
    if not os.path.lexists(path):
        return None
    data = read_under(root, path, max_bytes=MAX_MARKER_BYTES)
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise ParseError(f"{MARKER_NAME} is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # `[[[[...` 100k deep: the decoder recurses per level
        raise ParseError(f"{MARKER_NAME} is nested too deeply to be a marker") from exc
    if not isinstance(doc, dict):
        raise ParseError(f"{MARKER_NAME} is not a JSON object")
    return _clean(doc)
