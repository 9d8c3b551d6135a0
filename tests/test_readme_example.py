"""The README's "Writing a parser" example, run as written: installed as a real plugin."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT
from .pipsite import install


def _blocks(lang: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Writing a parser", 1)[1]
    return re.findall(rf"```{lang}\n(.*?)```", section, flags=re.S)


def test_readme_parser_example_runs_as_written(tmp_path: Path) -> None:
    """The README parser and its entry-point stanza install, list, and parse a real file."""
    (code,) = _blocks("python")
    stanza = next(b for b in _blocks("toml") if "sei_watch.parsers.v1" in b)
    pkg = tmp_path / "pkg"
    (pkg / "my_sei_parsers").mkdir(parents=True)
    (pkg / "my_sei_parsers" / "__init__.py").write_text(code)
    (pkg / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        '[project]\nname = "my-sei-parsers"\nversion = "0.1"\n' + stanza
    )
    site = tmp_path / "site"
    install(pkg, site)
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "build.stages.txt").write_text("# name seconds result\ncheckout 1.5 ok\ntest 30 failed\n")
    env = {**os.environ, "PYTHONPATH": str(site)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sei_watch", *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    assert "stage-times" in cli("parsers").stdout
    one = json.loads(cli("parse", str(ws / "build.stages.txt"), "--parser", "stage-times").stdout)
    assert [(r["name"], r["duration_ms"], r["result"]) for r in one] == [
        ("checkout", 1500, "ok"),
        ("test", 30000, "failed"),
    ]
    payload = json.loads(cli("parse", str(ws), "--json").stdout)
    stages = payload["job_run"]["stages"]
    assert [(s["displayName"], s["result"]) for s in stages] == [
        ("checkout", "SUCCESS"),
        ("test", "FAILURE"),
    ]
    assert payload["result"] == "FAILURE"
    (ws / "bad.stages.txt").write_text("oops\n")
    bad = cli("parse", str(ws / "bad.stages.txt"), "--parser", "stage-times")
    assert bad.returncode == 1
    assert json.loads(bad.stdout)[0]["line"] == 1
