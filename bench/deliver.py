"""Delivery throughput and enqueue latency against the SEI stand-in on loopback.

    python bench/deliver.py [--payloads 2000]

Reports the median and p99 enqueue latency (each enqueue is a durable, fsync'd commit) and the
rate one sender delivers at, with no faults, for two backlogs side by side in one run: every
row for one job (the claim keeps each job's builds in order, so it must not walk the job's
delivered rows for every pending one) and rows spread over 100 jobs; then their ratio.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sei_watch.deliver.client import SeiClient
from sei_watch.deliver.outbox import Outbox
from sei_watch.deliver.sender import Backoff, Sender
from tests.sei_server import StandIn

GUID = "5e1c7f00-1d2b-4c3a-9e8f-7a6b5c4d3e2f"


def payload(n: int, jobs: int) -> dict[str, object]:
    job = f"job-{n % jobs}"
    return {
        "pipeline": job,
        "job_full_name": job,
        "qualified_name": job,
        "instance_name": "bench",
        "instance_guid": GUID,
        "result": "SUCCESS",
        "start_time": 1_750_000_000_000 + n,
        "duration": 1234,
        "build_number": n,
        "job_run": {
            "stages": [
                {
                    "id": "1",
                    "displayName": "Build",
                    "result": "SUCCESS",
                    "state": "FINISHED",
                    "durationInMillis": 1200,
                    "steps": [],
                }
            ]
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--payloads", type=int, default=2000)
    args = ap.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print("| backlog | payloads | enqueue median | enqueue p99 | delivered | wall | rate |")
    print("|---|---|---|---|---|---|---|")
    walls = {}
    for label, jobs in (("one job", 1), ("100 jobs", 100)):
        walls[label] = drain(label, args.payloads, jobs)
    print(f"\none job / 100 jobs: {walls['one job'] / walls['100 jobs']:.2f}x")


def drain(label: str, payloads: int, jobs: int) -> float:
    srv = StandIn("bench-key").start()
    with tempfile.TemporaryDirectory() as tmp:
        box = Outbox(Path(tmp) / "outbox.db")
        lat = []
        for n in range(payloads):
            t = time.perf_counter()
            box.enqueue(payload(n, jobs))
            lat.append((time.perf_counter() - t) * 1000)
        sender = Sender(outbox=box, client=SeiClient(srv.url, "bench-key"), backoff=Backoff())
        t0 = time.perf_counter()
        sender.run(threading.Event(), idle=0.01, until_empty=True)
        wall = time.perf_counter() - t0
        srv.stop()
    lat.sort()
    print(
        f"| {label} | {payloads} | {statistics.median(lat):.2f} ms | "
        f"{lat[int(len(lat) * 0.99)]:.2f} ms | {len(srv.keys)} | {wall:.2f} s | "
        f"{len(srv.keys) / wall:.0f}/s |"
    )
    return wall


if __name__ == "__main__":
    main()
