"""The durable outbox: every payload is on disk before `enqueue` returns, and leaves only when
SEI accepted it or it is dead (kept, with SEI's reason).

sqlite in WAL mode with synchronous=FULL: each commit is fsync'd, so an accepted enqueue
survives a power cut, not just a crash. Rows are keyed by (instance_guid, job_full_name,
build_number), the key SEI itself treats as unique. Each state change is one transaction:
pending -> inflight -> delivered, or dead. A crash leaves inflight rows, which go back to
pending at the next open; a duplicate POST is possible only if the process died after SEI
accepted and before the one commit that marks the row delivered.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from sei_watch.errors import OutboxError, OutboxFull
from sei_watch.logs import get_logger
from sei_watch.schema import storable_update

from .outbox_store import COLUMNS, Row, SqliteStore, file_bytes, row_of

__all__ = ["Outbox", "Row", "payload_key"]

log = get_logger("sei_watch.outbox")

Enqueued = Literal["queued", "unchanged", "replaced", "requeued"]


def _digest(body: bytes, attachment: bytes | None) -> str:
    """The row's identity: the body and, for the multipart transport, its zip."""
    if not attachment:
        return hashlib.sha256(body).hexdigest()
    return hashlib.sha256(body + hashlib.sha256(attachment).digest()).hexdigest()


def payload_key(payload: Mapping[str, Any]) -> tuple[str, str, int]:
    """(instance_guid, job_full_name, build_number) of a payload."""
    return (
        str(payload["instance_guid"]),
        str(payload["job_full_name"]),
        int(payload["build_number"]),
    )


class Outbox(SqliteStore):
    """A durable, idempotent queue of SEI payloads. Thread-safe; several processes may share it."""

    def __init__(
        self,
        path: Path,
        *,
        max_rows: int = 100_000,
        max_bytes: int = 1 << 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        super().__init__(path, clock=clock)

    # -- the queue -------------------------------------------------------------------------

    def enqueue(self, payload: Mapping[str, Any], attachment: bytes | None = None) -> Enqueued:
        """Store a payload durably. Same key and body: nothing. New body: replace; once the
        old one was delivered, only its artifacts and stages (what SEI takes from a re-post),
        and nothing at all when only run fields changed. Refused loudly when full."""
        guid, job, number = payload_key(payload)
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        digest = _digest(body, attachment)
        size = len(body) + len(attachment or b"")
        now = self._clock()
        with self._write() as db:
            row = db.execute(
                "SELECT id, body_hash, state, body FROM outbox WHERE instance_guid=? AND job=? "
                "AND build_number=?",
                (guid, job, number),
            ).fetchone()
            if row is not None and row[1] != digest and row[2] == "delivered":
                # SEI holds the run and the first write wins: send only what it still takes.
                merged, ignored = storable_update(json.loads(row[3]), payload)
                if ignored:
                    log.warning(
                        "payload.late_change_ignored",
                        key=f"{job}#{number}",
                        fields=ignored,
                        reason="SEI keeps a run's fields from its first post",
                    )
                body = json.dumps(merged, separators=(",", ":"), ensure_ascii=False).encode()
                digest = _digest(body, attachment)
                size = len(body) + len(attachment or b"")
            if row is not None and row[1] == digest:
                return "unchanged"
            if row is None:
                self._check_room(db, size)
                db.execute(
                    "INSERT INTO outbox (instance_guid, job, build_number, body, body_hash, size,"
                    " state, created, updated, next_attempt, attachment) "
                    "VALUES (?,?,?,?,?,?,'pending',?,?,?,?)",
                    (guid, job, number, body, digest, size, now, now, now, attachment),
                )
                return "queued"
            db.execute(
                "UPDATE outbox SET body=?, body_hash=?, size=?, state='pending', attempts=0, "
                "updated=?, next_attempt=?, last_error=NULL, attachment=? WHERE id=?",
                (body, digest, size, now, now, attachment, row[0]),
            )
            return "requeued" if row[2] == "delivered" else "replaced"

    def _check_room(self, db: sqlite3.Connection, size: int) -> None:
        rows, used = db.execute(
            "SELECT count(*), coalesce(sum(size), 0) FROM outbox WHERE state != 'delivered'"
        ).fetchone()
        if rows + 1 > self.max_rows or used + size > self.max_bytes:
            raise OutboxFull(
                f"outbox {self.path} is full ({rows} rows, {used} bytes waiting; caps "
                f"{self.max_rows} rows, {self.max_bytes} bytes): this build is refused, nothing "
                "older is dropped. Restore delivery to SEI, or raise [outbox] max_rows/max_bytes."
            )

    def claim(self, limit: int = 32) -> list[Row]:
        """Take the due rows, oldest first and at most the oldest waiting one per job, and
        mark them in flight."""
        now = self._clock()
        (due,) = self._read(
            "SELECT count(*) FROM outbox WHERE state='pending' AND next_attempt<=?", (now,)
        )[0]
        if not due:  # nothing to do: no write transaction, no fsync
            return []
        with self._write() as db:
            rows = db.execute(
                f"SELECT {COLUMNS}, body, attachment FROM outbox o WHERE state='pending' "
                "AND next_attempt<=? "
                "AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.instance_guid=o.instance_guid "
                "AND p.job=o.job AND p.state IN ('pending','inflight') AND p.id<o.id) "
                "ORDER BY next_attempt, id LIMIT ?",
                (now, limit),
            ).fetchall()
            db.executemany(
                "UPDATE outbox SET state='inflight', updated=? WHERE id=?",
                [(now, r[0]) for r in rows],
            )
        return [row_of(r) for r in rows]

    def delivered(self, row: Row) -> bool:
        """Mark delivered, unless the body was replaced meanwhile (then it goes out again)."""
        with self._write() as db:
            cur = db.execute(
                "UPDATE outbox SET state='delivered', delivered_at=?, updated=?, attempts="
                "attempts+1, last_error=NULL WHERE id=? AND body_hash=? AND state='inflight'",
                (self._clock(), self._clock(), row.id, row.body_hash),
            )
            return cur.rowcount == 1

    def retry(self, row: Row, *, delay: float, error: str, count: bool = True) -> None:
        """Back to pending, due after `delay` seconds; `count` adds an attempt."""
        with self._write() as db:
            db.execute(
                "UPDATE outbox SET state='pending', next_attempt=?, updated=?, last_error=?, "
                "attempts=attempts+? WHERE id=? AND state='inflight'",
                (self._clock() + delay, self._clock(), error, int(count), row.id),
            )

    def dead(self, row: Row, *, error: str) -> None:
        """A permanent refusal: kept with SEI's reason, never sent again unless retried."""
        with self._write() as db:
            db.execute(
                "UPDATE outbox SET state='dead', updated=?, last_error=?, attempts=attempts+1 "
                "WHERE id=? AND body_hash=? AND state='inflight'",
                (self._clock(), error, row.id, row.body_hash),
            )

    def next_due(self) -> float | None:
        """When the next pending row is due (epoch seconds), or None if none is waiting."""
        (when,) = self._read("SELECT min(next_attempt) FROM outbox WHERE state='pending'")[0]
        return float(when) if when is not None else None

    # -- inspection and repair -------------------------------------------------------------

    def rows(self, *, state: str | None = None, limit: int = 1000) -> list[Row]:
        where, args = ("WHERE state=?", (state,)) if state else ("", ())
        return [
            row_of(r)
            for r in self._read(
                f"SELECT {COLUMNS} FROM outbox {where} ORDER BY id LIMIT ?", (*args, limit)
            )
        ]

    def find(self, key: str) -> Row:
        """A row by id, or by `job#build_number` (the newest instance GUID first)."""
        if key.isdigit():
            found = self._read(f"SELECT {COLUMNS}, body FROM outbox WHERE id=?", (int(key),))
        else:
            job, sep, number = key.rpartition("#")
            if not sep or not number.isdigit():
                raise OutboxError(f"{key!r} is not a row id or JOB#BUILD_NUMBER")
            found = self._read(
                f"SELECT {COLUMNS}, body FROM outbox WHERE job=? AND "
                "build_number=? ORDER BY id DESC",
                (job, int(number)),
            )
        if not found:
            raise OutboxError(f"no outbox row {key!r}")
        return row_of(found[0])

    def requeue(self, key: str) -> Row:
        row = self.find(key)
        with self._write() as db:
            db.execute(
                "UPDATE outbox SET state='pending', next_attempt=?, updated=? WHERE id=?",
                (self._clock(), self._clock(), row.id),
            )
        return row

    def requeue_dead(self) -> int:
        with self._write() as db:
            return db.execute(
                "UPDATE outbox SET state='pending', next_attempt=?, updated=? WHERE state='dead'",
                (self._clock(), self._clock()),
            ).rowcount

    def drop(self, key: str) -> Row:
        row = self.find(key)
        with self._write() as db:
            db.execute("DELETE FROM outbox WHERE id=?", (row.id,))
        log.warning("payload.dropped", key=row.key, state=row.state, by="operator")
        return row

    def prune(self, days: float) -> int:
        """Forget delivered rows older than `days`."""
        with self._write() as db:
            return db.execute(
                "DELETE FROM outbox WHERE state='delivered' AND delivered_at<?",
                (self._clock() - days * 86400,),
            ).rowcount

    def note_recovery(self, derived_again: int) -> None:
        """Record what a corrupt file's recovery came to (shown by `outbox stats`)."""
        with self._write() as db:
            db.execute(
                "INSERT INTO recovery VALUES (?,?,?,?)",
                (self._clock(), self.moved_to, len(self.salvaged or ()), derived_again),
            )

    def stats(self) -> dict[str, Any]:
        counts = dict.fromkeys(("pending", "inflight", "delivered", "dead"), 0)
        for state, n in self._read("SELECT state, count(*) FROM outbox GROUP BY state"):
            counts[state] = n
        (oldest, waiting) = self._read(
            "SELECT min(created), coalesce(sum(size), 0) FROM outbox WHERE state IN "
            "('pending','inflight')"
        )[0]
        last = self._read(
            "SELECT at, moved_to, recovered, derived_again FROM recovery ORDER BY at DESC LIMIT 1"
        )
        recovery = (
            dict(zip(("at", "moved_to", "recovered", "derived_again"), last[0], strict=True))
            if last
            else None
        )
        return {
            **counts,
            "last_recovery": recovery,
            "waiting_bytes": waiting,
            "oldest_pending_age_s": round(self._clock() - oldest, 1) if oldest else None,
            "path": str(self.path),
            "file_bytes": file_bytes(self.path),
        }
