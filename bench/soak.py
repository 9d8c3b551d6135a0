"""The long delivery soak: more payloads and more SIGKILLs than the CI test.

python bench/soak.py [--payloads 5000] [--kills 40]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.soak import run_soak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--payloads", type=int, default=5000)
    ap.add_argument("--kills", type=int, default=40)
    ap.add_argument("--fault-rate", type=float, default=0.3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = run_soak(
            Path(tmp),
            payloads=args.payloads,
            kills=args.kills,
            fault_rate=args.fault_rate,
            deadline=600,
        )
    print("| payloads | faults | SIGKILLs | requests | distinct keys at SEI | duplicates | wall |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {r.payloads} | {args.fault_rate:.0%} | {r.kills} | {r.requests} | "
        f"{r.distinct_keys} | {r.duplicates} | {r.seconds} s |"
    )


if __name__ == "__main__":
    main()
