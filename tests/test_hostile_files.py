"""Hostile build directories (issue #18, item 2): one file nested absurdly deep costs that file
only; the rest of the build, JUnit results included, is still reported, by `parse` and by the
real daemon, which keeps running."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sei_watch.status import ExitStatus

from .daemonproc import DaemonProc, wait_for, write_build
from .sei_server import StandIn
from .test_daemon import spool


def deep_yaml(path: Path, depth: int = 50_000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("image: " + "[" * depth + "]" * depth + "\n")


def deep_marker(directory: Path, depth: int = 100_000) -> None:
    (directory / ".sei-watch.json").write_text("[" * depth + "]" * depth)


def test_deep_yaml_and_marker_cost_only_themselves(run_cli, tmp_path: Path) -> None:
    """A 50k-deep YAML under k8s/ and a 100k-deep marker: a problem each, naming the file; the
    JUnit suite is still in the payload and `parse` exits with 1, not a traceback."""
    ws = tmp_path / "ws"
    write_build(ws, marker=False)
    deep_yaml(ws / "k8s" / "deploy.yaml")
    deep_marker(ws)
    res = run_cli(
        "parse",
        str(ws),
        "--json",
        "--set",
        "instance_guid=" + "1" * 8 + "-1111-4111-8111-" + "1" * 12,
    )
    assert res.status == ExitStatus.PROBLEMS, res.err
    payload = json.loads(res.out)
    assert payload["job_run"]["stages"][0]["steps"][0]["displayName"] == "unit"
    assert "k8s/deploy.yaml" in res.err
    assert ".sei-watch.json" in res.err
    assert "Traceback" not in res.err


def test_daemon_reports_a_build_with_a_deep_file(tmp_path: Path, sei: StandIn) -> None:
    """The real daemon: the build with the deep YAML is reported with its tests and a
    problem, no `build.crashed`, and the next build goes through too."""
    root, watches = spool(tmp_path)
    d = DaemonProc(tmp_path, sei, watches).start()
    try:
        hostile = root / "deploy" / "1"
        deep_yaml(hostile / "k8s" / "deploy.yaml")
        write_build(hostile)
        write_build(root / "deploy" / "2")
        wait_for(lambda: len(sei.accepted) == 2, 15, "both builds")
        first = next(p for p in sei.accepted if p["build_number"] == 1)
        assert first["job_run"]["stages"][0]["steps"][0]["displayName"] == "unit"
        assert not d.seen("build.crashed")
        assert any("k8s/deploy.yaml" in str(e.get("path")) for e in d.seen("parse.problem"))
    finally:
        assert d.stop() == 0


def test_config_regex_cannot_backtrack_for_ever(tmp_path: Path) -> None:
    """Item 8: `^(a+)+$` on a 41-character line (minutes of backtracking in Python's re) runs
    on RE2 and `parse` finishes (the subprocess limit only guards against a hang); a pattern
    RE2 cannot run (a backreference) is a problem naming the option."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "build.log").write_text("a" * 41 + "b\n" + "a" * 10 + "\n")
    for step, expect in (
        ("^(?P<name>(a+)+)$", "aaaaaaaaaa"),
        ("^(?P<name>(a)\\2)$", "not a pattern RE2 accepts"),
    ):
        cfg = tmp_path / "c.toml"
        cfg.write_text(
            '[parsers.log-generic]\nglobs = ["**/build.log"]\n'
            f"[parsers.log-generic.options]\nstep = '{step}'\n"
        )
        proc = subprocess.run(
            [sys.executable, "-m", "sei_watch", "parse", str(ws), "--config", str(cfg)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert expect in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def _peak_rss_mib(args: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run a child and return its own peak RSS (MiB): a fresh process per measurement."""
    probe = (
        "import resource, subprocess, sys; "
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024); "
        "sys.stdout.write(p.stdout[-2000:]); sys.stderr.write(p.stderr[-2000:]); "
        "sys.exit(p.returncode)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    return float(proc.stdout.splitlines()[0]), proc


def test_junit_recovery_is_bounded(tmp_path: Path) -> None:
    """Item 3: a claimed 256 MiB `.xml` that is not XML after its first tag sends the parser
    down libxml2's recovery, which keeps what it cannot place (a peak over the file's size
    before): it stops at its budget, memory stays far under the file's size, and the problem
    says recovery stopped."""
    path = tmp_path / "TEST-bad.xml"
    line = b"this is not xml <<< & >> at all " * 100 + b"\n"
    with path.open("wb") as fh:
        fh.write(b'<testsuite name="s">')
        while fh.tell() < 256 << 20:
            fh.write(line)
    rss, proc = _peak_rss_mib(
        [sys.executable, "-m", "sei_watch", "parse", str(path), "--parser", "junit"]
    )
    assert proc.returncode == 1, proc.stderr
    assert rss < 160, rss
    assert "recovery stopped" in proc.stdout


@pytest.mark.parametrize("where", ["suite", "case"])
def test_a_tag_that_never_ends_is_bounded_in_both_passes(tmp_path: Path, where: str) -> None:
    """A start tag that never closes (128 MiB of attributes): libxml2's push parser holds an
    unfinished tag whole before it parses it, ten times its size (a 153 MB file peaked at
    1.5 GB). Both passes stop once no `>` came for 2 MiB: memory stays within the recovery
    budget, what was counted before the tag is kept, and the problem names the cause."""
    path = tmp_path / "TEST-unending.xml"
    head = b'<testsuites><testsuite name="s" tests="2"'
    if where == "case":
        head += b'><testcase classname="c" name="ok"/><testcase classname="c" name="n"'
    chunk = b' x="y"' * 100_000
    with path.open("wb") as fh:
        fh.write(head)
        while fh.tell() < 128 << 20:
            fh.write(chunk)
    rss, proc = _peak_rss_mib(
        [sys.executable, "-m", "sei_watch", "parse", str(path), "--parser", "junit"]
    )
    assert proc.returncode == 1, proc.stderr
    assert rss < 160, rss
    assert "no '>' in 2 MiB" in proc.stdout, proc.stdout
    if where == "case":
        assert '"name": "s"' in proc.stdout  # the suite counted up to the break
