"""`sei-watch parse` and `sei-watch parsers` end to end, in-process with captured I/O."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sei_watch.status import ExitStatus

from .conftest import DATA, FIXED_NOW_MS, ROOT

WS = DATA / "ws-manifest"
GOLDEN = DATA / "ws-manifest.expected.json"
GUID = "89d2491c-764a-4f77-93d9-18e8e372b795"
SETS = (
    "--set",
    "pipeline=payments-api",
    "--set",
    f"instance_guid={GUID}",
    "--set",
    "build_number=412",
    "--set",
    "start_time=1749999000000",
    "--set",
    "param.environment=staging",
)


def test_golden_payload(run_cli, tmp_path: Path) -> None:
    """The --json payload of the manifest workspace matches its golden file exactly."""
    ws = tmp_path / "ws-manifest"  # outside any git checkout, so no git facts join in
    shutil.copytree(WS, ws)
    res = run_cli("parse", str(ws), "--json", *SETS)
    assert res.status == ExitStatus.PROBLEMS, res.err  # one artifact in it is incomplete
    if os.environ.get("SEI_WATCH_REGEN"):
        GOLDEN.write_text(res.out)
    assert json.loads(res.out) == json.loads(GOLDEN.read_text())
    assert "payments/worker is missing location, qualifier" in res.err


def test_summary_marks_defaults(run_cli) -> None:
    """Without --set, defaulted required fields are printed and marked as defaults."""
    res = run_cli("parse", str(WS))
    assert res.status == ExitStatus.PROBLEMS
    assert "pipeline       ws-manifest   (default, see below)" in res.out
    assert "pipeline       ws-manifest   the workspace directory name" in res.out
    assert "instance_name  agent-7   this host's name" in res.out
    assert "Artifacts (4)   ci=true cd=true" in res.out
    # an incomplete artifact, and two images in the old naming (sent in SEI's)
    assert "Problems (3)" in res.out


def test_strict_turns_defaults_into_an_error(run_cli) -> None:
    """--strict fails with the invalid-payload status and names each defaulted field."""
    res = run_cli("parse", str(WS), "--json", "--strict")
    assert res.status == ExitStatus.INVALID_PAYLOAD
    assert res.out == ""
    for key in ("pipeline", "instance_guid", "instance_name", "job_full_name"):
        assert f"$.{key}: not stated" in res.err


def test_defaults_are_valid_and_deterministic(run_cli) -> None:
    """Defaults give a valid payload: start from the clock, build number from the start."""
    payload = json.loads(run_cli("parse", str(WS), "--json").out)
    assert payload["start_time"] == FIXED_NOW_MS
    assert payload["build_number"] == FIXED_NOW_MS // 1000
    assert payload["instance_name"] == "agent-7"
    assert payload == json.loads(run_cli("parse", str(WS), "--json").out)


def test_records_lists_every_record_and_problem(run_cli) -> None:
    """--records prints the artifacts and the problem as JSON objects with their kind."""
    res = run_cli("parse", str(WS), "--records")
    kinds = [r["kind"] for r in json.loads(res.out)]
    assert kinds.count("Artifact") == 4  # the duplicate is still a record; the payload dedups
    assert kinds.count("ParseProblem") == 1


def test_parser_option_runs_one_parser_on_one_file(run_cli) -> None:
    """--parser NAME on a file prints that parser's records only."""
    res = run_cli("parse", str(WS / "flat" / "sei-artifacts.json"), "--parser", "sei-manifest")
    assert res.status == ExitStatus.OK, res.err
    (rec,) = json.loads(res.out)
    assert rec["kind"] == "Artifact"
    assert rec["source"] == "sei-artifacts.json"
    assert rec["output"] is True


def test_unknown_parser_name_is_a_usage_error(run_cli) -> None:
    """--parser with a name nobody registered lists the known ones."""
    res = run_cli("parse", str(WS / "flat" / "sei-artifacts.json"), "--parser", "nope")
    assert res.status == ExitStatus.USAGE
    assert "no parser named 'nope'" in res.err
    assert "sei-manifest" in res.err


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("colour=blue", "--set colour: unknown key 'colour'"),
        ("pipline=x", "did you mean 'pipeline'?"),
        ("build_number=abc", "build_number must be a whole number, not 'abc'"),
        ("noequals", "expected KEY=VALUE"),
    ],
)
def test_bad_set_is_a_usage_error(run_cli, arg: str, message: str) -> None:
    """A --set with an unknown key, a typo or a bad value is refused with the reason."""
    res = run_cli("parse", str(WS), "--set", arg)
    assert res.status == ExitStatus.USAGE
    assert message in res.err


def test_missing_directory_is_a_usage_error(run_cli, tmp_path: Path) -> None:
    """A workspace that does not exist is named in the error."""
    res = run_cli("parse", str(tmp_path / "nope"))
    assert res.status == ExitStatus.USAGE
    assert f"{tmp_path / 'nope'}: no such directory" in res.err


def test_config_file_sets_fields_params_and_parsers(run_cli, tmp_path: Path) -> None:
    """A TOML config sets payload fields and params, and can turn a parser off."""
    cfg = tmp_path / "sei-watch.toml"
    cfg.write_text(
        '[payload]\npipeline = "from-config"\nbuild_number = 9\n'
        '[payload.params]\nenvironment = "production"\n'
    )
    payload = json.loads(run_cli("parse", str(WS), "--json", "--config", str(cfg)).out)
    assert payload["pipeline"] == "from-config"
    assert payload["build_number"] == 9
    assert payload["job_run_params"][0] == {
        "type": "StringParameterValue",
        "name": "environment",
        "value": "production",
    }
    cfg.write_text("[parsers.sei-manifest]\nenabled = false\n")
    payload = json.loads(run_cli("parse", str(WS), "--json", "--config", str(cfg)).out)
    assert "artifacts" not in payload


def test_config_extra_globs_route_more_files(run_cli, tmp_path: Path) -> None:
    """Extra globs in the config hand more files to a parser."""
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "images.json").write_text(
        '{"artifact": {"output": true, "type": "container", "location": "r", '
        '"name": "a", "qualifier": "1"}}'
    )
    cfg = tmp_path / "c.toml"
    cfg.write_text('[parsers.sei-manifest]\nglobs = ["**/images.json"]\n')
    assert "artifacts" not in json.loads(run_cli("parse", str(tmp_path / "ws"), "--json").out)
    payload = json.loads(run_cli("parse", str(tmp_path / "ws"), "--json", "--config", str(cfg)).out)
    assert payload["artifacts"][0]["name"] == "a"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[payload\n", "not valid TOML"),
        ("[pasers.x]\n", "unknown key 'pasers'; did you mean 'parsers'?"),
        ("[parsers.nope]\nenabled = false\n", "config names unknown parsers ['nope']"),
        ("[parsers.sei-manifest]\nenabeld = true\n", "did you mean 'enabled'?"),
        ('[payload]\nbuild_number = "x"\n', "build_number must be a whole number"),
    ],
)
def test_bad_config_names_file_and_key(run_cli, tmp_path: Path, text: str, message: str) -> None:
    """A config error is a usage error that names the file and what is wrong."""
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    res = run_cli("parse", str(WS), "--config", str(cfg))
    assert res.status == ExitStatus.USAGE
    assert message in res.err
    if "unknown parsers" not in message:
        assert str(cfg) in res.err


def test_parsers_lists_builtins_with_origin(run_cli) -> None:
    """`sei-watch parsers` lists the built-in parsers and the entry point they came from."""
    res = run_cli("parsers")
    assert res.status == ExitStatus.OK
    assert "sei-manifest" in res.out
    assert "sei_watch_parsers.sei_manifest:SeiManifestParser (sei-watch" in res.out


def test_module_entry_and_console_script_work() -> None:
    """`python -m sei_watch --version` runs, and the built-in parsers are this project's."""
    out = subprocess.run(
        [sys.executable, "-m", "sei_watch", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("sei-watch ")
    import sei_watch_parsers

    assert Path(sei_watch_parsers.__file__).resolve().is_relative_to(ROOT)


def test_a_parsers_package_in_the_working_directory_changes_nothing(tmp_path: Path) -> None:
    """Run from a directory with its own `parsers/` package, every built-in parser is still
    found: nothing installed is named `parsers` (it was, and this lost them all)."""
    (tmp_path / "parsers").mkdir()
    (tmp_path / "parsers" / "__init__.py").write_text("")
    (tmp_path / "parsers" / "junit.py").write_text("raise ImportError('the project parsers')\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, "-m", "sei_watch", "parsers"],
        capture_output=True, text=True, check=True, cwd=tmp_path, env=env,
    )  # fmt: skip
    out = proc.stdout
    for name in ("junit", "robot", "log-github", "k8s-images", "jenkins-build"):
        assert f"\n{name} " in "\n" + out or out.startswith(name), name
    assert "warning" not in proc.stderr.lower()  # no parser failed to load


def test_parse_one_file_picks_the_parsers_that_claim_it(run_cli, corpus: Path) -> None:
    """`parse FILE` without --parser runs the parsers that claim the file, as a scan does."""
    res = run_cli("parse", str(corpus / "real" / "junit" / "launchable-robot-output.xml"))
    assert res.status == ExitStatus.OK, res.err
    assert "read by robot" in res.err
    assert sum(r["tests"] for r in json.loads(res.out) if r["kind"] == "SuiteSummary") == 6
    res = run_cli("parse", str(ROOT / "README.md"))
    assert res.status == ExitStatus.USAGE
    assert "no parser claims" in res.err
