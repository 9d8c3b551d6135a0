"""What a CI user sees of the report step: on GitHub a soft failure is a `::warning::`
annotation and every run adds a few lines to the job's step summary; elsewhere one warning line
on stderr. Kept out of the way of the job's own output: one line per outcome."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from sei_watch.show import visible

from .io import Io

__all__ = ["gitlab_section", "in_ci", "soft_warning", "step_summary"]

# Set by the CI services themselves (CI=true by most; the others for the ones that do not).
_CI_VARS = (
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "BUILDKITE",
    "JENKINS_URL",
    "TF_BUILD",
    "TEAMCITY_VERSION",
    "BITBUCKET_BUILD_NUMBER",
    "CIRCLECI",
    "DRONE",
)


def in_ci(environ: Mapping[str, str]) -> bool:
    """Whether this runs as a step of a CI job, where a person reads the log afterwards and the
    machine may not outlive the job. Under systemd (the journal is our stderr) it is a service,
    whatever CI variable its environment inherited."""
    if environ.get("JOURNAL_STREAM"):
        return False
    if environ.get("CI", "").strip().lower() in ("1", "true", "yes", "woodpecker"):
        return True
    return any(environ.get(var) for var in _CI_VARS)


@contextlib.contextmanager
def gitlab_section(io: Io, title: str) -> Iterator[None]:
    """On GitLab, what is written inside goes in a collapsed section of the job log (GitLab's
    documented `section_start`/`section_end` markers); elsewhere nothing changes."""
    if io.environ.get("GITLAB_CI", "").lower() != "true":
        yield
        return
    name = "sei_watch"
    io.stdout.write(
        f"\x1b[0Ksection_start:{int(time.time())}:{name}[collapsed=true]\r\x1b[0K{title}\n"
    )
    try:
        yield
    finally:
        io.stdout.write(f"\x1b[0Ksection_end:{int(time.time())}:{name}\r\x1b[0K\n")


def _github(environ: Mapping[str, str]) -> bool:
    return environ.get("GITHUB_ACTIONS", "").lower() == "true"


def _escape(text: str) -> str:
    """A workflow command's data: %, CR and LF escaped as GitHub documents."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def soft_warning(io: Io, message: str) -> None:
    """The one line a soft failure leaves: an annotation on GitHub, a warning elsewhere."""
    text = visible(message)
    if _github(io.environ):
        io.stdout.write(f"::warning title=sei-watch::{_escape(text)}\n")
    else:
        io.stderr.write(f"sei-watch: warning: {text}\n")


def step_summary(io: Io, lines: list[str]) -> None:
    """A few Markdown lines in `$GITHUB_STEP_SUMMARY`, where GitHub shows them on the run's
    page; nothing outside GitHub or where the file cannot be written."""
    where = io.environ.get("GITHUB_STEP_SUMMARY", "")
    if not where or not _github(io.environ):
        return
    text = "### sei-watch\n" + "".join(f"- {visible(line)}\n" for line in lines) + "\n"
    try:
        with Path(where).open("a", encoding="utf-8") as fh:
            fh.write(text)
    except OSError:
        pass  # the summary is a courtesy; the job's own result matters more
