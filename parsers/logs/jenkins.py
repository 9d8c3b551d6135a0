"""Jenkins Pipeline console logs (`consoleText`, or `log` in a build directory).

`[Pipeline] stage` then `[Pipeline] { (Name)` opens a stage, `[Pipeline] // stage` closes it;
Timestamper prefixes (`[2025-01-01T10:00:00.123Z] ` or elapsed `00:00:01.234 `) give times;
`Finished: RESULT` gives the result; `ERROR:` lines fail the stages they are printed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from sei_watch.plugins import ParseContext
from sei_watch.records import Record

from ._base import LogParser
from ._scan import LogScan, clean_name, iso_ms
from ._spans import Spans

__all__ = ["JenkinsLog"]

_FLOW_DIRS = ("workflow", "workflow-completed")
_ELAPSED = re.compile(rb"(\d+):(\d\d):(\d\d)\.(\d{3})")
_FIRST_TS = re.compile(rb"(?m)^\[(\d{4}-\d\d-\d\dT[^\]]{8,30})\] ")


class JenkinsLog(LogParser):
    """Jenkins Pipeline console logs: a stage per `[Pipeline] { (Stage)`, timed by Timestamper
    prefixes; skipped stages; `Finished: RESULT`."""

    name = "log-jenkins"
    marker = re.compile(rb"\[Pipeline\] |^Started by |\nStarted by ")
    pattern = re.compile(
        rb"(?m)^(?:\[(\d{4}-\d\d-\d\dT[^\]]{8,30})\] |(\d+:\d\d:\d\d\.\d{3}) )?"
        rb"(?:\[Pipeline\] (stage|// stage|\{ \(([^\r\n]{0,512})\))|(ERROR: )|"
        rb"Finished: ([A-Z_]+)\s*$|Stage \"([^\"]{0,512})\" skipped)"
    )

    def sniff(self, head: bytes) -> bool:
        return b"[Pipeline] " in head

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        if path.name == "log" and any((path.parent / d).is_dir() for d in _FLOW_DIRS):
            return iter(())  # the build's flow nodes are the better source (jenkins-build)
        return super().parse(path, ctx)

    def on_hit(self, m: re.Match[bytes], line: int, spans: Spans) -> None:
        ts = self._ts(m)
        if ts is not None:
            self.start = ts if self.start is None else self.start
            self.end = ts
        marker = m.group(3)
        if marker == b"stage":
            self._pending = True
        elif marker is not None and marker.startswith(b"{") and getattr(self, "_pending", False):
            self._pending = False
            spans.open(clean_name(m.group(4)), ts, line, key="stage")
        elif marker == b"// stage":
            if any(s.key == "stage" for s in spans.stack):
                spans.close("stage", ts, line)
        elif m.group(5):
            spans.fail()
        elif m.group(6):
            self.result = m.group(6).decode()
        elif m.group(7):
            name = clean_name(m.group(7))
            if spans.stack and spans.stack[-1].name == name:
                spans.stack[-1].result = "NOT_BUILT"
            else:
                spans.add(name, ts, ts, "NOT_BUILT")

    def _ts(self, m: re.Match[bytes]) -> int | None:
        if m.group(1):
            return iso_ms(m.group(1))
        if m.group(2):
            e = _ELAPSED.match(m.group(2))
            if e:  # elapsed time since the build started: relative ms, no date
                h, mi, s, ms = (int(x) for x in e.groups())
                return ((h * 60 + mi) * 60 + s) * 1000 + ms
        return None

    def at_end(self, scan: LogScan, spans: Spans) -> None:
        first = _FIRST_TS.search(scan.first_chunk_head)
        if first and (ms := iso_ms(first.group(1))) is not None:
            self.start = min(ms, self.start or ms)
        if self.result is None:
            found = re.search(rb"Finished: ([A-Z_]+)\s*$", scan.last_chunk_tail)
            self.result = found.group(1).decode() if found else None
        if self.start is not None and self.start < 10**11:  # elapsed-only: no absolute start
            self.start = self.end = None
