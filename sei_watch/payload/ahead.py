"""SEI's test zip built on the machine's other core while a one-shot post reads the build.

A `parse --post` spends about as long building the zip (every JUnit report read again) as it
does parsing, and both are Python: a thread would share one core. So a forked child starts on
the zip when the parent starts its scan, reading the reports ahead; when the scan is done the
parent `send`s what the zip must hold, and the child answers with the zip through a pipe.
Anything amiss (no fork here, another thread alive, the child dying or answering garbage) and
the zip is built in this process instead, by the same function: the result is the same.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from sei_watch.records import ParseProblem

__all__ = ["Ahead", "Built", "Receive", "start"]

Built = tuple[bytes | None, list[ParseProblem]]
# In the child: the parent's message, or None while it has not come (`wait=False`).
Receive = Callable[[bool], Any]
Work = Callable[[Receive], Built]


class Ahead:
    """Work begun in a child: `send` it its message, `result()` takes its answer (or does
    the work here when the child failed), `cancel()` stops it."""

    def __init__(self, work: Work, pid: int | None, to_child: int | None, from_child: int | None):
        self._work, self._pid = work, pid
        self._to, self._from = to_child, from_child
        self._message: Any = None
        self.forked = pid is not None

    def send(self, message: Any) -> None:
        self._message = message
        fd, self._to = self._to, None
        if fd is None:
            return
        try:
            with os.fdopen(fd, "wb") as pipe:
                pipe.write(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:  # the child is gone: result() does the work here
            self.cancel()

    def result(self) -> Built:
        got = self._collect()
        return got if got is not None else self._work(lambda _wait: self._message)

    def cancel(self) -> None:
        """Stop a child whose work is not wanted (the post ended before it was needed)."""
        if self._pid is not None:
            with contextlib.suppress(OSError):  # gone already
                os.kill(self._pid, signal.SIGKILL)
        self._collect()

    def _collect(self) -> Built | None:
        pid, fd, to = self._pid, self._from, self._to
        self._pid = self._from = self._to = None
        if to is not None:
            os.close(to)
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
    # watchdog observer) a lock it held would stay held in the child for ever. On one core
    # the child would only take turns with its parent.
    return (
        sys.platform == "linux"
        and threading.active_count() == 1
        and len(os.sched_getaffinity(0)) > 1
    )


def start(work: Work) -> Ahead:
    """`work(receive)` run in a forked child where that is safe; in any case an `Ahead`."""
    if not _forkable():
        return Ahead(work, None, None, None)
    down_r, down_w = os.pipe()
    up_r, up_w = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        for fd in (down_r, down_w, up_r, up_w):
            os.close(fd)
        return Ahead(work, None, None, None)
    if pid == 0:  # the child: work, answer, and leave without running the parent's exit code
        code = 1
        try:
            os.close(down_w)
            os.close(up_r)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            answer = pickle.dumps(work(_receiver(down_r)), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(up_w, "wb") as pipe:
                pipe.write(answer)
            code = 0
        finally:
            os._exit(code)
    os.close(down_r)
    os.close(up_w)
    return Ahead(work, pid, down_w, up_r)


def _receiver(fd: int) -> Receive:
    """The child's end: the parent's one message, read whole once it is there."""
    got: list[Any] = []

    def receive(wait: bool) -> Any:
        if got:
            return got[0]
        if not wait and not select.select([fd], [], [], 0)[0]:
            return None
        with os.fdopen(fd, "rb") as pipe:
            raw = pipe.read()
        if not raw:  # the parent closed without a message: it wants nothing
            os._exit(1)
        got.append(pickle.loads(raw))  # noqa: S301  (our own parent's)
        return got[0]

    return receive
