"""`check-config` in one pass: every mistake at once, each with its file, line and key;
presets and GUIDs validated; the files it searched named; JSON on errors too."""

from __future__ import annotations

import json
from pathlib import Path

from sei_watch.status import ExitStatus

from .conftest_sei import GUID

FOUR_MISTAKES = """\
[sei]
url = "prod9"
instance_guid = "not-a-guid"
read_timeout = "soon"

[state]
dir = "{state}"

[[watch]]
name = "main"
root = "{root}"
pattern = "{{pipeline}}/{{build_number}}"

[[watch]]
name = "second"
root = "{root}"
complete_when = "whenever"
"""


def _write(tmp: Path, text: str) -> Path:
    (tmp / "root").mkdir(exist_ok=True)
    cfg = tmp / "config.toml"
    cfg.write_text(text.format(state=tmp / "state", root=tmp / "root"))
    cfg.chmod(0o600)
    return cfg


def test_four_mistakes_in_one_run_with_lines(run_cli, tmp_path: Path) -> None:
    """A file with four mistakes (an unknown preset, a GUID that is not a UUID, a timeout
    that is not a number, a watch's bad completion rule) shows all four in one run, each
    as file:line: key: reason, and exits 2. It used to take four runs, with no line."""
    cfg = _write(tmp_path, FOUR_MISTAKES)
    res = run_cli("check-config", "--config", str(cfg), environ={})
    assert res.status == ExitStatus.USAGE
    lines = [line for line in res.err.splitlines() if line.startswith(str(cfg))]
    assert len(lines) == 4, res.err
    by_key = {line.split(": ")[1]: line for line in lines}
    assert by_key["[sei] url"].startswith(f"{cfg}:2:")
    assert "prod9" in by_key["[sei] url"]
    assert by_key["[sei] instance_guid"].startswith(f"{cfg}:3:")
    assert by_key["[sei] read_timeout"].startswith(f"{cfg}:4:")
    assert by_key["[[watch]] #2"].startswith(f"{cfg}:14:")


def test_json_on_errors_and_the_files_searched(run_cli, tmp_path: Path) -> None:
    """--json gives the errors as objects (file, line, key, message) and ok false; without
    --config, the files looked at are named."""
    cfg = _write(tmp_path, FOUR_MISTAKES)
    res = run_cli("check-config", "--json", "--config", str(cfg), environ={})
    doc = json.loads(res.out)
    assert doc["ok"] is False
    assert len(doc["errors"]) == 4
    assert {"file", "line", "key", "message"} == set(doc["errors"][0])
    none = run_cli("check-config", environ={"SEI_WATCH_CONFIG": str(tmp_path / "absent.toml")})
    assert none.status == ExitStatus.USAGE
    assert "absent.toml" in none.err


def test_a_good_file_still_passes(run_cli, tmp_path: Path) -> None:
    """The one-pass checker does not refuse what loads."""
    good = FOUR_MISTAKES.replace('"prod9"', '"prod1"').replace('"not-a-guid"', f'"{GUID}"')
    good = good.replace('"soon"', "5.0").replace('complete_when = "whenever"\n', "")
    cfg = _write(tmp_path, good)
    res = run_cli("check-config", "--config", str(cfg), environ={})
    assert res.status == ExitStatus.OK, res.err
