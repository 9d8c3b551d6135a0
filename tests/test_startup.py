"""Start-up: the commands that run at the end of every build import only what they use (the
times are measured by bench/startup.py, never asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = (
    "requests",
    "urllib3",
    "watchdog",
    "structlog",
    "asyncio",
    "lxml",
    "yaml",
    "re2",
    "sqlite3",
    "importlib.metadata",
    "sei_watch_parsers",
    "sei_watch.payload.trace",  # the trace output, imported only when it is on
    "sei_watch.deliver.otlp",
)


def _imported(*argv: str, cwd: Path) -> set[str]:
    code = (
        "import json, sys\n"
        "from sei_watch.cli import main\n"
        "try:\n"
        f"    main({list(argv)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def _baseline(cwd: Path) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", "import json, sys; print(json.dumps(sorted(sys.modules)))"],
        cwd=cwd, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return set(json.loads(out))


def test_version_imports_nothing_heavy(tmp_path: Path) -> None:
    """`sei-watch --version` loads no HTTP, watchdog, structlog, XML, YAML or parser module."""
    mods = _imported("--version", cwd=tmp_path)
    assert not {m for m in HEAVY if m in mods}


def test_mark_imports_nothing_heavy(tmp_path: Path) -> None:
    """`sei-watch mark`, the last step of every build, neither: it writes one small file."""
    mods = _imported("mark", "--dir", str(tmp_path), cwd=tmp_path)
    assert not {m for m in HEAVY if m in mods}
    assert (tmp_path / ".sei-watch.json").is_file()


def test_parse_without_post_imports_no_http(tmp_path: Path) -> None:
    """`parse` of a workspace that is not posted loads no HTTP client."""
    mods = _imported("parse", str(tmp_path), cwd=tmp_path)
    assert not {m for m in ("requests", "urllib3", "watchdog") if m in mods}


def test_a_small_parse_imports_only_what_it_reads(tmp_path: Path) -> None:
    """`parse` of a JUnit workspace without --post reads no package metadata and imports no
    logging, uuid, email, zipfile, tomllib, socket, subprocess, tempfile or timeline module
    (each was imported up front)."""
    ws = tmp_path / "ws" / "target" / "surefire-reports"
    ws.mkdir(parents=True)
    (ws / "TEST-a.xml").write_text("<testsuite name='a'><testcase name='t'/></testsuite>")
    mods = _imported("parse", str(tmp_path / "ws"), cwd=tmp_path) - _baseline(tmp_path)
    unused = {"importlib.metadata", "logging", "uuid", "email", "zipfile", "tomllib",
              "socket", "subprocess", "tempfile",
              "difflib", "html", "structlog", "sei_watch.show.timeline",
              "sei_watch.payload.testzip", "sei_watch_parsers.test_json"}  # fmt: skip
    assert not unused & mods
    assert "sei_watch_parsers.junit" in mods


def test_uuid5_without_uuid_is_uuid5() -> None:
    """The default instance GUID, computed without importing `uuid`, is uuid5 over DNS."""
    import uuid

    from sei_watch.schema import uuid5_dns

    for name in ("sei-watch.agent-1", "", "sei-watch.ünïcode", "x" * 300):
        assert uuid5_dns(name) == str(uuid.uuid5(uuid.NAMESPACE_DNS, name))


def test_step_imports_next_to_nothing(tmp_path: Path) -> None:
    """`sei-watch step`, which wraps every step of a build, skips argparse and the command
    table: no typing, logging, subprocess or contextlib, nothing heavy (bench/step.py times
    what it adds to the command)."""
    mods = _imported("step", "--workspace", str(tmp_path), "t", "--", "true", cwd=tmp_path)
    # What the interpreter had before our code ran (site, an editable install's finder).
    before = _baseline(tmp_path)
    light = {"argparse", "typing", "logging", "subprocess", "contextlib", "sei_watch.cli.entry"}
    assert not {m for m in (*HEAVY, *light) if m in mods - before}
    assert (tmp_path / ".sei-watch-steps.jsonl").is_file()


def test_a_job_that_posts_cleanly_never_imports_structlog(tmp_path: Path) -> None:
    """`parse --post` in a CI job, delivered at once: the job's log is errors only, so no
    structlog (and no asyncio) is imported for the events below that level (~100 ms)."""
    import os
    import shutil

    from .conftest_sei import API_KEY, GUID
    from .paths import ROOT
    from .sei_server import StandIn

    srv = StandIn(API_KEY, instances={GUID: "ci"}).start()
    try:
        ws = tmp_path / "ws"
        shutil.copytree(ROOT / "examples" / "maven-flaky", ws)
        env = {**os.environ, "CI": "true", "SEI_URL": srv.url, "SEI_API_KEY": API_KEY,
               "SEI_INSTANCE_GUID": GUID, "SEI_INSTANCE_NAME": "ci",
               "SEI_WATCH_STATE_DIR": str(tmp_path / "state")}  # fmt: skip
        env.pop("JOURNAL_STREAM", None)
        code = (
            "import json, sys\n"
            "from sei_watch.cli import main\n"
            f"status = main(['parse', {str(ws)!r}, '--post'])\n"
            "print(json.dumps([status, sorted(sys.modules)]))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
            check=True,
        ).stdout  # fmt: skip
        status, mods = json.loads(out.strip().splitlines()[-1])
        assert status in (0, 1)
        assert len(srv.accepted) == 1
        assert "structlog" not in mods
        assert "asyncio" not in mods
    finally:
        srv.stop()
