"""The delivery soak, shared by tests/test_soak.py (bounded) and bench/soak.py (longer).

N payloads go through the stand-in with a fault rate, while the delivering process is
SIGKILLed at random points and restarted on the same state dir.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sei_watch.deliver.outbox import Outbox

from .sei_server import StandIn

GUID = "5e1c7f00-1d2b-4c3a-9e8f-7a6b5c4d3e2f"
KEY = "soak-key"


@dataclass
class SoakResult:
    payloads: int
    distinct_keys: int
    duplicates: int
    kills: int
    requests: int
    seconds: float
    operator_calls: int = 0  # `outbox stats` and `doctor` run beside the deliverer


def run_soak(
    workdir: Path,
    *,
    payloads: int = 1000,
    kills: int = 10,
    fault_rate: float = 0.3,
    seed: int = 7,
    deadline: float = 55.0,
    operator: bool = False,
) -> SoakResult:
    rng = random.Random(seed)
    srv = StandIn(KEY, fault_rate=fault_rate, seed=seed, slow_seconds=0.3, retry_after="0").start()
    cfg = workdir / "soak.toml"
    state = workdir / "state"
    cfg.write_text(
        f'[sei]\nurl = "{srv.url}"\ninstance_guid = "{GUID}"\nread_timeout = 0.1\n'
        "max_per_minute = 0\n"  # the stand-in is no Harness: no client budget
        f'connect_timeout = 0.5\nbackoff_cap = 0.05\n[state]\ndir = "{state}"\n'
    )
    box = Outbox(state / "outbox.db")
    for n in range(payloads):
        job = f"job-{n % 40}"
        box.enqueue(
            {
                "pipeline": job,
                "job_full_name": job,
                "qualified_name": job,
                "instance_name": "soak",
                "instance_guid": GUID,
                "result": "SUCCESS",
                "start_time": 1_750_000_000_000 + n,
                "duration": 1,
                "build_number": n,
            }
        )
    box.close()
    env = {**os.environ, "SEI_API_KEY": KEY}
    cmd = [
        sys.executable,
        "-m",
        "sei_watch",
        "outbox",
        "flush",
        "--config",
        str(cfg),
        "--timeout",
        str(deadline),
    ]
    t0 = time.monotonic()
    done_kills = 0
    looking = threading.Event()
    calls = [0]
    watcher = threading.Thread(target=_operator, args=(cfg, env, looking, calls), daemon=True)
    if operator:
        watcher.start()
    try:
        while done_kills < kills and time.monotonic() - t0 < deadline:
            proc = subprocess.Popen(
                cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            time.sleep(rng.uniform(0.3, 1.2))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                done_kills += 1
            proc.wait()
        final = subprocess.run(
            cmd, env=env, capture_output=True, text=True, check=False, timeout=deadline + 30
        )
        if final.returncode != 0:
            raise AssertionError(f"final flush failed: {final.stdout} {final.stderr[-2000:]}")
    finally:
        looking.set()
        if operator:
            watcher.join(60)
        srv.stop()
    return SoakResult(
        payloads=payloads,
        distinct_keys=len(srv.keys),
        duplicates=srv.duplicates,
        kills=done_kills,
        requests=srv.requests,
        seconds=round(time.monotonic() - t0, 1),
        operator_calls=calls[0],
    )


def _operator(cfg: Path, env: dict[str, str], stop: threading.Event, calls: list[int]) -> None:
    """An operator looking while delivery runs: `outbox stats` and `doctor`, back to back.
    Each used to put every in-flight row back to pending, the deliverer's included."""
    for n in itertools.count():
        if stop.is_set():
            return
        what = ["outbox", "stats"] if n % 2 == 0 else ["doctor"]
        subprocess.run(
            [sys.executable, "-m", "sei_watch", *what, "--config", str(cfg)],
            env=env, capture_output=True, check=False, timeout=60,
        )  # fmt: skip
        calls[0] += 1
