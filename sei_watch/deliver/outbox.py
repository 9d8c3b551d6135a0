"""The durable outbox: every payload is on disk before `enqueue` returns, and leaves only when
SEI accepted it or it is dead (kept, with SEI's reason).

sqlite in WAL mode with synchronous=FULL: each commit is fsync'd, so an accepted enqueue
survives a power cut, not just a crash. Rows are keyed by (instance_guid, job_full_name,
build_number), the key SEI itself treats as unique. Each state change is one transaction:
pending -> inflight -> delivered, or dead. A claim records its owner (boot, pid, start time):
no other process puts an in-flight row back while its owner runs, so `outbox stats` or a
one-shot beside the daemon never makes it post twice. A crash leaves the dead owner's rows in
flight; the next claim by any sender puts them back. A duplicate POST is possible only if the
owner died after SEI accepted and before the one commit that marks the row delivered.

Each row keeps the destination it was queued for (URL and key fingerprint, `destination.py`),
and a sender claims only rows of its own `Scope`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from sei_watch.errors import OutboxError, OutboxFull
from sei_watch.logs import get_logger
from sei_watch.schema import storable_update

from .destination import Destination, Scope, owner_alive, process_owner
from .outbox_admin import OutboxAdmin
from .outbox_store import COLUMNS, Row, row_of

__all__ = ["Outbox", "Row", "payload_key"]

_O_COLUMNS = ", ".join(f"o.{c.strip()}" for c in COLUMNS.split(","))  # joined with `heads`

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


class Outbox(OutboxAdmin):
    """A durable, idempotent queue of SEI payloads. Thread-safe; several processes may share it."""

    def __init__(
        self,
        path: Path,
        *,
        max_rows: int = 100_000,
        max_bytes: int = 1 << 30,
        clock: Callable[[], float] = time.time,
        readonly: bool = False,
    ) -> None:
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.owner = process_owner()
        super().__init__(path, clock=clock, readonly=readonly)

    # -- the queue -------------------------------------------------------------------------

    def enqueue(
        self,
        payload: Mapping[str, Any],
        attachment: bytes | None = None,
        *,
        destination: Destination | None = None,
        queued_by: str = "agent",
    ) -> Enqueued:
        """Store a payload durably, for `destination`. Same key and body: nothing. New body:
        replace; once the old one was delivered, only its artifacts and stages (what SEI takes
        from a re-post), and nothing at all when only run fields changed. Refused loudly when
        full."""
        where = (destination.url, destination.key_fp) if destination else (None, None)
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
                    " state, created, updated, next_attempt, attachment, destination, key_fp,"
                    " queued_by) VALUES (?,?,?,?,?,?,'pending',?,?,?,?,?,?,?)",
                    (guid, job, number, body, digest, size, now, now, now, attachment, *where,
                     queued_by),
                )  # fmt: skip
                return "queued"
            db.execute(
                "UPDATE outbox SET body=?, body_hash=?, size=?, state='pending', attempts=0, "
                "updated=?, next_attempt=?, last_error=NULL, attachment=?, destination=?, "
                "key_fp=?, queued_by=?, owner=NULL WHERE id=?",
                (body, digest, size, now, now, attachment, *where, queued_by, row[0]),
            )
            return "requeued" if row[2] == "delivered" else "replaced"

    def _check_room(self, db: sqlite3.Connection, size: int) -> None:
        rows, used = db.execute(
            "SELECT count(*), coalesce(sum(size), 0) FROM outbox WHERE state != 'delivered'"
        ).fetchone()
        over = used + size - self.max_bytes
        if over > 0 and rows + 1 <= self.max_rows:
            over -= self._drop_zips(db, over)
        if rows + 1 > self.max_rows or over > 0:
            raise OutboxFull(
                f"outbox {self.path} is full ({rows} rows, {used} bytes waiting; caps "
                f"{self.max_rows} rows, {self.max_bytes} bytes) and no tests' zip is left to "
                "drop: this build is refused, no waiting run is dropped. Restore delivery to "
                "SEI, or raise [outbox] max_rows/max_bytes."
            )

    def _drop_zips(self, db: sqlite3.Connection, need: int) -> int:
        """Free `need` bytes by dropping the oldest waiting tests' zips (never one in flight):
        a run without its test rows is worth more than a refused build. Returns bytes freed."""
        freed = 0
        zips = db.execute(
            "SELECT id, job, build_number, length(attachment) FROM outbox WHERE state IN "
            "('pending', 'dead') AND attachment IS NOT NULL ORDER BY created, id"
        ).fetchall()
        for row_id, job, number, size in zips:
            if freed >= need:
                break
            db.execute("UPDATE outbox SET attachment=NULL, size=size-? WHERE id=?", (size, row_id))
            db.execute("INSERT INTO dropped VALUES (?,?,?,?)", (self._clock(), job, number, size))
            freed += size
            log.warning(
                "outbox.zip_dropped",
                key=f"{job}#{number}",
                bytes=size,
                reason=f"the outbox is at its byte cap ({self.max_bytes} bytes)",
                action="the run is still sent, without its test rows; restore delivery to "
                "SEI, or raise [outbox] max_bytes",
            )
        return freed

    def _recover(self) -> None:
        """Put back the in-flight rows whose owner no longer runs (a crash, a SIGKILL); a live
        owner's rows stay its own."""
        owners = {
            o for (o,) in self._read("SELECT DISTINCT owner FROM outbox WHERE state='inflight'")
        }
        dead = [o for o in owners if o != self.owner and not owner_alive(o)]
        if not dead:
            return
        named = [o for o in dead if o is not None]
        marks = ",".join("?" * len(named)) or "NULL"
        with self._write() as db:
            back = db.execute(
                "UPDATE outbox SET state='pending', owner=NULL WHERE state='inflight' AND "
                f"(owner IS NULL OR owner IN ({marks}))",
                named,
            ).rowcount
        if back:
            log.warning(
                "outbox.recovered",
                path=str(self.path),
                rows=back,
                note="in-flight rows of a process that ended go out again",
            )

    @staticmethod
    def _scope_sql(scope: Scope) -> tuple[str, tuple[Any, ...]]:
        if scope.row_id is not None:
            return " AND o.id=?", (scope.row_id,)
        if scope.destination is None:
            return "", ()
        d = scope.destination
        return (
            " AND (o.queued_by IS NULL OR o.queued_by!='job' OR (o.destination=? AND o.key_fp=?))",
            (d.url, d.key_fp),
        )

    def claim(self, limit: int = 32, scope: Scope | None = None) -> list[Row]:
        """Take the due rows of `scope`, oldest first and at most the oldest waiting one per
        job, and mark them in flight, owned by this process."""
        scope = scope or Scope()
        now = self._clock()
        self._recover()
        where, args = self._scope_sql(scope)
        if scope.row_id is not None:  # a one-shot's own row: an older row of the job is not its
            source, due = "outbox o WHERE o.state='pending' AND o.next_attempt<=?", "o"
        else:  # the head of each job only: a job's builds go out in order
            source = (
                "heads h JOIN outbox o ON o.id=h.id WHERE h.state='pending' AND h.next_attempt<=?"
            )
            due = "h"
        query = (
            f"SELECT {_O_COLUMNS}, o.body FROM {source}{where} "
            f"ORDER BY {due}.next_attempt, {due}.id LIMIT ?"
        )
        if not self._read(f"SELECT 1 FROM {source}{where} LIMIT 1", (now, *args)):
            return []  # nothing to do: no write transaction, no fsync
        with self._write() as db:
            rows = db.execute(query, (now, *args, limit)).fetchall()
            db.executemany(
                "UPDATE outbox SET state='inflight', updated=?, owner=? WHERE id=?",
                [(now, self.owner, r[0]) for r in rows],
            )
        return [replace(row_of(r), owner=self.owner) for r in rows]

    @contextlib.contextmanager
    def attachment(self, row: Row) -> Iterator[sqlite3.Blob | None]:
        """The row's tests' zip, open for reading on a connection of its own, to be streamed
        to SEI (a claim never loads it: 32 rows of 24 MB zips once held the daemon at 982 MiB);
        None when it has none, or it was dropped to make room."""
        try:
            con = sqlite3.connect(
                f"file:{self.path}?mode=ro", uri=True, check_same_thread=False, timeout=30.0
            )
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox {self.path}: cannot read an attachment: {exc}") from exc
        try:
            found = con.execute(
                "SELECT attachment IS NOT NULL FROM outbox WHERE id=?", (row.id,)
            ).fetchone()
            if not found or not found[0]:
                yield None
                return
            with con.blobopen("outbox", "attachment", row.id, readonly=True) as blob:
                yield blob
        finally:
            con.close()

    def delivered(self, row: Row) -> bool:
        """Mark delivered, unless the body was replaced meanwhile (then it goes out again)."""
        with self._write() as db:
            cur = db.execute(
                "UPDATE outbox SET state='delivered', delivered_at=?, updated=?, attempts="
                "attempts+1, last_error=NULL, owner=NULL WHERE id=? AND body_hash=? AND "
                "state='inflight' AND owner=?",
                (self._clock(), self._clock(), row.id, row.body_hash, self.owner),
            )
            return cur.rowcount == 1

    def retry(self, row: Row, *, delay: float, error: str, count: bool = True) -> None:
        """Back to pending, due after `delay` seconds; `count` adds an attempt."""
        with self._write() as db:
            db.execute(
                "UPDATE outbox SET state='pending', next_attempt=?, updated=?, last_error=?, "
                "attempts=attempts+?, owner=NULL WHERE id=? AND state='inflight' AND owner=?",
                (self._clock() + delay, self._clock(), error, int(count), row.id, self.owner),
            )

    def dead(self, row: Row, *, error: str) -> None:
        """A permanent refusal: kept with SEI's reason, never sent again unless retried."""
        with self._write() as db:
            db.execute(
                "UPDATE outbox SET state='dead', updated=?, last_error=?, attempts=attempts+1, "
                "owner=NULL WHERE id=? AND body_hash=? AND state='inflight' AND owner=?",
                (self._clock(), error, row.id, row.body_hash, self.owner),
            )

    def next_due(self, scope: Scope | None = None) -> float | None:
        """When the next pending row of `scope` is due (epoch seconds), or None if none is."""
        where, args = self._scope_sql(scope or Scope())
        (when,) = self._read(
            f"SELECT min(next_attempt) FROM outbox o WHERE state='pending'{where}", args
        )[0]
        return float(when) if when is not None else None
