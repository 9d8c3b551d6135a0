"""GitLab log scanning speed and memory against `grep -c section_` on the same file, same run.

    python bench/logs.py [--size-mb 1024] [--repeat 3] [--shapes plain,runner]

The logs are generated. `plain`: output lines with ANSI colour, a section every ~2 MB.
`runner`: as GitLab's runner writes with timestamps on, every line stamped and coloured, a
section every ~0.5 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def generate(path: Path, size: int) -> None:
    rng = random.Random(3)
    lines = [
        f"\x1b[32;1m[INFO]\x1b[0;m Compiling module {n} of the payment service with javac "
        f"-source 21 -target 21 (file {n * 7}.java)\n".encode()
        for n in range(512)
    ]
    block = b"".join(lines)
    t, written, n = 1_795_165_200, 0, 0
    with path.open("wb") as fh:
        while written < size:
            fh.write(f"section_start:{t}:step_{n}\r\x1b[0K\x1b[36;1mStep {n}\x1b[0;m\n".encode())
            for _ in range(rng.randint(20, 60)):
                fh.write(block)
                written += len(block)
            t += rng.randint(1, 30)
            fh.write(f"section_end:{t}:step_{n}\r\x1b[0K\n".encode())
            n += 1
        fh.write(b"Job succeeded\n")


def generate_runner(path: Path, size: int) -> None:
    """Every line `<RFC 3339 ns> 00O <ANSI-coloured text>`, a section every ~0.5 MB."""
    rng = random.Random(5)
    t, written, n = 1_795_165_200, 0, 0
    with path.open("wb") as fh:
        while written < size:
            stamp = f"2026-11-20T09:{n // 60 % 60:02d}:{n % 60:02d}.{n * 7919 % 10**6:06d}000Z"
            fh.write(
                (
                    f"{stamp} 00O section_start:{t}:step_{n}\r\x1b[0K\x1b[36;1mStep {n}\x1b[0;m\n"
                ).encode()
            )
            lines = [
                f"{stamp} 00O \x1b[32;1m[INFO]\x1b[0;m \x1b[1mCompiling\x1b[0m module {k} "
                f"of service {n} \x1b[2m({k * 7}.java)\x1b[0m\n".encode()
                for k in range(rng.randint(4000, 6000))
            ]
            block = b"".join(lines)
            fh.write(block)
            written += len(block)
            t += rng.randint(1, 30)
            fh.write(f"{stamp} 00O section_end:{t}:step_{n}\r\x1b[0K\n".encode())
            n += 1
        fh.write(b"2026-11-20T10:00:00.000000000Z 00O Job succeeded\n")


def child(path: Path) -> None:
    sys.path.insert(0, str(HERE.parent))
    from sei_watch.plugins import ParseContext
    from sei_watch.records import Stage
    from sei_watch_parsers.logs.gitlab import GitLabLog

    t0 = time.perf_counter()
    recs = list(GitLabLog().parse(path, ParseContext(root=path.parent)))
    wall = time.perf_counter() - t0
    print(json.dumps({"wall": wall, "stages": sum(isinstance(r, Stage) for r in recs)}))


def measure_ours(path: Path) -> tuple[float, float, int]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, _, usage = os.wait4(proc.pid, 0)
    doc = json.loads(out)
    return doc["wall"], usage.ru_maxrss / 1024, doc["stages"]


def measure_grep(path: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    out = subprocess.run(
        ["grep", "-c", "section_", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return time.perf_counter() - t0, int(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--shapes", default="plain,runner")
    args = ap.parse_args()
    if args.child:
        child(Path(args.child))
        return
    OUT.mkdir(exist_ok=True)
    print("| log | tool | wall (median) | throughput | peak RSS | found | x grep |")
    print("|---|---|---|---|---|---|---|")
    for shape in args.shapes.split(","):
        path = OUT / f"gitlab-{shape}-{args.size_mb}mb.log"
        if not path.exists():
            (generate if shape == "plain" else generate_runner)(path, args.size_mb << 20)
        size = path.stat().st_size
        measure_grep(path)  # warm the page cache for both
        ours = [measure_ours(path) for _ in range(args.repeat)]
        grep = [measure_grep(path) for _ in range(args.repeat)]
        o_wall = statistics.median(w for w, _, _ in ours)
        g_wall = statistics.median(w for w, _ in grep)
        label = f"{shape} ({size / 1e9:.2f} GB)"
        print(
            f"| {label} | sei-watch log-gitlab | {o_wall:.2f} s | {size / o_wall / 1e9:.2f} GB/s "
            f"| {max(r for _, r, _ in ours):.0f} MiB | {ours[0][2]} stages "
            f"| {o_wall / g_wall:.2f}x |"
        )
        print(
            f"| {label} | grep -c section_ | {g_wall:.2f} s | {size / g_wall / 1e9:.2f} GB/s "
            f"| - | {grep[0][1]} lines | 1.00x |"
        )


if __name__ == "__main__":
    main()
