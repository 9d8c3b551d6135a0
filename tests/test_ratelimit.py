"""The client-side rate limit (issue #19, item 8): a sliding window per API key that the real
sender keeps against the stand-in, also while SEI answers 429 without Retry-After."""

from __future__ import annotations

import random
import threading
from pathlib import Path

from sei_watch.config.settings import load_settings
from sei_watch.deliver.client import SeiClient
from sei_watch.deliver.outbox import Outbox
from sei_watch.deliver.ratelimit import RateLimit
from sei_watch.deliver.sender import Backoff, Sender

from .conftest_sei import API_KEY, GUID
from .sei_server import StandIn


def _most_in_any_window(times: list[float], window: float) -> int:
    return max((sum(1 for u in times if t <= u < t + window) for t in times), default=0)


def _payload(n: int) -> dict[str, object]:
    return {
        "pipeline": "p", "job_full_name": f"j{n}", "qualified_name": "p",
        "instance_name": "i", "instance_guid": GUID, "result": "SUCCESS",
        "start_time": 1_795_165_200_000, "duration": 1, "build_number": n,
    }  # fmt: skip


def _drain(tmp: Path, srv: StandIn, limit: RateLimit, count: int) -> None:
    box = Outbox(tmp / "o.db")
    for n in range(count):
        box.enqueue(_payload(n))
    sender = Sender(
        outbox=box,
        client=SeiClient(srv.url, API_KEY, read_timeout=2),
        backoff=Backoff(base=0.1, cap=0.5),
        rng=random.Random(1),
        limit=limit,
    )
    stop = threading.Event()
    timer = threading.Timer(60, stop.set)
    timer.start()
    try:
        sender.run(stop, idle=0.05, until_empty=True)
    finally:
        timer.cancel()
        sender.client.close()
    assert box.stats()["delivered"] == count


def test_never_more_than_the_budget_in_any_window(tmp_path: Path) -> None:
    """12 payloads with a budget of 4 per 1.5 s: every one delivered, and the stand-in never
    saw 5 POSTs within 1.5 s (the window scaled down from Harness' minute)."""
    srv = StandIn(API_KEY, instances={GUID: "i"}).start()
    try:
        _drain(tmp_path, srv, RateLimit(4, window=1.5), 12)
        assert _most_in_any_window(srv.post_times, 1.5) <= 4
    finally:
        srv.stop()


def test_limit_holds_through_429s_without_retry_after(tmp_path: Path) -> None:
    """SEI answering 429 without Retry-After a third of the time: the queue pauses with
    backoff, retries count against the budget, and the budget still holds."""
    srv = StandIn(
        API_KEY, instances={GUID: "i"}, fault_rate=0.33, faults=("429",), retry_after=None
    ).start()
    try:
        _drain(tmp_path, srv, RateLimit(4, window=1.5), 10)
        assert _most_in_any_window(srv.post_times, 1.5) <= 4
        assert "Retry-After" not in str(srv.seen_headers)
    finally:
        srv.stop()


def test_default_budget_is_below_harness_limit(tmp_path: Path) -> None:
    """[sei] max_per_minute defaults to 900 (Harness allows 1,000) and can be set."""
    assert load_settings(None, {}).sei.max_per_minute == 900
    cfg = tmp_path / "c.toml"
    cfg.write_text("[sei]\nmax_per_minute = 120\n")
    assert load_settings(cfg, {}).sei.max_per_minute == 120
