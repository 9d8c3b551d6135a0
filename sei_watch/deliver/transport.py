"""A request with a hard deadline and a capped answer, below requests.

A read timeout restarts with every byte, so a server dripping its answer is never timed out:
each thread notes the socket its request waits on, and a timer shuts that socket at the
deadline. An answer body is read up to MAX_ANSWER and no further.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["MAX_ANSWER", "POOL_CLASSES", "Answer", "forget", "read_capped", "shut"]

MAX_ANSWER = 64 * 1024  # an answer body past this is not read: SEI's are a few hundred bytes

_ACTIVE: dict[int, socket.socket] = {}  # thread id -> the socket its request waits on
_ACTIVE_LOCK = threading.Lock()


class _Tracked:
    """Notes the socket a thread's request waits on, so its deadline can shut it: a read
    timeout restarts with every byte, so a server dripping its answer is never timed out."""

    sock: socket.socket | None

    def getresponse(self) -> Any:
        if self.sock is not None:
            with _ACTIVE_LOCK:
                _ACTIVE[threading.get_ident()] = self.sock
        return super().getresponse()  # type: ignore[misc]


class _HTTP(_Tracked, HTTPConnection):
    pass


class _HTTPS(_Tracked, HTTPSConnection):
    pass


class _Pool(HTTPConnectionPool):
    ConnectionCls = _HTTP


class _SPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPS


def shut(thread: int, fired: threading.Event) -> None:
    with _ACTIVE_LOCK:
        sock = _ACTIVE.get(thread)
    fired.set()
    if sock is not None:
        with contextlib.suppress(OSError):  # wakes the blocked read; the pool drops the conn
            sock.shutdown(socket.SHUT_RDWR)


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """An answer with its body read up to MAX_ANSWER."""

    status_code: int
    reason: str
    headers: Mapping[str, str]
    content: bytes


def read_capped(resp: requests.Response) -> bytes:
    """At most MAX_ANSWER bytes of the body; the rest is never read (the connection closes)."""
    try:
        data = resp.raw.read(MAX_ANSWER + 1, decode_content=True) or b""
    except Exception:  # a body cut off or reset: what came is what there is
        data = b""
    finally:
        resp.close()
    return data[:MAX_ANSWER]


def forget(thread: int) -> None:
    """The thread's request is over: its socket is no longer the deadline's to shut."""
    with _ACTIVE_LOCK:
        _ACTIVE.pop(thread, None)


POOL_CLASSES: Mapping[str, type[HTTPConnectionPool]] = {"http": _Pool, "https": _SPool}
