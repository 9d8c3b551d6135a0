"""The outbox: durable, idempotent, ordered, bounded, and honest about what it cannot keep."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from sei_watch.deliver.outbox import Outbox
from sei_watch.errors import OutboxError, OutboxFull

from .conftest_sei import GUID


def payload(job: str = "app", number: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "instance_guid": GUID,
        "job_full_name": job,
        "build_number": number,
        "pipeline": job,
        "result": "SUCCESS",
        **extra,
    }


@pytest.fixture
def box(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "outbox.db")


def test_enqueue_is_idempotent_per_key(box: Outbox) -> None:
    """Same key and body: no-op. New body: replaced. After delivery, SEI's first write wins:
    a changed run field alone is not sent, new artifacts are, with the first run fields."""
    assert box.enqueue(payload()) == "queued"
    assert box.enqueue(payload()) == "unchanged"
    assert box.enqueue(payload(result="FAILURE")) == "replaced"
    (row,) = box.claim()
    assert box.delivered(row)
    assert box.enqueue(payload(result="FAILURE")) == "unchanged"
    assert box.enqueue(payload(result="UNSTABLE")) == "unchanged"
    assert box.stats()["pending"] == 0
    art = {"type": "jar", "name": "a", "qualifier": "1", "location": "x", "input": False}
    assert box.enqueue(payload(result="UNSTABLE", artifacts=[art])) == "requeued"
    (again,) = box.claim()
    body = json.loads(again.body or b"")
    assert (body["result"], body["artifacts"]) == ("FAILURE", [art])


def test_replaced_while_in_flight_is_sent_again(box: Outbox) -> None:
    """A body replaced during its POST is not marked delivered: the new body goes out too."""
    box.enqueue(payload())
    (row,) = box.claim()
    box.enqueue(payload(result="FAILURE"))
    assert not box.delivered(row)
    (again,) = box.claim()
    assert b"FAILURE" in (again.body or b"")


def test_delivery_is_ordered_per_job(box: Outbox) -> None:
    """A job's later build waits for its earlier one; other jobs are not held up."""
    box.enqueue(payload("a", 1))
    box.enqueue(payload("a", 2))
    box.enqueue(payload("b", 1))
    first = box.claim()
    assert sorted(r.key for r in first) == ["a#1", "b#1"]
    a1 = next(r for r in first if r.job == "a")
    box.retry(a1, delay=0, error="503")
    assert [r.key for r in box.claim()] == ["a#1"]


_CLAIMER = """
import os, sys
from pathlib import Path
from sei_watch.deliver.outbox import Outbox
box = Outbox(Path(sys.argv[1]))
print(len(box.claim()), flush=True)
if sys.argv[2] == "crash":
    os._exit(0)  # as if killed: nothing marked
sys.stdin.readline()  # alive, holding its claim, until told
"""


def _claimer(path: Path, how: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _CLAIMER, str(path), how],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "1"
    return proc


def test_crash_leaves_inflight_rows_that_go_back_to_pending(tmp_path: Path) -> None:
    """Rows in flight when their process died go back to pending at the next claim."""
    box = Outbox(tmp_path / "o.db")
    box.enqueue(payload())
    _claimer(tmp_path / "o.db", "crash").wait()
    assert box.stats()["inflight"] == 1
    assert [r.key for r in box.claim()] == ["app#1"]


def test_a_live_claim_is_never_taken_back_by_another_process(tmp_path: Path) -> None:
    """While the process that claimed a row runs, other openers (`outbox stats`, `doctor`, a
    one-shot, a second sender) leave it in flight: no second POST. Once it is killed, the next
    claim takes the row back."""
    box = Outbox(tmp_path / "o.db")
    box.enqueue(payload())
    holder = _claimer(tmp_path / "o.db", "hold")
    try:
        for _ in range(3):
            other = Outbox(tmp_path / "o.db")
            assert other.stats()["inflight"] == 1
            assert other.claim() == []
            other.close()
            looker = Outbox(tmp_path / "o.db", readonly=True)
            assert looker.stats()["inflight"] == 1
            looker.close()
    finally:
        holder.kill()
        holder.wait()
    assert [r.key for r in box.claim()] == ["app#1"]


def test_full_outbox_refuses_new_builds_loudly_and_keeps_old(tmp_path: Path) -> None:
    """At the row cap a new build is refused with the reason; nothing old is dropped."""
    box = Outbox(tmp_path / "o.db", max_rows=2)
    box.enqueue(payload(number=1))
    box.enqueue(payload(number=2))
    with pytest.raises(OutboxFull, match="this build is refused, no waiting run is dropped"):
        box.enqueue(payload(number=3))
    assert box.stats()["pending"] == 2
    assert box.enqueue(payload(number=2, result="FAILURE")) == "replaced"


def test_byte_cap(tmp_path: Path) -> None:
    """The byte cap counts what is waiting, not what was delivered."""
    box = Outbox(tmp_path / "o.db", max_bytes=400)
    box.enqueue(payload(number=1, pad="x" * 200))
    with pytest.raises(OutboxFull):
        box.enqueue(payload(number=2, pad="x" * 200))
    (row,) = box.claim()
    box.delivered(row)
    assert box.enqueue(payload(number=2, pad="x" * 200)) == "queued"


def test_prune_forgets_only_old_delivered(tmp_path: Path) -> None:
    """Delivered rows older than N days are pruned; pending and dead ones stay."""
    now = [1_000_000.0]
    box = Outbox(tmp_path / "o.db", clock=lambda: now[0])
    for job in ("a", "b", "c"):
        box.enqueue(payload(job))
    rows = box.claim()
    box.delivered(rows[0])
    box.dead(rows[1], error="400")
    now[0] += 15 * 86400
    assert box.prune(14) == 1
    assert box.stats()["delivered"] == 0
    assert box.stats()["dead"] == 1


def test_dead_rows_keep_the_reason_and_can_be_retried(box: Outbox) -> None:
    """A dead row keeps SEI's message; retry --all-dead puts it back."""
    box.enqueue(payload())
    (row,) = box.claim()
    box.dead(row, error="result field is missing in request")
    assert box.find("app#1").last_error == "result field is missing in request"
    assert box.requeue_dead() == 1
    assert box.find("app#1").state == "pending"


def test_corrupt_file_is_moved_aside(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A corrupt outbox is moved aside with a clear error, and a new one starts."""
    path = tmp_path / "outbox.db"
    path.write_bytes(b"this is not sqlite" * 100)
    box = Outbox(path)
    assert box.enqueue(payload()) == "queued"
    aside = [p.name for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1
    assert (tmp_path / aside[0]).read_bytes().startswith(b"this is not sqlite")


def test_read_only_state_dir_is_a_clear_error_at_start() -> None:
    """A state dir that cannot be written is named at start, with the reason."""
    from .test_workspace import effective_nobody

    base = Path(tempfile.mkdtemp(prefix="sei-watch-ro-"))
    try:
        base.chmod(0o755)
        state = base / "state"
        state.mkdir(mode=0o555)
        state.chmod(0o555)
        with effective_nobody(), pytest.raises(OutboxError, match="not writable"):
            Outbox(state / "outbox.db")
    finally:
        shutil.rmtree(base)


def test_disk_full_mid_run_is_an_error_not_corruption(tmp_path: Path) -> None:
    """A write that fails for lack of space raises OutboxError and leaves the data intact."""
    box = Outbox(tmp_path / "o.db")
    box.enqueue(payload(number=1))
    page_size = box._db.execute("PRAGMA page_count").fetchone()[0]
    box._db.execute(f"PRAGMA max_page_count={page_size + 1}")
    with pytest.raises(OutboxError, match="disk is full"):
        box.enqueue(payload(number=2, pad="x" * 100_000))
    box.close()
    assert sqlite3.connect(tmp_path / "o.db").execute("PRAGMA integrity_check").fetchone() == (
        "ok",
    )
    assert Outbox(tmp_path / "o.db").stats()["pending"] == 1


def test_recovery_from_a_corrupt_file_keeps_the_reports_zip(tmp_path: Path) -> None:
    """Rows read out of a damaged outbox keep their multipart attachment, not only the body."""
    path = tmp_path / "outbox.db"
    first = Outbox(path)
    zips = {n: bytes([n]) * 3000 for n in range(1, 41)}
    for n, data in zips.items():
        first.enqueue(payload(number=n), data)
    first.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    data = bytearray(path.read_bytes())
    page = 4096
    data[page * 20 : page * 21] = b"\xa5" * page
    path.write_bytes(bytes(data))
    again = Outbox(path)
    try:
        assert again.salvaged, "the damage left nothing readable: the test proves nothing"
        rows = again.claim(limit=100)
        assert rows
        for row in rows:
            with again.attachment(row) as blob:
                assert blob is not None, row.key
                assert blob.read() == zips[row.build_number], row.key
    finally:
        again.close()


def test_past_the_byte_cap_the_oldest_zips_go_first_and_the_runs_stay(tmp_path: Path) -> None:
    """Past the byte cap the oldest waiting tests' zips are dropped first (each run kept and
    still sent, without its test rows), said in the log and counted in `stats`; only when no
    zip is left to drop is a new build refused."""
    box = Outbox(tmp_path / "o.db", max_bytes=2000)
    assert box.enqueue(payload(number=1), b"z" * 700) == "queued"
    assert box.enqueue(payload(number=2), b"z" * 700) == "queued"
    assert box.enqueue(payload(number=3), b"z" * 700) == "queued"  # #1's zip makes room
    rows = {r.build_number: r for r in box.rows(state="pending")}
    assert sorted(rows) == [1, 2, 3]
    with box.attachment(rows[1]) as gone, box.attachment(rows[2]) as kept:
        assert gone is None
        assert kept is not None
        assert len(kept) == 700
    assert box.stats()["attachments_dropped"] == 1
    with pytest.raises(OutboxFull, match="this build is refused"):
        box.enqueue(payload(number=4, pad="x" * 1900))
    assert box.stats()["pending"] == 3
