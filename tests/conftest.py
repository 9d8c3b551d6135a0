"""Shared fixtures: the read-only corpus, a CLI runner with captured I/O, clean logging."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import structlog

from sei_watch.cli import main
from sei_watch.cli.io import Io

from .conftest_sei import API_KEY
from .paths import DATA, ROOT, corpus_dir

__all__ = ["DATA", "FIXED_NOW_MS", "ROOT", "CliResult"]

FIXED_NOW_MS = 1_750_000_000_000


@dataclass
class CliResult:
    status: int
    out: str
    err: str


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared corpus of third-party reports (read-only, never copied into the repo)."""
    path = corpus_dir()
    if not path.is_dir():
        pytest.skip(f"corpus not found at {path}; set SEI_WATCH_CORPUS")
    return path


@pytest.fixture
def run_cli() -> Iterator[object]:
    """Run `sei-watch` in-process with captured stdout/stderr, a fixed clock and host name."""

    def run(*argv: str, environ: dict[str, str] | None = None) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        env = {"SEI_API_KEY": API_KEY} if environ is None else environ
        status = main(
            list(argv),
            Io(
                stdout=out,
                stderr=err,
                hostname=lambda: "agent-7",
                now_ms=lambda: FIXED_NOW_MS,
                environ=env,
            ),
        )
        return CliResult(int(status), out.getvalue(), err.getvalue())

    yield run
    structlog.reset_defaults()


from .conftest_sei import sei, sei_config  # noqa: E402, F401  (fixtures shared by delivery tests)
