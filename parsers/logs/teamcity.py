"""TeamCity service messages: `##teamcity[blockOpened name='..' timestamp='..']` and
`blockClosed`; `buildStatus` and `buildProblem` give the result. Values use TeamCity's
escapes: |' || |n |r |[ |] |0xNNNN."""

from __future__ import annotations

import re

from ._base import LogParser
from ._scan import LogScan, clean_name, iso_ms
from ._spans import Spans

__all__ = ["TeamCityLog", "unescape"]

_ATTR = re.compile(rb"(\w+)='((?:[^'|]|\|.|\|0x[0-9a-fA-F]{4})*)'")
_ESC = re.compile(rb"\|(0x[0-9a-fA-F]{4}|.)")
_SIMPLE = {b"'": b"'", b"|": b"|", b"n": b"\n", b"r": b"\r", b"[": b"[", b"]": b"]"}


def unescape(raw: bytes) -> bytes:
    def sub(m: re.Match[bytes]) -> bytes:
        code = m.group(1)
        if code.startswith(b"0x"):
            return chr(int(code[2:], 16)).encode()
        return _SIMPLE.get(code, code)

    return _ESC.sub(sub, raw)


class TeamCityLog(LogParser):
    name = "log-teamcity"
    marker = re.compile(rb"##teamcity\[")
    pattern = re.compile(rb"##teamcity\[(\w+)((?: +\w+='(?:[^'|\r\n]|\|[^\r\n]){0,4096}')*) *\]")

    def on_hit(self, m: re.Match[bytes], line: int, spans: Spans) -> None:
        kind = m.group(1)
        attrs = {k.decode(): unescape(v) for k, v in _ATTR.findall(m.group(2))}
        ts = iso_ms(attrs["timestamp"].replace(b"+0000", b"Z")) if "timestamp" in attrs else None
        if ts is not None:
            self.start = ts if self.start is None else self.start
            self.end = ts
        name = clean_name(attrs.get("name", b"block"))
        if kind == b"blockOpened":
            spans.open(name, ts, line)
        elif kind == b"blockClosed":
            spans.close(name if any(s.key == name for s in spans.stack) else None, ts, line)
        elif kind == b"buildProblem":
            spans.fail()
            self.result = "FAILURE"
        elif kind == b"buildStatus":
            status = attrs.get("status", b"").decode().upper()
            self.result = {"SUCCESS": "SUCCESS", "FAILURE": "FAILURE", "ERROR": "FAILURE"}.get(
                status, self.result
            )

    def at_end(self, scan: LogScan, spans: Spans) -> None:
        if self.result is None and spans.top:
            self.result = "SUCCESS"
