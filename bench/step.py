"""What `sei-watch step NAME -- COMMAND` adds to the command it wraps, same run.

    python bench/step.py [--runs 41]

Fresh processes, interleaved: the bare command (`true`), the same under `sei-watch step` as
the installed script runs it, and the bare interpreter for scale. A regular install has no
editable-install finder in `site`; `-S` runs (no `site` at all) show the cost without it, for
both the step and the floor. Prints medians and what the step adds to the bare command.
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=41)
    args = ap.parse_args()
    ws = Path(tempfile.mkdtemp(prefix="sei-watch-step-"))
    script = shutil.which("sei-watch") or str(Path(sys.executable).parent / "sei-watch")
    true = shutil.which("true") or "/bin/true"
    harness = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); from sei_watch.cli import main; "
        f"sys.exit(main(['step', '--workspace', {str(ws)!r}, 't', '--', {true!r}]))"
    )
    cases = {
        "true (the bare command)": [true],
        "sei-watch step t -- true": [script, "step", "--workspace", str(ws), "t", "--", true],
        "python -S: step t -- true": [sys.executable, "-S", "-B", "-c", harness],
        "python -c pass": [sys.executable, "-B", "-c", "pass"],
        "python -S -c pass": [sys.executable, "-S", "-B", "-c", "pass"],
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, cmd in cases.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True)
            times[name].append((time.perf_counter() - t0) * 1000)
    bare = statistics.median(times["true (the bare command)"])
    print("| command | median | adds to `true` |")
    print("|---|---|---|")
    for name, samples in times.items():
        med = statistics.median(samples)
        print(f"| {name} | {med:.1f} ms | {med - bare:+.1f} ms |")
    lines = (ws / ".sei-watch-steps.jsonl").read_text().count("\n")
    print(f"\n{lines} steps recorded ({2 * args.runs} expected)")
    shutil.rmtree(ws)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
