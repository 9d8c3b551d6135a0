"""`make demo`: the whole path on one machine, no credentials, no network.

Starts the SEI stand-in on loopback, runs `sei-watch parse --post` on every workspace under
examples/ (through the real outbox), then prints what SEI received, each build's timeline, and
the problems found. Exits non-zero unless the stand-in received every example.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sei_watch.timeline import render_text  # noqa: E402
from tests.sei_server import StandIn  # noqa: E402

KEY = "demo-key"
GUID = "0c2d6f3e-8a41-4f7b-9d6e-5b1a2c3d4e5f"


def main() -> int:
    examples = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir())
    srv = StandIn(KEY).start()
    problems: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "sei-watch.toml"
        cfg.write_text(
            f'[sei]\nurl = "{srv.url}"\ninstance_guid = "{GUID}"\n'
            f'instance_name = "demo-agent"\n[state]\ndir = "{tmp}/state"\n'
        )
        env = {**os.environ, "SEI_API_KEY": KEY}
        for n, ws in enumerate(examples, 1):
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "sei_watch",
                    "parse",
                    str(ws),
                    "--post",
                    "--json",
                    "--config",
                    str(cfg),
                    "--set",
                    f"build_number={n}",
                    "--set",
                    f"pipeline={ws.name}",
                ],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            problems[ws.name] = [
                line.removeprefix("sei-watch: problem: ")
                for line in proc.stderr.splitlines()
                if "problem:" in line
            ]
    srv.stop()
    print(f"SEI stand-in received {len(srv.accepted)} of {len(examples)} builds\n")
    for payload in srv.accepted:
        arts = payload.get("artifacts", [])
        outs = [f"{a['name']}:{a['qualifier']}" for a in arts if a["output"]]
        ins = [f"{a['name']}:{a['qualifier']}" for a in arts if a["input"]]
        print(
            f"== {payload['pipeline']}  result {payload['result']}  ci={payload['ci']} "
            f"cd={payload['cd']}  stages {len(payload['job_run']['stages'])}"
        )
        for label, items in (("built", outs), ("deployed", ins)):
            if items:
                print(f"   {label}: {', '.join(items)}")
        print(render_text(payload, width=88, ascii_only=not sys.stdout.isatty()))
        for prob in problems.get(payload["pipeline"], []):
            print(f"   problem: {prob}")
        print()
    return 0 if len(srv.keys) == len(examples) else 1


if __name__ == "__main__":
    raise SystemExit(main())
