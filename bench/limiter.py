"""The fleet's rate limit, two ways, side by side on a real 3-node JetStream cluster:

- `split` (what `sei-watch relay` does): each of N relays paces itself at budget/N per window;
- `kv`: one token bucket in JetStream KV, taken with compare-and-set by every relay.

    python bench/limiter.py [--relays 3] [--budget 57] [--window 6] [--seconds 30]

Each relay is a separate process that takes "requests" as fast as its limiter lets it (no SEI
involved), for --seconds. Reported: requests admitted, the busiest window against the budget,
CAS conflicts, and the case that separates them: one relay of the N stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sei_watch.deliver.kvlimit import KvTokenBucket
from tests.natsproc import NATS_SERVER, cluster

BUCKET = "BENCH_RATE"  # the relay's own class, on a bucket of its own


def relay(  # noqa: PLR0917  (a multiprocessing target: positional by nature)
    mode: str, servers: str, share_of: int, budget: int, window: float, end: float,
    out: Any,
) -> None:  # fmt: skip
    import nats

    async def run() -> tuple[list[float], int]:
        stamps: list[float] = []
        if mode == "split":
            interval, nxt = window / (budget // share_of), time.monotonic()
            while time.time() < end:
                await asyncio.sleep(max(nxt - time.monotonic(), 0))
                nxt = time.monotonic() + interval
                stamps.append(time.time())
            return stamps, 0
        nc = await nats.connect(servers.split(","))
        bucket = KvTokenBucket(await nc.jetstream().key_value(BUCKET), budget, window)
        while time.time() < end:
            wait = await bucket.take()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            stamps.append(time.time())
        await nc.close()
        return stamps, bucket.conflicts

    out.put(asyncio.run(run()))


def measure(mode: str, servers: str, running: int, args: argparse.Namespace) -> dict[str, Any]:
    end = time.time() + args.seconds
    q: Any = mp.Queue()
    procs = [
        mp.Process(
            target=relay, args=(mode, servers, args.relays, args.budget, args.window, end, q)
        )
        for _ in range(running)
    ]
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
    stamps = sorted(t for s, _ in results for t in s)
    busiest = max((sum(1 for u in stamps if t <= u < t + args.window) for t in stamps), default=0)
    return {
        "admitted": len(stamps),
        "per_window": len(stamps) / args.seconds * args.window,
        "busiest": busiest,
        "conflicts": sum(c for _, c in results),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--relays", type=int, default=3)
    ap.add_argument("--budget", type=int, default=57)
    ap.add_argument("--window", type=float, default=6.0)
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args()
    if NATS_SERVER is None:
        raise SystemExit("nats-server is not installed")
    import nats
    from nats.js.api import KeyValueConfig

    with tempfile.TemporaryDirectory() as tmp:
        nodes = cluster(Path(tmp))
        servers = ",".join(n.url for n in nodes)

        async def setup() -> None:
            for _ in range(50):
                try:
                    nc = await nats.connect(servers.split(","))
                    await nc.jetstream().create_key_value(
                        KeyValueConfig(bucket=BUCKET, history=1, replicas=3)
                    )
                    await nc.close()
                    return
                except Exception:
                    await asyncio.sleep(0.5)

        asyncio.run(setup())
        print(f"budget {args.budget} per {args.window:g} s window, {args.relays} relays "
              f"configured, {args.seconds:g} s each\n")  # fmt: skip
        print("| limiter | relays running | admitted per window | busiest window | over budget "
              "| CAS conflicts |")  # fmt: skip
        print("|---|---|---|---|---|---|")
        for mode in ("split", "kv"):
            for running in (args.relays, args.relays - 1):
                r = measure(mode, servers, running, args)
                print(f"| {mode} | {running} of {args.relays} | {r['per_window']:.1f} | "
                      f"{r['busiest']} | {'yes' if r['busiest'] > args.budget else 'no'} | "
                      f"{r['conflicts']} |")  # fmt: skip
        for n in nodes:
            n.stop()


if __name__ == "__main__":
    main()
