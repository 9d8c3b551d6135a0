"""The unit file passes systemd-analyze, and the daemon speaks sd_notify as systemd expects."""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sei_watch.status import ExitStatus

from .daemonproc import DaemonProc, wait_for
from .paths import ROOT
from .sei_server import StandIn

UNIT = ROOT / "systemd" / "sei-watch.service"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


UNITS = ["sei-watch.service", "sei-watch-relay.service"]  # the agent's, the fleet relay's


def unit_copy(tmp_path: Path, name: str = "sei-watch.service") -> Path:
    """The unit with ExecStart pointing at this environment's real sei-watch executable."""
    exe = Path(sys.executable).parent / "sei-watch"
    path = tmp_path / name
    text = (ROOT / "systemd" / name).read_text()
    path.write_text(text.replace("/opt/sei-watch/bin/sei-watch", str(exe)))
    return path


@needs_analyze
@pytest.mark.parametrize("name", UNITS)
def test_unit_verifies_without_a_word(tmp_path: Path, name: str) -> None:
    """`systemd-analyze verify` prints nothing (it exits 0 even on unknown keys)."""
    proc = subprocess.run(
        [ANALYZE, "verify", str(unit_copy(tmp_path, name))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
    assert proc.stdout + proc.stderr == ""


@needs_analyze
@pytest.mark.parametrize("name", UNITS)
def test_unit_exposure_is_at_most_1_5(tmp_path: Path, name: str) -> None:
    """The offline security score of the hardened unit is at most 1.5 (of 10)."""
    proc = subprocess.run(
        [ANALYZE, "security", "--offline=true", str(unit_copy(tmp_path, name))],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", proc.stdout)
    assert found, proc.stdout[-500:]
    assert float(found.group(1)) <= 1.5


def test_unit_keeps_what_the_daemon_needs() -> None:
    """The unit is Type=notify with a watchdog, a credential, state dir, and AF_UNIX for notify."""
    text = UNIT.read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "User=sei-watch",
        "StateDirectory=sei-watch",
        "LoadCredential=api-key:",
        "ReadOnlyPaths=",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ):
        assert line in text
    assert re.search(r"RestrictAddressFamilies=.*AF_UNIX.*AF_INET .*AF_INET6", text)


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_daemon_speaks_sd_notify(tmp_path: Path, sei: StandIn, abstract: bool) -> None:
    """READY after the first rescan, WATCHDOG pings while healthy, STOPPING on SIGTERM, exit 0."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = f"sei-watch-test-{time.monotonic_ns()}"
        sock.bind("\0" + name)
        address = "@" + name
    else:
        address = str(tmp_path / "notify.sock")
        sock.bind(address)
    sock.settimeout(0.2)
    root = tmp_path / "spool"
    root.mkdir()
    d = DaemonProc(
        tmp_path,
        sei,
        f'[[watch]]\nroot = "{root}"\npattern = "{{pipeline}}"\n',
        env={"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "400000"},
    )
    messages: list[str] = []

    def pump() -> None:
        with contextlib.suppress(TimeoutError):
            messages.append(sock.recv(4096).decode())

    d.start(ready=False)
    try:

        def saw(word: str) -> bool:
            pump()
            return any(word in m for m in messages)

        wait_for(lambda: saw("READY=1"), 15, "READY=1")
        wait_for(
            lambda: sum("WATCHDOG=1" in m for m in messages) >= 3 or saw("__never__"),
            10,
            "three WATCHDOG=1 pings",
        )
        d.signal(signal.SIGTERM)
        wait_for(lambda: saw("STOPPING=1"), 10, "STOPPING=1")
        assert d.stop() == 0
    finally:
        sock.close()
    ready_at = next(i for i, m in enumerate(messages) if "READY=1" in m)
    assert "STATUS=" in messages[ready_at]
    assert all("WATCHDOG=1" not in m for m in messages[:ready_at])
    assert d.seen("daemon.ready")


def test_configuration_errors_are_not_restarted(tmp_path: Path) -> None:
    """A broken config makes `run` exit USAGE, and the unit names that status as no-restart."""
    bad = tmp_path / "sei-watch.toml"
    bad.write_text("[sei\nbase_url = ")
    proc = subprocess.run(
        [sys.executable, "-m", "sei_watch", "run", "--config", str(bad)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == ExitStatus.USAGE, proc.stderr[-500:]
    found = re.search(r"^RestartPreventExitStatus=(.+)$", UNIT.read_text(), re.MULTILINE)
    assert found
    assert str(int(ExitStatus.USAGE)) in found.group(1).split()


def test_notify_survives_running_out_of_descriptors(tmp_path: Path) -> None:
    """EMFILE from the notify `socket()` call is a missed datagram, not a crash: a process with
    every descriptor in use sends READY, STATUS and WATCHDOG and carries on (it used to raise
    OSError out of `send`, which aborted the daemon)."""
    script = (
        "import os, resource, sys\n"
        "from sei_watch.daemon.notify import Notifier\n"
        "n = Notifier({'NOTIFY_SOCKET': sys.argv[1]})\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))\n"
        "held = []\n"
        "try:\n"
        "    while True:\n"
        "        held.append(os.open(os.devnull, os.O_RDONLY))\n"
        "except OSError:\n"
        "    pass\n"
        "n.ready('up'); n.status('busy'); n.watchdog(); n.stopping()\n"
        "print('carried on')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "notify.sock")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "carried on"


@needs_analyze
def test_install_unit_fills_the_roots_and_verifies(run_cli, tmp_path: Path) -> None:
    """`install-unit` for a config whose roots do not all exist: ReadOnlyPaths= lists each
    root with `-` (missing ones are no error to systemd), `--print unit` shows exactly what
    would be written, `systemd-analyze verify` stays silent, and an ExecStart under /home
    (hidden by ProtectHome=) is warned about."""
    real = tmp_path / "spool"
    real.mkdir()
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[state]\ndir = "{tmp_path / "state"}"\n'
        f'[[watch]]\nname = "a"\nroot = "{real}"\n'
        f'[[watch]]\nname = "b"\nroot = "{tmp_path / "not-yet"}"\n'
    )
    cfg.chmod(0o600)
    exe = str(Path(sys.executable).parent / "sei-watch")
    units = tmp_path / "units"
    args = ("install-unit", "--unit-dir", str(units), "--config", str(cfg), "--exec", exe)
    res = run_cli(*args)
    assert res.status == ExitStatus.OK, res.err
    unit = (units / "sei-watch.service").read_text()
    assert f"ReadOnlyPaths=-{real} -{tmp_path / 'not-yet'}" in unit
    shown = run_cli(*args, "--print", "unit")
    assert shown.out == unit
    proc = subprocess.run(
        [ANALYZE, "verify", str(units / "sei-watch.service")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.stdout + proc.stderr == ""
    home = run_cli("install-unit", "--unit-dir", str(tmp_path / "u2"), "--config", str(cfg),
                   "--exec", "/home/alice/.local/bin/sei-watch")  # fmt: skip
    assert "ProtectHome" in home.err
