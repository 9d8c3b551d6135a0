"""Ninja's `.ninja_log` (v5 and v6): start and end (ms from the build's start) per target.

Targets are grouped into stages by their top directory (or by the `group` option, a regex
whose first group names the stage); each stage keeps its 20 longest targets as steps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path, PurePath

from sei_watch.plugins import ParseContext, ParseError
from sei_watch.records import Record, Stage, Step

__all__ = ["NinjaLog"]

_HEADER = re.compile(rb"# ninja log v(\d+)")
_ROW = re.compile(rb"(?m)^(\d+)\t(\d+)\t\d+\t([^\t\r\n]+)\t[0-9a-f]*\r?$")
STEPS_PER_STAGE = 20


class NinjaLog:
    """`.ninja_log` (v5/v6): targets grouped into a stage per top directory, with their times."""

    name = "log-ninja"

    def matches(self, path: PurePath) -> bool:
        return path.name == ".ninja_log"

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        data = ctx.read_bytes(path, limit=512 << 20)
        header = _HEADER.match(data)
        if not header:
            raise ParseError("not a ninja log: no '# ninja log vN' header", line=1)
        if header.group(1) not in (b"5", b"6"):
            yield ctx.problem(path, f"ninja log v{header.group(1).decode()}: read as v5", line=1)
        group = re.compile(str(ctx.options.get("group", r"^([^/]+)/")))
        latest: dict[str, tuple[int, int]] = {}
        for start, end, target in _ROW.findall(data):  # a rebuilt target: its last entry wins
            latest[target.decode("utf-8", "replace")] = (int(start), int(end))
        stages: dict[str, list[tuple[str, int, int]]] = {}
        for target, (start, end) in latest.items():
            m = group.search(target)
            stages.setdefault(m.group(1) if m else "(top)", []).append((target, start, end))
        for name, rows in sorted(stages.items(), key=lambda kv: min(r[1] for r in kv[1])):
            first, last = min(r[1] for r in rows), max(r[2] for r in rows)
            longest = sorted(rows, key=lambda r: r[2] - r[1], reverse=True)[:STEPS_PER_STAGE]
            yield Stage(
                name=name,
                duration_ms=max(last - first, 0),
                source=ctx.rel(path),
                description=f"{len(rows)} targets; from {first} ms to {last} ms into the build",
                steps=tuple(
                    Step(name=t, duration_ms=max(e - s, 0), source=ctx.rel(path))
                    for t, s, e in longest
                ),
            )
