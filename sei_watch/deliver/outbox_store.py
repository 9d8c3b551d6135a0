"""The sqlite file under the outbox: opened in WAL mode with synchronous=FULL, checked, moved
aside when corrupt, and written one transaction at a time. sqlite errors become OutboxErrors
here."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sei_watch.errors import OutboxError
from sei_watch.logs import get_logger

from .outbox_schema import LATER_COLUMNS, SCHEMA, rebuild_heads

__all__ = ["COLUMNS", "Row", "SqliteStore", "file_bytes", "row_of"]

log = get_logger("sei_watch.outbox")

COLUMNS = (
    "id, instance_guid, job, build_number, state, attempts, created, updated, "
    "next_attempt, delivered_at, last_error, size, body_hash, destination, key_fp, queued_by, "
    "owner"
)


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
    destination: str | None = None  # SEI's base URL or `nats:…`, as queued
    key_fp: str | None = None  # the fingerprint of the key it was queued with
    queued_by: str | None = None  # "agent" (daemon, backfill, import) or "job" (parse --post)
    owner: str | None = None  # the process holding it in flight
    body: bytes | None = None  # the tests' zip is read when posted: `Outbox.attachment`

    @property
    def key(self) -> str:
        return f"{self.job}#{self.build_number}"


_FIELDS = tuple(c.strip() for c in COLUMNS.split(","))


def row_of(values: tuple[Any, ...]) -> Row:
    return Row(**dict(zip((*_FIELDS, "body"), values, strict=False)))


_SALVAGED = (
    "id, instance_guid, job, build_number, body, body_hash, state, size, attempts, "
    "created, updated, next_attempt, delivered_at, last_error"
)
_OPTIONAL = ("attachment", "destination", "key_fp", "queued_by")  # absent in older files
_WIDTH = 14 + len(_OPTIONAL)
_INSERT = (
    f"INSERT OR IGNORE INTO outbox ({_SALVAGED}, {', '.join(_OPTIONAL)}) "
    f"VALUES ({','.join('?' * _WIDTH)})"
)


def _salvage(path: Path) -> list[tuple[Any, ...]]:
    """Every outbox row a damaged file still yields: a whole scan where it works, else row by
    row up to the highest id, so a bad page costs only the rows on it."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return []
    try:
        try:  # an older outbox lacks the later columns
            have = {r[1] for r in db.execute("PRAGMA table_info(outbox)")}
        except sqlite3.Error:
            have = set()
        later = ", ".join(c if c in have else "NULL" for c in _OPTIONAL)
        select = f"SELECT {_SALVAGED}, {later} FROM outbox"
        try:
            rows = db.execute(select).fetchall()
            if all(len(r) == _WIDTH for r in rows):
                return [tuple(r) for r in rows]
        except sqlite3.Error:
            pass
        try:
            top = db.execute("SELECT seq FROM sqlite_sequence WHERE name='outbox'").fetchone()
            highest = int(top[0]) if top else 0
        except sqlite3.Error:
            highest = 0
        found = []
        for ident in range(1, min(highest, 1_000_000) + 1):
            try:
                row = db.execute(select + " WHERE id=?", (ident,)).fetchone()
            except sqlite3.Error:
                continue
            if row is not None:
                found.append(tuple(row))
        return found
    finally:
        db.close()


def _translate(path: Path, exc: sqlite3.Error) -> OutboxError:
    msg = str(exc)
    if "readonly" in msg or "unable to open" in msg:
        why = "the state directory is not writable"
    elif "full" in msg:
        why = "the disk is full"
    else:
        why = msg
    return OutboxError(f"outbox {path}: {why} ({type(exc).__name__}: {msg})")


class SqliteStore:
    """One sqlite database, shared safely by threads (a lock) and processes (WAL, busy wait)."""

    def __init__(
        self, path: Path, *, clock: Callable[[], float] = time.time, readonly: bool = False
    ) -> None:
        self.path = path
        self._clock = clock
        self.salvaged: list[tuple[Any, ...]] | None = None  # set when the file was corrupt
        self.moved_to = ""
        self.readonly = readonly
        self._lock = threading.Lock()
        self._db = self._open_readonly() if readonly else self._open()

    def _open_readonly(self) -> sqlite3.Connection:
        """For commands that only look (`outbox stats|list|show`, `doctor`): no schema, no
        repair, no write, so nothing they do can change what a running daemon holds."""
        try:
            db = sqlite3.connect(
                f"file:{self.path}?mode=ro", uri=True, check_same_thread=False, timeout=30.0
            )
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("SELECT 1 FROM outbox LIMIT 1").fetchall()
            for column in LATER_COLUMNS:
                name = column.split()[0]
                if name not in {r[1] for r in db.execute("PRAGMA table_info(outbox)")}:
                    raise sqlite3.OperationalError(f"no column {name}: written by an older release")
        except sqlite3.Error as exc:
            raise _translate(self.path, exc) from exc
        return db

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
            # The triggers keep `heads` once they exist: derive it only for a file older than them.
            had_heads = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='heads'"
            ).fetchone()
            db.executescript(SCHEMA)
            columns = {r[1] for r in db.execute("PRAGMA table_info(outbox)")}
            for column in LATER_COLUMNS:
                if column.split()[0] not in columns:
                    db.execute(f"ALTER TABLE outbox ADD COLUMN {column}")
            self._restore(db)
            # A write proves the directory and disk take writes. In-flight rows are NOT put
            # back here: their owner may be a running daemon (a claim recovers a dead owner's).
            with self._tx(db):
                db.execute("CREATE TABLE IF NOT EXISTS opened (at REAL)")
                db.execute("DELETE FROM opened")
                db.execute("INSERT INTO opened VALUES (?)", (self._clock(),))
                if not had_heads:
                    rebuild_heads(db)
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
        self.salvaged = _salvage(aside)
        self.moved_to = str(aside)
        log.error(
            "outbox.corrupt",
            path=str(self.path),
            moved_to=str(aside),
            bytes=size,
            error=str(exc),
            salvaged=len(self.salvaged),
            action="rows still readable are queued again; the daemon derives the others again "
            "from their build directories",
        )
        return self._connect()

    def _restore(self, db: sqlite3.Connection) -> None:
        """Put the rows read out of a corrupt file into the new one: waiting rows wait again,
        dead ones stay dead, delivered ones are remembered as delivered."""
        if not self.salvaged:
            return
        with self._tx(db):
            db.executemany(
                _INSERT,
                [
                    (*row[:6], "pending" if row[6] == "inflight" else row[6], *row[7:])
                    for row in self.salvaged
                ],
            )

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


def file_bytes(path: Path) -> int:
    return sum(os.path.getsize(f"{path}{s}") for s in ("", "-wal") if os.path.exists(f"{path}{s}"))
