"""JUnit parsing: wall time and peak RSS of sei-watch against its peers, in one run.

    python bench/junit.py                 # 30 MB (200k cases) for all, 1 GB for the streamers
    python bench/junit.py --sizes 30mb --repeat 5 --shapes output

Peers: junitparser 5.x, test-results-parser 0.6.1 (Rust; FSL licence, so it is installed into
bench/out/peers for measuring only, never depended on) and a bare lxml iterparse loop. Each
measurement runs in a fresh process; peak RSS is that process's ru_maxrss.
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
PEERS = OUT / "peers"
SIZES = {"30mb": 200_000, "1gb": 6_600_000}
STREAMERS = ("sei-watch", "lxml-iterparse")
ALL = ("sei-watch", "lxml-iterparse", "test-results-parser", "junitparser")


def generate(path: Path, cases: int, shape: str = "pytest") -> None:
    """A pytest-style report (file and line on each case): suites of 100 cases, 3% failures,
    2% skipped, 1% flaky (Surefire's flakyFailure). Shape `output`: every passing case also
    has its captured `<system-out>`, as Surefire with output capture and pytest with
    junit_logging write."""
    rng = random.Random(42)
    with path.open("w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n')
        for s in range(0, cases, 100):
            fh.write(
                f'<testsuite name="com.example.mod{s // 1000}.Suite{s}Test" tests="100" '
                f'time="{rng.random() * 20:.3f}" timestamp="2026-11-20T09:14:03">\n'
            )
            for c in range(min(100, cases - s)):
                roll = rng.random()
                head = (
                    f'  <testcase name="test_handles_case_{c}[param-{c % 7}]" '
                    f'classname="tests.mod{s // 1000}.test_suite_{s}" '
                    f'file="tests/mod{s // 1000}/test_suite_{s}.py" line="{c * 9 + 12}" '
                    f'time="{rng.random():.3f}"'
                )
                if roll < 0.03:
                    fh.write(
                        f'{head}><failure message="expected 2 but was 3" type="Assert'
                        'ionError">at Suite.java:42</failure></testcase>\n'
                    )
                elif roll < 0.05:
                    fh.write(f"{head}><skipped/></testcase>\n")
                elif roll < 0.06:
                    fh.write(f'{head}><flakyFailure message="timeout"/></testcase>\n')
                elif shape == "output":
                    fh.write(
                        f"{head}>\n    <system-out>INFO  starting case {c}\n"
                        f"DEBUG fixture db-{c % 5} ready in {c % 13} ms\n</system-out>\n"
                        "  </testcase>\n"
                    )
                else:
                    fh.write(f"{head}/>\n")
            fh.write("</testsuite>\n")
        fh.write("</testsuites>\n")


def run_one(tool: str, path: Path) -> dict[str, float]:
    """Parse `path` with `tool` in this process; return the wall time and the test count."""
    t0 = time.perf_counter()
    if tool == "sei-watch":
        from sei_watch.plugins import ParseContext
        from sei_watch.records import SuiteSummary
        from sei_watch_parsers.junit import JUnitParser

        recs = JUnitParser().parse(path, ParseContext(root=path.parent))
        count = sum(r.tests for r in recs if isinstance(r, SuiteSummary))
    elif tool == "lxml-iterparse":
        from lxml import etree

        count = 0
        with path.open("rb") as fh:
            for _, el in etree.iterparse(fh, events=("end",), tag="testcase"):
                count += 1
                el.clear()
                while el.getprevious() is not None:
                    del el.getparent()[0]
    elif tool == "junitparser":
        sys.path.insert(0, str(PEERS))
        from junitparser import JUnitXml

        count = sum(1 for suite in JUnitXml.fromfile(str(path)) for _ in suite)
    elif tool == "test-results-parser":
        sys.path.insert(0, str(PEERS))
        import test_results_parser

        count = len(test_results_parser.parse_junit_xml(path.read_bytes()).testruns)
    else:
        raise SystemExit(f"unknown tool {tool}")
    return {"wall": time.perf_counter() - t0, "count": count}


def measure(tool: str, path: Path) -> dict[str, float]:
    """Run one tool in a child process; add that child's own peak RSS in MiB."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", tool, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)  # reap it ourselves to get its rusage
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{tool} failed on {path}")
    result: dict[str, float] = json.loads(out)
    result["rss_mib"] = usage.ru_maxrss / 1024
    return result


def ensure_peers() -> None:
    if not (PEERS / "test_results_parser").exists() or not (PEERS / "junitparser").exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--target",
                str(PEERS),
                "test-results-parser==0.6.1",
                "junitparser==5.0.0",
            ],
            check=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", nargs=2, metavar=("TOOL", "FILE"), help=argparse.SUPPRESS)
    ap.add_argument("--sizes", default="30mb,1gb")
    ap.add_argument("--shapes", default="pytest,output")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--peers-on-1gb",
        action="store_true",
        help="also run the in-memory peers on 1 GB (needs many GiB of RAM)",
    )
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child[0], Path(args.child[1]))))
        return
    ensure_peers()
    OUT.mkdir(exist_ok=True)
    rows = []
    for size, shape in [(z, s) for z in args.sizes.split(",") for s in args.shapes.split(",")]:
        path = OUT / f"junit-{size}-{shape}.xml"
        if not path.exists():
            generate(path, SIZES[size], shape)
        tools = ALL if size != "1gb" or args.peers_on_1gb else STREAMERS
        results: dict[str, dict[str, float]] = {}
        for tool in tools:
            runs = [measure(tool, path) for _ in range(args.repeat if size != "1gb" else 1)]
            results[tool] = {
                "wall": statistics.median(r["wall"] for r in runs),
                "rss_mib": max(r["rss_mib"] for r in runs),
                "count": runs[0]["count"],
            }
        ours = results["sei-watch"]
        mb = path.stat().st_size / 1e6
        for tool, r in results.items():
            rows.append(
                f"| {size} {shape} ({mb:.0f} MB) | {tool} | {r['wall']:.2f} s | "
                f"{r['rss_mib']:.0f} MiB | {r['count']:,} | "
                f"{ours['wall'] / r['wall']:.2f}x |"
            )
    table = "\n".join(
        [
            "| report | parser | wall (median) | peak RSS | tests | sei-watch wall / this |",
            "|---|---|---|---|---|---|",
            *rows,
        ]
    )
    print(table)
    (OUT / "junit.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
