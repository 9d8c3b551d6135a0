"""Where a payload goes, and who holds a row while it is sent.

A row in the outbox records the destination it was queued for (SEI's base URL, or the NATS
servers, and a fingerprint of the key: never the key), so no process ever sends it anywhere
else; and the process that claimed it (its owner), so no other process puts it back in the
queue while that owner lives.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from sei_watch.errors import DeliveryError

__all__ = ["PRESETS", "Destination", "Scope", "key_fingerprint", "owner_alive", "process_owner"]

PRESETS: Final[Mapping[str, str]] = {
    "prod0": "https://accounts.harness.io/sei/api",
    "prod1": "https://app.harness.io/prod1/sei/api",
    "prod2": "https://app.harness.io/gratis/sei/api",
    "prod3": "https://app3.harness.io/sei/api",
    "prod4": "https://prod4.harness.io/sei/api",
    "prod6": "https://prod6.harness.io/sei/api",
    "eu1": "https://accounts.eu.harness.io/sei/api",
}


def resolve_base(url: str) -> str:
    """A preset name or a base URL, without a trailing slash."""
    base = PRESETS.get(url.strip().lower(), url.strip())
    if not base.startswith(("https://", "http://")):
        raise DeliveryError(
            f"SEI url {url!r} is neither a preset ({', '.join(PRESETS)}) nor an http(s) URL"
        )
    return base.rstrip("/")


def key_fingerprint(key: str) -> str:
    """Enough of the key's SHA-256 to tell two keys apart; nothing that recovers the key."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True, kw_only=True)
class Destination:
    """The SEI base URL (or `nats:` and the servers) and the key's fingerprint."""

    url: str
    key_fp: str = ""

    def __str__(self) -> str:
        return f"{self.url} (key {self.key_fp})" if self.key_fp else self.url


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    """Which rows a sender may claim. `row_id`: that row only (a one-shot `parse --post`
    sends the build it queued and nothing else). Otherwise a row a job queued (`parse --post`)
    goes out only to its own destination, with its own key; the agent's rows (the daemon,
    backfill, `outbox import`) go where the agent's config now says, so a corrected URL or a
    rotated key still delivers the backlog. `destination` None: any row (tests).
    """

    destination: Destination | None = None
    row_id: int | None = None


@functools.cache
def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            return fh.read().strip()
    except OSError:
        return "-"


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22): with the
    pid, it names one process even after the pid is reused."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count from its end.
    return stat[stat.rfind(")") + 2 :].split()[19]


def process_owner() -> str:
    """This process, as a claim's owner: boot, pid and start time."""
    pid = os.getpid()
    return f"{_boot_id()}:{pid}:{_start_ticks(pid) or '-'}"


def owner_alive(owner: str | None) -> bool:
    """Whether the process that claimed a row still runs (on this boot of this machine)."""
    if not owner:
        return False
    boot, _, rest = owner.partition(":")
    pid_text, _, ticks = rest.partition(":")
    if boot != _boot_id() or not pid_text.isdigit():
        return False
    current = _start_ticks(int(pid_text))
    return current is not None and ticks in ("-", current)
