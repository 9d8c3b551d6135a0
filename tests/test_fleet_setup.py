"""The fleet's settings and its missing pieces, without a NATS server: a bad [deliver] or
[relay] value names the key, and a host without nats-py is told how to get it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sei_watch.config import load_settings
from sei_watch.errors import ConfigError

from .conftest import API_KEY


def test_servers_may_be_a_toml_array_or_one_string(tmp_path: Path) -> None:
    """`[nats] servers` takes a TOML array of URLs, the natural form, as well as the old
    comma-separated string (the array was refused)."""
    from sei_watch.config import load_settings

    for text in ('["nats://a:4222", "nats://b:4222"]', '"nats://a:4222,nats://b:4222"'):
        cfg = tmp_path / "c.toml"
        cfg.write_text(f"[nats]\nservers = {text}\n")
        assert load_settings(cfg, {}).nats.server_list() == ["nats://a:4222", "nats://b:4222"]


@pytest.mark.parametrize(
    ("toml", "reason"),
    [
        ('[deliver]\ntarget = "kafka"\n', "[deliver] target 'kafka': one of sei, nats"),
        ('[deliver]\ntarget = "nats"\n[sei]\ntransport = "multipart"\n', "not carried over NATS"),
        ("[relay]\ninstances = many\n", "not valid TOML"),
        ('[relay]\ninstances = "many"\n', "[relay] instances must be a int"),
        ("[nats]\nserver = 1\n", "did you mean 'servers'?"),
        ("[nats]\nservers = [1, 2]\n", "[nats] servers must be a list of strings"),
        ('[relay]\nlimiter = "bucket"\n', "[relay] limiter 'bucket': one of auto, kv, split"),
    ],
)
def test_a_bad_fleet_setting_names_the_key(tmp_path: Path, toml: str, reason: str) -> None:
    """Each wrong fleet setting is refused with the file and the key."""
    cfg = tmp_path / "sei-watch.toml"
    cfg.write_text(toml)
    with pytest.raises(ConfigError, match=r".*") as exc:
        load_settings(cfg, {})
    assert str(cfg) in str(exc.value)
    assert reason in str(exc.value)


_NO_NATS = "import sys\nsys.modules['nats'] = None\nfrom sei_watch.cli import main\n"


def _without_nats_py(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _NO_NATS + code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"SEI_API_KEY": API_KEY, "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_a_relay_without_nats_py_says_how_to_get_it(tmp_path: Path) -> None:
    """`sei-watch relay` on a host without nats-py exits 2 with the pip command, no traceback."""
    cfg = tmp_path / "relay.toml"
    cfg.write_text('[sei]\nurl = "http://127.0.0.1:9"\n')
    proc = _without_nats_py(f"raise SystemExit(main(['relay', '--config', '{cfg}']))", tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'sei-watch[nats]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_agent_without_nats_py_keeps_its_payload_and_says_why(tmp_path: Path) -> None:
    """An agent with target nats but no nats-py holds its queue (no attempt counted, so
    nothing goes dead) and the row names the missing package."""
    cfg = tmp_path / "agent.toml"
    cfg.write_text(
        '[deliver]\ntarget = "nats"\n[nats]\nservers = "nats://127.0.0.1:9"\n'
        f'[state]\ndir = "{tmp_path / "state"}"\n'
    )
    code = (
        "from sei_watch.config import load_settings\n"
        "from sei_watch.deliver import make_sender, open_outbox\n"
        f"s = load_settings(__import__('pathlib').Path('{cfg}'), {{}})\n"
        "(s.state_dir).mkdir()\n"
        "box = open_outbox(s)\n"
        "box.enqueue({'instance_guid': '89d2491c-764a-4f77-93d9-18e8e372b795', "
        "'job_full_name': 'j', 'build_number': 1})\n"
        "sender = make_sender(s, box, {})\n"
        "sender.step()\n"
        "import json\n"
        "print(json.dumps([(r.state, r.attempts, r.last_error) for r in box.rows()]))\n"
    )
    proc = _without_nats_py(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    ((state, attempts, error),) = json.loads(proc.stdout.strip().splitlines()[-1])
    assert state == "pending"
    assert attempts == 0  # held for a person, not retried towards max_age and the dead letters
    assert "pip install 'sei-watch[nats]'" in error
