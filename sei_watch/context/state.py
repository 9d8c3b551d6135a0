"""What sei-watch remembers between builds: the HEAD of the last reported build of each job.

Keyed by (instance_guid, job_full_name), in sqlite beside the outbox, so it survives restarts.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from sei_watch.errors import OutboxError
from sei_watch.logs import get_logger

__all__ = ["BuildState"]

log = get_logger("sei_watch.state")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS last_build (
    instance_guid TEXT NOT NULL,
    job TEXT NOT NULL,
    head TEXT NOT NULL,
    build_number INTEGER NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (instance_guid, job)
);
CREATE TABLE IF NOT EXISTS reported (
    dir TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    payload_key TEXT NOT NULL,
    reported_at REAL NOT NULL
);
"""


class BuildState:
    """The previous reported HEAD per job."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._db = self._open()
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError) and "malformed" not in str(exc):
                    raise  # locked, read-only, a full disk: not a damaged file
                # Everything here is derived (the last HEAD per job, the builds reported): a
                # damaged file is moved aside and started again, never a reason to stop.
                self._move_aside(exc)
                self._db = self._open()
        except (OSError, sqlite3.Error) as exc:
            raise OutboxError(f"build state {path}: {exc}") from exc

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            ok = db.execute("PRAGMA quick_check").fetchone()[0]
            if ok != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {ok}")
            db.executescript(_SCHEMA)
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _move_aside(self, exc: sqlite3.Error) -> None:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
        for suffix in ("", "-wal", "-shm"):
            src = Path(f"{self.path}{suffix}")
            if src.exists():
                src.rename(Path(f"{aside}{suffix}"))
        log.error(
            "state.corrupt",
            path=str(self.path),
            moved_to=str(aside),
            error=str(exc),
            action="started again: commit ranges restart from each job's next build",
        )

    def previous(self, instance_guid: str, job: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT head FROM last_build WHERE instance_guid=? AND job=?", (instance_guid, job)
            ).fetchone()
        return str(row[0]) if row else None

    def record(self, instance_guid: str, job: str, head: str, build_number: int) -> None:
        """Remember `head` as this job's last reported build (only moving forward in number)."""
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO last_build VALUES (?,?,?,?,?) ON CONFLICT (instance_guid, job) "
                    "DO UPDATE SET head=excluded.head, build_number=excluded.build_number, "
                    "updated=excluded.updated WHERE excluded.build_number >= build_number",
                    (instance_guid, job, head, build_number, time.time()),
                )
            except sqlite3.Error as exc:
                raise OutboxError(f"build state {self.path}: {exc}") from exc

    def reported(self, directory: str) -> tuple[str, float] | None:
        """(fingerprint, reported_at) of the last report of a build directory."""
        with self._lock:
            row = self._db.execute(
                "SELECT fingerprint, reported_at FROM reported WHERE dir=?", (directory,)
            ).fetchone()
        return (str(row[0]), float(row[1])) if row else None

    def reported_dirs(self) -> dict[str, str]:
        """Every reported build directory and its fingerprint (for a rescan)."""
        with self._lock:
            rows = self._db.execute("SELECT dir, fingerprint FROM reported").fetchall()
        return {str(d): str(f) for d, f in rows}

    def mark_reported(self, directory: str, fingerprint: str, payload_key: str) -> None:
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO reported VALUES (?,?,?,?) ON CONFLICT (dir) DO UPDATE SET "
                    "fingerprint=excluded.fingerprint, payload_key=excluded.payload_key, "
                    "reported_at=excluded.reported_at",
                    (directory, fingerprint, payload_key, time.time()),
                )
            except sqlite3.Error as exc:
                raise OutboxError(f"build state {self.path}: {exc}") from exc

    def forget_reported(self, keep: set[str]) -> int:
        """Forget every reported build whose payload key is not in `keep` (after an outbox was
        lost): a rescan reports them again, harmless at SEI, which keeps a run's first write."""
        with self._lock:
            rows = self._db.execute("SELECT dir, payload_key FROM reported").fetchall()
            gone = [(d,) for d, key in rows if key not in keep]
            with self._db:
                self._db.executemany("DELETE FROM reported WHERE dir=?", gone)
        return len(gone)

    def close(self) -> None:
        with self._lock:
            self._db.close()
