"""What a CI job's log shows of `parse --post`: human lines only (the JSON log only when asked
for), one closing line that is true on a throwaway runner, no state-directory note, no
host-name default, and on GitLab the summary in a collapsible section."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .conftest_sei import API_KEY, GUID
from .paths import ROOT
from .sei_server import StandIn

GITLAB = {
    "CI": "true",
    "GITLAB_CI": "true",
    "CI_PROJECT_PATH": "acme/shop",
    "CI_PIPELINE_ID": "4242",
    "CI_JOB_NAME": "test",
    "CI_JOB_ID": "90001",
    "CI_COMMIT_REF_NAME": "main",
    "CI_SERVER_URL": "https://gitlab.example.com",
}


def _job(tmp: Path, sei_url: str, env: dict[str, str] | None = None):
    ws = tmp / "ws"
    shutil.copytree(ROOT / "examples" / "maven-flaky", ws)
    cwd = tmp / "cwd"
    cwd.mkdir()
    environ = {
        **GITLAB,
        "HOME": str(tmp / "home"),
        "SEI_URL": sei_url,
        "SEI_API_KEY": API_KEY,
        "SEI_INSTANCE_GUID": GUID,
        # the configured directory is not this user's: the one-shot falls back quietly
        "SEI_WATCH_STATE_DIR": "/proc/sei-watch-not-writable",
        **(env or {}),
    }
    return ws, cwd, environ


def _run(run_cli, cwd: Path, environ: dict[str, str], *argv: str):
    """The command in the job's working directory, where an undelivered payload is saved."""
    here = os.getcwd()
    os.chdir(cwd)
    try:
        return run_cli(*argv, environ=environ)
    finally:
        os.chdir(here)


def test_sei_down_in_a_job_says_one_true_closing_line(run_cli, tmp_path: Path) -> None:
    """SEI down in a GitLab job: no JSON line, no "stays queued in ~/.local/state" (gone with
    the runner), no state-directory note, one closing line naming the saved file."""
    ws, cwd, environ = _job(tmp_path, "http://127.0.0.1:9")
    res = _run(run_cli, cwd, environ, "parse", str(ws), "--post", "--timeout", "2")
    text = res.out + res.err
    assert not [line for line in text.splitlines() if line.lstrip().startswith("{")], text
    assert "stays queued" not in text
    assert "state directory" not in text
    closing = [line for line in res.err.splitlines() if "not delivered" in line]
    assert len(closing) == 1, res.err
    assert "job artifact" in closing[0]
    assert list(cwd.glob("sei-watch-undelivered-*.json"))


def test_the_json_log_when_asked_for(run_cli, tmp_path: Path) -> None:
    """`--log-format json` puts the structured log back, one JSON object per line."""
    ws, cwd, environ = _job(tmp_path, "http://127.0.0.1:9")
    res = _run(
        run_cli, cwd, environ, "--log-format", "json", "--log-level", "info",
        "parse", str(ws), "--post", "--timeout", "1",
    )  # fmt: skip
    events = [json.loads(line) for line in res.err.splitlines() if line.startswith("{")]
    assert any(e.get("event") == "payload.retry" for e in events), res.err


def test_gitlab_gets_a_collapsible_section_and_no_host_default(
    run_cli, tmp_path: Path, sei: StandIn
) -> None:
    """On GitLab the summary sits in a collapsed section (section_start/section_end), and no
    "Defaults" line offers this host's name as the instance name (SEI's name is used)."""
    ws, cwd, environ = _job(tmp_path, sei.url)
    res = _run(run_cli, cwd, environ, "parse", str(ws), "--post", "--timeout", "2")
    assert res.status in (0, 1), res.err
    assert "section_start:" in res.out
    assert "section_end:" in res.out
    assert res.out.index("section_start:") < res.out.index("Stages") < res.out.index("section_end:")
    assert "this host's name" not in res.out
