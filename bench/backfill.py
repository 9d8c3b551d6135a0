"""Backfill of a generated JENKINS_HOME (200 jobs x 50 builds) into the SEI stand-in,
interrupted with SIGTERM halfway and resumed: throughput, distinct keys, duplicates.

    python bench/backfill.py [--jobs 200] [--builds 50]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.daemonproc import wait_for
from tests.jenkinshome import home_with
from tests.sei_server import StandIn

GUID = "89d2491c-764a-4f77-93d9-18e8e372b795"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--builds", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        total = home_with(tmp / "jenkins", args.jobs, args.builds)
        sei = StandIn("bench-key").start()
        cfg = tmp / "c.toml"
        cfg.write_text(
            f'[sei]\nurl = "{sei.url}"\ninstance_guid = "{GUID}"\nmax_per_minute = 0\n'
            f'[state]\ndir = "{tmp / "state"}"\n[[watch]]\npreset = "jenkins-home"\n'
            f'root = "{tmp / "jenkins"}"\n'
        )
        env = {**os.environ, "SEI_API_KEY": "bench-key", "MALLOC_ARENA_MAX": "2"}
        cmd = [
            sys.executable,
            "-m",
            "sei_watch",
            "backfill",
            "--config",
            str(cfg),
            "--rate",
            "100000/s",
        ]
        t0 = time.monotonic()
        first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: len(sei.keys) >= total // 2, 600)
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=120)
        half = len(sei.keys)
        subprocess.run(
            cmd,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=1200,
        )
        wall = time.monotonic() - t0
        sei.stop()
    print("| builds | SIGTERM after | distinct keys at SEI | duplicates | wall | rate |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {total:,} | {half:,} delivered | {len(sei.keys):,} | {sei.duplicates} | "
        f"{wall:.1f} s | {total / wall:.0f} builds/s |"
    )


if __name__ == "__main__":
    main()
