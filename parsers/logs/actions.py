"""GitHub Actions and Azure Pipelines logs: every line starts with an ISO time (7 digits of
fraction); Azure marks steps with `##[section]Starting: X`/`##[section]Finishing: X`; both mark
errors with `##[error]`.

In a GitHub job log, `##[group]Run make install` ... `##[endgroup]` wraps only the step's
header (its inputs and env): the step's output follows the `##[endgroup]`, and the step runs
until the next `##[group]Run ...`, the first `Post job cleanup.` or `Cleaning up orphan
processes`. So a step is a stage from its `Run` group to the next boundary; every other group
(the runner's "Operating System", "Runner Image", checkout's inner groups) is a detail, never
a stage. What comes before the first step is "Set up job", and the last stage ends at the last
timestamped line. `gh run view --log` prefixes every line with `job<TAB>step<TAB>`: then the
step column names the stage.

A GitHub run-log folder has one file per step, `N_step name.txt`: each file is a stage (in the
order N gives), from its first line to its last.
"""

from __future__ import annotations

import re
from pathlib import Path

from ._base import LogParser
from ._scan import LogScan, clean_name, iso_ms
from ._spans import Spans

__all__ = ["AzureLog", "GitHubLog"]

_TS = rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,7}Z) "
_GH_PREFIX = rb"(?:[^\t\r\n]{0,256}\t([^\t\r\n]{0,256})\t)?"
_STEP_FILE = re.compile(r"^(\d+)_(.+)\.txt$")
_LAST_TS = re.compile(rb"(?m)^" + _GH_PREFIX + _TS)
_STEP = "gh-step"


def _first_last(scan: LogScan) -> tuple[int | None, int | None]:
    first = _LAST_TS.search(scan.first_chunk_head)
    lasts = _LAST_TS.findall(scan.last_chunk_tail)
    return (
        iso_ms(first.group(2)) if first else None,
        iso_ms(lasts[-1][1]) if lasts else None,
    )


class GitHubLog(LogParser):
    """GitHub Actions job logs: a stage per step, from its `##[group]Run ...` to the next step or
    the job's clean-up; `gh run view --log` prefixes and run-log folders too."""

    name = "log-github"
    marker = re.compile(
        rb"(?m)^" + _GH_PREFIX + rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z (?!##\[section\])"
    )
    pattern = re.compile(
        rb"(?m)^" + _GH_PREFIX + _TS + rb"(?:\xef\xbb\xbf)?"
        rb"(?:##\[(group|error)\]([^\r\n]{0,512})"
        rb"|(Post job cleanup\.|Cleaning up orphan processes))"
    )

    def sniff(self, head: bytes) -> bool:
        return bool(self.marker.search(head)) and b"##[section]Starting:" not in head

    def begin(self, path: Path, spans: Spans) -> None:
        step = _STEP_FILE.match(path.name)
        self._step_file = step is not None
        self._steps = 0
        if step:  # the run-log folder: this file is one step of the job, a stage here
            spans.open(step.group(2), None, 1, key="step-file")

    def on_hit(self, m: re.Match[bytes], line: int, spans: Spans) -> None:
        ts = iso_ms(m.group(2))
        kind, text, boundary = m.group(3), m.group(4), m.group(5)
        if kind == b"error":
            spans.fail()
            self.result = "FAILURE"
            return
        if self._step_file:
            return  # the file is the step; its groups are its header and details
        if boundary is not None:
            name = "Post job cleanup" if boundary.startswith(b"Post") else "Complete job"
        elif kind == b"group" and text.startswith(b"Run "):
            name = clean_name(text)
        else:
            return  # a detail group, not a step
        if m.group(1):  # gh run view --log: the step column is the step's own name
            name = clean_name(m.group(1)) or name
        if any(s.key == _STEP for s in spans.stack):
            spans.close(_STEP, ts, line)
        spans.open(name, ts, line, key=_STEP)
        self._steps += 1

    def at_end(self, scan: LogScan, spans: Spans) -> None:
        self.start, self.end = _first_last(scan)
        spans.note_time(self.end)
        if self._step_file and spans.top:
            spans.top[0].start = self.start
            spans.close("step-file", self.end, 0)
        elif spans.stack:
            spans.close(_STEP, self.end, 0)
        if not self._step_file and spans.top and self.start is not None:
            first = spans.top[0].start
            if first is not None and first > self.start:  # the runner's set-up before step 1
                spans.add("Set up job", self.start, first, "SUCCESS")
                spans.top.insert(0, spans.top.pop())
        if self.result is None and spans.top:
            self.result = "SUCCESS"


class AzureLog(LogParser):
    """Azure Pipelines logs: a stage per `##[section]Starting:` ... `Finishing:`."""

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
