"""The values inside JUnit reports, read the way the README's JUnit semantics say."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["Time", "parse_time", "parse_timestamp"]

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


def parse_timestamp(raw: str) -> tuple[int, bool] | None:
    """Epoch ms from ISO 8601, and whether the zone was assumed to be UTC; None if unreadable."""
    text = raw.strip()
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        try:  # mocha-junit-reporter writes Date.toUTCString(): "Sat, 03 Dec 2022 23:10:07 GMT"
            when = parsedate_to_datetime(text)
        except (ValueError, TypeError, IndexError):
            return None
    assumed = when.tzinfo is None
    if assumed:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000), assumed
