"""Streaming sha256 of a local artifact against `sha256sum`, same file, same run.

python bench/hash.py [--size-mb 1024] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sei_watch.plugins import ParseContext
from sei_watch_parsers.manifests._common import file_sha256

OUT = Path(__file__).resolve().parent / "out"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    path = OUT / f"artifact-{args.size_mb}mb.bin"
    if not path.exists() or path.stat().st_size != args.size_mb << 20:
        with path.open("wb") as fh:
            block = os.urandom(1 << 20)
            for _ in range(args.size_mb):
                fh.write(block)
    ctx = ParseContext(root=path.parent)
    ours, theirs = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        mine, _ = file_sha256(ctx, path)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        out = subprocess.run(
            ["sha256sum", str(path)], capture_output=True, text=True, check=True
        ).stdout
        theirs.append(time.perf_counter() - t)
        assert mine == "sha256:" + out.split()[0]
    o, s = statistics.median(ours), statistics.median(theirs)
    gb = path.stat().st_size / 1e9
    print("| tool | wall (median) | throughput |\n|---|---|---|")
    print(f"| sei-watch file_sha256 | {o:.2f} s | {gb / o:.2f} GB/s |")
    print(f"| sha256sum | {s:.2f} s | {gb / s:.2f} GB/s |")
    print(f"\nratio sei-watch / sha256sum: {o / s:.2f}x (same digest)")


if __name__ == "__main__":
    main()
