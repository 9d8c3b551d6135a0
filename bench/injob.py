"""The in-job report step against the floor and the peer a CI user would pick, same run.

    python bench/injob.py [--pairs 10] [--files 200]

Two workspaces: one generated here (`--files` Surefire reports with failures, stack traces
and system-out, about 60 KB each) and the repository's small `examples/maven-flaky`. On each,
whole processes alternate, A B A B: `sei-watch parse`, the floor (a bare Python that parses
the same XML files with `xml.etree` and nothing else), and codecov-cli's local parse
(`codecovcli process-test-results --dir WS --disable-search --file ...`) where `codecovcli`
is on PATH (`pip install codecov-cli`; skipped and said otherwise). Medians and the ratio of
each to sei-watch are printed; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FLOOR = """
import sys, xml.etree.ElementTree as ET
from pathlib import Path
n = 0
for p in Path(sys.argv[1]).rglob("*.xml"):
    n += sum(1 for _ in ET.parse(p).getroot().iter("testcase"))
print(n)
"""


def surefire(ws: Path, files: int) -> None:
    """`files` Surefire reports: 40 cases each, every fifth failing with a stack trace."""
    out = ws / "target" / "surefire-reports"
    out.mkdir(parents=True)
    trace = "\n".join(f"\tat com.acme.shop.Cart{i}.check(Cart{i}.java:{i})" for i in range(40))
    for n in range(files):
        cases = []
        for c in range(40):
            body = f"<system-out>{'log line ' * 60}</system-out>"
            if c % 5 == 0:
                failure = '<failure message="expected 2 but was 3" type="AssertionError">'
                body = f"{failure}{trace}</failure>"
            cases.append(
                f'<testcase name="test{c}" classname="com.acme.shop.Cart{n}Test" time="0.{c:03d}">'
                f"{body}</testcase>"
            )
        (out / f"TEST-com.acme.shop.Cart{n}Test.xml").write_text(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="com.acme.shop.Cart{n}Test" '
            f'tests="40" failures="8" errors="0" skipped="0" time="1.5">{"".join(cases)}'
            "</testsuite>\n"
        )


def commands(ws: Path) -> dict[str, list[str]]:
    sei = shutil.which("sei-watch", path=str(Path(sys.executable).parent)) or "sei-watch"
    found = {
        "sei-watch parse": [sei, "parse", str(ws)],
        "floor: xml.etree": [sys.executable, "-c", FLOOR, str(ws)],
    }
    codecov = shutil.which("codecovcli")
    if codecov:
        reports = [str(p) for p in sorted(ws.rglob("*.xml"))]
        files = [arg for path in reports for arg in ("--file", path)]
        found["codecov-cli process-test-results"] = [
            codecov, "process-test-results", "--dir", str(ws), "--disable-search", *files,
        ]  # fmt: skip
    return found


def measure(ws: Path, pairs: int) -> dict[str, list[float]]:
    cases = commands(ws)
    times: dict[str, list[float]] = {name: [] for name in cases}
    for cmd in cases.values():  # one warm-up each
        subprocess.run(cmd, capture_output=True, check=False, cwd=ws)
    for _ in range(pairs):
        for name, cmd in cases.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=False, cwd=ws)
            times[name].append(time.perf_counter() - t0)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=10)
    ap.add_argument("--files", type=int, default=200)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sei-watch-injob-"))
    big, small = tmp / "surefire", tmp / "small"
    surefire(big, args.files)
    shutil.copytree(ROOT / "examples" / "maven-flaky", small)
    if not shutil.which("codecovcli"):
        print("codecovcli is not on PATH: its column is left out (pip install codecov-cli)")
    for label, ws in ((f"{args.files} Surefire files", big), ("small maven-flaky", small)):
        size = sum(p.stat().st_size for p in ws.rglob("*") if p.is_file())
        times = measure(ws, args.pairs)
        ours = statistics.median(times["sei-watch parse"])
        print(f"\n{label} ({size / 1e6:.1f} MB), {args.pairs} alternating runs each")
        print(f"{'command':<36} {'median':>9} {'/ sei-watch':>12}")
        for name, samples in times.items():
            med = statistics.median(samples)
            print(f"{name:<36} {med * 1000:>7.0f}ms {med / ours:>11.2f}x")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
