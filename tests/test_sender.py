"""The sender against the stand-in: every answer leads to the right outbox state."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import structlog

from sei_watch.deliver.client import SeiClient
from sei_watch.deliver.outbox import Outbox
from sei_watch.deliver.sender import Backoff, Sender

from .conftest import DATA
from .conftest_sei import API_KEY, GUID
from .sei_server import StandIn


def payload(job: str = "app", number: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "pipeline": job,
        "job_full_name": job,
        "qualified_name": job,
        "instance_name": "a",
        "instance_guid": GUID,
        "result": "SUCCESS",
        "start_time": 1_750_000_000_000,
        "duration": 1,
        "build_number": number,
        **extra,
    }


def sender(tmp_path: Path, sei: StandIn, key: str = API_KEY, **backoff: Any) -> Sender:
    return Sender(
        outbox=Outbox(tmp_path / "o.db"),
        client=SeiClient(sei.url, key, read_timeout=0.5),
        backoff=Backoff(base=0.01, cap=0.05, **backoff),
        rng=random.Random(1),
    )


def drain(s: Sender, seconds: float = 5.0) -> None:
    stop = threading.Event()
    threading.Timer(seconds, stop.set).start()
    s.run(stop, idle=0.01, until_empty=True)
    stop.set()


def test_faults_are_retried_until_delivered(tmp_path: Path, sei: StandIn) -> None:
    """503, 429, a reset and a slow answer are retried; each payload arrives once."""
    sei.slow_seconds = 0.8
    sei.script.extend(["503", "429", "reset", "slow", "500"])
    s = sender(tmp_path, sei)
    for n in range(5):
        s.outbox.enqueue(payload(f"job{n}"))
    drain(s)
    assert s.outbox.stats()["delivered"] == 5
    assert len(sei.keys) == 5
    assert sei.duplicates == 0


def test_400_goes_dead_with_the_message(tmp_path: Path, sei: StandIn) -> None:
    """A payload SEI refuses for good is kept as dead with SEI's reason."""
    s = sender(tmp_path, sei)
    s.outbox.enqueue(payload(result=""))
    drain(s)
    row = s.outbox.find("app#1")
    assert (row.state, row.last_error) == ("dead", "result field is missing in request")


def test_401_holds_and_drops_nothing(tmp_path: Path, sei: StandIn) -> None:
    """A refused key pauses the queue and keeps every row pending, with no attempt counted."""
    s = sender(tmp_path, sei, key="wrong-key")
    for n in range(3):
        s.outbox.enqueue(payload(f"j{n}"))
    s.step()
    stats = s.outbox.stats()
    assert stats["pending"] == 3
    assert s.paused_until > 0
    assert all(r.attempts == 0 for r in s.outbox.rows())
    assert sei.requests == 1  # the other rows were not tried against a refusing server


def test_retry_after_pauses_the_queue(tmp_path: Path, sei: StandIn) -> None:
    """429 with Retry-After pauses every delivery for at least that long (capped)."""
    s = Sender(
        outbox=Outbox(tmp_path / "o.db"),
        client=SeiClient(sei.url, API_KEY),
        backoff=Backoff(base=0.01, cap=30),
    )
    s.outbox.enqueue(payload("a"))
    s.outbox.enqueue(payload("b"))
    sei.script.append("429")
    s.step()
    assert s.paused_until - s.clock() > 0.9
    assert s.step() == 0  # paused: nothing attempted
    assert sei.requests == 1


def test_max_age_gives_up_loudly(tmp_path: Path, sei: StandIn) -> None:
    """A row failing for longer than max_age is dead, with the last error."""
    s = sender(tmp_path, sei, max_age=0.0)
    s.outbox.enqueue(payload())
    sei.script.append("503")
    s.step()
    row = s.outbox.find("app#1")
    assert row.state == "dead"
    assert "gave up after" in (row.last_error or "")


def test_api_key_never_reaches_logs_outbox_or_sei_bodies(
    tmp_path: Path, sei: StandIn, sei_config: Path
) -> None:
    """The API key is in the Authorization header only: not in logs, outbox, or any body."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sei_watch",
            "parse",
            str(DATA / "ws-manifest"),
            "--post",
            "--config",
            str(sei_config),
        ],
        capture_output=True,
        text=True,
        env={"SEI_API_KEY": API_KEY, "PATH": "/usr/bin"},
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert len(sei.accepted) == 1
    out_db = b"".join(p.read_bytes() for p in (tmp_path / "state").iterdir())
    for where in (
        proc.stdout,
        proc.stderr,
        out_db.decode("latin-1"),
        b"".join(sei.raw_log).decode(),
    ):
        assert API_KEY not in where
    logs = io.StringIO()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(logs))
    s = sender(tmp_path / "b", sei)
    s.outbox.enqueue(payload())
    sei.script.append("401")
    s.step()
    assert "sei.refused" in logs.getvalue()
    assert API_KEY not in logs.getvalue()
    structlog.reset_defaults()


def test_parse_post_cli_delivers_and_outbox_cli_reports(
    run_cli, sei: StandIn, sei_config: Path
) -> None:
    """`parse --post` delivers; `outbox list/stats/show/retry/drop` see and change the row."""
    res = run_cli(
        "parse",
        str(DATA / "ws-manifest"),
        "--post",
        "--config",
        str(sei_config),
        "--set",
        "build_number=77",
    )
    assert res.status == 1  # the workspace has one incomplete artifact: a problem, still posted
    assert "ws-manifest#77 delivered to SEI" in res.err
    assert sei.accepted[0]["instance_guid"] == GUID
    listed = run_cli("outbox", "list", "--config", str(sei_config))
    assert "delivered" in listed.out
    assert "ws-manifest#77" in listed.out
    stats = json.loads(run_cli("outbox", "stats", "--config", str(sei_config)).out)
    assert stats["delivered"] == 1
    shown = json.loads(run_cli("outbox", "show", "ws-manifest#77", "--config", str(sei_config)).out)
    assert shown["payload"]["build_number"] == 77
    assert run_cli("outbox", "retry", "ws-manifest#77", "--config", str(sei_config)).status == 0
    flushed = run_cli("outbox", "flush", "--config", str(sei_config))
    assert flushed.status == 0
    assert "delivered 1; pending 0" in flushed.out
    assert len(sei.accepted) == 2
    assert run_cli("outbox", "drop", "ws-manifest#77", "--config", str(sei_config)).status == 0
    assert run_cli("outbox", "show", "ws-manifest#77", "--config", str(sei_config)).status == 2


def test_parse_post_when_sei_is_down_keeps_the_payload(run_cli, tmp_path: Path) -> None:
    """With SEI unreachable, --post exits NOT_DELIVERED, the payload waits in the outbox and
    is saved in the file named by --save-undelivered."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[sei]\nurl = "http://127.0.0.1:9"\ninstance_guid = "{GUID}"\n'
        f'connect_timeout = 0.2\n[state]\ndir = "{tmp_path / "s"}"\n'
    )
    saved = tmp_path / "undelivered.json"
    res = run_cli(
        "parse", str(DATA / "ws-manifest"), "--post", "--timeout", "0.5", "--config", str(cfg),
        "--save-undelivered", str(saved),
    )  # fmt: skip
    assert res.status == 4
    assert "is not delivered yet" in res.err
    assert Outbox(tmp_path / "s" / "outbox.db").stats()["pending"] == 1
    assert saved.is_file()


def test_register_writes_config(run_cli, sei: StandIn, sei_config: Path) -> None:
    """`register --write-config` prints the GUID and stores it as [sei] instance_guid."""
    res = run_cli(
        "register",
        "--integration-id",
        "4711",
        "--name",
        "agents",
        "--write-config",
        "--config",
        str(sei_config),
    )
    assert res.status == 0, res.err
    guid = res.out.strip()
    assert guid in sei.instances
    assert f'instance_guid = "{guid}"' in sei_config.read_text()
    assert sei_config.read_text().count("instance_guid") == 1


def test_stopping_hands_back_claimed_rows(tmp_path: Path, sei: StandIn) -> None:
    """On shutdown, rows claimed but not yet posted go back to pending with no attempt."""
    s = sender(tmp_path, sei)
    for n in range(3):
        s.outbox.enqueue(payload(f"j{n}"))
    s.stop = threading.Event()
    s.stop.set()
    assert s.step() == 3
    assert sei.requests == 0
    assert [(r.state, r.attempts) for r in s.outbox.rows()] == [("pending", 0)] * 3


def test_register_write_config_keeps_comments_order_and_mode(
    run_cli, sei: StandIn, tmp_path: Path
) -> None:
    """A config with comments, a commented [sei] header and odd spacing: one [sei] table
    after `register --write-config`, every comment and key in place, the file's mode kept."""
    cfg = tmp_path / "odd.toml"
    cfg.write_text(
        "# agents in rack 7\n"
        f'[sei]   # where builds go\nurl    =   "{sei.url}"   # the stand-in\n'
        'instance_guid="old"\n\n'
        f'[state]\ndir = "{tmp_path / "state"}"  # kept\n'
    )
    cfg.chmod(0o640)
    res = run_cli(
        "register", "--integration-id", "4711", "--name", "rack7", "--write-config",
        "--config", str(cfg),
    )  # fmt: skip
    assert res.status == 0, res.err
    text = cfg.read_text()
    import tomllib

    doc = tomllib.loads(text)  # still valid TOML: one [sei]
    assert doc["sei"]["instance_guid"] == res.out.strip()
    assert doc["sei"]["instance_name"] == "rack7"
    assert doc["sei"]["url"] == sei.url
    for comment in ("# agents in rack 7", "# where builds go", "# the stand-in", "# kept"):
        assert comment in text
    assert text.index("[sei]") < text.index("[state]")
    assert oct(cfg.stat().st_mode & 0o777) == "0o640"
