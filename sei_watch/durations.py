"""Durations as test reports write them, read one way for every reader: the JUnit parser's
counts and SEI's test table (`payload/testzip.py`) agree on every `time`."""

from __future__ import annotations

import math
import re

__all__ = ["Time", "parse_time"]

_THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:,\d{3})+\Z")
_CLOCK = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)\Z")


class Time:
    """A parsed duration in seconds; `alt` is the other reading of an ambiguous comma."""

    __slots__ = ("alt", "bad", "negative", "seconds")

    def __init__(
        self, seconds: float, *, alt: float | None = None, bad: bool = False, negative: bool = False
    ) -> None:
        self.seconds = seconds
        self.alt = alt
        self.bad = bad
        self.negative = negative


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def parse_time(raw: str) -> Time:
    """Seconds from `1.5`, `1.5s`, `2,503.1`, `0,250`, `1,250` (ambiguous) or `01:02:03.5`."""
    text = raw.strip().removesuffix("s").strip()
    try:
        if ":" in text:
            m = _CLOCK.match(text)
            if not m:
                return Time(0.0, bad=True)
            hours, minutes, seconds = m.groups()
            value = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
            return Time(value)
        if "," in text:
            if "." in text:  # Surefire's thousands separators: 2,503.1
                value = _number(text.replace(",", ""))
            elif _THOUSANDS.match(text.lstrip("-")):  # 1,250: 1.25 or 1250, decided later
                value = _number(text.replace(",", "."))
                alt = _number(text.replace(",", ""))
                if value < 0:
                    return Time(0.0, negative=True)
                return Time(value, alt=alt)
            elif text.count(",") == 1:  # 0,250 or 1,5: only a decimal comma reads so
                value = _number(text.replace(",", "."))
            else:
                return Time(0.0, bad=True)
        else:
            value = _number(text)
    except ValueError:
        return Time(0.0, bad=True)
    if value < 0:
        return Time(0.0, negative=True)
    return Time(value)
