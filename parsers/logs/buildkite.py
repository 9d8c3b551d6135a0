"""Buildkite job logs: `--- name`, `+++ name` (expanded), `~~~ name` (collapsed) start a group
that runs to the next; `^^^ +++` only expands the previous one. Times come from the agent's
`\\e_bk;t=<ms>\\a` line prefixes."""

from __future__ import annotations

import re

from ._base import LogParser
from ._scan import LogScan, clean_name
from ._spans import Spans

__all__ = ["BuildkiteLog"]

_BK = re.compile(rb"\x1b_bk;t=(\d{10,16})\x07")


class BuildkiteLog(LogParser):
    """Buildkite logs: a stage per `---`, `+++` or `~~~` group, timed by the `\\e_bk;t=` stamps."""

    name = "log-buildkite"
    marker = re.compile(rb"(?m)\x1b_bk;t=\d+\x07|^(?:---|\+\+\+|~~~) \S")
    pattern = re.compile(
        rb"(?m)^(?:\x1b_bk;t=(\d{10,16})\x07)?(---|\+\+\+|~~~|\^\^\^) "
        rb"([^\r\n]{0,512})"
    )

    def sniff(self, head: bytes) -> bool:
        return bool(_BK.search(head)) or len(re.findall(rb"(?m)^(?:---|\+\+\+|~~~) \S", head)) >= 2

    def on_hit(self, m: re.Match[bytes], line: int, spans: Spans) -> None:
        ts = int(m.group(1)) if m.group(1) else None
        if ts is not None:
            self.start = ts if self.start is None else self.start
            self.end = ts
        if m.group(2) == b"^^^":
            return
        if spans.stack:
            spans.close(None, ts, line)
        spans.open(clean_name(m.group(3)) or "group", ts, line)

    def at_end(self, scan: LogScan, spans: Spans) -> None:
        stamps = _BK.findall(scan.last_chunk_tail)
        if stamps:
            self.end = int(stamps[-1])
            spans.note_time(self.end)
        if spans.stack:
            spans.close(None, self.end, 0)
        lowered = scan.last_chunk_tail.lower()
        if b"exited with status" in lowered and b"exited with status 0" not in lowered:
            self.result = "FAILURE"
