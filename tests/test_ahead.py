"""The one-shot post's test zip, built in a forked child: the same zip as one built in the
process, a child that dies or is not wanted costs nothing, and no fork beside another thread."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from sei_watch.config import load_settings
from sei_watch.payload import Given, Report, build_report
from sei_watch.payload.ahead import Built, Receive, start
from sei_watch.payload.testzip import NESTED
from sei_watch.plugins import load_parsers

from .conftest_sei import GUID
from .paths import ROOT, corpus_dir
from .sei_server import StandIn
from .sei_tests import read_junit_zip

WORKSPACE = corpus_dir() / "testreports"


def _entries(outer: bytes | None) -> dict[str, bytes]:
    """The inner zip's files by name (the zip's own bytes hold the clock's time)."""
    assert outer is not None
    with zipfile.ZipFile(io.BytesIO(outer)) as zf:
        inner = zf.read(NESTED)
    with zipfile.ZipFile(io.BytesIO(inner)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _report(workspace: Path = WORKSPACE, *, zip_ahead: bool = False) -> Report:
    return build_report(
        workspace, load_parsers(), load_settings(None), given=Given(), environ={},
        hostname="ci-1", now_ms=1_780_000_000_000, zip_ahead=zip_ahead,
    )  # fmt: skip


def _inline() -> tuple[dict[str, bytes], list[tuple[str, str]]]:
    data, problems = _report()._junit_zip(32 << 20)
    return _entries(data), [(p.path, p.reason) for p in problems]


CHILD = """
import hashlib, io, json, sys, threading, zipfile
sys.path.insert(0, sys.argv[1])
from tests.test_ahead import _entries, _report
assert threading.active_count() == 1
report = _report(zip_ahead=True)
forked = report.ahead.forked
data, problems = report.ahead.result()
print(json.dumps({
    "forked": forked,
    "entries": {k: hashlib.sha256(v).hexdigest() for k, v in _entries(data).items()},
    "problems": [[p.path, p.reason] for p in problems],
}))
"""


def test_a_zip_built_in_a_forked_child_is_the_zip_built_here() -> None:
    """In a single-threaded process the zip is built by a forked child, and its files and
    left-out reports are those of the zip built in the process itself."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT)], capture_output=True, text=True, check=True
    )
    got = json.loads(out.stdout)
    entries, problems = _inline()
    assert got["forked"] is True
    assert len(entries) > 50
    assert got["entries"] == {k: hashlib.sha256(v).hexdigest() for k, v in entries.items()}
    assert [tuple(p) for p in got["problems"]] == problems


def _ran_alone(test: Callable[[], None]) -> bool:
    """Whether `test` was run in a fresh interpreter instead of here: beside pytest's own
    threads nothing is forked, and the fork is what it tests."""
    if threading.active_count() == 1:
        return False
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        f"from tests.test_ahead import {test.__name__} as t; t()"
    )
    subprocess.run([sys.executable, "-c", script, str(ROOT)], check=True)
    return True


def _builder(parent: int) -> Callable[[Receive], Built]:
    def build(_receive: Receive) -> Built:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)  # the child dies before it answers
        data, problems = _report()._junit_zip(32 << 20)
        return data, problems

    return build


def test_a_child_that_dies_leaves_the_zip_to_the_process() -> None:
    """A child killed before it answers is reaped, and the zip is built in the process:
    nothing is lost but the time."""
    if _ran_alone(test_a_child_that_dies_leaves_the_zip_to_the_process):
        return
    ahead = start(_builder(os.getpid()))
    assert ahead.forked
    ahead.send("the scan is done")
    data, problems = ahead.result()
    assert (_entries(data), [(p.path, p.reason) for p in problems]) == _inline()
    with pytest.raises(ChildProcessError):  # no child left, running or unreaped
        os.waitpid(-1, os.WNOHANG)


def test_a_zip_not_taken_is_stopped_and_reaped() -> None:
    """cancel() stops a child whose zip the post never took, and leaves no zombie behind."""
    if _ran_alone(test_a_zip_not_taken_is_stopped_and_reaped):
        return
    report = _report(zip_ahead=True)
    assert report.ahead is not None
    assert report.ahead.forked
    report.cancel_attachment()
    assert report.ahead is None
    with pytest.raises(ChildProcessError):  # no child left, running or unreaped
        os.waitpid(-1, os.WNOHANG)


def test_no_fork_beside_another_thread() -> None:
    """With another thread alive (a daemon's workers) the zip is built in the process, since
    a fork would copy locks that thread holds; it is the same zip."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        report = _report(zip_ahead=True)
        assert report.ahead is not None
        assert not report.ahead.forked
        assert _entries(report.attachment()) == _inline()[0]
    finally:
        stop.set()
        other.join()


def test_a_real_post_forks_its_zip_and_sei_stores_every_row_once(tmp_path: Path) -> None:
    """`sei-watch parse WS --post` in its own process (single-threaded, so the zip is built by
    a forked child) gives SEI's test table the rows an in-process build gives, and prints its
    summary once: the child never flushes the parent's output."""
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "examples" / "maven-flaky", ws)
    stand_in = StandIn("k", instances={GUID: "agents"}).start()
    try:
        cfg = tmp_path / "mp.toml"
        cfg.write_text(
            f'[sei]\nurl = "{stand_in.url}"\ninstance_guid = "{GUID}"\n'
            f'instance_name = "agents"\ntransport = "multipart"\n'
            f'[state]\ndir = "{tmp_path / "state"}"\n'
        )
        env = {**os.environ, "SEI_API_KEY": "k", "CI": "true", "HOME": str(tmp_path)}
        out = subprocess.run(
            [sys.executable, "-m", "sei_watch", "parse", str(ws), "--post", "--config", str(cfg),
             "--set", "job_full_name=shop/ci", "--set", "build_number=7"],
            capture_output=True, text=True, env=env, check=False, timeout=120,
        )  # fmt: skip
        assert out.returncode in (0, 1), out.stderr
        assert out.stdout.count("sei-watch parse ") == 1
        assert out.stderr.count("delivered to SEI") == 1
        (run,) = stand_in.store.runs.values()
    finally:
        stand_in.stop()
    data, _ = _report(ws)._junit_zip(32 << 20)
    rows, _ = read_junit_zip(data or b"")
    assert len(run.tests) == len({f"{r.classname}.{r.name}" for r in rows}) > 0
    assert sorted(run.tests) == sorted({f"{r.classname}.{r.name}" for r in rows})


ONE_CORE = """
import os, sys
sys.path.insert(0, sys.argv[1])
os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
from tests.test_ahead import _entries, _inline, _report
report = _report(zip_ahead=True)
assert report.ahead is not None and not report.ahead.forked, "forked on one core"
assert _entries(report.attachment()) == _inline()[0]
"""


def test_no_fork_on_one_core() -> None:
    """Held to one core, the process builds the zip itself: a child would only take turns
    with it. The zip is the same."""
    subprocess.run([sys.executable, "-c", ONE_CORE, str(ROOT)], check=True, timeout=120)
