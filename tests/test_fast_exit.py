"""A one-shot `parse` in its own process leaves without the interpreter's teardown, and loses
nothing by it: the whole summary is printed, the exit status is the command's, and the exit
hooks still run (the git shadow directory is removed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .gitrepo import Repo
from .paths import ROOT


def _parse(ws: Path, tmp: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TMPDIR": str(tmp), "CI": "true", "HOME": str(tmp)}
    return subprocess.run(
        [sys.executable, "-m", "sei_watch", "parse", str(ws), *extra],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip


def test_a_parse_in_a_git_checkout_leaves_no_shadow_and_prints_everything(tmp_path: Path) -> None:
    """In a git checkout (read through a private shadow git dir) the summary and the JSON
    payload are printed whole, the exit status is the command's, and the shadow directory in
    TMPDIR is gone after the process exits."""
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "examples" / "maven-flaky", ws)
    Repo(ws).commit("first")
    temp = tmp_path / "tmp"
    temp.mkdir()
    out = _parse(ws, temp)
    assert out.returncode in (0, 1), out.stderr
    assert "Artifacts (2)" in out.stdout  # the summary's last section, flushed
    assert list(temp.iterdir()) == []  # the shadow `sei-watch-git-*` was removed at exit
    again = _parse(ws, temp, "--json")
    assert again.returncode == out.returncode
    assert json.loads(again.stdout)["branch_name"] == "main"  # the whole payload, from git


LEAVE = """
import atexit, sys
sys.path.insert(0, sys.argv[1])
from sei_watch.cli.entry import _leave
atexit.register(lambda: open(sys.argv[2], "w").write("ran"))
sys.stdout.write("no newline, still in the buffer")
_leave(3)
"""


def test_leaving_fast_runs_the_exit_hooks_and_flushes(tmp_path: Path) -> None:
    """`_leave` runs what was registered with atexit (a plugin's clean-up, a git shadow's
    removal), flushes output still in its buffer, and exits with the status given."""
    mark = tmp_path / "hook"
    out = subprocess.run(
        [sys.executable, "-c", LEAVE, str(ROOT), str(mark)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert out.returncode == 3
    assert out.stdout == "no newline, still in the buffer"
    assert mark.read_text() == "ran"
