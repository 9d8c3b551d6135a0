"""The soak: 1,000 payloads, 30% faults, the deliverer SIGKILLed at random at least 10 times."""

from __future__ import annotations

from pathlib import Path

from .soak import run_soak


def test_soak_delivers_every_payload_exactly_once_per_key(tmp_path: Path) -> None:
    """Every key reaches SEI; duplicates can only come from a kill between 202 and commit."""
    result = run_soak(tmp_path, payloads=1000, kills=10, deadline=50)
    print(f"\nsoak: {result}")
    assert result.kills >= 10
    assert result.distinct_keys == 1000
    # One POST is in flight at a time, so a kill can cause at most one duplicate.
    assert result.duplicates <= result.kills
