"""What a CI user sees of the report step: on GitHub a soft failure is a `::warning::`
annotation and every run adds a few lines to the job's step summary; elsewhere one warning line
on stderr. Kept out of the way of the job's own output: one line per outcome."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sei_watch.show import visible

from .io import Io

__all__ = ["soft_warning", "step_summary"]


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
