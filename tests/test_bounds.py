"""Numbers and names out of SEI's range fail one build with the reason, never a process: a
build number past Java's long, a GUID that is no UUID, a time outside 2000-2100, a 10 MB name,
a 100k-deep JSON file to import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sei_watch.status import ExitStatus
from sei_watch.validation import validate

from .conftest_sei import GUID
from .daemonproc import DaemonProc, wait_for, write_build
from .sei_server import StandIn

BASE = {
    "pipeline": "p",
    "instance_name": "agents",
    "instance_guid": GUID,
    "job_full_name": "p/j",
    "qualified_name": "p/j",
    "result": "SUCCESS",
    "start_time": 1_795_165_200_000,
    "duration": 1000,
    "build_number": 7,
}


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"build_number": 2**63}, "$.build_number"),
        ({"duration": 2**63}, "$.duration"),
        ({"instance_guid": "my-jenkins"}, "$.instance_guid"),
        ({"instance_guid": "*"}, "$.instance_guid"),
        ({"start_time": 10**20}, "$.start_time"),
        ({"start_time": 915_148_800_000}, "$.start_time"),  # 1999
        ({"job_full_name": "j" * 10_000_000}, "$.job_full_name"),
        ({"pipeline": "p" * 5000}, "$.pipeline"),
    ],
)
def test_out_of_range_fields_are_named(change: dict[str, object], says: str) -> None:
    """Each value SEI cannot store is one named problem of the payload."""
    assert validate(BASE) == []
    problems = validate({**BASE, **change})
    assert any(p.startswith(says) for p in problems), problems


def test_parse_post_with_a_huge_build_number_exits_3_and_queues_nothing(
    run_cli, sei_config: Path, tmp_path: Path, sei: StandIn
) -> None:
    """`--set build_number=2**63` and `--set instance_guid=my-jenkins`: exit 3 with the reason,
    no traceback, nothing posted."""
    ws = tmp_path / "ws"
    write_build(ws)
    for bad in (f"build_number={2**63}", "instance_guid=my-jenkins"):
        res = run_cli("parse", str(ws), "--post", "--config", str(sei_config), "--set", bad)
        assert res.status == ExitStatus.INVALID_PAYLOAD, res.err
        assert "Traceback" not in res.err
    assert sei.requests == 0


def test_the_daemon_refuses_a_marker_build_number_past_long(tmp_path: Path, sei: StandIn) -> None:
    """A build whose marker states build number 2**63 is refused as invalid (no crash) and the
    next build is still posted."""
    root = tmp_path / "spool"
    watches = f'[[watch]]\nname = "s"\nroot = "{root}"\npattern = "{{pipeline}}/*"\n'
    watches += "settle = 0.3\n"
    d = DaemonProc(tmp_path, sei, watches).start()
    try:
        bad = root / "app" / "a"
        write_build(bad)
        marker = json.loads((bad / ".sei-watch.json").read_text())
        marker["facts"] = {"build_number": str(2**63)}
        (bad / ".sei-watch.json").write_text(json.dumps(marker))
        wait_for(lambda: d.seen("payload.invalid"), 15, "the invalid build")
        good = root / "app" / "b"
        write_build(good)
        marker = json.loads((good / ".sei-watch.json").read_text())
        marker["facts"] = {"build_number": "8"}
        (good / ".sei-watch.json").write_text(json.dumps(marker))
        wait_for(lambda: len(sei.accepted) == 1, 15, "the good build")
        assert not d.seen("build.crashed")
    finally:
        assert d.stop() == 0


def test_outbox_import_of_a_deep_file_is_a_clear_error(
    run_cli, sei_config: Path, tmp_path: Path
) -> None:
    """A 100k-deep JSON file given to `outbox import` is refused with its name, no traceback."""
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    res = run_cli("outbox", "import", str(deep), "--config", str(sei_config))
    assert res.status in (ExitStatus.USAGE, ExitStatus.INVALID_PAYLOAD), res.err
    assert "deep.json" in res.err
    assert "Traceback" not in res.err


def test_a_planted_link_at_the_temp_name_never_stops_the_save(tmp_path: Path) -> None:
    """A symlink planted at the old fixed temp name (`.NAME.tmp`) neither breaks the save nor
    is written through; a directory that refuses the file sends it to $TMPDIR instead."""
    from sei_watch.cli.oneshot import save_payload

    target = tmp_path / "sei-watch-undelivered-x-1.json"
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    (tmp_path / f".{target.name}.tmp").symlink_to(victim)
    (tmp_path / f".{target.name}.tmp.loop").symlink_to(tmp_path / f".{target.name}.tmp.loop")
    assert save_payload(BASE, target) == target
    assert json.loads(target.read_text())["build_number"] == 7
    assert victim.read_text() == "keep\n"
    missing = tmp_path / "no-such-dir" / target.name
    moved = save_payload(BASE, missing)
    assert moved != missing
    assert json.loads(moved.read_text())["job_full_name"] == "p/j"


def test_a_planted_temp_state_directory_gets_a_fresh_private_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the usual `$TMPDIR/sei-watch-UID` exists but is not this user's (or not a
    directory), the one-shot fallback makes a fresh private directory instead of failing."""
    import os
    import tempfile

    from sei_watch.cli.oneshot import usable_state
    from sei_watch.config.settings import load_settings

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (tmp_path / f"sei-watch-{os.geteuid()}").write_text("planted: not a directory\n")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    settings = load_settings(None, {"SEI_WATCH_STATE_DIR": str(locked / "state")})
    if os.geteuid() == 0:  # root writes anywhere: make the configured one a file instead
        settings = load_settings(None, {"SEI_WATCH_STATE_DIR": str(tmp_path / "planted-file")})
        (tmp_path / "planted-file").write_text("x")
    chosen, note = usable_state(settings, {"HOME": ""})
    assert chosen.state_dir.is_dir()
    assert chosen.state_dir.name.startswith(f"sei-watch-{os.geteuid()}-")
    assert note is not None
