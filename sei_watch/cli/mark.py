"""`sei-watch mark`: run inside a CI job (usually its last step) to record what only the job knows.

It writes the marker file into the build output directory: the CI facts of this environment,
git's HEAD, branch and remote, the result, the start and end, and parameters. The marker is
also the daemon's default signal that the build is complete.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sei_watch.context import Git, GitError, detect, find_top, write_marker
from sei_watch.errors import ConfigError
from sei_watch.schema import RESULTS, normalise_result
from sei_watch.status import ExitStatus

from .args import parse_assignment

if TYPE_CHECKING:
    from .io import Io

__all__ = ["cmd_mark"]


def cmd_mark(args: argparse.Namespace, io: Io) -> ExitStatus:
    """Write `.sei-watch.json` atomically into --dir."""
    ci = detect(io.environ)
    facts, sources, notes = dict(ci.values), dict(ci.sources), list(ci.notes)
    result = None
    if args.result:
        result = normalise_result(args.result)
        if result is None:
            raise ConfigError(f"--result {args.result!r}: not one of {', '.join(RESULTS)}")
    repo = args.repo or Path(os.getcwd())
    try:
        top = find_top(repo)
        if top is None:
            raise GitError(f"{repo} is not in a git repository")
        git = Git(top)
        facts.setdefault("commit", git.head())
        sources.setdefault("commit", "git rev-parse HEAD")
        if "branch" not in facts and (branch := git.branch()):
            facts["branch"], sources["branch"] = branch, "git symbolic-ref"
        if "repo_url" not in facts and (url := git.remote_url()):
            facts["repo_url"], sources["repo_url"] = url, "git remote origin"
        repo_path: str | None = str(top)
    except GitError as exc:
        notes.append(f"no git facts: {exc}")
        repo_path = None
    params = dict(parse_assignment(p) for p in args.param)
    now = io.now_ms()
    doc: dict[str, Any] = {
        "written_at": now,
        "vendor": ci.vendor,
        "facts": facts,
        "sources": sources,
        "result": result,
        "end_time": now,
        "params": params,
        "cd": bool(args.cd),
        "repo": repo_path,
        "notes": notes,
    }
    if args.start is not None:
        doc["start_time"] = args.start
    commits = io.environ.get("SEI_SCM_COMMIT_IDS", "")
    if commits.strip():
        doc["commits"] = commits.replace(";", " ").replace(",", " ").split()
    path = write_marker(args.dir, doc)
    io.stderr.write(
        f"sei-watch: marked {path} ({ci.vendor or 'no CI detected'}"
        f"{', result ' + result if result else ''})\n"
    )
    return ExitStatus.OK
