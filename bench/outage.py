"""The daemon's memory through a multipart outage: builds with big test reports queue while
SEI answers 503, then SEI comes back and the backlog drains.

    python bench/outage.py [--builds 40] [--cases 60000]

Each build holds one JUnit report of `--cases` cases with unique names, in suites of 250
(its tests' zip, what the multipart transport stores, is several MB). Prints the outbox's
size at the peak of the outage, the daemon's peak RSS (VmHWM), and the time to drain once SEI
is back.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest_sei import API_KEY, GUID
from tests.daemonproc import DaemonProc, wait_for, write_build
from tests.sei_server import StandIn
from tests.test_daemon import spool


def report(cases: int, seed: int, per_suite: int = 250) -> str:
    """One `<testsuites>` file of suites of `per_suite` cases (a Surefire class's worth)."""
    rng = random.Random(seed)
    suites = []
    for first in range(0, cases, per_suite):
        count = min(per_suite, cases - first)
        body = "".join(
            f'<testcase classname="pkg.C{first}" name="'
            + "".join(rng.choices(string.ascii_letters, k=24))
            + f'" time="0.{n % 1000:03d}"/>'
            for n in range(count)
        )
        suites.append(f'<testsuite name="pkg.C{first}" tests="{count}">{body}</testsuite>')
    return f"<testsuites>{''.join(suites)}</testsuites>"


def hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--builds", type=int, default=40)
    ap.add_argument("--cases", type=int, default=60_000)
    args = ap.parse_args()
    sei = StandIn(API_KEY, instances={GUID: "bench"}, fault_rate=1.0, faults=("503",))
    sei.large_every = 0.0  # the pacing is the sender's to honour; here it would only add time
    sei.start()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        root, watches = spool(tmp)
        d = DaemonProc(
            tmp, sei, watches, daemon="workers = 1", env={"SEI_WATCH_SEI_TRANSPORT": "multipart"}
        ).start()
        assert d.proc is not None
        try:
            for n in range(1, args.builds + 1):
                write_build(root / "big" / str(n), junit=report(args.cases, n))
            wait_for(
                lambda: len(d.seen("payload.queued")) >= args.builds, 600, "every build queued"
            )
            db = tmp / "state" / "outbox.db"
            outbox_mb = sum(
                p.stat().st_size for p in db.parent.glob("outbox.db*") if p.is_file()
            ) / (1 << 20)
            sei.fault_rate = 0.0
            t0 = time.monotonic()
            wait_for(lambda: len(sei.accepted) >= args.builds, 900, "the backlog drained")
            drain = time.monotonic() - t0
            peak = hwm_mib(d.proc.pid)
        finally:
            d.stop()
            sei.stop()
    print("| builds | cases each | outbox at the peak | daemon peak RSS | drain |")
    print("|---|---|---|---|---|")
    print(
        f"| {args.builds} | {args.cases} | {outbox_mb:.0f} MiB | {peak:.0f} MiB | {drain:.1f} s |"
    )


if __name__ == "__main__":
    main()
