"""The values inside JUnit reports, read the way the README's JUnit semantics say."""

from __future__ import annotations

from datetime import UTC, datetime

from sei_watch.durations import Time, parse_time

__all__ = ["Time", "parse_time", "parse_timestamp"]


def parse_timestamp(raw: str) -> tuple[int, bool] | None:
    """Epoch ms from ISO 8601, and whether the zone was assumed to be UTC; None if unreadable."""
    text = raw.strip()
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        from email.utils import parsedate_to_datetime  # noqa: PLC0415  (rare; email is 3 ms)

        try:  # mocha-junit-reporter writes Date.toUTCString(): "Sat, 03 Dec 2022 23:10:07 GMT"
            when = parsedate_to_datetime(text)
        except (ValueError, TypeError, IndexError):
            return None
    assumed = when.tzinfo is None
    if assumed:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000), assumed
