"""SEI's test zip built on the machine's other core while a one-shot post gets ready.

A `parse --post` spends about as long building the zip (every JUnit report read again) as it
does importing the HTTP stack and opening the outbox, and both are Python: a thread would share
one core. So the zip is built in a forked child and handed back through a pipe. Anything amiss
(no fork here, another thread alive, the child dying or answering garbage) and the zip is built
in this process instead, by the same function: the result is the same either way.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable

from sei_watch.records import ParseProblem

__all__ = ["Ahead", "start"]

Built = tuple[bytes | None, list[ParseProblem]]


class Ahead:
    """A zip being built: `result()` waits for it, or builds it here when the child failed."""

    def __init__(self, build: Callable[[], Built], pid: int | None, fd: int | None) -> None:
        self._build, self._pid, self._fd = build, pid, fd
        self.forked = pid is not None

    def result(self) -> Built:
        got = self._collect()
        return got if got is not None else self._build()

    def cancel(self) -> None:
        """Stop a child whose zip is not wanted (the post ended before it was needed)."""
        if self._pid is not None:
            with contextlib.suppress(OSError):  # gone already
                os.kill(self._pid, signal.SIGKILL)
        self._collect()

    def _collect(self) -> Built | None:
        pid, fd = self._pid, self._fd
        self._pid = self._fd = None
        if pid is None or fd is None:
            return None
        chunks = []
        status = -1
        try:
            with os.fdopen(fd, "rb") as pipe:
                while chunk := pipe.read(1 << 20):
                    chunks.append(chunk)
        except BaseException:  # a signal to stop the post: the child's work is not wanted
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            raise
        finally:
            with contextlib.suppress(ChildProcessError):
                _, status = os.waitpid(pid, 0)
        if status == -1 or not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            return None
        try:
            data, problems = pickle.loads(b"".join(chunks))  # noqa: S301  (our own child's)
        except Exception:
            return None
        if not (data is None or isinstance(data, bytes)) or not isinstance(problems, list):
            return None
        return data, problems


def _forkable() -> bool:
    # A fork copies only the calling thread: with another alive (a daemon's workers, a
    # watchdog observer) a lock it held would stay held in the child for ever.
    return sys.platform == "linux" and threading.active_count() == 1


def start(build: Callable[[], Built]) -> Ahead:
    """`build()` run in a forked child where that is safe; in any case an `Ahead` to wait on."""
    if not _forkable():
        return Ahead(build, None, None)
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return Ahead(build, None, None)
    if pid == 0:  # the child: build, answer, and leave without running the parent's exit code
        code = 1
        try:
            os.close(read_end)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            answer = pickle.dumps(build(), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(answer)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    return Ahead(build, pid, read_end)
