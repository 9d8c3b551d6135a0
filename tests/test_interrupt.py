"""A cancelled CI job: SIGTERM or SIGINT while `parse --post` waits on SEI saves the payload
before the process exits, with the shell's status for the signal (0 under --soft-fail)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sei_watch.validation import validate

from .conftest_sei import API_KEY, GUID
from .hostile_server import Hostile
from .paths import ROOT


def _post_and_signal(tmp: Path, sig: signal.Signals, *extra: str) -> tuple[int, str, Path]:
    """Run `parse --post` against a server that never finishes answering; once the payload is
    queued, send `sig`; return the exit status, stderr and the job's working directory."""
    ws = tmp / "ws"
    shutil.copytree(ROOT / "examples" / "maven-flaky", ws)
    cwd = tmp / "cwd"
    cwd.mkdir()
    server = Hostile("drip", pace=5.0)
    env = {
        **os.environ,
        "SEI_URL": server.url,
        "SEI_API_KEY": API_KEY,
        "SEI_INSTANCE_GUID": GUID,
        "SEI_INSTANCE_NAME": "ci",
        "SEI_WATCH_STATE_DIR": str(tmp / "state"),
        "CI": "true",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sei_watch", "parse", str(ws), "--post", "--timeout", "60",
         *extra],
        cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    err: list[str] = []
    queued = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            err.append(line)
            if "in the outbox" in line:
                queued.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert queued.wait(30), "".join(err)
        threading.Event().wait(0.5)  # into the POST, which the server never answers
        proc.send_signal(sig)
        rc = proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
        server.stop()
    reader.join(5)
    return rc, "".join(err), cwd


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_post_saves_the_payload(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    """SIGTERM exits 143 and SIGINT 130, after writing the undelivered payload (a valid one)
    and saying where it is; no traceback. It used to die with nothing saved."""
    rc, err, cwd = _post_and_signal(tmp_path, sig)
    assert rc == code, err
    saved = list(cwd.glob("sei-watch-undelivered-*.json"))
    assert len(saved) == 1, err
    assert validate(json.loads(saved[0].read_text())) == []
    assert saved[0].name in err
    assert "Traceback" not in err


def test_a_cancelled_job_under_soft_fail_exits_0(tmp_path: Path) -> None:
    """Under --soft-fail a SIGTERM still saves the payload, and the step exits 0."""
    rc, err, cwd = _post_and_signal(tmp_path, signal.SIGTERM, "--soft-fail")
    assert rc == 0, err
    assert list(cwd.glob("sei-watch-undelivered-*.json")), err
    assert "Traceback" not in err
