"""Looking into the outbox and repairing it by hand: the rows, one row, requeue, drop, prune,
and the counts `outbox stats`, `doctor` and /metrics show. Every query here reads or changes
rows as an operator asked; the queue's own moves are in `outbox.py`."""

from __future__ import annotations

from typing import Any

from sei_watch.errors import OutboxError
from sei_watch.logs import get_logger

from .outbox_store import COLUMNS, Row, SqliteStore, file_bytes, row_of

__all__ = ["OutboxAdmin"]

log = get_logger("sei_watch.outbox")


class OutboxAdmin(SqliteStore):
    """The operator's side of the outbox."""

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
        (dropped,) = self._read("SELECT count(*) FROM dropped")[0]
        return {
            **counts,
            "attachments_dropped": dropped,
            "last_recovery": recovery,
            "waiting_bytes": waiting,
            "oldest_pending_age_s": round(self._clock() - oldest, 1) if oldest else None,
            "path": str(self.path),
            "file_bytes": file_bytes(self.path),
        }

    def others_waiting(self, row_id: int) -> list[Row]:
        """The rows waiting beside `row_id` (a one-shot names them; it does not send them)."""
        return [
            row_of(r)
            for r in self._read(
                f"SELECT {COLUMNS} FROM outbox WHERE state IN ('pending','inflight') AND id!=? "
                "ORDER BY id LIMIT 100",
                (row_id,),
            )
        ]
