"""A whole CI job on a throwaway runner, played for real: a fresh HOME, no state directory, a
non-root user where the machine allows it, the CI's own variables, and a stand-in SEI that
fails first or is down. Then the saved payload is imported and delivered elsewhere."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sei_watch.status import ExitStatus

from .conftest_sei import API_KEY, GUID
from .conftest_sei import GITHUB as GITHUB_JOB
from .paths import ROOT
from .sei_server import StandIn
from .test_workspace import effective_nobody

GITHUB = {
    **GITHUB_JOB,
    "GITHUB_REF_NAME": "main",
    "GITHUB_SHA": "4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2",
    "GITHUB_ACTOR": "jdoe",
}
GITLAB = {
    "GITLAB_CI": "true",
    "CI_SERVER_URL": "https://gitlab.example.com",
    "CI_PROJECT_PATH": "acme/shop",
    "CI_JOB_NAME": "test",
    "CI_PIPELINE_IID": "88",
    "CI_JOB_ID": "123456",
    "CI_COMMIT_REF_NAME": "main",
    "CI_JOB_STATUS": "success",
    "GITLAB_USER_LOGIN": "jdoe",
}


@pytest.fixture(autouse=True)
def warm(run_cli, tmp_path: Path, sei: StandIn, sei_config: Path) -> None:
    """One post as root first. This machine's Python lives under /root (mode 0700): once the
    effective uid is nobody, a module imported for the first time cannot be read, which a
    runner's own Python never suffers. So every lazy import happens here, before."""
    ws = tmp_path / "warm"
    shutil.copytree(ROOT / "examples" / "maven-flaky", ws)
    res = run_cli("parse", str(ws), "--post", "--config", str(sei_config))
    assert res.status in (ExitStatus.OK, ExitStatus.PROBLEMS), res.err


@contextlib.contextmanager
def runner(sei_url: str) -> Iterator[tuple[Path, Path, Path, dict[str, str]]]:
    """A runner's throwaway home and workspace, readable by nobody, with a config that names
    SEI and the instance but no state directory (the default one is root's)."""
    base = Path(tempfile.mkdtemp(prefix="sei-watch-job-"))
    try:
        base.chmod(0o755)
        home, ws = base / "home", base / "ws"
        shutil.copytree(ROOT / "examples" / "maven-flaky", ws)
        home.mkdir()
        cfg = base / "sei-watch.toml"
        cfg.write_text(
            f'[sei]\nurl = "{sei_url}"\ninstance_guid = "{GUID}"\ninstance_name = "runners"\n'
            "backoff_cap = 0.3\nread_timeout = 2.0\n"
        )
        if os.geteuid() == 0:
            for path in (home, ws, *ws.rglob("*")):
                os.chown(path, 65534, 65534)
        env = {"HOME": str(home), "SEI_API_KEY": API_KEY}
        yield base, ws, cfg, env
    finally:
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(Path(tempfile.gettempdir()) / "sei-watch-65534", ignore_errors=True)


@pytest.mark.parametrize("vendor", [GITHUB, GITLAB], ids=["github", "gitlab"])
def test_job_delivers_within_the_deadline(run_cli, vendor: dict[str, str]) -> None:
    """On a fresh runner as a non-root user, SEI failing twice first: no state directory is
    needed (and none is talked about), the payload is delivered within --timeout, and SEI
    stored it."""
    srv = StandIn(API_KEY, instances={GUID: "runners"}).start()
    srv.script.extend(["503", "503"])
    try:
        with runner(srv.url) as (_, ws, cfg, env):
            cwd = os.getcwd()
            os.chdir(ws)
            try:
                with effective_nobody():
                    res = run_cli(
                        "parse", str(ws), "--post", "--config", str(cfg), "--timeout", "20",
                        environ={**env, **vendor},
                    )  # fmt: skip
            finally:
                os.chdir(cwd)
            assert res.status in (ExitStatus.OK, ExitStatus.PROBLEMS), res.err
            assert "delivered to SEI" in res.err
            # The fallback is quiet in a job: the runner's state is gone when it ends.
            assert "is not writable here" not in res.err
            assert not list(ws.glob("sei-watch-undelivered-*.json"))
        (run,) = srv.store.runs.values()
        assert srv.requests >= 3
        sent = srv.accepted[-1]
        assert run.key == (GUID, sent["job_full_name"], sent["build_number"])
        assert len(run.stages) == len(sent["job_run"]["stages"]) > 0
    finally:
        srv.stop()


def test_sei_down_saves_the_payload_for_import_elsewhere(run_cli, tmp_path: Path) -> None:
    """SEI unreachable: exit 4 (0 with --soft-fail) and the payload saved in the working
    directory; `outbox import --flush` on another machine's state directory delivers it."""
    down = StandIn(API_KEY, instances={GUID: "runners"}).start()
    url = down.url
    down.stop()  # nothing listens there any more
    with runner(url) as (_, ws, cfg, env):
        cwd = os.getcwd()
        os.chdir(ws)
        try:
            with effective_nobody():
                args = ("parse", str(ws), "--post", "--config", str(cfg), "--timeout", "2")
                hard = run_cli(*args, environ={**env, **GITHUB})
                soft = run_cli(*args, "--soft-fail", environ={**env, **GITHUB})
                soft_env = run_cli(*args, environ={**env, **GITHUB, "SEI_WATCH_SOFT_FAIL": "1"})
        finally:
            os.chdir(cwd)
        assert hard.status == ExitStatus.NOT_DELIVERED, hard.err
        assert "keep it as a job artifact" in hard.err
        assert "daemon will send" not in hard.err
        assert (soft.status, soft_env.status) == (ExitStatus.OK, ExitStatus.OK)
        (saved,) = ws.glob("sei-watch-undelivered-*.json")
        assert oct(saved.stat().st_mode & 0o777) == "0o600"
        assert API_KEY not in saved.read_text()
        kept = tmp_path / saved.name
        shutil.copyfile(saved, kept)
    srv = StandIn(API_KEY, instances={GUID: "runners"}).start()
    try:
        elsewhere = tmp_path / "elsewhere.toml"
        elsewhere.write_text(f'[sei]\nurl = "{srv.url}"\n[state]\ndir = "{tmp_path / "state"}"\n')
        res = run_cli("outbox", "import", str(kept), "--flush", "--config", str(elsewhere))
        assert res.status == ExitStatus.OK, res.err
        assert "queued" in res.out
        (run,) = srv.store.runs.values()
        saved_payload = json.loads(kept.read_text())
        assert run.key == (GUID, saved_payload["job_full_name"], saved_payload["build_number"])
    finally:
        srv.stop()


def test_import_refuses_what_is_no_payload(run_cli, tmp_path: Path, sei_config: Path) -> None:
    """`outbox import` checks each payload against the contract and names the file."""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"pipeline": "x"}))
    res = run_cli("outbox", "import", str(bad), "--config", str(sei_config))
    assert res.status == ExitStatus.USAGE
    assert "bad.json: item 0 is not a valid payload" in res.err
