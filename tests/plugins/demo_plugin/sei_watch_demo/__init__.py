"""A third-party parser: `build-facts.ini` lines `key = value` state the build's facts."""

from __future__ import annotations

from pathlib import Path, PurePath

from sei_watch.plugins import ParseContext, ParseError
from sei_watch.records import BuildFacts


class FactsParser:
    """Reads result, start and end of a build from a tiny key = value file."""

    name = "demo-facts"

    def matches(self, path: PurePath) -> bool:
        return path.name == "build-facts.ini"

    def parse(self, path: Path, ctx: ParseContext) -> list[BuildFacts]:
        values = {}
        for no, line in enumerate(ctx.read_bytes(path).decode().splitlines(), 1):
            key, sep, value = line.partition("=")
            if not sep:
                raise ParseError(f"expected key = value, got {line!r}", line=no)
            values[key.strip()] = value.strip()
        return [
            BuildFacts(
                result=values.get("result"),
                start_ms=int(values["start"]) if "start" in values else None,
                end_ms=int(values["end"]) if "end" in values else None,
                build_number=values.get("number"),
                source=ctx.rel(path),
            )
        ]
