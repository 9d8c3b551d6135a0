"""`sei-watch doctor`: each check passes on a good install and fails, with its fix, on a bad one."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sei_watch.cli.doctor import Check, run_checks
from sei_watch.deliver.outbox import Outbox

from .conftest_sei import API_KEY, GUID
from .gitrepo import Repo
from .sei_server import StandIn


def config(
    tmp: Path,
    sei_url: str,
    *,
    guid: str = GUID,
    root: Path | None = None,
    repo: Path | None = None,
    extra: str = "",
) -> Path:
    root = root or tmp / "root"
    cfg = tmp / "doctor.toml"
    repo_line = f'repo = "{repo}"\n' if repo else ""
    cfg.write_text(
        f'[sei]\nurl = "{sei_url}"\ninstance_guid = "{guid}"\nconnect_timeout = 0.5\n'
        f'[state]\ndir = "{tmp / "state"}"\n{extra}\n'
        f'[[watch]]\nname = "main"\nroot = "{root}"\n{repo_line}'
    )
    return cfg


def check(checks: list[Check], name: str) -> Check:
    return next(c for c in checks if c.name == name)


@pytest.fixture
def good(tmp_path: Path, sei: StandIn) -> Path:
    (tmp_path / "root").mkdir()
    repo = Repo(tmp_path / "repo")
    repo.commit("one")
    return config(tmp_path, sei.url, repo=repo.path)


def test_all_pass_on_a_good_install(run_cli, good: Path) -> None:
    """Every check passes, and the CLI exits 0 with a tick per line."""
    checks = run_checks(good, {"SEI_API_KEY": API_KEY}, unit=Path("/nonexistent"))
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    names = [c.name for c in checks]
    for name in (
        "config",
        "api key",
        "sei reachable",
        "instance guid",
        "watch root main",
        "inotify limit",
        "state dir",
        "outbox",
        "git",
        "git repo main",
        "systemd unit",
    ):
        assert name in names
    res = run_cli("doctor", "--config", str(good))
    assert res.status == 0
    assert res.out.count("✔") == len(checks)


def test_bad_config(tmp_path: Path) -> None:
    """A broken config is the one failing check, and says how to find out more."""
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[sei\n")
    (only,) = run_checks(cfg, {})
    assert (only.name, only.ok) == ("config", False)
    assert "check-config" in only.fix


def test_each_failure_names_its_fix(tmp_path: Path, good: Path) -> None:
    """No key, SEI unreachable, not a UUID, a missing root, a bad repo: each fails with a fix."""
    cfg = config(
        tmp_path,
        "http://127.0.0.1:9",
        guid="my-instance",
        root=tmp_path / "nope",
        repo=tmp_path / "norepo",
    )
    checks = run_checks(cfg, {}, unit=Path("/nonexistent"))
    failing = {c.name: c for c in checks if not c.ok}
    assert set(failing) == {
        "api key",
        "sei reachable",
        "instance guid",
        "watch root main",
        "git repo main",
    }
    assert "LoadCredential" in failing["api key"].fix
    assert "HTTPS_PROXY" in failing["sei reachable"].fix
    assert "sei-watch register" in failing["instance guid"].fix
    assert "ReadOnlyPaths" in failing["watch root main"].fix


def test_outbox_with_dead_rows_fails(tmp_path: Path, good: Path) -> None:
    """Dead letters (or a payload waiting for over an hour) fail the outbox check."""
    box = Outbox(tmp_path / "state" / "outbox.db")
    box.enqueue({"instance_guid": GUID, "job_full_name": "j", "build_number": 1})
    (row,) = box.claim()
    box.dead(row, error="result field is missing in request")
    c = check(run_checks(good, {"SEI_API_KEY": API_KEY}), "outbox")
    assert not c.ok
    assert "1 dead" in c.detail
    assert "retry --all-dead" in c.fix


def test_old_pending_fails(tmp_path: Path, good: Path) -> None:
    """A payload pending for more than an hour means SEI is unreachable or refusing."""
    box = Outbox(tmp_path / "state" / "outbox.db", clock=lambda: time.time() - 7200)
    box.enqueue({"instance_guid": GUID, "job_full_name": "j", "build_number": 2})
    assert not check(run_checks(good, {"SEI_API_KEY": API_KEY}), "outbox").ok


def test_inotify_limit(tmp_path: Path, good: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """More directories than the inotify limit allows fails, with the sysctl to run."""
    from sei_watch.cli import doctor_host

    monkeypatch.setattr(doctor_host, "_count_dirs", lambda root, cap=0: 10**7)
    c = check(run_checks(good, {"SEI_API_KEY": API_KEY}), "inotify limit")
    assert not c.ok
    assert "sysctl -w fs.inotify.max_user_watches=" in c.fix


def test_state_dir_not_writable(tmp_path: Path, sei: StandIn) -> None:
    """A state directory that cannot be created or written fails with how to create it."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the state directory's parent should be")
    cfg = config(tmp_path, sei.url)
    cfg.write_text(cfg.read_text().replace(str(tmp_path / "state"), str(blocker / "state")))
    c = check(run_checks(cfg, {"SEI_API_KEY": API_KEY}), "state dir")
    assert not c.ok
    assert "StateDirectory" in c.fix


def test_unit_exposure_checked_when_installed(tmp_path: Path, good: Path) -> None:
    """With systemd-analyze, an installed unit is scored; a bare unit fails, ours passes."""
    import shutil

    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    bare = tmp_path / "bare.service"
    bare.write_text("[Service]\nExecStart=/bin/true\n")
    c = check(run_checks(good, {"SEI_API_KEY": API_KEY}, unit=bare), "systemd unit")
    assert not c.ok
    assert "scores 1.3" in c.fix
    from .test_systemd import unit_copy

    ours = check(
        run_checks(good, {"SEI_API_KEY": API_KEY}, unit=unit_copy(tmp_path)), "systemd unit"
    )
    assert ours.ok, ours.detail


def test_json_output(run_cli, good: Path) -> None:
    """--json gives the same results for monitoring."""
    import json

    res = run_cli("doctor", "--config", str(good), "--json")
    doc = json.loads(res.out)
    assert {d["name"] for d in doc} >= {"config", "outbox"}
    assert all(set(d) == {"name", "ok", "state", "detail", "fix"} for d in doc)


def test_a_wrong_key_fails_and_says_401(tmp_path: Path, good: Path) -> None:
    """A key SEI refuses (401) fails doctor with "wrong or revoked"; it used to pass every
    check, the unknown registration counted as a pass."""
    checks = run_checks(good, {"SEI_API_KEY": "sk-wrong"}, unit=Path("/nonexistent"))
    key = check(checks, "instance guid")
    assert (key.ok, key.state) == (False, "fail")
    assert "401" in key.detail
    assert "wrong or revoked" in key.detail


def test_sei_not_answering_is_cannot_tell_and_dependent_checks_are_skipped(
    tmp_path: Path,
) -> None:
    """SEI unreachable: its registration check says "cannot tell" (not ✔); with no key at
    all it is skipped, shown as such, not passed."""
    (tmp_path / "root").mkdir()
    cfg = config(tmp_path, "http://127.0.0.1:9")
    checks = run_checks(cfg, {"SEI_API_KEY": API_KEY}, unit=Path("/nonexistent"))
    assert check(checks, "instance guid").state == "cannot tell"
    assert not check(checks, "instance guid").ok
    checks = run_checks(cfg, {}, unit=Path("/nonexistent"))
    assert check(checks, "instance guid").state == "skipped"


def test_the_multipart_transport_is_probed_with_the_key(tmp_path: Path) -> None:
    """`transport = "multipart"` with a key without the Admin role: doctor fails the transport
    check (runs would go without their test rows) and names both fixes."""
    srv = StandIn(API_KEY, instances={GUID: "agents"}, admin=False).start()
    try:
        (tmp_path / "root").mkdir()
        cfg = config(tmp_path, srv.url, extra="")
        text = cfg.read_text().replace("[sei]\n", '[sei]\ntransport = "multipart"\n', 1)
        cfg.write_text(text)
        checks = run_checks(cfg, {"SEI_API_KEY": API_KEY}, unit=Path("/nonexistent"))
    finally:
        srv.stop()
    probe = check(checks, "transport")
    assert (probe.ok, probe.state) == (False, "fail")
    assert "Admin" in probe.fix
    assert srv.store.runs == {}  # the probe stores nothing


def test_an_instance_without_an_integration_fails(tmp_path: Path) -> None:
    """SEI drops the runs of an instance that has no integration_id: doctor says so."""
    srv = StandIn(API_KEY).start()
    srv.store.register(GUID, {"name": "orphan", "type": "custom"})
    try:
        (tmp_path / "root").mkdir()
        checks = run_checks(
            config(tmp_path, srv.url), {"SEI_API_KEY": API_KEY}, unit=Path("/nonexistent")
        )
    finally:
        srv.stop()
    guid = check(checks, "instance guid")
    assert not guid.ok
    assert "integration" in guid.detail


def test_the_plain_identity_is_a_warning(tmp_path: Path, good: Path) -> None:
    """`[assemble] identity = "plain"` is allowed and warned about: every branch of a job is
    one SEI job, relabelled by each post."""
    text = good.read_text().replace("[state]", '[assemble]\nidentity = "plain"\n[state]', 1)
    good.write_text(text)
    checks = run_checks(good, {"SEI_API_KEY": API_KEY}, unit=Path("/nonexistent"))
    ident = check(checks, "identity")
    assert (ident.ok, ident.state) == (True, "warning")
