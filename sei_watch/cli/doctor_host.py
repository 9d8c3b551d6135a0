"""`sei-watch doctor`, the host's half: watch roots, inotify, the state directory, the outbox,
git and the systemd unit. The SEI half (key, URL, instance) is in `doctor`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from sei_watch.config import Settings
from sei_watch.context import Git
from sei_watch.deliver import OUTBOX_FILE, Outbox
from sei_watch.errors import SeiWatchError

__all__ = ["MARKS", "UNIT", "Check", "host_checks", "skipped", "unknown", "warning"]

MIN_FREE = 100 << 20
MAX_PENDING_AGE = 3600.0
UNIT = Path("/etc/systemd/system/sei-watch.service")


@dataclass(frozen=True, slots=True)
class Check:
    """One line of `doctor`. `ok` is whether it lets doctor exit 0; `state` says more: pass,
    fail, "cannot tell" (SEI did not answer: not a pass), skipped (what it needs is missing
    and failed above), warning (works, and a person should know)."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    state: str = ""

    def __post_init__(self) -> None:
        if not self.state:
            object.__setattr__(self, "state", "pass" if self.ok else "fail")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def mark(self) -> str:
        return MARKS[self.state]


MARKS = {"pass": "✔", "fail": "✖", "cannot tell": "?", "skipped": "-", "warning": "!"}


def unknown(name: str, detail: str, fix: str = "") -> Check:
    """SEI did not answer: not a pass, and doctor does not exit 0 on it."""
    return Check(name, False, detail, fix, "cannot tell")


def skipped(name: str, why: str) -> Check:
    return Check(name, True, f"not checked: {why}", "", "skipped")


def warning(name: str, detail: str, fix: str = "") -> Check:
    return Check(name, True, detail, fix, "warning")


def _roots(s: Settings) -> Iterator[Check]:
    for w in s.watches:
        ok = w.root.is_dir() and os.access(w.root, os.R_OK | os.X_OK)
        yield Check(
            f"watch root {w.name}",
            ok,
            f"{w.root} {'is readable' if ok else 'is missing or unreadable'}",
            ""
            if ok
            else f"create {w.root} or give the service user read access "
            "(and list it in the unit's ReadOnlyPaths=)",
        )


def _count_dirs(root: Path, cap: int = 2_000_000) -> int:
    n = 0
    for _, dirs, _ in os.walk(root):
        n += len(dirs)
        if n > cap:
            break
    return n + 1


def _inotify(s: Settings) -> Check:
    limit_file = Path("/proc/sys/fs/inotify/max_user_watches")
    if not s.daemon.events or not limit_file.exists():
        return Check("inotify limit", True, "not used (events off, or not Linux)")
    limit = int(limit_file.read_text())
    needed = sum(_count_dirs(w.root) for w in s.watches if w.root.is_dir() and not w.force_polling)
    ok = needed < limit * 0.8
    return Check(
        "inotify limit",
        ok,
        f"{needed} directories to watch, limit {limit}",
        ""
        if ok
        else f"sysctl -w fs.inotify.max_user_watches={max(needed * 2, 524288)}"
        " (persist it in /etc/sysctl.d/)",
    )


def _state(s: Settings) -> Check:
    d = s.state_dir
    probe = d if d.exists() else d.parent
    if not (probe.exists() and os.access(probe, os.W_OK | os.X_OK)):
        return Check(
            "state dir",
            False,
            f"{d} is not writable",
            "create it for the service user (systemd: StateDirectory=sei-watch does)",
        )
    st = os.statvfs(probe)
    free = st.f_bavail * st.f_frsize
    ok = free >= MIN_FREE
    return Check(
        "state dir",
        ok,
        f"{d} writable, {free >> 20} MiB free",
        "" if ok else "free some space: the outbox needs room to keep builds",
    )


def _outbox(s: Settings) -> Check:
    path = s.state_dir / OUTBOX_FILE
    if not path.exists():
        return Check("outbox", True, "empty (no outbox yet)")
    try:
        outbox = Outbox(path, readonly=True)  # never a write beside a running daemon
        try:
            st = outbox.stats()
        finally:
            outbox.close()
    except SeiWatchError as exc:
        return Check("outbox", False, str(exc), "see `sei-watch outbox stats`")
    age = st["oldest_pending_age_s"] or 0.0
    ok = st["dead"] == 0 and age < MAX_PENDING_AGE
    return Check(
        "outbox",
        ok,
        f"{st['pending']} pending (oldest {age:.0f}s), {st['dead']} dead",
        ""
        if ok
        else "`sei-watch outbox list --state dead` shows why; fix, then "
        "`sei-watch outbox retry --all-dead`; an old pending row means SEI is "
        "unreachable or refusing the key",
    )


def _git(s: Settings) -> Iterator[Check]:
    if shutil.which("git") is None:
        yield Check(
            "git",
            False,
            "git is not installed",
            "install git: commits, branch and repo URL come from it",
        )
        return
    yield Check("git", True, shutil.which("git") or "git")
    for w in s.watches:
        if w.repo is None:
            continue
        try:
            head = Git(w.repo).head()
        except SeiWatchError as exc:
            yield Check(
                f"git repo {w.name}",
                False,
                str(exc)[:200],
                "check the path and that the service user can read it",
            )
        else:
            yield Check(f"git repo {w.name}", True, f"{w.repo} at {head[:12]}")


def _unit(unit: Path) -> Check:
    tool = shutil.which("systemd-analyze")
    if tool is None or not unit.exists():
        return Check("systemd unit", True, "not checked (no systemd-analyze or no installed unit)")
    out = subprocess.run(
        [tool, "security", "--offline=true", str(unit)], capture_output=True, text=True, check=False
    ).stdout
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out)
    score = float(m.group(1)) if m else 10.0
    ok = score <= 1.5
    return Check(
        "systemd unit",
        ok,
        f"{unit}: exposure {score}",
        "" if ok else "start from systemd/sei-watch.service: it scores 1.3",
    )


def host_checks(s: Settings, unit: Path) -> Iterator[Check]:
    """The host's checks, in the order a person would fix them."""
    yield from _roots(s)
    yield _inotify(s)
    yield _state(s)
    yield _outbox(s)
    yield from _git(s)
    yield _unit(unit)
