"""Chunked scanning of logs with compiled byte regexes: no Python loop over lines.

A log is read in 4 MiB chunks; a match never spans chunks because the unfinished last line is
carried over (bounded: a line longer than MAX_LINE is skipped and flagged). Line numbers are
counted in C between matches, so they cost nothing where markers are sparse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO

__all__ = ["ANSI", "Hit", "LogScan", "clean_name", "iso_ms"]

CHUNK = 4 << 20
MAX_LINE = 1 << 20
ANSI = re.compile(
    rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b_[^\x07]*\x07|"
    rb"[\x00-\x08\x0b-\x1f\x7f]"
)


@dataclass(frozen=True, slots=True)
class Hit:
    """One marker: its line number (1-based) and the regex match within its chunk."""

    line: int
    match: re.Match[bytes]


@dataclass(slots=True)
class LogScan:
    """Runs one compiled pattern (with re.M anchors) over a whole log."""

    pattern: re.Pattern[bytes]
    long_lines: int = 0
    bytes_read: int = 0
    last_chunk_tail: bytes = b""
    first_chunk_head: bytes = b""
    _carry: bytes = field(default=b"", repr=False)

    def hits(self, fh: BinaryIO) -> Iterator[Hit]:
        line = 1
        while True:
            chunk = fh.read(CHUNK)
            if not self.first_chunk_head:
                self.first_chunk_head = chunk[:65536]
            self.bytes_read += len(chunk)
            if not chunk:
                data, self._carry = self._carry, b""
                if not data:
                    return
            else:
                data = self._carry + chunk
                cut = data.rfind(b"\n") + 1
                if cut == 0:  # no newline at all in this window
                    if len(data) > MAX_LINE:
                        self.long_lines += 1
                        self._carry = b""
                    else:
                        self._carry = data
                    continue
                data, self._carry = data[:cut], data[cut:]
                if len(self._carry) > MAX_LINE:
                    self.long_lines += 1
                    self._carry = b""
            pos = 0
            for m in self.pattern.finditer(data):
                line += data.count(b"\n", pos, m.start())
                pos = m.start()
                yield Hit(line, m)
            line += data.count(b"\n", pos)
            self.last_chunk_tail = data[-65536:]
            if not chunk:
                return


def clean_name(raw: bytes, limit: int = 500) -> str:
    """A stage or step name without ANSI or control sequences, whitespace folded."""
    text = ANSI.sub(b"", raw[: limit * 4]).decode("utf-8", "replace")
    return " ".join(text.split())[:limit]


def iso_ms(raw: bytes | str) -> int | None:
    """Epoch ms from an ISO 8601 / RFC 3339 time, nanoseconds and all; UTC when no zone."""
    text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw
    text = text.strip().replace(" ", "T", 1)
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:[.,](\d+))?(Z|[+-]\d\d:?\d\d)?", text)
    if not m:
        return None
    try:
        when = datetime.fromisoformat(m.group(1))
    except ValueError:
        return None
    zone = m.group(3)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 60 + int(digits[2:]))
        ms = int(when.replace(tzinfo=UTC).timestamp() * 1000) - offset * 60_000
    else:
        ms = int(when.replace(tzinfo=UTC).timestamp() * 1000)
    frac = (m.group(2) or "")[:3].ljust(3, "0")
    return ms + int(frac)
