"""`sei-watch register` works the first time: usage is checked before SEI is asked, the
config file is made when it does not exist, and a failure after SEI made the instance says
its GUID and how to keep it (each retry used to leave an orphan instance in SEI)."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

from sei_watch.status import ExitStatus

from .conftest_sei import API_KEY
from .sei_server import StandIn

ARGS = ("register", "--integration-id", "4711", "--name", "agents")


def test_write_config_without_a_file_asks_sei_nothing(run_cli, sei: StandIn) -> None:
    """`--write-config` with no config file to write: a usage error before any request, so
    no instance is made in SEI for nothing."""
    before = set(sei.instances)
    res = run_cli(*ARGS, "--write-config", environ={"SEI_URL": sei.url, "SEI_API_KEY": API_KEY})
    assert res.status == ExitStatus.USAGE
    assert "--config FILE" in res.err
    assert set(sei.instances) == before


def test_write_config_creates_the_file_from_the_example(
    run_cli, sei: StandIn, tmp_path: Path
) -> None:
    """`--config NEW --write-config` creates NEW (mode 0600, from the example config) with the
    GUID and name set, and the instance's name is cached for later posts."""
    cfg = tmp_path / "etc" / "sei-watch.toml"
    cfg.parent.mkdir()
    env = {"SEI_URL": sei.url, "SEI_API_KEY": API_KEY,
           "SEI_WATCH_STATE_DIR": str(tmp_path / "state")}  # fmt: skip
    res = run_cli(*ARGS, "--write-config", "--config", str(cfg), environ=env)
    assert res.status == ExitStatus.OK, res.err
    guid = res.out.strip()
    assert guid in sei.instances
    doc = tomllib.loads(cfg.read_text())
    assert (doc["sei"]["instance_guid"], doc["sei"]["instance_name"]) == (guid, "agents")
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    assert "[[watch]]" in cfg.read_text()  # the example's commented guidance came along


def test_a_failure_after_sei_made_the_instance_prints_its_guid(
    run_cli, sei: StandIn, tmp_path: Path
) -> None:
    """SEI made the instance, then the config cannot be written: the GUID is printed with the
    line to put in the config, and the exit says it failed."""
    cfg = tmp_path / "sei-watch.toml"
    cfg.write_text(f'[sei]\nurl = "{sei.url}"\n[state]\ndir = "{tmp_path / "state"}"\n')
    cfg.chmod(0o600)
    (tmp_path / ".sei-watch.toml.tmp").mkdir()  # where the new file is written: refused
    before = set(sei.instances)
    res = run_cli(*ARGS, "--write-config", "--config", str(cfg), environ={"SEI_API_KEY": API_KEY})
    (guid,) = set(sei.instances) - before
    assert res.status == ExitStatus.USAGE
    assert guid in res.out
    assert f'instance_guid = "{guid}"' in res.err
    assert "instance_name" in res.err
