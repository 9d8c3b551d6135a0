"""What every log dialect shares: claiming files by their first 64 KiB, and the run loop."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import BinaryIO

from sei_watch.plugins import ParseContext
from sei_watch.records import ParseProblem, Record

from ._scan import TS_PREFIX, LogScan, iso_ms
from ._spans import Spans

__all__ = ["LogParser"]

_LINE_TS = re.compile(rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)")


_STAMPED_LINE = re.compile(rb"(?m)^" + TS_PREFIX + rb"\S")
_TAIL = 1 << 16


def _last_stamp(fh: BinaryIO) -> int | None:
    """The time stamped before the log's last stamped line (TS_PREFIX), read from its last
    64 KiB: a timestamped log ends when its last line was written, not at its last hit."""
    try:
        size = fh.seek(0, 2)
        fh.seek(max(size - _TAIL, 0))
        tail = fh.read(_TAIL)
    except OSError:
        return None
    last = None
    for m in _STAMPED_LINE.finditer(tail):
        if m.group("ts"):
            last = m.group("ts")
    return iso_ms(last) if last else None


class LogParser:
    """Subclasses set `name`, `marker` (a sniff regex for the head) and `pattern`, and turn
    each hit into span operations in `on_hit`."""

    name = "log"
    sniff_suffixes: tuple[str, ...] = (".log", ".txt", "")
    marker: re.Pattern[bytes]
    pattern: re.Pattern[bytes]
    literal: bytes | None = None  # what every match of `pattern` starts with, if anything

    def matches(self, path: PurePath) -> bool:
        return False  # logs are claimed by content: names say nothing reliable

    def sniff(self, head: bytes) -> bool:
        return bool(self.marker.search(head))

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        spans = Spans(source=ctx.rel(path))
        scan = LogScan(self.pattern, self.literal)
        self.result: str | None = None
        self.start: int | None = None
        self.end: int | None = None
        self.begin(path, spans)
        with ctx.open(path) as fh:
            for hit in scan.hits(fh):  # spans keep byte offsets; lines are counted at the end
                self.on_hit(hit.match, hit.offset, spans)
            self.tail_ms = _last_stamp(fh)
            self.at_end(scan, spans)
            if scan.long_lines:
                spans.problems.append(
                    ParseProblem(
                        path=spans.source, reason=f"{scan.long_lines} line(s) over 1 MiB skipped"
                    )
                )
            spans.finish(self.result)
            spans.number_lines(fh)
        yield from spans.records(result=self.result, start=self.start, end=self.end)
        yield from self.extra_records(spans.source)

    def extra_records(self, source: str) -> list[Record]:
        """Records besides the stages (test suites a log reports, say)."""
        return []

    def on_hit(self, m: re.Match[bytes], line: int, spans: Spans) -> None:
        raise NotImplementedError

    def begin(self, path: Path, spans: Spans) -> None:
        """Hook before the first line (a stage the file itself stands for, say)."""

    def at_end(self, scan: LogScan, spans: Spans) -> None:
        """Hook for the end of the log (the last timestamp, say)."""

    @staticmethod
    def line_time(m: re.Match[bytes]) -> bytes | None:
        """An ISO timestamp at the start of the match's line, if the line has one."""
        data = m.string
        start = data.rfind(b"\n", 0, m.start()) + 1
        found = _LINE_TS.match(data, start, start + 40)
        return found.group(1) if found else None
