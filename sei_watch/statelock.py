"""One daemon per state directory: a second one would send every build twice."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import TextIO

from .errors import ConfigError

__all__ = ["lock_state_dir"]


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
