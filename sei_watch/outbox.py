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
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import structlog

from .errors import OutboxError, OutboxFull

__all__ = ["Outbox", "Row", "payload_key"]

log = structlog.get_logger("sei_watch.outbox")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_guid TEXT NOT NULL,
    job TEXT NOT NULL,
    build_number INTEGER NOT NULL,
    body BLOB NOT NULL,
    body_hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'inflight', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    next_attempt REAL NOT NULL,
    delivered_at REAL,
    last_error TEXT,
    UNIQUE (instance_guid, job, build_number)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt);
CREATE INDEX IF NOT EXISTS outbox_job ON outbox (instance_guid, job, id);
"""
_COLUMNS = (
    "id, instance_guid, job, build_number, state, attempts, created, updated, "
    "next_attempt, delivered_at, last_error, size, body_hash"
)
Enqueued = Literal["queued", "unchanged", "replaced", "requeued"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One outbox row, without its body unless asked for."""

    id: int
    instance_guid: str
    job: str
    build_number: int
    state: str
    attempts: int
    created: float
    updated: float
    next_attempt: float
    delivered_at: float | None
    last_error: str | None
    size: int
    body_hash: str
    body: bytes | None = None

    @property
    def key(self) -> str:
        return f"{self.job}#{self.build_number}"


_FIELDS = tuple(c.strip() for c in _COLUMNS.split(","))


def _row(values: tuple[Any, ...]) -> Row:
    return Row(**dict(zip((*_FIELDS, "body"), values, strict=False)))


def payload_key(payload: Mapping[str, Any]) -> tuple[str, str, int]:
    """(instance_guid, job_full_name, build_number) of a payload."""
    return (
        str(payload["instance_guid"]),
        str(payload["job_full_name"]),
        int(payload["build_number"]),
    )


def _translate(path: Path, exc: sqlite3.Error) -> OutboxError:
    msg = str(exc)
    if "readonly" in msg or "unable to open" in msg:
        why = "the state directory is not writable"
    elif "full" in msg:
        why = "the disk is full"
    else:
        why = msg
    return OutboxError(f"outbox {path}: {why} ({type(exc).__name__}: {msg})")


class Outbox:
    """A durable, idempotent queue of SEI payloads. Thread-safe; several processes may share it."""

    def __init__(
        self,
        path: Path,
        *,
        max_rows: int = 100_000,
        max_bytes: int = 1 << 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._db = self._open()

    # -- opening ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=30000")
        return db

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutboxError(
                f"outbox {self.path}: cannot create {self.path.parent}: {exc.strerror}"
            ) from exc
        try:
            db = self._connect()
            ok = db.execute("PRAGMA quick_check").fetchone()[0]
            if ok != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {ok}")
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "database is locked" not in str(exc):
                raise _translate(self.path, exc) from exc
            db = self._move_aside(exc)
        try:
            db.executescript(_SCHEMA)
            with self._tx(db):  # a write proves the directory and disk take writes
                back = db.execute("UPDATE outbox SET state='pending' WHERE state='inflight'")
            if back.rowcount:
                log.warning(
                    "outbox.recovered",
                    path=str(self.path),
                    rows=back.rowcount,
                    note="in-flight rows from an interrupted run go out again",
                )
        except sqlite3.Error as exc:
            raise _translate(self.path, exc) from exc
        return db

    def _move_aside(self, exc: sqlite3.DatabaseError) -> sqlite3.Connection:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        size = self.path.stat().st_size if self.path.exists() else 0
        for suffix in ("", "-wal", "-shm"):
            src = Path(f"{self.path}{suffix}")
            if src.exists():
                src.rename(Path(f"{aside}{suffix}"))
        log.error(
            "outbox.corrupt",
            path=str(self.path),
            moved_to=str(aside),
            bytes=size,
            error=str(exc),
            lost="payloads still pending in it are not sent; try `sqlite3 FILE .recover`",
        )
        return self._connect()

    @staticmethod
    @contextmanager
    def _tx(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if db.in_transaction:  # SQLITE_FULL and friends roll back by themselves
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                with self._tx(self._db) as db:
                    yield db
            except sqlite3.Error as exc:
                raise _translate(self.path, exc) from exc

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise _translate(self.path, exc) from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- the queue -------------------------------------------------------------------------

    def enqueue(self, payload: Mapping[str, Any]) -> Enqueued:
        """Store a payload durably. Same key and body: nothing. New body: replace (and send
        again if the old one was delivered). Refused loudly when the outbox is full."""
        guid, job, number = payload_key(payload)
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        digest = hashlib.sha256(body).hexdigest()
        now = self._clock()
        with self._write() as db:
            row = db.execute(
                "SELECT id, body_hash, state FROM outbox WHERE instance_guid=? AND job=? "
                "AND build_number=?",
                (guid, job, number),
            ).fetchone()
            if row is not None and row[1] == digest:
                return "unchanged"
            if row is None:
                self._check_room(db, len(body))
                db.execute(
                    "INSERT INTO outbox (instance_guid, job, build_number, body, body_hash, size,"
                    " state, created, updated, next_attempt) VALUES (?,?,?,?,?,?,'pending',?,?,?)",
                    (guid, job, number, body, digest, len(body), now, now, now),
                )
                return "queued"
            db.execute(
                "UPDATE outbox SET body=?, body_hash=?, size=?, state='pending', attempts=0, "
                "updated=?, next_attempt=?, last_error=NULL WHERE id=?",
                (body, digest, len(body), now, now, row[0]),
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
                f"SELECT {_COLUMNS}, body FROM outbox o WHERE state='pending' AND next_attempt<=? "
                "AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.instance_guid=o.instance_guid "
                "AND p.job=o.job AND p.state IN ('pending','inflight') AND p.id<o.id) "
                "ORDER BY next_attempt, id LIMIT ?",
                (now, limit),
            ).fetchall()
            db.executemany(
                "UPDATE outbox SET state='inflight', updated=? WHERE id=?",
                [(now, r[0]) for r in rows],
            )
        return [_row(r) for r in rows]

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
            _row(r)
            for r in self._read(
                f"SELECT {_COLUMNS} FROM outbox {where} ORDER BY id LIMIT ?", (*args, limit)
            )
        ]

    def find(self, key: str) -> Row:
        """A row by id, or by `job#build_number` (the newest instance GUID first)."""
        if key.isdigit():
            found = self._read(f"SELECT {_COLUMNS}, body FROM outbox WHERE id=?", (int(key),))
        else:
            job, sep, number = key.rpartition("#")
            if not sep or not number.isdigit():
                raise OutboxError(f"{key!r} is not a row id or JOB#BUILD_NUMBER")
            found = self._read(
                f"SELECT {_COLUMNS}, body FROM outbox WHERE job=? AND "
                "build_number=? ORDER BY id DESC",
                (job, int(number)),
            )
        if not found:
            raise OutboxError(f"no outbox row {key!r}")
        return _row(found[0])

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

    def stats(self) -> dict[str, Any]:
        counts = dict.fromkeys(("pending", "inflight", "delivered", "dead"), 0)
        for state, n in self._read("SELECT state, count(*) FROM outbox GROUP BY state"):
            counts[state] = n
        (oldest, waiting) = self._read(
            "SELECT min(created), coalesce(sum(size), 0) FROM outbox WHERE state IN "
            "('pending','inflight')"
        )[0]
        return {
            **counts,
            "waiting_bytes": waiting,
            "oldest_pending_age_s": round(self._clock() - oldest, 1) if oldest else None,
            "path": str(self.path),
            "file_bytes": _size(self.path),
        }


def _size(path: Path) -> int:
    return sum(os.path.getsize(f"{path}{s}") for s in ("", "-wal") if os.path.exists(f"{path}{s}"))
