"""Build tools' own logs: Maven (Reactor Summary, mojo executions) and Gradle (tasks, the
`--profile` report). Where a log has only durations, stages are laid one after another from
the build's start."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any

from sei_watch.plugins import ParseContext
from sei_watch.records import Record, Stage, Step

from ._base import LogParser
from ._scan import TS_PREFIX, TS_SKIP, LogScan, clean_name, iso_ms
from ._spans import Spans

__all__ = ["GradleLog", "GradleProfile", "MavenLog", "parse_duration"]

_DUR = re.compile(
    r"(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s)?"
    r"\s*(?:(\d+)ms)?"
)


def parse_duration(text: str) -> int:
    """ms from Maven's `0.912 s`, `01:02 min`, `01:02 h` and Gradle's `1m 2s`, `12s`, `1.5s`."""
    text = text.strip()
    unit = text.rsplit(" ", 1)[-1] if " " in text else ""
    value = text[: -len(unit)].strip() if unit in ("s", "min", "h") else text
    if unit == "" and value.endswith("s") and ":" in value:  # Maven 2: `1:06.449s`
        value, unit = value[:-1], "s"
    if ":" in value:
        a, b = value.split(":", 1)
        if unit == "h":
            return (int(a) * 3600 + int(float(b)) * 60) * 1000
        return int((int(a) * 60 + float(b)) * 1000)
    if unit in ("s", "min", "h"):
        factor = {"s": 1000, "min": 60_000, "h": 3_600_000}[unit]
        return int(float(value) * factor)
    m = _DUR.fullmatch(text.replace(" ", ""))
    if not m or not any(m.groups()):
        return 0
    h, mi, s, ms = (float(g) if g else 0.0 for g in m.groups())
    return int(((h * 60 + mi) * 60 + s) * 1000 + ms)


_VERSION = re.compile(r" \d[\w.+-]*$")
_CI_MARKERS = re.compile(
    rb"section_start:\d|##\[(?:group|section)\]|\[Pipeline\] |##teamcity\[|"
    rb"\x1b_bk;t="
)


class MavenLog(LogParser):
    """Maven console logs: a stage per module (the Reactor Summary, else the `Building` headers),
    mojo executions as steps; timestamp prefixes stripped."""

    name = "log-maven"
    marker = re.compile(rb"\[INFO\] (?:Scanning for projects|Building |---|BUILD )")
    # A timestamp prefix (TS_PREFIX) is group 1. Maven 2's Reactor Summary writes `[2.730s]`
    # and `[1:06.449s]`, and a module without a name (`Unnamed - g:a:jar:v`) with no dots.
    pattern = re.compile(
        rb"(?m)^" + TS_PREFIX + rb"\[(?:INFO|ERROR)\] (?:"
        rb"(.{1,300}?)(?: \.{2,}[ .]*| {2,})(SUCCESS|FAILURE|SKIPPED)"
        rb"(?: \[ *([\d.:]+ ?(?:s|min|h))\])?"
        rb"|--- ([\w.-]+:[\w.-]+:[\w.-]+) (?:\([^)]*\) )?@ ([^\s]+) ---"
        rb"|BUILD (SUCCESS|FAILURE)"
        rb"|Total time: +([\d.:]+ (?:s|min|h))"
        rb"|Finished at: ([^\r\n]+)"
        rb"|Building ([^\r\n:]+?)(?: +\[\d+/\d+\])?\r?$)"  # not `Building jar: x.jar`
    )

    def sniff(self, head: bytes) -> bool:
        # A CI system's log that contains a Maven build is that system's to read.
        return bool(self.marker.search(head)) and not _CI_MARKERS.search(head)

    def begin(self, path: Path, spans: Spans) -> None:
        self.modules: list[tuple[str, str, int]] = []
        self.mojos: list[tuple[str, str, int | None]] = []  # (module, goal, ts)
        self.total: int | None = None
        self.finished: int | None = None
        self.headers: list[tuple[str, int | None]] = []  # `Building x 1.0`, in order
        self.last_ts: int | None = None

    def on_hit(self, m: re.Match[bytes], line: int, spans: Spans) -> None:
        ts = iso_ms(m.group(1)) if m.group(1) else None
        if ts is not None:
            self.last_ts = ts
            self.start = ts if self.start is None else self.start
        if m.group(2):
            took = parse_duration(m.group(4).decode()) if m.group(4) else 0
            self.modules.append((clean_name(m.group(2)), m.group(3).decode(), took))
        elif m.group(5):
            self.mojos.append((m.group(6).decode(), m.group(5).decode(), ts))
        elif m.group(7):
            self.result = m.group(7).decode()
        elif m.group(8):
            self.total = parse_duration(m.group(8).decode())
        elif m.group(9):
            self.finished = iso_ms(m.group(9).strip())
        elif m.group(10):
            # `Building cart 2.1.0`: the module is `cart`, as the Reactor Summary names it.
            self.headers.append((_VERSION.sub("", clean_name(m.group(10))), ts))

    def at_end(self, scan: LogScan, spans: Spans) -> None:
        # `Finished at` has whole seconds; a timestamped line after it is more exact.
        stamps = (self.finished, self.last_ts, self.tail_ms)
        end = max((t for t in stamps if t is not None), default=None)
        start = self.start
        if start is None and end is not None and self.total is not None:
            start = end - self.total
        self.start, self.end = start, end
        if self.modules:
            self._from_summary(spans, start)
        else:
            self._from_headers(spans, start, end)

    def _from_summary(self, spans: Spans, start: int | None) -> None:
        """The Reactor Summary's modules, laid end to end from the build's start."""
        cursor = start
        for name, result, duration in self.modules:
            span = spans.add(
                name,
                cursor,
                None if cursor is None else cursor + duration,
                result.replace("SKIPPED", "NOT_BUILT"),
            )
            if cursor is None:
                span.flags.append(f"{duration} ms")
                span.fixed = duration
            cursor = None if cursor is None else cursor + duration
            single = len(self.modules) == 1
            mojos = [(g, ts) for m, g, ts in self.mojos if single or m in (name, name.split()[0])]
            self._steps(spans, span, mojos)

    def _from_headers(self, spans: Spans, start: int | None, end: int | None) -> None:
        """No Reactor Summary (one module, or a build cut short): a module per `Building x`
        header, else per `@ module` of the mojo headers; each runs to the next one."""
        order: list[tuple[str, int | None]] = list(self.headers)
        if not order:
            for module, _, ts in self.mojos:
                if module not in (n for n, _ in order):
                    order.append((module, ts))
        if not order:
            return
        ends = [ts for _, ts in order[1:]] + [end]
        single = len(order) == 1
        for i, ((name, ts), until) in enumerate(zip(order, ends, strict=True)):
            begin = ts if ts is not None else (start if i == 0 else None)
            span = spans.add(name, begin, until if begin is not None else None, "SUCCESS")
            if single and begin is None and self.total is not None:
                span.fixed = self.total
            short = name.split()[0]
            mojos = [(g, t) for m, g, t in self.mojos if single or m in (name, short)]
            self._steps(spans, span, mojos)
        if order and self.result == "FAILURE":
            spans.top[-1].result = "FAILURE"

    @staticmethod
    def _steps(spans: Spans, parent: Any, mojos: list[tuple[str, int | None]]) -> None:
        """A step per mojo execution, each until the next one (or its module's end)."""
        if not mojos:
            return
        ends: list[int | None] = [ts for _, ts in mojos[1:]] + [parent.end]
        for (goal, ts), until in zip(mojos, ends, strict=True):
            spans.add(goal, ts, until if ts is not None else None, "SUCCESS", parent=parent)


class GradleLog(LogParser):
    """Gradle console logs: a step per `> Task` line with its outcome; timestamps stripped."""

    name = "log-gradle"

    def sniff(self, head: bytes) -> bool:
        return bool(self.marker.search(head)) and not _CI_MARKERS.search(head)

    marker = re.compile(rb"(?m)^" + TS_SKIP + rb"(?:> Task :|BUILD (?:SUCCESSFUL|FAILED) in )")
    pattern = re.compile(
        rb"(?m)^" + TS_SKIP + rb"(?:> Task (:[^\s]+)(?: (FAILED|UP-TO-DATE|SKIPPED|NO-SOURCE|"
        rb"FROM-CACHE))?\r?$|BUILD (SUCCESSFUL|FAILED) in ([^\r\n]+))"
    )

    def begin(self, path: Path, spans: Spans) -> None:
        self.tasks: list[tuple[str, str]] = []

    def on_hit(self, m: re.Match[bytes], line: int, spans: Spans) -> None:
        if m.group(1):
            outcome = (m.group(2) or b"").decode()
            self.tasks.append((m.group(1).decode(), outcome))
        else:
            self.result = "SUCCESS" if m.group(3) == b"SUCCESSFUL" else "FAILURE"

    def at_end(self, scan: LogScan, spans: Spans) -> None:
        by_project: dict[str, list[tuple[str, str]]] = {}
        for task, outcome in self.tasks:
            project = task.rsplit(":", 1)[0] or ":"
            by_project.setdefault(project, []).append((task, outcome))
        for project, tasks in by_project.items():
            stage = spans.add(f"gradle {project}", None, None, "SUCCESS")
            for task, outcome in tasks:
                result = {
                    "FAILED": "FAILURE",
                    "SKIPPED": "NOT_BUILT",
                    "NO-SOURCE": "NOT_BUILT",
                }.get(outcome, "SUCCESS")
                spans.add(
                    task + (f" {outcome}" if outcome else ""), None, None, result, parent=stage
                )


class GradleProfile:
    """`gradle --profile` HTML (build/reports/profile/*.html): per-task durations."""

    name = "gradle-profile"
    _ROW = re.compile(
        rb"<tr>\s*<td>(:[^<]{1,300})</td>\s*<td class=\"numeric\">([^<]{1,40})</td>"
        rb"\s*<td>([^<]{0,100})</td>"
    )

    def matches(self, path: PurePath) -> bool:
        return path.suffix == ".html" and len(path.parts) > 1 and path.parts[-2] == "profile"

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        data = ctx.read_bytes(path, limit=64 << 20)
        rows = self._ROW.findall(data)
        by_project: dict[str, list[Step]] = {}
        for task, dur, state in rows:
            name = task.decode()
            outcome = state.decode().strip()
            result = "FAILURE" if "FAILED" in outcome.upper() else "SUCCESS"
            by_project.setdefault(name.rsplit(":", 1)[0] or ":", []).append(
                Step(
                    name=name,
                    duration_ms=parse_duration(dur.decode()),
                    result=result,
                    description=outcome,
                    source=ctx.rel(path),
                )
            )
        if not rows:
            yield ctx.problem(path, "no task rows found in this Gradle profile report")
        for project, steps in by_project.items():
            yield Stage(
                name=f"gradle {project}",
                duration_ms=sum(s.duration_ms for s in steps),
                result="FAILURE" if any(s.result == "FAILURE" for s in steps) else "SUCCESS",
                steps=tuple(steps),
                source=ctx.rel(path),
            )
