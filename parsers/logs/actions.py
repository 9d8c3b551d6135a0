"""GitHub Actions and Azure Pipelines logs: every line starts with an ISO time (7 digits of
fraction); GitHub marks groups with `##[group]`/`##[endgroup]`, Azure marks steps with
`##[section]Starting: X`/`##[section]Finishing: X`; both mark errors with `##[error]`.

A GitHub run-log folder has one file per step, `N_step name.txt`: each file is a stage (in the
order N gives), and the groups inside it are its steps.
"""

from __future__ import annotations

import re
from pathlib import Path

from ._base import LogParser
from ._scan import LogScan, clean_name, iso_ms
from ._spans import Spans

__all__ = ["AzureLog", "GitHubLog"]

_TS = rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,7}Z) "
_STEP_FILE = re.compile(r"^(\d+)_(.+)\.txt$")
_LAST_TS = re.compile(rb"(?m)^" + _TS)


def _first_last(scan: LogScan) -> tuple[int | None, int | None]:
    first = _LAST_TS.search(scan.first_chunk_head)
    lasts = _LAST_TS.findall(scan.last_chunk_tail)
    return (iso_ms(first.group(1)) if first else None), (iso_ms(lasts[-1]) if lasts else None)


class GitHubLog(LogParser):
    name = "log-github"
    marker = re.compile(rb"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z (?!##\[section\])")
    pattern = re.compile(
        rb"(?m)^" + _TS + rb"(?:\xef\xbb\xbf)?##\[(group|endgroup|error)\]"
        rb"([^\r\n]{0,512})"
    )

    def sniff(self, head: bytes) -> bool:
        return bool(self.marker.search(head)) and b"##[section]Starting:" not in head

    def begin(self, path: Path, spans: Spans) -> None:
        step = _STEP_FILE.match(path.name)
        self._step = step is not None
        if step:  # the run-log folder: this file is one step of the job, a stage here
            spans.open(step.group(2), None, 1, key="step-file")

    def on_hit(self, m: re.Match[bytes], line: int, spans: Spans) -> None:
        ts = iso_ms(m.group(1))
        kind = m.group(2)
        if kind == b"group":
            spans.open(clean_name(m.group(3)) or "group", ts, line, key="group")
        elif kind == b"endgroup":
            if any(s.key == "group" for s in spans.stack):
                spans.close("group", ts, line)
        else:
            spans.fail()
            self.result = "FAILURE"

    def at_end(self, scan: LogScan, spans: Spans) -> None:
        self.start, self.end = _first_last(scan)
        if self._step and spans.top:
            spans.top[0].start = self.start
            spans.note_time(self.end)
            spans.close("step-file", self.end, 0)
        if self.result is None and spans.top:
            self.result = "SUCCESS"


class AzureLog(LogParser):
    name = "log-azure"
    marker = re.compile(rb"##\[section\]Starting: ")
    pattern = re.compile(
        rb"(?m)^(?:" + _TS + rb")?(?:\xef\xbb\xbf)?##\[(section|error)\]"
        rb"(?:(Starting|Finishing): )?([^\r\n]{0,512})"
    )

    def on_hit(self, m: re.Match[bytes], line: int, spans: Spans) -> None:
        ts = iso_ms(m.group(1)) if m.group(1) else None
        if m.group(2) == b"error":
            spans.fail()
            self.result = "FAILURE"
            return
        name = clean_name(m.group(4))
        if m.group(3) == b"Starting":
            spans.open(name, ts, line)
        elif m.group(3) == b"Finishing":
            spans.close(name if any(s.key == name for s in spans.stack) else None, ts, line)

    def at_end(self, scan: LogScan, spans: Spans) -> None:
        self.start, self.end = _first_last(scan)
        spans.note_time(self.end)
        if self.result is None and spans.top:
            self.result = "SUCCESS"
