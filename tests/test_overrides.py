"""One rule for environment overrides (issue #19, item 6): every scalar payload field as
`SEI_<FIELD>`, every config key as `SEI_WATCH_<SECTION>_<KEY>`, and `--explain` naming where
each value really came from; `--strict` covers a defaulted build number."""

from __future__ import annotations

import json
from pathlib import Path

from sei_watch.status import ExitStatus

GUID = "89d2491c-764a-4f77-93d9-18e8e372b795"


def _explain(run_cli, ws: Path, env: dict[str, str], *args: str) -> dict[str, dict[str, str]]:
    res = run_cli("parse", str(ws), "--explain", "--json", *args, environ=env)
    assert res.status in (ExitStatus.OK, ExitStatus.PROBLEMS), res.err
    return {row["field"]: row for row in json.loads(res.out) if "field" in row}


def test_every_scalar_field_from_the_environment(run_cli, tmp_path: Path) -> None:
    """SEI_INSTANCE_GUID (once silently ignored), SEI_PROJECT_NAME and SEI_CD are applied,
    typed, and --explain names the variable, not `--set`."""
    ws = tmp_path / "ws"
    ws.mkdir()
    env = {"SEI_INSTANCE_GUID": GUID, "SEI_PROJECT_NAME": "shop", "SEI_CD": "true"}
    rows = _explain(run_cli, ws, env)
    assert rows["instance_guid"]["value"] == GUID
    assert rows["instance_guid"]["source"] == "env:SEI_INSTANCE_GUID"
    assert rows["project_name"]["source"] == "env:SEI_PROJECT_NAME"
    assert rows["cd"]["value"] is True


def test_config_env_override_is_named_as_such(run_cli, tmp_path: Path) -> None:
    """SEI_WATCH_SEI_INSTANCE_GUID is named as that variable; a --set as --set."""
    ws = tmp_path / "ws"
    ws.mkdir()
    rows = _explain(
        run_cli, ws, {"SEI_WATCH_SEI_INSTANCE_GUID": GUID}, "--set", "pipeline=checkout"
    )
    assert rows["instance_guid"]["source"] == "env:SEI_WATCH_SEI_INSTANCE_GUID"
    assert rows["pipeline"]["source"] == "--set"


def test_strict_covers_build_number(run_cli, tmp_path: Path) -> None:
    """--strict refuses a defaulted build_number too (each parse would be a new run)."""
    ws = tmp_path / "ws"
    ws.mkdir()
    sets = ("--set", f"instance_guid={GUID}", "--set", "pipeline=p", "--set", "instance_name=i")
    res = run_cli("parse", str(ws), "--json", "--strict", *sets, environ={})
    assert res.status == ExitStatus.INVALID_PAYLOAD
    assert "$.build_number: not stated" in res.err
