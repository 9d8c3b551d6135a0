"""Peak memory of the native test readers on huge reports, each read in a fresh process.

    python bench/native_memory.py [--size-mb 1024]

Generates a `go test -json` stream (events and output lines of many tests in many packages)
and a TRX (`<Results>` first, `<TestDefinitions>` after, as `dotnet test` writes it) of about
`--size-mb` each, then runs `sei-watch parse FILE --parser NAME` on each and reports its peak
RSS (ru_maxrss of the child), its wall time, and the tests it counted against the tests
written. The bare interpreter's peak is printed for scale.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRX_NS = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"


def write_go_json(path: Path, size: int) -> int:
    tests = 0
    with path.open("w", encoding="utf-8") as fh:
        while fh.tell() < size:
            pkg = f"example.com/shop/pkg{tests // 1000}"
            for n in range(1000):
                name = f"TestCase{tests + n}"
                t = "2026-12-03T10:00:00.000000Z"
                outcome = "fail" if n % 97 == 0 else "pass"
                fh.write(json.dumps({"Time": t, "Action": "run", "Package": pkg, "Test": name}))
                fh.write("\n")
                line = f"=== RUN   {name}\n    shop_test.go:42: checking the cart total\n"
                fh.write(json.dumps({"Time": t, "Action": "output", "Package": pkg,
                                     "Test": name, "Output": line}))  # fmt: skip
                fh.write("\n")
                fh.write(json.dumps({"Time": t, "Action": outcome, "Package": pkg,
                                     "Test": name, "Elapsed": 0.01}))  # fmt: skip
                fh.write("\n")
            tests += 1000
            fh.write(json.dumps({"Time": "2026-12-03T10:00:01Z", "Action": "fail",
                                 "Package": pkg, "Elapsed": 1.0}) + "\n")  # fmt: skip
    return tests


def write_trx(path: Path, size: int) -> int:
    per = 1000
    with path.open("w", encoding="utf-8") as fh:
        fh.write(f'<?xml version="1.0" encoding="utf-8"?>\n<TestRun id="r" name="bench" '
                 f'xmlns="{TRX_NS}">\n<Results>\n')  # fmt: skip
        tests = 0
        # Results take about two thirds of the file; the definitions come after them.
        while fh.tell() < size * 2 // 3:
            for n in range(tests, tests + per):
                outcome = "Failed" if n % 97 == 0 else "Passed"
                fh.write(
                    f'<UnitTestResult executionId="e{n}" testId="t{n}" testName="Case{n}" '
                    f'computerName="ci" duration="00:00:00.0100000" '
                    f'startTime="2026-12-03T10:00:00.0000000+00:00" outcome="{outcome}" '
                    f'testListId="l" relativeResultsDirectory="e{n}"><Output><StdOut>'
                    f"checking the cart total for case {n}</StdOut></Output>"
                    f"</UnitTestResult>\n"
                )
            tests += per
        fh.write("</Results>\n<TestDefinitions>\n")
        for n in range(tests):
            fh.write(
                f'<UnitTest name="Case{n}" storage="shop.tests.dll" id="t{n}"><Execution '
                f'id="e{n}"/><TestMethod codeBase="shop.tests.dll" className="Shop.Tests.'
                f'Class{n // 500}" name="Case{n}"/></UnitTest>\n'
            )
        fail = (tests + 96) // 97
        fh.write(f'</TestDefinitions>\n<ResultSummary outcome="Failed"><Counters total="{tests}" '
                 f'executed="{tests}" passed="{tests - fail}" failed="{fail}"/>'
                 "</ResultSummary>\n</TestRun>\n")  # fmt: skip
    return tests


def measure(args: list[str]) -> tuple[float, float, str]:
    probe = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, "
        "time.perf_counter() - t); sys.stdout.write(p.stdout)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=False
    ).stdout
    head, _, rest = out.partition("\n")
    rss, wall = (float(x) for x in head.split())
    return rss, wall, rest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=1024)
    args = ap.parse_args()
    size = args.size_mb << 20
    floor, _, _ = measure([sys.executable, "-c", "pass"])
    print("| reader | file | tests written | tests counted | peak RSS | wall |")
    print("|---|---|---|---|---|---|")
    print(f"| (bare interpreter) | - | - | - | {floor:.0f} MiB | - |")
    with tempfile.TemporaryDirectory() as tmp:
        for name, writer, file in (
            ("go-test-json", write_go_json, "go-test.json"),
            ("trx", write_trx, "results.trx"),
        ):
            path = Path(tmp) / file
            t0 = time.perf_counter()
            written = writer(path, size)
            made = time.perf_counter() - t0
            rss, wall, out = measure(
                [sys.executable, "-m", "sei_watch", "parse", str(path), "--parser", name]
            )
            counted = sum(r.get("tests", 0) for r in json.loads(out or "[]")
                          if r.get("kind") == "SuiteSummary")  # fmt: skip
            mb = path.stat().st_size / (1 << 20)
            print(f"| {name} | {mb:.0f} MiB (made in {made:.0f} s) | {written} | {counted} | "
                  f"{rss:.0f} MiB | {wall:.1f} s |")  # fmt: skip
            path.unlink()
    resource.getrusage(resource.RUSAGE_SELF)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
