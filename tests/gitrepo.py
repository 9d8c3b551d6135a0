"""Real git repositories in temp dirs, built with the git CLI."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ENV = {
    "GIT_AUTHOR_NAME": "Dev",
    "GIT_AUTHOR_EMAIL": "dev@example.com",
    "GIT_COMMITTER_NAME": "Dev",
    "GIT_COMMITTER_EMAIL": "dev@example.com",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


class Repo:
    def __init__(self, path: Path, *, init: bool = True) -> None:
        self.path = path
        if init:
            path.mkdir(parents=True, exist_ok=True)
            self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")}, **ENV}
        return subprocess.run(
            ["git", "-C", str(self.path), *args],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout.strip()

    def commit(self, msg: str) -> str:
        (self.path / "file.txt").write_text(msg + "\n")
        self.git("add", "file.txt")
        self.git("commit", "-q", "-m", msg)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")


def clone(src: Repo, dest: Path, *args: str) -> Repo:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")}, **ENV}
    subprocess.run(
        ["git", "clone", "-q", *args, f"file://{src.path}", str(dest)],
        check=True,
        env=env,
        capture_output=True,
    )
    return Repo(dest, init=False)
