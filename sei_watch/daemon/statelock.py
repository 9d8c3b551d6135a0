"""The state directory's own care: one daemon at a time (a second would send every build
twice), and nothing waiting lost when the outbox file was found corrupt."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import TextIO

from sei_watch.context import BuildState
from sei_watch.deliver import Outbox
from sei_watch.errors import ConfigError
from sei_watch.logs import get_logger

__all__ = ["heal_after_corruption", "lock_state_dir"]

log = get_logger("sei_watch.statelock")


def lock_state_dir(state_dir: Path) -> TextIO:
    """Take the directory's exclusive lock (flock on `daemon.lock`, which names the holder's
    pid), or refuse with the holder's pid. The lock lasts as long as the returned file is open,
    and the kernel drops it when the process dies, however it dies."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fh = (state_dir / "daemon.lock").open("a+")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "?"
        fh.close()
        raise ConfigError(
            f"another sei-watch daemon (pid {holder}) uses the state directory {state_dir}: "
            "stop it, or give this one its own [state] dir"
        ) from None
    fh.truncate(0)
    fh.write(f"{os.getpid()}\n")
    fh.flush()
    return fh


def heal_after_corruption(outbox: Outbox, state: BuildState) -> None:
    """After the outbox was moved aside as corrupt: its readable rows are already back in the
    new file; every build whose row was lost is forgotten as reported, so the first rescan
    derives it again from its directory (SEI keeps a run's first write: a repeat is harmless)."""
    if outbox.salvaged is None:
        return
    kept = {row.key for row in outbox.rows(limit=10_000_000)}
    again = state.forget_reported(kept)
    outbox.note_recovery(again)
    log.warning(
        "outbox.recovered_after_corruption",
        recovered=len(outbox.salvaged),
        derived_again=again,
        moved_to=outbox.moved_to,
        note="the builds derived again are reported by the first rescan",
    )
