"""`make demo`: the whole path on one machine, no credentials, no network.

Starts the SEI stand-in on loopback, runs `sei-watch parse --post` on every workspace under
examples/ (through the real outbox), then prints what SEI stored (the stand-in models the work
the server does after its 202), each build's timeline, the problems found, and which CI build
each deployment links to under SEI's correlation (its three modes at once, both ways). It
posts through the multipart transport, as the SEI Jenkins plugin does, so the test rows SEI
would keep are shown too. Exits non-zero unless every example was stored with all of its
stages and steps, the maven-flaky run has its test rows, the CI image links to its
deployment, and nothing is linked through a mutable tag such as `latest`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sei_watch.show.timeline import render_text  # noqa: E402
from tests.sei_server import StandIn  # noqa: E402

KEY = "demo-key"
GUID = "0c2d6f3e-8a41-4f7b-9d6e-5b1a2c3d4e5f"


def stored_differences(payload: dict[str, Any], run: Any) -> list[str]:
    """Where what SEI stored differs from what was sent: whole-second durations, cut names,
    artifacts the stored list holds, and fields kept from an earlier post."""
    out = [f"duration {run.duration_s} s (sent {payload['duration']} ms)"]
    for key, value in run.fields.items():
        if payload.get(key) != value:
            out.append(f"{key} {value!r} (sent {payload.get(key)!r}: the first post's is kept)")
    for stage in run.stages.values():
        sent = next((s for s in payload["job_run"]["stages"] if str(s.get("id")) == stage.id), None)
        if sent is not None and sent["displayName"] != stage.name:
            out.append(f"stage {stage.id!r} named {stage.name!r} (sent {sent['displayName']!r})")
    kept = sorted(f"{a.name}:{a.qualifier}" for a in run.artifacts)
    sent_arts = sorted(f"{a['name']}:{a['qualifier']}" for a in payload.get("artifacts", []))
    if kept != sent_arts:
        out.append(f"artifacts {kept} (sent {sent_arts})")
    return out


def main() -> int:
    # examples/ci holds the CI recipes, not a build workspace.
    examples = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir() and p.name != "ci")
    srv = StandIn(KEY, instances={GUID: "demo-agent"}).start()
    problems: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "sei-watch.toml"
        cfg.write_text(
            f'[sei]\nurl = "{srv.url}"\ninstance_guid = "{GUID}"\n'
            f'instance_name = "demo-agent"\ntransport = "multipart"\n'
            f'[state]\ndir = "{tmp}/state"\n'
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
    stored = {run.key[1]: run for run in srv.store.runs.values()}
    print(f"SEI stored {len(stored)} of {len(examples)} builds (received {len(srv.accepted)})\n")
    complete = True
    for payload in srv.accepted:
        run = stored.get(payload["job_full_name"])
        sent = payload["job_run"]["stages"]
        kept = run.stages if run is not None else {}
        steps_sent = sum(len(s["steps"]) for s in sent)
        steps_kept = sum(len(s.steps) for s in kept.values())
        complete &= len(kept) == len(sent) and steps_kept == steps_sent
        arts = payload.get("artifacts", [])
        outs = [f"{a['name']}:{a['qualifier']}" for a in arts if a["output"]]
        ins = [f"{a['name']}:{a['qualifier']}" for a in arts if a["input"]]
        flags = " ".join(f"{k}={payload[k]}" for k in ("ci", "cd") if k in payload)
        print(
            f"== {payload['pipeline']}  result {payload['result']}  {flags}  "
            f"stored stages {len(kept)}/{len(sent)}, steps {steps_kept}/{steps_sent}"
        )
        for label, items in (("built", outs), ("deployed", ins)):
            if items:
                print(f"   {label}: {', '.join(items)}")
        if run is not None:
            for line in stored_differences(payload, run):
                print(f"   stored: {line}")
        print(render_text(payload, width=88, ascii_only=not sys.stdout.isatty()))
        for prob in problems.get(payload["pipeline"], []):
            print(f"   problem: {prob}")
        print()
    for why in srv.store.dropped:
        print(f"dropped after the 202: {why[0]}: {why[1]}")
    flaky = stored.get("maven-flaky")
    rows = list(flaky.tests.values()) if flaky is not None else []
    print(f"maven-flaky: {len(rows)} test rows as SEI's test table keeps them")
    for row in rows:
        print(f"   {row.status:<8} {row.time_s:>8.3f} s  {row.classname}.{row.name}")
    pairs = {tuple(sorted((a[1], b[1]))) for a, b in srv.store.correlate()}
    links = sorted(f"{a} <-> {b}" for a, b in pairs)
    print(f"\nCI/CD links (every mode, both ways): {', '.join(links) or 'none'}")
    mutable = [
        f"{run.key[1]}: {a.name}:{a.qualifier}"
        for run in srv.store.runs.values()
        for a in run.artifacts
        if a.type == "container" and a.qualifier in ("latest", "main", "edge", "nightly")
    ]
    for line in mutable:
        print(f"   linked through a mutable tag: {line}")
    linked = ("buildx-ci", "deploy-cd") in pairs and not mutable
    ok = len(stored) == len(examples) and complete and linked and bool(rows)
    ok &= not srv.store.dropped
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
