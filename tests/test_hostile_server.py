"""A bad server (issue #18, item 4): an error answer with a 2 GiB body is read only up to a
cap, and a server that drips its answer cannot hold a POST past its deadline, nor the outbox,
nor `parse --post --timeout`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sei_watch.deliver.client import SeiClient

from .conftest_sei import API_KEY, GUID
from .hostile_server import Hostile
from .paths import DATA

BODY = b'{"pipeline": "p"}'


def test_huge_error_body_is_read_up_to_a_cap() -> None:
    """A 500 with a 2 GiB body: the POST is a retry whose message is short, and the server got
    to send only a few MiB before the client hung up (the socket buffers, not the body)."""
    srv = Hostile("huge")
    try:
        client = SeiClient(srv.url, API_KEY, read_timeout=5)
        out = client.post_run(BODY)
        client.close()
        assert out.kind == "retry"
        assert out.status == 500
        assert len(out.message) <= 500
        assert srv.sent < 64 << 20, srv.sent
    finally:
        srv.stop()


def test_dripping_server_cannot_hold_a_post_past_its_deadline() -> None:
    """Headers one byte every 0.5 s, each byte within the read timeout: the request still ends
    at its overall deadline, as a retry saying so."""
    srv = Hostile("drip", pace=0.5)
    try:
        client = SeiClient(srv.url, API_KEY, read_timeout=2, deadline=3)
        out = client.post_run(BODY)
        client.close()
        assert out.kind == "retry"
        assert "deadline" in out.message
        assert srv.sent < len(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}")
    finally:
        srv.stop()


def test_parse_post_timeout_holds_against_a_dripping_server(tmp_path: Path) -> None:
    """`parse --post --timeout 4` against the drip server ends (exit 4, payload saved) instead
    of hanging: the subprocess limit here is only a guard against a hang."""
    srv = Hostile("drip", pace=0.5)
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[sei]\nurl = "{srv.url}"\ninstance_guid = "{GUID}"\n[state]\ndir = "{tmp_path / "s"}"\n'
    )
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "sei_watch", "parse", str(DATA / "ws-manifest"), "--post",
             "--timeout", "4", "--config", str(cfg),
             "--save-undelivered", str(tmp_path / "saved.json")],
            env={**os.environ, "SEI_API_KEY": API_KEY},
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert proc.returncode == 4, proc.stderr
        assert (tmp_path / "saved.json").is_file()
    finally:
        srv.stop()
