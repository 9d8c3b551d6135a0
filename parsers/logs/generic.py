"""Any in-house log, described in the config instead of Python:

    [parsers.log-generic]
    globs = ["**/build.log"]
    [parsers.log-generic.options]
    step = '^(?P<ts>\\S+) ==> (?P<name>.+)$'        # a line that starts a stage
    time_format = "%Y-%m-%dT%H:%M:%S%z"             # how (?P<ts>...) is written (strptime)
    error = '^(?:ERROR|FATAL)\\b'                   # optional: lines that fail the stage
    result = '^BUILD (?P<result>\\w+)'              # optional: the build's result
    timestamp = '^(?P<ts>\\S+) '                   # optional: other lines that carry a time

Each step line closes the stage before it; the last runs to the last timestamp seen.

The patterns come from a config, so they run on RE2 (google-re2): time linear in the line
whatever the pattern, where Python's backtracking `re` spends minutes on `^(a+)+$`. RE2 has
no backreferences or lookaround; a pattern that needs them is refused with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Any

from sei_watch.plugins import ParseContext, ParseError
from sei_watch.records import Record

from ._scan import TS_SKIP, LogScan, clean_name
from ._spans import Spans

__all__ = ["GenericLog"]

_TS_SKIP = TS_SKIP.decode("ascii")


def _compile(pattern: str, key: str) -> Any:
    # Loaded when a config names patterns: RE2's library costs 3 MiB in every daemon else.
    import re2  # noqa: PLC0415

    options = re2.Options()
    options.log_errors = False  # RE2 would print to stderr, past our JSON logs
    try:
        return re2.compile(pattern.encode(), options)
    except re2.error as exc:
        raise ParseError(
            f"[parsers.log-generic.options] {key}: not a pattern RE2 accepts ({exc}); RE2 runs "
            "config patterns in linear time and has no backreferences or lookaround"
        ) from exc


def _prefixed(pattern: str) -> str:
    """A pattern anchored at the line's start also matches after a timestamp a collector put
    there (Jenkins' Timestamper, a runner's stamps: the one rule of `_scan.TS_SKIP`), so the
    same config reads the raw and the stamped log alike. A pattern that captures the time
    itself (`(?P<ts>`) owns the start of its line and is left as written."""
    if not pattern.startswith("^") or "(?P<ts" in pattern:
        return pattern
    return "^" + _TS_SKIP + pattern[1:]


def _name(key: bytes | str) -> str:
    return key.decode() if isinstance(key, bytes) else key


class GenericLog:
    """Any in-house log, by the RE2 patterns in `[parsers.log-generic.options]` (steps, times,
    errors, result); claims only the files its configured globs name."""

    name = "log-generic"

    def matches(self, path: PurePath) -> bool:
        return False  # only files the config's globs hand over

    def _regex(self, ctx: ParseContext, key: str) -> str | None:
        """The option's pattern, checked by compiling it on RE2 alone."""
        text = ctx.options.get(key)
        if text is None:
            return None
        _compile(str(text), key)
        return str(text)

    def _ts(self, raw: bytes | None, fmt: str | None) -> int | None:
        if raw is None or not fmt:
            return None
        try:
            when = datetime.strptime(raw.decode("ascii", "replace"), fmt)
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return int(when.timestamp() * 1000)

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        step = self._regex(ctx, "step")
        if step is None or "(?P<name>" not in step:
            raise ParseError("[parsers.log-generic.options] step must be a regex with (?P<name>)")
        parts = [f"(?P<step>{_prefixed(step)})"]
        for key in ("error", "result", "timestamp"):
            pattern = self._regex(ctx, key)
            if pattern is not None:
                if key == "timestamp":  # its own name for the time group, not to clash
                    pattern = pattern.replace("(?P<ts>", "(?P<ts_only>")
                parts.append(f"(?P<{key}_line>{_prefixed(pattern)})")
        combined = _compile("(?m)" + "|".join(parts), "step")
        fmt = ctx.options.get("time_format")
        spans, result = Spans(source=ctx.rel(path)), None
        with ctx.open(path) as fh:
            for hit in LogScan(combined).hits(fh):
                g = {_name(k): v for k, v in hit.match.groupdict().items()}
                ts = self._ts(g.get("ts") or g.get("ts_only"), str(fmt) if fmt else None)
                if g.get("step") is not None:
                    if spans.stack:
                        spans.close(None, ts, hit.offset)
                    spans.open(clean_name(g["name"]), ts, hit.offset)
                elif g.get("error_line") is not None:
                    spans.fail()
                elif g.get("result") is not None:
                    result = g["result"].decode("ascii", "replace")
                else:
                    spans.note_time(ts)
            if spans.stack:
                spans.close(None, spans.last_time, 0)
            spans.finish(result)
            spans.number_lines(fh)
        yield from spans.records(result=result, start=None, end=None)
