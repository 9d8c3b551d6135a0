"""A damaged `state.db` (derived data only) is moved aside and started again: never a
permanent stop of the daemon with deliveries waiting."""

from __future__ import annotations

from pathlib import Path

from sei_watch.context.state import BuildState
from sei_watch.deliver.outbox import Outbox

from .conftest_sei import GUID
from .daemonproc import DaemonProc, wait_for
from .sei_server import StandIn
from .test_daemon import spool


def test_a_corrupt_state_file_is_moved_aside(tmp_path: Path) -> None:
    """Garbage in state.db: opening it gives a fresh, working state and keeps the damaged
    file beside it for a person to look at."""
    path = tmp_path / "state.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xa5" * 8192)
    state = BuildState(path)
    state.record(GUID, "job", "a" * 40, 7)
    assert state.previous(GUID, "job") == "a" * 40
    assert [p.name for p in tmp_path.glob("state.db.corrupt-*")]


def test_the_daemon_starts_and_delivers_beside_a_corrupt_state(
    tmp_path: Path, sei: StandIn
) -> None:
    """Three payloads wait in a healthy outbox and state.db is garbage: `run` starts (it
    exited 2, which the unit never restarts) and delivers all three."""
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    box = Outbox(state_dir / "outbox.db")
    for n in (1, 2, 3):
        box.enqueue(
            {"instance_guid": GUID, "job_full_name": "app", "build_number": n, "pipeline": "app",
             "qualified_name": "app", "instance_name": "agents", "result": "SUCCESS",
             "start_time": 1_795_165_200_000, "duration": 1000}
        )  # fmt: skip
    box.close()
    (state_dir / "state.db").write_bytes(b"not a database at all" * 512)
    _, watches = spool(tmp_path)
    d = DaemonProc(tmp_path, sei, watches).start()
    try:
        wait_for(lambda: len(sei.accepted) == 3, 20, "the three waiting payloads")
        assert d.seen("state.corrupt")
    finally:
        assert d.stop() == 0
