"""Open/close markers into stages (outermost) and steps (everything inside), with the rules the
README gives: errors fail the span they are printed in, time never runs backwards, a log cut off
leaves its open spans closed at the last time seen and flagged."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import BinaryIO

from sei_watch.records import BuildFacts, ParseProblem, Record, Stage, Step

from ._scan import LogScan

__all__ = ["Spans"]


@dataclass(slots=True)
class _Span:
    name: str
    start: int | None
    line: int
    key: str = ""
    header: str = ""
    delimited: bool = True
    fixed: int | None = None  # a duration the log states without times
    end: int | None = None
    result: str = "SUCCESS"
    children: list[_Span] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    def duration(self) -> int:
        if self.start is None or self.end is None:
            return self.fixed or 0
        return max(self.end - self.start, 0)


@dataclass(slots=True)
class Spans:
    """Builds the span tree as markers stream past."""

    source: str
    top: list[_Span] = field(default_factory=list)
    stack: list[_Span] = field(default_factory=list)
    problems: list[ParseProblem] = field(default_factory=list)
    last_time: int | None = None
    backwards: int = 0

    def _time(self, ts: int | None) -> int | None:
        if ts is None:
            return None
        if self.last_time is not None and ts < self.last_time:
            self.backwards += 1
            return self.last_time  # clamp: never a negative duration
        self.last_time = ts
        return ts

    def open(self, name: str, ts: int | None, line: int, *, key: str | None = None) -> None:
        span = _Span(name=name, start=self._time(ts), line=line, key=key or name)
        (self.stack[-1].children if self.stack else self.top).append(span)
        self.stack.append(span)

    def close(self, name: str | None, ts: int | None, line: int) -> None:
        """Close the innermost span whose key is `name` (None: the innermost span)."""
        ts = self._time(ts)
        if name is not None and not any(s.key == name for s in self.stack):
            self.problems.append(
                ParseProblem(
                    path=self.source, line=line, reason=f"end of {name!r} that was never started"
                )
            )
            return
        while self.stack:
            span = self.stack.pop()
            span.end = ts if ts is not None else span.start
            if name is None or span.key == name:
                return
            span.flags.append("closed_by_outer_end")

    def add(
        self,
        name: str,
        start: int | None,
        end: int | None,
        result: str,
        *,
        parent: _Span | None = None,
    ) -> _Span:
        """A finished span known all at once (from a summary rather than open/close lines)."""
        span = _Span(name=name, start=start, end=end, line=0, key=name, result=result)
        (parent.children if parent is not None else self.top).append(span)
        return span

    def fail(self, *, aborted: bool = False) -> None:
        """An error printed now fails every span that is open."""
        for span in self.stack:
            span.result = "ABORTED" if aborted else "FAILURE"

    def note_time(self, ts: int | None) -> None:
        self._time(ts)

    def finish(self, build_result: str | None) -> None:
        """Close what the log left open; if the build failed and no span says so, the last
        top-level span that ran before the end takes the failure."""
        for span in self.stack:
            span.end = self.last_time if self.last_time is not None else span.start
            span.flags.append("never_closed")
        if self.stack:
            self.problems.append(
                ParseProblem(
                    path=self.source,
                    line=self.stack[0].line,
                    reason=f"{len(self.stack)} section(s) never closed (log cut off?); closed at "
                    "the last time seen",
                )
            )
        self.stack.clear()
        if (
            build_result in ("FAILURE", "ABORTED")
            and self.top
            and not any(s.result != "SUCCESS" for s in self.top)
        ):
            tail = [
                s
                for s in self.top
                if not s.name.lower().startswith(
                    ("after_script", "upload_artifacts", "cleanup", "post")
                )
            ] or self.top
            tail[-1].result = build_result
        if self.backwards:
            self.problems.append(
                ParseProblem(
                    path=self.source,
                    reason=f"timestamps went backwards {self.backwards} times; "
                    "those durations were clamped to 0",
                )
            )

    def number_lines(self, fh: BinaryIO) -> None:
        """Problems were noted with byte offsets (the scan counts no lines); make them lines."""
        offsets = {p.line for p in self.problems if p.line is not None}
        lines = LogScan.lines_for(fh, offsets)
        self.problems = [
            replace(p, line=lines.get(p.line)) if p.line is not None else p for p in self.problems
        ]

    def records(self, *, result: str | None, start: int | None, end: int | None) -> list[Record]:
        out: list[Record] = []
        for span in self.top:
            steps = tuple(self._steps(span, prefix=""))
            if any(st.result == "FAILURE" for st in steps) and span.result == "SUCCESS":
                span.result = "FAILURE"
            out.append(
                Stage(
                    name=span.name,
                    start_ms=span.start,
                    duration_ms=span.duration(),
                    result=span.result,
                    source=self.source,
                    description=_describe(span),
                    steps=steps,
                )
            )
        out.extend(self.problems)
        if result or start or end:
            out.append(BuildFacts(result=result, start_ms=start, end_ms=end, source=self.source))
        return out

    def _steps(self, span: _Span, prefix: str) -> list[Step]:
        steps = []
        for child in span.children:
            name = f"{prefix}{child.name}"
            steps.append(
                Step(
                    name=name,
                    start_ms=child.start,
                    duration_ms=child.duration(),
                    result=child.result,
                    source=self.source,
                    description=_describe(child),
                )
            )
            steps.extend(self._steps(child, prefix=f"{name} / "))
        return steps


def _describe(span: _Span) -> str:
    return "; ".join(x for x in (span.header.strip(), ", ".join(span.flags)) if x)
