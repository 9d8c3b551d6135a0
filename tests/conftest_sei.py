"""Fixtures for delivery tests: a stand-in SEI on loopback and a config that points at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .sei_server import StandIn

API_KEY = "sk-test-9f8e7d6c5b4a"
GUID = "89d2491c-764a-4f77-93d9-18e8e372b795"


@pytest.fixture
def sei() -> Iterator[StandIn]:
    """A real HTTP server on 127.0.0.1 that behaves like SEI's custom-cicd endpoint."""
    srv = StandIn(API_KEY, instances={GUID: "agent-7"}).start()
    yield srv
    srv.stop()


@pytest.fixture
def sei_config(tmp_path: Path, sei: StandIn) -> Path:
    """A config file posting to the stand-in, with its state dir under tmp_path."""
    cfg = tmp_path / "sei-watch.toml"
    cfg.write_text(
        f'[sei]\nurl = "{sei.url}"\ninstance_guid = "{GUID}"\ninstance_name = "agent-7"\n'
        f"read_timeout = 1.0\nbackoff_cap = 0.5\n"
        f'[state]\ndir = "{tmp_path / "state"}"\n'
    )
    return cfg


# A GitHub Actions job's variables, as the in-job tests play it (each adds what it needs).
GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_REPOSITORY": "acme/shop",
    "GITHUB_WORKFLOW": "ci",
    "GITHUB_JOB": "test",
    "GITHUB_RUN_NUMBER": "417",
    "GITHUB_RUN_ID": "9000417",
    "GITHUB_SERVER_URL": "https://github.com",
}
