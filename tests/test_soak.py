"""The soak: 1,000 payloads, 30% faults, the deliverer SIGKILLed at random at least 10 times,
with an operator running `outbox stats` and `doctor` beside it all along."""

from __future__ import annotations

from pathlib import Path

from .soak import run_soak


def test_soak_delivers_every_payload_exactly_once_per_key(tmp_path: Path) -> None:
    """Every key reaches SEI; duplicates can only come from a kill between 202 and commit, never
    from the operator's commands (each used to send every in-flight row out again)."""
    result = run_soak(tmp_path, payloads=1000, kills=10, deadline=50, operator=True)
    print(f"\nsoak: {result}")
    assert result.kills >= 10
    assert result.operator_calls >= 10
    assert result.distinct_keys == 1000
    # One POST is in flight at a time, so a kill can cause at most one duplicate.
    assert result.duplicates <= result.kills
