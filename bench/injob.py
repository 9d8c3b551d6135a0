"""The in-job report step against the floor and the peer a CI user would pick, same run.

    python bench/injob.py [--pairs 10] [--files 200] [--no-wheel]

Two workspaces: one generated here (`--files` Surefire reports, 40 cases each, every fifth
failing with a 40-frame stack trace, the rest with system-out: about 12 MB at 200 files) and
the repository's small `examples/maven-flaky`. On each, whole processes take turns, A B C A B C:

- `sei-watch parse WS` and the floor, a bare Python parsing the same XML with `xml.etree`;
- codecov-cli's local parse (`codecovcli process-test-results`, its Rust parser) where
  `codecovcli` is on PATH (`pip install codecov-cli`; its rows are left out otherwise);
- `sei-watch parse WS --post` to the SEI stand-in on loopback (multipart: the run and its
  test zip; it answers 202 before it stores, as SEI does), against codecov-cli's real
  upload (`do-upload --report-type test_results`) of the same files to a loopback Codecov
  API (answers its POST, then takes the PUT to storage).

Every command runs with `CI=true`, as in a CI job (sei-watch then logs errors only, as a
readable line). sei-watch runs from a wheel of this checkout installed with its dependencies
into a fresh venv, as a user's install is (bytecode compiled, no editable-install finder);
`--no-wheel` uses this venv's `sei-watch` instead. Medians and each ratio to sei-watch are printed;
nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wheelenv import install_wheel  # noqa: E402

from tests.sei_server import StandIn  # noqa: E402

KEY = "sk-bench-injob"
GUID = "5b0c3a52-7d1e-4b8f-9a61-0d2c5e8f4a13"
SHA = "0" * 40
_NUMBERS = itertools.count(1000)
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
            body = f"<system-out>{'log line with some words in it ' * 40}</system-out>"
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


class _Codecov(BaseHTTPRequestHandler):
    """Codecov's upload API as codecov-cli meets it: the POST, then the PUT to storage."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        host, port = self.server.server_address[:2]
        body = json.dumps({"raw_upload_location": f"http://{host}:{port}/storage/x"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        return


def commands(ws: Path, sei: str, sei_url: str, codecov_url: str, cfg: Path) -> dict[str, list[str]]:
    reports = [str(p) for p in sorted(ws.rglob("*.xml"))]
    files = [arg for path in reports for arg in ("--file", path)]
    found = {
        "sei-watch parse": [sei, "parse", str(ws)],
        "floor: xml.etree": [sys.executable, "-c", FLOOR, str(ws)],
    }
    codecov = shutil.which("codecovcli")
    if codecov:
        found["codecov-cli process-test-results"] = [
            codecov, "process-test-results", "--dir", str(ws), "--disable-search", *files,
        ]  # fmt: skip
    found["sei-watch parse --post"] = [
        sei, "parse", str(ws), "--post", "--config", str(cfg), "--set", "job_full_name=bench/ci",
    ]  # fmt: skip
    if codecov:
        found["codecov-cli do-upload (test_results)"] = [
            codecov, "--enterprise-url", codecov_url, "do-upload", "--report-type",
            "test_results", "--disable-search", *files, "-t", "token", "-C", SHA,
            "-r", "acme/shop", "--git-service", "github", "-B", "main", "--dir", str(ws),
            "--network-root-folder", str(ws), "-Z",
        ]  # fmt: skip
    del sei_url
    return found


def _numbered(cmd: list[str]) -> list[str]:
    """A new run each time for a post: a build the outbox already delivered is not re-sent."""
    return [*cmd, "--set", f"build_number={next(_NUMBERS)}"] if "--post" in cmd else cmd


def measure(cases: dict[str, list[str]], ws: Path, pairs: int) -> dict[str, list[float]]:
    # A CI job's environment (every CI system sets CI): what each tool meets in a job.
    env = {"SEI_API_KEY": KEY, "PATH": "/usr/bin:/bin", "HOME": str(ws.parent), "CI": "true"}
    times: dict[str, list[float]] = {name: [] for name in cases}
    for name, cmd in cases.items():  # one warm-up each, and proof that it works
        res = subprocess.run(
            _numbered(cmd), capture_output=True, check=False, cwd=ws, env=env, text=True
        )
        if res.returncode not in (0, 1):
            print(f"  {name} exited {res.returncode}: {res.stderr.strip()[-300:]}")
    for _ in range(pairs):
        for name, cmd in cases.items():
            argv = _numbered(cmd)
            t0 = time.perf_counter()
            subprocess.run(argv, capture_output=True, check=False, cwd=ws, env=env)
            times[name].append(time.perf_counter() - t0)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=10)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--no-wheel", action="store_true", help="use this venv's sei-watch")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sei-watch-injob-"))
    big, small = tmp / "surefire", tmp / "small"
    surefire(big, args.files)
    shutil.copytree(ROOT / "examples" / "maven-flaky", small)
    if args.no_wheel:
        sei = shutil.which("sei-watch", path=str(Path(sys.executable).parent)) or "sei-watch"
    else:
        sei = str(install_wheel(tmp / "venv", deps=True) / "bin" / "sei-watch")
    if not shutil.which("codecovcli"):
        print("codecovcli is not on PATH: its rows are left out (pip install codecov-cli)")
    # SEI answers 202 and stores later; so does the stand-in here, as Codecov's below answers
    # at once: each client's time is its own work and its wait for the answer.
    stand_in = StandIn(KEY, instances={GUID: "bench"}, answer_first=True).start()
    codecov = ThreadingHTTPServer(("127.0.0.1", 0), _Codecov)
    threading.Thread(target=codecov.serve_forever, daemon=True).start()
    codecov_url = f"http://127.0.0.1:{codecov.server_address[1]}"
    cfg = tmp / "sei-watch.toml"
    cfg.write_text(
        f'[sei]\nurl = "{stand_in.url}"\ninstance_guid = "{GUID}"\ninstance_name = "bench"\n'
        f'transport = "multipart"\n[state]\ndir = "{tmp / "state"}"\n'
    )
    try:
        for label, ws in ((f"{args.files} Surefire files", big), ("small maven-flaky", small)):
            size = sum(p.stat().st_size for p in ws.rglob("*") if p.is_file())
            cases = commands(ws, sei, stand_in.url, codecov_url, cfg)
            times = measure(cases, ws, args.pairs)
            ours = statistics.median(times["sei-watch parse"])
            posted = statistics.median(times["sei-watch parse --post"])
            print(f"\n{label} ({size / 1e6:.1f} MB), {args.pairs} alternating runs each")
            print(f"{'command':<40} {'median':>9} {'/ sei-watch':>12}")
            for name, samples in times.items():
                med = statistics.median(samples)
                base = posted if "post" in name or "upload" in name else ours
                print(f"{name:<40} {med * 1000:>7.0f}ms {med / base:>11.2f}x")
        sent = next(_NUMBERS) - 1000
        deadline = time.monotonic() + 30
        while len(stand_in.store.runs) < sent and time.monotonic() < deadline:
            time.sleep(0.1)  # the last posts may still be being stored
        print(f"\nruns stored by the SEI stand-in: {len(stand_in.store.runs)} of {sent} posted")
    finally:
        stand_in.stop()
        codecov.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
