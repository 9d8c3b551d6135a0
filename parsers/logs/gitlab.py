"""GitLab CI job logs: `section_start:<unix>:<name>[opts]\\r\\e[0K<header>` ... `section_end`.

Outer sections are stages, inner ones their steps, named by the section name (stable across
runs; the header goes into the description). With the runner's per-line RFC 3339 timestamps,
times have milliseconds. The result is `Job succeeded` or `ERROR: Job failed`.

Logs that lost their control characters (a copy through a web page) run the section name
straight into the header; the matching `section_end` then tells where the name stops.
"""

from __future__ import annotations

import re

from ._base import LogParser
from ._scan import LogScan, clean_name, iso_ms
from ._spans import Spans

__all__ = ["GitLabLog"]


class GitLabLog(LogParser):
    """GitLab job logs: a stage per `section_start`/`section_end`, nested sections as steps, timed
    by the runner's line stamps; the job's result."""

    name = "log-gitlab"
    marker = re.compile(rb"section_start:\d{9,}:[A-Za-z0-9_.-]+")
    literal = b"section_"  # markers are sparse: found by RE2, then read by `pattern`
    pattern = re.compile(
        rb"section_(?:start:(\d{1,12}):((?:(?!section_)[A-Za-z0-9_.-]){1,256})(\[[^\]\n]{0,256}\])?"
        rb"(\r?\x1b\[0K)?([^\r\n]{0,512}?)(?=section_|\r|\n|\Z)"
        rb"|end:(\d{1,12}):((?:(?!section_)[A-Za-z0-9_.-]){1,256}))"
    )

    def on_hit(self, m: re.Match[bytes], line: int, spans: Spans) -> None:
        unix = int(m.group(1) or m.group(6))
        stamp = self.line_time(m)
        ts = (iso_ms(stamp) if stamp else None) or unix * 1000
        if self.start is None:
            self.start = ts
        self.end = max(self.end or ts, ts)
        if m.group(1):
            key = m.group(2).decode()
            spans.open(key, ts, line, key=key)
            span = spans.stack[-1]
            if m.group(5):
                span.header = clean_name(m.group(5))
            span.delimited = m.group(4) is not None
            return
        raw = m.group(7).decode()
        key = raw
        if all(s.key != raw for s in spans.stack):
            # No delimiter after the name: the longest open section name it starts with.
            key = max((s.key for s in spans.stack if raw.startswith(s.key)), key=len, default=raw)
            for span in reversed(spans.stack):  # ...or an open one whose name ran on
                if not span.delimited and span.key.startswith(raw) and span.key != raw:
                    span.header = f"{clean_name(span.key[len(raw) :].encode())} {span.header}"
                    span.key = span.name = key = raw
                    break
        spans.close(key, ts, line)

    def at_end(self, scan: LogScan, spans: Spans) -> None:
        tail = scan.last_chunk_tail
        if b"Job succeeded" in tail:
            self.result = "SUCCESS"
        elif b"ERROR: Job failed" in tail:
            self.result = "ABORTED" if b"canceled" in tail.lower() else "FAILURE"
