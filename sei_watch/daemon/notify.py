"""sd_notify: tell systemd we are ready, alive, busy or stopping. No dependency needed."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Mapping

__all__ = ["Notifier"]


class Notifier:
    """Sends datagrams to $NOTIFY_SOCKET (a path or an abstract `@name`); a no-op without it."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        addr = env.get("NOTIFY_SOCKET", "")
        self._addr = "\0" + addr[1:] if addr.startswith("@") else addr
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        self.watchdog_interval = int(usec) / 2e6 if usec.isdigit() and mine else None

    @property
    def enabled(self) -> bool:
        return bool(self._addr)

    def send(self, **fields: str) -> None:
        if not self._addr:
            return
        msg = "\n".join(f"{k}={v}" for k, v in fields.items()).encode()
        # A missed datagram costs one ping; systemd gone, or no descriptor left (EMFILE in
        # socket() itself), must never take the daemon down with it.
        with contextlib.suppress(OSError):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            with sock:
                sock.sendto(msg, self._addr)

    def ready(self, status: str) -> None:
        self.send(READY="1", STATUS=status)

    def status(self, status: str) -> None:
        self.send(STATUS=status)

    def watchdog(self) -> None:
        self.send(WATCHDOG="1")

    def stopping(self) -> None:
        self.send(STOPPING="1", STATUS="stopping")
