"""A careless admin or a local user (issue #18, items 10-14): permissions that would let any
user redirect the key, malformed keys, a state directory inside a watched root, two daemons on
one state directory, and the CA bundle actually in force."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sei_watch.status import ExitStatus

from .conftest_sei import API_KEY, GUID
from .daemonproc import DaemonProc
from .sei_server import StandIn


def _config(tmp: Path, sei_url: str, *, extra: str = "", state: Path | None = None) -> Path:
    cfg = tmp / "sei-watch.toml"
    root = tmp / "builds"
    root.mkdir(exist_ok=True)
    cfg.write_text(
        f'[sei]\nurl = "{sei_url}"\ninstance_guid = "{GUID}"\n{extra}'
        f'[state]\ndir = "{state or tmp / "state"}"\n'
        f'[[watch]]\nroot = "{root}"\npattern = "{{pipeline}}/{{build_number}}"\n'
    )
    cfg.chmod(0o640)
    return cfg


def test_world_writable_config_is_refused(run_cli, tmp_path: Path, sei: StandIn) -> None:
    """Item 10: a config any user can write (and so point [sei] url elsewhere) is refused by
    check-config and run, with the fix."""
    cfg = _config(tmp_path, sei.url)
    cfg.chmod(0o666)
    for command in ("check-config", "run"):
        res = run_cli(command, "--config", str(cfg))
        assert res.status == ExitStatus.USAGE, command
        assert "writable by any user" in res.err
        assert "chmod o-w" in res.err


def test_key_file_permissions(run_cli, tmp_path: Path, sei: StandIn) -> None:
    """Item 10: a world-writable key file is refused; a group- or world-readable one warned
    about, in check-config and doctor."""
    key = tmp_path / "api-key"
    key.write_text(API_KEY + "\n")
    cfg = _config(tmp_path, sei.url, extra=f'api_key_file = "{key}"\n')
    key.chmod(0o666)
    res = run_cli("check-config", "--config", str(cfg), environ={})
    assert res.status == ExitStatus.USAGE
    assert "api-key is writable by any user" in res.err
    key.chmod(0o644)
    res = run_cli("check-config", "--config", str(cfg), environ={})
    assert res.status == ExitStatus.OK, res.err
    assert "readable by other users" in res.out + res.err
    doctor = run_cli("doctor", "--config", str(cfg), environ={})
    assert "chmod 600" in doctor.out


@pytest.mark.parametrize(
    ("key", "why"),
    [("abc\ndef", "line break"), ("clé-ünicode", "printable ASCII"), ("a b", "space")],
)
def test_malformed_key_is_a_config_error(
    run_cli, tmp_path: Path, sei: StandIn, key: str, why: str
) -> None:
    """Item 11: a key with a newline or non-ASCII is a clear config error at load (exit 2),
    never a delivery retried for ever or a traceback; nothing is sent."""
    ws = tmp_path / "ws"
    ws.mkdir()
    cfg = _config(tmp_path, sei.url)
    res = run_cli("parse", str(ws), "--post", "--config", str(cfg), environ={"SEI_API_KEY": key})
    assert res.status == ExitStatus.USAGE, res.err
    assert "SEI_API_KEY" in res.err
    assert why in res.err
    assert "Traceback" not in res.err
    assert sei.requests == 0


def test_state_dir_inside_a_watched_root_is_refused(run_cli, tmp_path: Path, sei: StandIn) -> None:
    """Item 12: the daemon's own writes would re-complete builds for ever: refused, as is a
    root of `/`."""
    cfg = _config(tmp_path, sei.url, state=tmp_path / "builds" / ".state")
    res = run_cli("check-config", "--config", str(cfg))
    assert res.status == ExitStatus.USAGE
    assert "inside the watched root" in res.err
    slash = _config(tmp_path, sei.url)
    slash.write_text(slash.read_text().replace(f'root = "{tmp_path / "builds"}"', 'root = "/"'))
    res = run_cli("check-config", "--config", str(slash))
    assert res.status == ExitStatus.USAGE
    assert 'root = "/"' in res.err


def test_second_daemon_on_one_state_dir_is_refused(tmp_path: Path, sei: StandIn) -> None:
    """Item 13: an exclusive lock on the state directory: the second daemon exits 2 naming
    the first's pid; the first runs on."""
    root = tmp_path / "builds"
    root.mkdir()
    watches = f'[[watch]]\nroot = "{root}"\npattern = "{{pipeline}}/{{build_number}}"\n'
    first = DaemonProc(tmp_path, sei, watches).start()
    try:
        second = DaemonProc(tmp_path, sei, watches).start(ready=False)
        assert second.proc is not None
        assert second.proc.wait(timeout=15) == ExitStatus.USAGE
        text = "".join(second.raw)
        assert "another sei-watch daemon" in text
        assert str(first.proc.pid if first.proc else "") in text
        assert first.proc is not None
        assert first.proc.poll() is None
    finally:
        assert first.stop() == 0


def test_doctor_names_the_ca_bundle_in_force(run_cli, tmp_path: Path, sei: StandIn) -> None:
    """Item 14: REQUESTS_CA_BUNDLE replaces the CA store; doctor says which bundle is used."""
    cfg = _config(tmp_path, sei.url)
    bundle = tmp_path / "corp.pem"
    bundle.write_text("")
    res = run_cli(
        "doctor", "--config", str(cfg),
        environ={"SEI_API_KEY": API_KEY, "REQUESTS_CA_BUNDLE": str(bundle)},
    )  # fmt: skip
    assert f"REQUESTS_CA_BUNDLE={bundle}" in res.out
    res = run_cli("doctor", "--config", str(cfg), environ={"SEI_API_KEY": API_KEY})
    assert "certifi" in res.out or "system" in res.out
    assert os.path.exists(cfg)


def test_configs_are_checked_as_sshd_checks_them(run_cli, tmp_path: Path, sei: StandIn) -> None:
    """A group-writable config, one in a directory others can write (no sticky bit), and one
    owned by another user are refused with the fix, like a world-writable one (all three
    were accepted)."""
    cfg = _config(tmp_path, sei.url)
    cfg.chmod(0o660)
    res = run_cli("check-config", "--config", str(cfg))
    assert res.status == ExitStatus.USAGE
    assert "writable by its group: chmod g-w" in res.err
    cfg.chmod(0o640)
    shared = tmp_path / "shared"
    shared.mkdir()
    inside = shared / "c.toml"
    inside.write_text(cfg.read_text())
    inside.chmod(0o640)
    shared.chmod(0o777)
    res = run_cli("check-config", "--config", str(inside))
    assert res.status == ExitStatus.USAGE
    assert "above" in res.err
    assert "writable by others" in res.err
    shared.chmod(0o1777)  # sticky, as /tmp: no one can replace another's file
    assert run_cli("check-config", "--config", str(inside)).status == ExitStatus.OK
    if os.geteuid() == 0:
        os.chown(cfg, 65534, -1)  # nobody's file, read by root
        res = run_cli("check-config", "--config", str(cfg))
        assert res.status == ExitStatus.USAGE
        assert "owned by uid 65534" in res.err
