"""The daemon's CPU while one build holds a tree too deep to watch (the root degrades to
rescans every few seconds), against the real daemon and the SEI stand-in.

    python bench/deep_tree.py [--depth 2000] [--seconds 20]

Prints the daemon's CPU share over the window, after it settled.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest_sei import API_KEY, GUID
from tests.daemonproc import DaemonProc, write_build
from tests.sei_server import StandIn
from tests.test_daemon import spool
from tests.test_hostile_daemon import deep_tree, remove


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depth", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sei-watch-deep-"))
    sei = StandIn(API_KEY, instances={GUID: "bench"}).start()
    root, watches = spool(tmp)
    deep_tree(root / "evil" / "1" / "node_modules", args.depth)
    write_build(root / "evil" / "1")
    d = DaemonProc(tmp, sei, watches, daemon="rescan = 300").start()
    try:
        assert d.proc is not None
        time.sleep(5)
        c0, t0 = cpu_seconds(d.proc.pid), time.monotonic()
        time.sleep(args.seconds)
        share = (cpu_seconds(d.proc.pid) - c0) / (time.monotonic() - t0)
    finally:
        d.stop()
        sei.stop()
        remove(tmp)
    print(f"daemon CPU with a {args.depth}-deep build: {100 * share:.1f}% over {args.seconds:g} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
