"""JENKINS_HOME as a source: build records read directly, and backfill through the outbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sei_watch.cli import main
from sei_watch.schema import instant_ms
from sei_watch_parsers.jenkins_build import job_names

from .conftest_sei import API_KEY, GUID
from .daemonproc import DaemonProc, wait_for
from .jenkinshome import T0, build, flow_nodes, home_with
from .sei_server import StandIn

SECRETS = (
    "planted-password-secret",
    "planted-credentials-id",
    "planted-url-token",
    "planted-injected-env-secret",
)


def test_job_names_follow_the_sei_plugin() -> None:
    """As the SEI plugin names jobs: job_full_name keeps jobs/, branches/ and modules/ after
    the first segment, pipeline is the last job segment, qualified_name the names alone."""
    from pathlib import PurePath

    mb = job_names(PurePath("jobs/payments/jobs/api/branches/main/builds/57/build.xml"))
    assert mb is not None
    assert (mb.job_full_name, mb.pipeline, mb.qualified_name, mb.branch, mb.number) == (
        "payments/jobs/api/branches/main",
        "api",
        "payments/api/main",
        "main",
        "57",
    )
    plain = job_names(PurePath("jobs/nightly/builds/3/build.xml"))
    assert plain is not None
    assert (plain.job_full_name, plain.pipeline, plain.qualified_name, plain.branch) == (
        "nightly",
        "nightly",
        "nightly",
        None,
    )
    mod = job_names(PurePath("jobs/shop/modules/com.acme$core/builds/2/build.xml"))
    assert mod is not None
    assert (mod.job_full_name, mod.module) == (
        "shop/modules/com.acme$core",
        "com.acme$core",
    )
    assert job_names(PurePath("workspace/app/build.xml")) is None


def test_pipeline_build_record(run_cli, tmp_path: Path) -> None:
    """A multibranch Pipeline build: names, result, times, cause, safe params, git, commits,
    and stages from its log."""
    d = build(tmp_path, "payments/api@main", 57)
    p = json.loads(run_cli("parse", str(d), "--json", "--set", f"instance_guid={GUID}").out)
    assert (p["pipeline"], p["job_full_name"], p["qualified_name"]) == (
        "api",
        "payments/jobs/api/branches/main",
        "payments/api/main",
    )
    assert (p["branch_name"], p["build_number"], p["result"]) == ("main", 57, "SUCCESS")
    assert p["start_time"] == T0
    assert p["user_id"] == "jdoe"
    assert p["trigger_chain"] == [{"id": "jdoe", "type": "UserIdCause"}]
    params = {x["name"]: x["value"] for x in p["job_run_params"]}
    assert params["ENVIRONMENT"] == "production"
    assert params["DRY_RUN"] == "false"
    assert "DEPLOY_TOKEN" not in params
    assert "CREDS" not in params
    assert p["repo_url"] == "https://git.example.com/payments/api.git"
    assert p["scm_commit_ids"] == [
        "4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2",
        "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d",
    ]
    assert [s["displayName"] for s in p["job_run"]["stages"]] == ["Build", "Deploy"]
    assert not any(s in json.dumps(p) for s in SECRETS)


def test_freestyle_upstream_and_aborted(run_cli, tmp_path: Path) -> None:
    """A freestyle job in a folder, triggered upstream; an aborted run is ABORTED."""
    d = build(tmp_path, "ops/nightly", 9, kind="freestyle", result="ABORTED")
    p = json.loads(run_cli("parse", str(d), "--json").out)
    assert (p["job_full_name"], p["build_number"], p["result"]) == (
        "ops/jobs/nightly",
        9,
        "ABORTED",
    )
    assert p["trigger_chain"][0]["id"] == "payments/jobs/api/jobs/main"  # parent not in this home
    assert p["trigger_chain"][0]["job_run_number"] == "57"


def test_running_build_is_not_complete(tmp_path: Path, sei: StandIn) -> None:
    """The daemon on a JENKINS_HOME reports a Pipeline build once its build.xml gets a
    <result>, and not before (how fast is measured by bench/daemon.py, not asserted here)."""
    home = tmp_path / "jenkins"
    home.mkdir()
    d = DaemonProc(
        tmp_path, sei, f'[[watch]]\npreset = "jenkins-home"\nroot = "{home}"\nsettle = 0.2\n'
    ).start()
    try:
        running = build(home, "payments/api@main", 58, result="")
        time.sleep(1.5)
        assert sei.accepted == []
        xml = (
            (running / "build.xml")
            .read_text()
            .replace("<duration>", "<result>FAILURE</result><duration>")
        )
        (running / "build.xml").write_text(xml)
        wait_for(lambda: len(sei.accepted) == 1, 5, "the finished build")
        assert sei.accepted[0]["result"] == "FAILURE"
    finally:
        assert d.stop() == 0


def _config(tmp: Path, sei: StandIn, home: Path) -> Path:
    cfg = tmp / "bf.toml"
    cfg.write_text(
        f'[sei]\nurl = "{sei.url}"\ninstance_guid = "{GUID}"\nbackoff_cap = 0.2\n'
        "max_per_minute = 0\n"  # the stand-in is no Harness: no client budget
        f'[state]\ndir = "{tmp / "state"}"\n'
        f'[[watch]]\npreset = "jenkins-home"\nroot = "{home}"\n'
    )
    return cfg


def test_backfill_interrupted_and_resumed_sends_each_build_once(
    tmp_path: Path, sei: StandIn
) -> None:
    """200 jobs x 50 builds, SIGTERM halfway, run again: exactly 10,000 keys at SEI, none
    twice, and no planted secret anywhere."""
    home = tmp_path / "jenkins"
    total = home_with(home, jobs=200, builds=50)
    assert total == 10_000
    cfg = _config(tmp_path, sei, home)
    env = {**os.environ, "SEI_API_KEY": API_KEY}
    cmd = [sys.executable, "-m", "sei_watch", "backfill", "--config", str(cfg), "--rate", "5000/s"]
    log1 = tmp_path / "first.log"  # a file, not a pipe: 5,000 log lines would fill a pipe
    with log1.open("w") as sink:
        first = subprocess.Popen(cmd, env=env, stdout=sink, stderr=sink, text=True)
        wait_for(lambda: len(sei.keys) >= total // 2, 300, "half delivered")
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=60)
    err1 = log1.read_text()
    assert len(sei.keys) < total
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert second.returncode == 0, second.stderr[-2000:]
    assert len(sei.keys) == total
    assert sei.duplicates == 0
    everything = (
        b"".join(sei.raw_log).decode()
        + err1
        + second.stderr
        + "".join(
            p.read_bytes().decode("latin-1") for p in (tmp_path / "state").iterdir() if p.is_file()
        )
    )
    for secret in SECRETS:
        assert secret not in everything


def test_backfill_dry_run_and_window(run_cli, tmp_path: Path, sei: StandIn) -> None:
    """--dry-run counts builds per job with their dates and a sample; --since filters."""
    home = tmp_path / "jenkins"
    build(home, "payments/api@main", 1, start_ms=T0)
    build(home, "payments/api@main", 2, start_ms=T0 + 86_400_000)
    cfg = _config(tmp_path, sei, home)
    res = run_cli("backfill", "--config", str(cfg), "--dry-run")
    assert "payments/api/main" in res.out
    assert "2 builds would be reported" in res.out
    assert '"job_full_name": "payments/jobs/api/branches/main"' in res.out
    assert sei.accepted == []
    future = run_cli("backfill", "--config", str(cfg), "--dry-run", "--since", "2999-01-01")
    assert "0 builds would be reported" in future.out
    assert main(["backfill", "--config", str(cfg), "--last", "weird"]) == 2


@pytest.mark.parametrize("bulk", [False, True], ids=["workflow-dir", "flowNodeStore"])
def test_stages_from_flow_nodes(run_cli, tmp_path: Path, bulk: bool) -> None:
    """Flow nodes give the stages (not the log, so no duplicates): times, failure, skipped."""
    d = build(tmp_path, "payments/api@main", 60)
    flow_nodes(d, bulk=bulk)
    p = json.loads(run_cli("parse", str(d), "--json").out)
    got = [
        (
            s["displayName"],
            (instant_ms(s["startTime"]) or 0) - T0,
            s["durationInMillis"],
            s["result"],
            s["state"],
        )
        for s in p["job_run"]["stages"]
    ]
    assert got == [
        ("Build", 10, 60_000, "SUCCESS", "FINISHED"),
        ("Test", 60_100, 20_000, "FAILURE", "FINISHED"),
        ("Deploy", 80_200, 10, "NOT_BUILT", "SKIPPED"),
    ]


def _with_cause(d: Path, cause_xml: str) -> None:
    """Replace the build's causes with one cause element."""
    xml = (d / "build.xml").read_text()
    start, end = xml.index("<causeBag"), xml.index("</causeBag>")
    bag = f'<causeBag class="linked-hash-map"><entry>{cause_xml}<int>1</int></entry>'
    (d / "build.xml").write_text(xml[:start] + bag + xml[end:])


def test_users_and_cause_ids_as_the_plugin_sends_them(run_cli, tmp_path: Path) -> None:
    """As the SEI Jenkins plugin does: an upstream-triggered build's user is the origin's
    (the plugin follows the upstream chain), a push from a webhook is "SCMTrigger" for the
    user, any other cause is its class name with id "unknown", and no user is "SYSTEM"."""
    parent = build(tmp_path, "payments/api@main", 57)
    _with_cause(parent, "<hudson.model.Cause_-UserIdCause><userId>alice</userId>"
                        "</hudson.model.Cause_-UserIdCause>")  # fmt: skip
    child = build(tmp_path, "ops/nightly", 9, kind="freestyle")
    _with_cause(child, "<hudson.model.Cause_-UpstreamCause><upstreamProject>payments/api/main"
                       "</upstreamProject><upstreamBuild>57</upstreamBuild>"
                       "</hudson.model.Cause_-UpstreamCause>")  # fmt: skip
    p = json.loads(run_cli("parse", str(child), "--json").out)
    assert p["user_id"] == "alice"
    assert p["trigger_chain"][0]["type"] == "UpstreamCause"
    pushed = build(tmp_path, "ops/push", 3, kind="freestyle")
    _with_cause(pushed, "<com.cloudbees.jenkins.GitHubPushCause><pushedBy>bob</pushedBy>"
                        "</com.cloudbees.jenkins.GitHubPushCause>")  # fmt: skip
    p = json.loads(run_cli("parse", str(pushed), "--json").out)
    assert p["user_id"] == "SCMTrigger"
    assert p["trigger_chain"] == [{"id": "unknown", "type": "GitHubPushCause"}]
    timer = build(tmp_path, "ops/timer", 4, kind="freestyle")
    _with_cause(timer, "<hudson.triggers.TimerTrigger_-TimerTriggerCause/>")
    p = json.loads(run_cli("parse", str(timer), "--json").out)
    assert p["user_id"] == "SYSTEM"
    assert p["trigger_chain"] == [{"id": "unknown", "type": "TimerTriggerCause"}]
