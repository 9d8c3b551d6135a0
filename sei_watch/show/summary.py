"""The summary `sei-watch parse` prints: what a person checks before trusting a payload."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any, TextIO

from sei_watch.payload import Assembly
from sei_watch.records import Record
from sei_watch.termsafe import safe_copy, visible

__all__ = ["fmt_ms", "record_json", "write_summary"]

_MARK = {
    "SUCCESS": "ok  ",
    "FAILURE": "FAIL",
    "UNSTABLE": "UNST",
    "ABORTED": "ABRT",
    "NOT_BUILT": "skip",
}


def fmt_ms(ms: int) -> str:
    """A duration as a person reads it: 850ms, 12.3s, 4m05s, 1h02m."""
    if ms < 1000:
        return f"{ms}ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f}s"
    minutes, seconds = divmod(ms // 1000, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def record_json(record: Record) -> dict[str, Any]:
    """A record as a JSON object, with its kind first."""
    return {"kind": type(record).__name__, **dataclasses.asdict(record)}


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def write_summary(
    out: TextIO,
    asm: Assembly,
    *,
    title: str,
    problems_label: str = "",
    settled: tuple[str, ...] = (),
) -> None:
    """Print stages, steps, tests, artifacts, problems and defaulted fields; every string
    from the build is escaped for the terminal first. `settled`: defaulted fields the post
    replaces (the instance's name, from SEI), not offered as a default to set."""
    p = safe_copy(asm.payload)
    title = visible(title)
    defaulted = {k: why for k, why in asm.defaults if k not in settled}
    w = out.write
    w(f"{title}\n\n")
    for key in (
        "pipeline",
        "job_full_name",
        "instance_name",
        "instance_guid",
        "build_number",
        "result",
        "branch_name",
        "repo_url",
    ):
        if key in p:
            note = "   (default, see below)" if key in defaulted else ""
            w(f"  {key:<15}{p[key]}{note}\n")
    note = "   (default, see below)" if "start_time" in defaulted else ""
    w(f"  {'start':<15}{_when(p['start_time'])}{note}\n")
    w(f"  {'duration':<15}{fmt_ms(p['duration'])}\n")
    stages = p.get("job_run", {}).get("stages", [])
    w(f"\nStages ({len(stages)})\n")
    for stage in stages:
        dur = fmt_ms(stage["durationInMillis"])
        w(f"  {_MARK[stage['result']]} {stage['displayName']:<50} {dur:>8}\n")
        for step in stage["steps"]:
            w(
                f"    {_MARK[step['result']]} {step['displayName']:<48} "
                f"{fmt_ms(step['durationInMillis']):>8}\n"
            )
            if step["displayDescription"] != step["displayName"]:
                w(f"         {step['displayDescription']}\n")
    if asm.suites:
        tests = sum(s.tests for s in asm.suites)
        failed = sum(s.failures + s.errors for s in asm.suites)
        flaky = sum(s.flaky for s in asm.suites)
        skipped = sum(s.skipped for s in asm.suites)
        w(
            f"\nTests: {tests} in {len(asm.suites)} suites, {failed} failed, {skipped} skipped, "
            f"{flaky} flaky\n"
        )
    arts = p.get("artifacts", [])
    w(f"\nArtifacts ({len(arts)})   ci={str(p.get('ci')).lower()} cd={str(p.get('cd')).lower()}\n")
    for a in arts:
        way = "in " if a["input"] else "out"
        w(
            f"  {way} {a['type']:<10} {a['name']}:{a['qualifier']}  {a['location']}"
            f"{'  ' + a['hash'] if a['hash'] else ''}\n"
        )
    w(f"\nProblems ({len(asm.problems)}){problems_label}\n")
    for prob in asm.problems:
        w(f"  {visible(str(prob))}\n")
    if defaulted:
        w("\nDefaults (no file stated these; set them with --set or the config)\n")
        for key, why in defaulted.items():
            w(f"  {key:<15}{p[key]}   {why}\n")


def dump_json(out: TextIO, value: Any) -> None:
    """Pretty, stable JSON with a trailing newline."""
    json.dump(value, out, indent=2, ensure_ascii=False)
    out.write("\n")
