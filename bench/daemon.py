"""The daemon, measured as a process: latency, throughput, start-up rescan, idle CPU, RSS.

    python bench/daemon.py [--builds 10000] [--latency-samples 200]

1. latency: a marker is written, the stand-in receives the POST; p50/p99 minus `settle`.
2. start-up with N complete builds waiting: time to READY (the rescan), then the rate at which
   all N are reported and delivered.
3. idle: CPU over 20 s with the N build dirs under the root, and peak RSS.
4. restart on the same state: time to READY with N already-reported dirs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sei_watch.context.marker import write_marker
from tests.daemonproc import DaemonProc, wait_for
from tests.sei_server import StandIn

SETTLE = 0.2
GUID = "89d2491c-764a-4f77-93d9-18e8e372b795"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def build(root: Path, job: str, number: int) -> None:
    d = root / job / str(number)
    (d / "test-results").mkdir(parents=True, exist_ok=True)
    (d / "test-results" / "junit.xml").write_text(
        f'<testsuite name="s{number}"><testcase classname="c" name="t" time="0.1"/></testsuite>'
    )
    write_marker(d, {"result": "SUCCESS", "facts": {}, "sources": {}, "params": {}})


ENV = {"MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "2")}  # as the unit sets it


def watches(root: Path) -> str:
    return (
        f'[[watch]]\nname = "spool"\nroot = "{root}"\npattern = "{{pipeline}}/{{build_number}}"'
        f"\nsettle = {SETTLE}\n"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--builds", type=int, default=10_000)
    ap.add_argument("--latency-samples", type=int, default=200)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        sei = StandIn("sk-test-9f8e7d6c5b4a").start()
        # 1. latency
        root = tmp / "lat"
        root.mkdir()
        (tmp / "a").mkdir()
        d = DaemonProc(tmp / "a", sei, watches(root), env=ENV)
        d.start()
        lat = []
        for n in range(args.latency_samples):
            t0 = time.time()
            build(root, "lat", n)
            key = (GUID, "lat", n)
            wait_for(lambda k=key: k in sei.first_seen, 10)
            lat.append((sei.first_seen[key] - t0 - SETTLE) * 1000)
            time.sleep(0.02)
        d.stop()
        lat.sort()
        rows.append(
            f"| latency beyond settle, marker to POST received | p50 "
            f"{statistics.median(lat):.0f} ms, p99 {lat[int(len(lat) * 0.99) - 1]:.0f} ms "
            f"({len(lat)} builds) |"
        )
        # 2. start-up with N builds waiting
        root = tmp / "many"
        for n in range(args.builds):
            build(root, f"job{n % 100}", n)
        (tmp / "b").mkdir()
        before = len(sei.accepted)
        t0 = time.monotonic()
        d = DaemonProc(tmp / "b", sei, watches(root), env=ENV).start()
        ready = time.monotonic() - t0
        wait_for(lambda: len(sei.accepted) - before >= args.builds, 600)
        wall = time.monotonic() - t0
        rows.append(
            f"| start-up rescan of {args.builds:,} complete build dirs | READY after "
            f"{ready:.1f} s |"
        )
        rows.append(
            f"| reporting them (parse, assemble, outbox, POST) | {args.builds / wall:.0f} "
            f"builds/s sustained ({wall:.1f} s) |"
        )
        # 3. idle
        assert d.proc is not None
        pid = d.proc.pid
        time.sleep(2)
        c0, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(20)
        idle = (cpu_seconds(pid) - c0) / (time.monotonic() - t0) * 100
        rows.append(f"| idle CPU with {args.builds:,} build dirs under the root | {idle:.2f} % |")
        rows.append(f"| peak RSS (VmHWM) | {hwm_mib(pid):.0f} MiB |")
        d.stop()
        # 4. restart with everything reported
        t0 = time.monotonic()
        d = DaemonProc(tmp / "b", sei, watches(root), env=ENV).start()
        rows.append(
            f"| restart, {args.builds:,} dirs already reported | READY after "
            f"{time.monotonic() - t0:.1f} s, {len(sei.accepted) - before - args.builds} "
            "sent again |"
        )
        d.stop()
        sei.stop()
    print("| what | figure |\n|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
