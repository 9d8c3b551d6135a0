"""The CLI behaves like its peers (issue #19, items 2 and 7): a closed pipe ends quietly, colour
follows --color and NO_COLOR, structured output has --json, and under systemd each log line
carries its syslog priority for `journalctl -p`."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from .conftest_sei import API_KEY, GUID
from .paths import ROOT

CLI = [sys.executable, "-m", "sei_watch"]


def test_closed_pipe_is_no_traceback(tmp_path: Path) -> None:
    """`sei-watch parse --records | head -1` on a large build: no BrokenPipeError traceback."""
    ws = tmp_path / "ws"
    (ws / "test-results").mkdir(parents=True)
    for n in range(3000):
        (ws / "test-results" / f"TEST-s{n}.xml").write_text(
            f'<testsuite name="s{n}"><testcase name="t"/></testsuite>'
        )
    cmd = " ".join([*CLI, "parse", str(ws), "--records"]) + " | head -1"
    proc = subprocess.run(
        ["bash", "-c", cmd], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.stdout == "[\n"
    assert "Traceback" not in proc.stderr
    assert "BrokenPipe" not in proc.stderr


def _on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(master)
    return b"".join(chunks).decode(errors="replace")


def test_colour_follows_no_color_and_the_flag() -> None:
    """On a terminal the failed rows of --timeline are red, unless NO_COLOR is set or
    --color never; --color always colours even into a file."""
    ws = str(ROOT / "examples" / "gitlab-job")
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    assert "\x1b[31m" in _on_a_terminal([*CLI, "parse", ws, "--timeline"], env)
    assert "\x1b[31m" not in _on_a_terminal(
        [*CLI, "parse", ws, "--timeline"], {**env, "NO_COLOR": "1"}
    )
    assert "\x1b[31m" not in _on_a_terminal(
        [*CLI, "--color", "never", "parse", ws, "--timeline"], env
    )
    piped = subprocess.run(
        [*CLI, "--color", "always", "parse", ws, "--timeline"], capture_output=True, text=True,
        env=env, check=False,
    )  # fmt: skip
    assert "\x1b[31m" in piped.stdout


def test_structured_output_has_json(run_cli, sei_config: Path, sei) -> None:
    """outbox list, check-config and parsers print JSON with --json."""
    assert isinstance(
        json.loads(run_cli("outbox", "list", "--json", "--config", str(sei_config)).out), list
    )
    parsers = json.loads(run_cli("parsers", "--json").out)
    assert any(p["name"] == "junit" for p in parsers["parsers"])
    cfg = sei_config.parent / "w.toml"
    root = sei_config.parent / "builds"
    root.mkdir()
    cfg.write_text(
        sei_config.read_text()
        + f'[[watch]]\nroot = "{root}"\npattern = "{{pipeline}}/{{build_number}}"\n'
    )
    checked = json.loads(run_cli("check-config", "--json", "--config", str(cfg)).out)
    assert checked["ok"] is True
    assert checked["watches"][0]["root"] == str(root)


def test_journald_priorities_and_log_level(tmp_path: Path) -> None:
    """With JOURNAL_STREAM naming our stream, each JSON line starts with `<N>` (4 for a
    warning) and the JSON after it is intact; --log-level error drops the warnings."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[sei]\nurl = "http://127.0.0.1:9"\ninstance_guid = "{GUID}"\nconnect_timeout = 0.2\n'
        f'[state]\ndir = "{tmp_path / "state"}"\n'
    )
    ws = ROOT / "examples" / "maven-flaky"
    for level, expect_warnings in ((None, True), ("error", False)):
        log = tmp_path / f"journal-{level}.txt"
        with log.open("w") as fh:
            st = os.fstat(fh.fileno())
            env = {
                **os.environ,
                "SEI_API_KEY": API_KEY,
                "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}",
            }
            flags = ["--log-level", level] if level else []
            subprocess.run(
                [*CLI, *flags, "parse", str(ws), "--post", "--timeout", "1", "--config", str(cfg),
                 "--save-undelivered", str(tmp_path / "u.json")],
                stdout=subprocess.DEVNULL, stderr=fh, env=env, timeout=60, check=False,
            )  # fmt: skip
        lines = [ln for ln in log.read_text().splitlines() if ln.startswith("<")]
        warnings = [ln for ln in lines if ln.startswith("<4>")]
        assert bool(warnings) == expect_warnings, log.read_text()[:2000]
        for line in lines:
            json.loads(line[line.index(">") + 1 :])


def test_help_has_examples_and_exit_statuses() -> None:
    """`--help` ends with examples, the exit statuses and where to read more."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "sei_watch", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "examples:" in out
    assert "sei-watch step test -- make test" in out
    assert "exit statuses: 0 ok" in out
    assert "README" in out


def test_a_mistyped_parser_name_gets_a_suggestion(run_cli, tmp_path: Path) -> None:
    """`--parser junti` says "did you mean 'junit'?" beside the list of names."""
    f = tmp_path / "r.xml"
    f.write_text("<testsuite/>")
    res = run_cli("parse", str(f), "--parser", "junti")
    assert res.status == 2
    assert "did you mean 'junit'?" in res.err
