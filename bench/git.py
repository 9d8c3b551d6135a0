"""Git context on a 10k-commit repository: total time, time inside git, and our overhead.

    python bench/git.py

The repository is built with `git fast-import`. Overhead = gather() wall time minus the wall
time of the git subprocesses it ran (measured around each call).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sei_watch.context.gitinfo import Git, gather

COMMITS = 10_000


def make_repo(path: Path) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    lines = []
    for n in range(COMMITS):
        msg = f"commit {n}"
        data = f"line {n}\n"
        lines.append(
            f"commit refs/heads/main\nmark :{n + 1}\n"
            f"committer Dev <dev@example.com> {1_700_000_000 + n} +0000\n"
            f"data {len(msg)}\n{msg}\n"
        )
        if n:
            lines.append(f"from :{n}\n")
        lines.append(f"M 644 inline file.txt\ndata {len(data)}\n{data}\n")
    subprocess.run(
        ["git", "-C", str(path), "fast-import", "--quiet"],
        input="".join(lines),
        text=True,
        check=True,
    )
    subprocess.run(["git", "-C", str(path), "checkout", "-q", "main"], check=True)


class TimedGit(Git):
    spent = 0.0
    calls = 0

    def run(self, *args: str, check: bool = True) -> Any:
        t = time.perf_counter()
        try:
            return super().run(*args, check=check)
        finally:
            TimedGit.spent += time.perf_counter() - t
            TimedGit.calls += 1


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        make_repo(repo)
        shas = subprocess.run(
            ["git", "-C", str(repo), "rev-list", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.split()
        rows = []
        for label, previous in (
            ("100 new commits", shas[100]),
            ("9,999 new (capped)", shas[-1]),
            ("no previous build", None),
        ):
            totals, overheads = [], []
            for _ in range(5):
                TimedGit.spent, TimedGit.calls = 0.0, 0
                t = time.perf_counter()
                facts = gather(TimedGit(repo), previous=previous)
                total = time.perf_counter() - t
                totals.append(total * 1000)
                overheads.append((total - TimedGit.spent) * 1000)
            rows.append(
                f"| {label} | {len(facts.commits)} | {TimedGit.calls} | "
                f"{statistics.median(totals):.1f} ms | "
                f"{statistics.median(overheads):.2f} ms |"
            )
    print(f"{COMMITS:,}-commit repository built with git fast-import")
    print("| case | commits reported | git calls | total (median of 5) | beyond the git calls |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
