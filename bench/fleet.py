"""The fleet after an outage: 200 agents x 50 builds queued while SEI was away, then released
through 3 relays under Harness' limit of 1,000 requests per key per minute.

    python bench/fleet.py [--agents 200] [--builds 50] [--relays 3] [--window 6]
                          [--latency 0.3] [--in-flight 4]

Real processes: a nats-server with JetStream, 3 `sei-watch relay` processes, the stand-in with
its Harness-style limit (429 past `limit` requests in any window). The window is shortened
(6 s stands for the minute, 10x faster) so the run takes a minute; the drain time is reported
as measured and scaled back to a real minute. It reports the drain time, the stream's peak
size, requests over the limit, and the relays' CPU per 1,000 payloads. `--latency` makes the
stand-in answer each POST after that many real seconds, as a real SEI does, scaled like the
window (0.3 s is 0.03 s at a 6 s window); `--in-flight` is each relay's `[relay] in_flight`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sei_watch.config import load_settings
from sei_watch.daemon import init_streams
from tests.natsproc import NATS_SERVER, NatsNode
from tests.sei_server import StandIn
from tests.test_fleet import GUID, KEY, agent_settings, payload, publish_all, relay_settings


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stream_state(url: str) -> tuple[int, int]:
    out = subprocess.run(
        [sys.executable, "-c", _STATE, url], capture_output=True, text=True, check=True
    ).stdout
    doc = json.loads(out)
    return int(doc["messages"]), int(doc["bytes"])


_STATE = """
import asyncio, json, sys
import nats
async def main():
    nc = await nats.connect(sys.argv[1])
    info = await nc.jetstream().stream_info("SEI_PAYLOADS")
    print(json.dumps({"messages": info.state.messages, "bytes": info.state.bytes}))
    await nc.close()
asyncio.run(main())
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=200)
    ap.add_argument("--builds", type=int, default=50)
    ap.add_argument("--relays", type=int, default=3)
    ap.add_argument("--window", type=float, default=6.0, help="seconds standing for a minute")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds SEI takes per POST")
    ap.add_argument("--in-flight", type=int, default=4, help="POSTs at once per relay")
    args = ap.parse_args()
    if NATS_SERVER is None:
        raise SystemExit("nats-server is not installed (apt-get install nats-server)")
    total = args.agents * args.builds
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        node = NatsNode("n0", tmp / "nats").start()
        sei = StandIn(
            KEY,
            instances={GUID: "fleet"},
            limit=1000,
            limit_window=args.window,
            latency=args.latency * args.window / 60.0,
        )
        sei.start()
        cfg = relay_settings(
            tmp,
            node.url,
            sei,
            budget=1000 - args.relays,  # one in flight per relay to spare
            extra=f"[relay]\ninstances = {args.relays}\nwindow = {args.window}\n"
            f"in_flight = {args.in_flight}\n",
            nats="max_bytes = 4294967296\n",
        )
        init_streams(load_settings(cfg, {}))
        # The outage: every agent queues and publishes; no relay runs, the stream holds all.
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(
                pool.map(
                    lambda a: publish_all(
                        agent_settings(tmp, node.url, f"agent{a}"),
                        [payload(f"job{a}", n) for n in range(args.builds)],
                    ),
                    range(args.agents),
                )
            )
        publish_s = time.monotonic() - t0
        peak_msgs, peak_bytes = stream_state(node.url)
        # Released: the relays drain it within the limit.
        env = {**os.environ, "SEI_API_KEY": KEY}
        relays = [
            subprocess.Popen(
                [sys.executable, "-m", "sei_watch", "relay", "--config", str(cfg)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
            for _ in range(args.relays)
        ]
        t1 = time.monotonic()
        done = threading.Event()
        while not done.wait(0.5):
            if len(sei.store.runs) >= total or time.monotonic() - t1 > 1800:
                done.set()
        drain = time.monotonic() - t1
        cpu = sum(cpu_seconds(p.pid) for p in relays)
        for p in relays:
            p.terminate()
            p.wait(10)
        sei.stop()
        node.stop()
    minute = 60.0 / args.window
    print(f"| what | figure ({args.agents} agents x {args.builds} builds, {args.relays} relays) |")
    print("|---|---|")
    print(f"| payloads queued during the outage | {total:,} (published in {publish_s:.1f} s) |")
    print(f"| peak stream size | {peak_msgs:,} messages, {peak_bytes / 2**20:.1f} MiB |")
    print(
        f"| drain under 1,000 requests per minute | {drain:.1f} s at a {args.window:g} s window "
        f"= {drain * minute / 60:.1f} min in real minutes (floor: {total / 1000:.1f} min) |"
    )
    print(f"| stored by the stand-in | {len(sei.store.runs):,} runs, {sei.duplicates} duplicates |")
    print(f"| requests over the limit (429s) | {sei.over_limit} |")
    print(f"| relay CPU per 1,000 payloads | {cpu / total * 1000:.2f} s |")
    print(
        f"| SEI latency, POSTs at once | {args.latency:g} s per POST, in_flight {args.in_flight}"
        f" per relay, at most {sei.max_in_flight} seen at once |"
    )


if __name__ == "__main__":
    main()
