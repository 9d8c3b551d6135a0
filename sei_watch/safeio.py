"""Open files written by untrusted build scripts without being led outside the workspace."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path
from typing import BinaryIO

from .errors import ConfigError, UnsafePathError

__all__ = ["is_under", "open_under", "read_operator_file", "read_under"]

_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def is_under(root: Path, path: Path) -> bool:
    """Whether the real location of `path` lies inside the real `root`."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _opened_path(fd: int, fallback: Path) -> str:
    # The kernel's view of the open file defeats a directory swapped for a symlink after our check.
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return os.path.realpath(fallback)


def open_under(root: Path, path: Path, *, max_bytes: int | None = None) -> BinaryIO:
    """Open a regular file under `root` for reading; refuse links out, devices, FIFOs, oversize."""
    try:
        fd = os.open(path, _FLAGS)
    except OSError as exc:
        if os.path.islink(path):
            raise UnsafePathError("is a symlink; sei-watch does not follow links to files") from exc
        raise UnsafePathError(exc.strerror or str(exc)) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafePathError("not a regular file")
        real_root = os.path.realpath(root).rstrip(os.sep) + os.sep
        if not (_opened_path(fd, path) + os.sep).startswith(real_root):
            raise UnsafePathError("lies outside the workspace")
        if max_bytes is not None and st.st_size > max_bytes:
            raise UnsafePathError(f"is {st.st_size} bytes, over the limit of {max_bytes}")
        os.set_blocking(fd, True)
        return io.open(fd, "rb", closefd=True)  # noqa: UP020  (io.open takes an fd; open() would too)
    except BaseException:
        os.close(fd)
        raise


def read_under(root: Path, path: Path, *, max_bytes: int) -> bytes:
    """Read a whole small file under `root`, bounded by `max_bytes`."""
    with open_under(root, path, max_bytes=max_bytes) as fh:
        # Sized by the file, not the bound: a read of max_bytes allocates max_bytes first.
        size = os.fstat(fh.fileno()).st_size
        data = fh.read(size + 1)
        if len(data) > size:  # it grew since: read on, up to the bound
            data += fh.read(max_bytes + 1 - len(data))
    if len(data) > max_bytes:
        raise UnsafePathError(f"grew past the limit of {max_bytes} bytes while being read")
    return data


def read_operator_file(path: Path, *, max_bytes: int, what: str) -> bytes:
    """A file an operator named (an API key, a saved payload): at most `max_bytes`, or a
    `ConfigError` that says which file and why, before anything larger is read."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot read: {exc.strerror}") from exc
    if len(raw) > max_bytes:
        raise ConfigError(f"{what} {path}: over {max_bytes} bytes")
    return raw
