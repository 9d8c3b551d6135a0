"""The steps `sei-watch step` timed in the job (`.sei-watch-steps.jsonl`): top-level steps
become stages, the steps run inside one become its steps.

Each line is one finished step, appended when it ended: an inner step's line comes before
its parent's. A line that is not a step is a problem on that line; the others still count.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any

from sei_watch.plugins import ParseContext, ParseError
from sei_watch.records import Record, Stage, Step

from ._json import decode_json

__all__ = ["StepsFile"]

NAME = ".sei-watch-steps.jsonl"
MAX_BYTES = 4 << 20  # ~20,000 steps
_RESULTS = ("SUCCESS", "FAILURE", "ABORTED")


def _step(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise ParseError("not a step object")
    name, start, took = doc.get("name"), doc.get("start_ms"), doc.get("duration_ms")
    if not isinstance(name, str) or not name.strip():
        raise ParseError("a step needs a name")
    for key, value in (("start_ms", start), ("duration_ms", took)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ParseError(f"{key} must be a whole number of ms")
    if doc.get("result") not in _RESULTS:
        raise ParseError(f"result must be one of {', '.join(_RESULTS)}")
    return doc


class StepsFile:
    """What `sei-watch step` recorded, as stages and steps."""

    name = "sei-steps"

    def matches(self, path: PurePath) -> bool:
        return path.name == NAME

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        data = ctx.read_bytes(path, limit=MAX_BYTES)
        steps: list[dict[str, Any]] = []
        for number, raw in enumerate(data.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                steps.append(_step(decode_json(raw)))
            except ParseError as exc:
                yield ctx.problem(path, f"line {number}: {exc.reason}", line=number)
        by_id = {str(s.get("id")): s for s in steps}

        def top(step: dict[str, Any]) -> dict[str, Any]:
            seen: set[str] = set()
            while (parent := step.get("parent")) and str(parent) in by_id:
                if parent in seen:  # a cycle a hand-written file could state
                    break
                seen.add(str(parent))
                step = by_id[str(parent)]
            return step

        inner: dict[str, list[Step]] = {}
        for s in steps:
            root = top(s)
            if root is not s:
                inner.setdefault(str(root.get("id")), []).append(
                    Step(
                        name=s["name"],
                        duration_ms=s["duration_ms"],
                        result=s["result"],
                        start_ms=s["start_ms"],
                        source=ctx.rel(path),
                    )
                )
        for s in sorted((s for s in steps if top(s) is s), key=lambda s: s["start_ms"]):
            children = sorted(inner.get(str(s.get("id")), []), key=lambda c: c.start_ms or 0)
            yield Stage(
                name=s["name"],
                duration_ms=s["duration_ms"],
                result=s["result"],
                start_ms=s["start_ms"],
                source=ctx.rel(path),
                steps=tuple(children),
            )
