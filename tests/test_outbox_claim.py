"""The claim takes the head of each job (its oldest open row) through a table the triggers
keep, so its cost does not grow with one job's backlog, and the heads always equal what the
rows say."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from sei_watch.deliver.outbox import Outbox
from sei_watch.deliver.outbox_schema import rebuild_heads

from .test_outbox import payload


def _claim_steps(box: Outbox) -> int:
    """SQLite virtual-machine steps one claim takes (a count, not a time)."""
    steps = 0

    def tick() -> int:
        nonlocal steps
        steps += 1
        return 0

    box._db.set_progress_handler(tick, 1)
    try:
        (row,) = box.claim()
    finally:
        box._db.set_progress_handler(None, 1)
    box.delivered(row)
    return steps


def test_a_claim_costs_the_same_however_deep_one_jobs_backlog(tmp_path: Path) -> None:
    """One claim on 2,000 waiting rows of one job takes about the steps it takes on 20 (it was
    a scan of every waiting row of the job per claim: 10,000 rows drained 2.9x slower than the
    same rows over 100 jobs)."""
    costs = {}
    for depth in (20, 2000):
        box = Outbox(tmp_path / f"d{depth}.db")
        for n in range(depth):
            box.enqueue(payload("deep", n + 1))
        box.enqueue(payload("other", 1))
        for row in box.claim():  # both heads
            box.delivered(row)
        costs[depth] = _claim_steps(box)
        box.close()
    assert costs[2000] < 2 * costs[20], costs


def _heads(box: Outbox) -> list[tuple[object, ...]]:
    return sorted(box._db.execute("SELECT * FROM heads").fetchall())


def test_the_heads_always_equal_what_the_rows_say(tmp_path: Path) -> None:
    """After every enqueue, replace, claim, delivery, retry, death, requeue and drop (random,
    seeded), the trigger-kept heads equal the heads derived again from the rows, and a claim
    never takes a row while an older open row of its job waits."""
    rng = random.Random(7)
    box = Outbox(tmp_path / "o.db")
    for _ in range(600):
        op = rng.choice(["enqueue", "enqueue", "claim", "deliver", "retry", "dead", "requeue"])
        if op == "enqueue":
            job, n = rng.choice("abc"), rng.randint(1, 6)
            box.enqueue(payload(job, n, result=rng.choice(["SUCCESS", "FAILURE"])))
        elif op == "claim":
            for row in box.claim(limit=rng.randint(1, 3)):
                older = box._db.execute(
                    "SELECT count(*) FROM outbox WHERE job=? AND id<? AND state IN "
                    "('pending','inflight')",
                    (row.job, row.id),
                ).fetchone()[0]
                assert older == 0, row.key
                rng.choice([box.delivered, lambda r: box.retry(r, delay=0, error="503")])(row)
        elif op in ("deliver", "retry", "dead"):
            rows = box.rows(state="inflight")
            if rows:
                row = rng.choice(rows)
                if op == "deliver":
                    box.delivered(row)
                elif op == "retry":
                    box.retry(row, delay=0, error="503")
                else:
                    box.dead(row, error="400")
        elif op == "requeue" and box.rows(state="dead"):
            box.requeue(rng.choice(box.rows(state="dead")).key)
        trig = _heads(box)
        with box._write() as db:
            rebuild_heads(db)
        assert _heads(box) == trig, op
    box.close()


def test_a_file_from_before_the_heads_gets_them_at_open(tmp_path: Path) -> None:
    """A file written before `heads` existed (no table, no triggers) is claimable in order
    after the next open."""
    path = tmp_path / "o.db"
    box = Outbox(path)
    box.enqueue(payload("a", 1))
    box.enqueue(payload("a", 2))
    box.close()
    db = sqlite3.connect(path)
    for trigger in ("heads_insert", "heads_update", "heads_delete"):
        db.execute(f"DROP TRIGGER {trigger}")
    db.execute("DROP TABLE heads")
    db.commit()
    db.close()
    box = Outbox(path)
    assert [r.key for r in box.claim()] == ["a#1"]
    box.close()
