"""The daemon keeps the last N reported builds' timelines in the state directory, so that
`sei-watch timeline last` can show the most recent one."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

__all__ = ["TimelineStore"]

_KEEP_FIELDS = ("job_full_name", "build_number", "result", "start_time", "duration", "job_run")


class TimelineStore:
    def __init__(self, directory: Path, keep: int) -> None:
        self.directory = directory
        self.keep = keep

    def save(self, payload: dict[str, Any]) -> Path | None:
        if self.keep <= 0:
            return None
        self.directory.mkdir(parents=True, exist_ok=True)
        safe = re.sub(
            r"[^A-Za-z0-9_.-]+",
            "_",
            f"{payload.get('job_full_name')}-{payload.get('build_number')}",
        )[:120]
        path = self.directory / f"{time.time_ns()}-{safe}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({k: payload[k] for k in _KEEP_FIELDS if k in payload}))
        os.replace(tmp, path)
        for old in self.files()[: -self.keep]:
            old.unlink(missing_ok=True)
        return path

    def files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.json"), key=lambda p: p.name)

    def last(self) -> dict[str, Any] | None:
        files = self.files()
        return json.loads(files[-1].read_text()) if files else None
