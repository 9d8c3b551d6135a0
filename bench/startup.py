"""Start-up of the commands every build runs, against a bare interpreter, same run.

    python bench/startup.py [--runs 21]

Each figure is the median wall time of fresh processes (the venv's Python, no bytecode
writing), interleaved so that a busy moment of the machine hits every command alike.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=21)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sei-watch-startup-"))
    (tmp / "ws").mkdir()
    py = [sys.executable, "-B"]
    cases = {
        "python -c pass (floor)": [*py, "-c", "pass"],
        "sei-watch --version": [*py, "-m", "sei_watch", "--version"],
        "sei-watch mark": [*py, "-m", "sei_watch", "mark", "--dir", str(tmp / "ws")],
        "sei-watch parse EMPTY": [*py, "-m", "sei_watch", "parse", str(tmp / "ws")],
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, cmd in cases.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=False, cwd=tmp)
            times[name].append(time.perf_counter() - t0)
    floor = statistics.median(times["python -c pass (floor)"])
    print(f"{'command':<26} {'median':>9} {'x floor':>8}   target")
    targets = {"sei-watch --version": 0.1, "sei-watch mark": 0.1, "sei-watch parse EMPTY": 0.25}
    for name, samples in times.items():
        med = statistics.median(samples)
        target = f"<= {targets[name] * 1000:.0f} ms" if name in targets else ""
        print(f"{name:<26} {med * 1000:>7.1f}ms {med / floor:>7.1f}x   {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
