"""What `sei-watch step NAME -- COMMAND` adds to the command it wraps, same run.

    python bench/step.py [--runs 41]

Fresh processes, interleaved: the bare command (`true`), the same under `sei-watch step` as
the installed script runs it, and the bare interpreter for scale. The development venv's
editable install puts a finder in `site` that costs every Python start ~20 ms, so the bench
also builds a wheel and installs it (no dependencies: `step` needs none) into a fresh venv,
as a user's install is: that row is the figure. Bytecode is compiled first, as pip does.
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

from wheelenv import install_wheel

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
    venv = Path(tempfile.mkdtemp(prefix="sei-watch-step-venv-"))
    env = install_wheel(venv, deps=False)  # `step` needs no dependency
    installed = str(env / "bin" / "sei-watch")
    step = ["step", "--workspace", str(ws), "t", "--", true]
    cases = {
        "true (the bare command)": [true],
        "installed wheel: sei-watch step t -- true": [installed, *step],
        "installed wheel: python -c pass": [str(env / "bin" / "python"), "-c", "pass"],
        "dev venv: sei-watch step t -- true": [script, *step],
        "dev venv, python -S: step t -- true": [sys.executable, "-S", "-c", harness],
        "dev venv: python -c pass": [sys.executable, "-c", "pass"],
        "dev venv: python -S -c pass": [sys.executable, "-S", "-c", "pass"],
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
    print(f"\n{lines} steps recorded ({3 * args.runs} expected)")
    shutil.rmtree(ws)
    shutil.rmtree(venv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
