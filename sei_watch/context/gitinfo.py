"""Git facts through the `git` command: HEAD, the commits new in a build, branch, remote URL.

Every call is bounded by a timeout (the whole process group is killed at the bound) and reads
the repository through a shadow git directory (`gitdir.py`), so nothing in the repository's own
configuration can make git run a program, and a checkout owned by another user needs no
`safe.directory`. No call is made per commit.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    import subprocess

from .gitdir import GitError, Shadow, find_top, resolve_gitdir

__all__ = [
    "Git",
    "GitError",
    "GitFacts",
    "clean_url",
    "find_top",
    "gather",
    "is_remote_url",
    "is_sha",
    "normalise_branch",
]

ZERO_SHA = "0" * 40
_SHA = re.compile(r"[0-9a-f]{40}\Z")
_CRED_IN_TEXT = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.I)


def is_sha(value: str | None) -> bool:
    return bool(value) and bool(_SHA.match(value or ""))


def clean_url(url: str) -> str:
    """A remote URL without credentials: no user:token@, no query string or fragment.

    scp-style `git@host:org/repo.git` keeps its `git` user, which is not a secret.
    """
    url = url.strip()
    if "://" not in url:
        return url if re.match(r"^git@[^:/\s]+:", url) else _CRED_IN_TEXT.sub(r"\g<scheme>", url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = parts.username if parts.scheme == "ssh" and parts.username == "git" else None
    netloc = f"{user}@{host}" if user else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


_SCP = re.compile(r"^(?:[\w.-]+@)?[\w.-]+\.[\w.-]+:(?!//)[^\s]+$|^[\w.-]+@[\w.-]+:[^\s]+$")


def is_remote_url(url: str) -> bool:
    """Whether `url` names a repository on a server (https, ssh, git, scp-style), not a path
    on this machine (a plain path, `file://`), which SEI could never link to anything."""
    url = url.strip()
    if "://" in url:
        return urlsplit(url).scheme in ("http", "https", "ssh", "git", "git+ssh") and bool(
            urlsplit(url).hostname
        )
    return bool(_SCP.match(url))


def normalise_branch(ref: str | None) -> str | None:
    """`refs/heads/main`, `origin/main`, `refs/remotes/origin/main` -> `main`; tags -> None."""
    if not ref:
        return None
    ref = ref.strip()
    if ref.startswith("refs/tags/") or ref in ("HEAD", "origin/HEAD"):
        return None
    for prefix in ("refs/heads/", "refs/remotes/origin/", "remotes/origin/", "origin/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :] or None
    return ref


_SUBMODULES_MAX = 200
_SUBMODULE_DEPTH = 3


class Git:
    """One repository, read through the git CLI without its configuration.

    `confine` is the directory the repository, its git directory and everything they lead to
    must be inside (the build directory); by default the repository itself.
    """

    def __init__(
        self,
        repo: Path,
        *,
        confine: Path | None = None,
        git: str = "git",
        timeout: float = 10.0,
    ) -> None:
        self.repo = Path(os.path.realpath(repo))
        self.confine = Path(os.path.realpath(confine)) if confine is not None else self.repo
        self.git = git
        self.timeout = timeout
        self._shadow: Shadow | None = None
        self._config: dict[str, str] | None = None
        self._dirs: tuple[Path, Path] | None = None

    def _gitdirs(self) -> tuple[Path, Path]:
        """(git dir, common dir), resolved and confined once per repository."""
        if self._dirs is None:
            self._dirs = resolve_gitdir(self.repo, self.confine)
        return self._dirs

    def _setup(self) -> Path:
        if self._shadow is None:
            if shutil.which(self.git) is None:
                raise GitError(f"git is not installed (looked for {self.git!r})")
            self._shadow = Shadow(*self._gitdirs(), self.confine)
        return self._shadow.path(self.config())

    def close(self) -> None:
        if self._shadow is not None:
            self._shadow.close()

    def _exec(self, args: list[str], cwd: Path, env_extra: dict[str, str]) -> tuple[int, str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(
            {
                "GIT_TERMINAL_PROMPT": "0",
                "LC_ALL": "C",
                "GIT_OPTIONAL_LOCKS": "0",
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_CONFIG_GLOBAL": os.devnull,
                "GIT_ATTR_NOSYSTEM": "1",
                "GIT_NO_REPLACE_OBJECTS": "1",
                "GIT_ALLOW_PROTOCOL": "",
                "GIT_CEILING_DIRECTORIES": str(cwd.parent if cwd != cwd.parent else cwd),
                **env_extra,
            }
        )
        import subprocess  # noqa: PLC0415  (only where there is a repository to ask)

        try:
            proc = subprocess.Popen(
                [self.git, *args],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise GitError(f"git is not installed (looked for {self.git!r})") from exc
        try:
            out, err = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired as exc:
            # The group, not the child alone: a git that spawned another must not outlive us.
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise GitError(f"git {args[0]} timed out after {self.timeout}s in {self.repo}") from exc
        return proc.returncode, out, err

    def config(self) -> dict[str, str]:
        """The repository's own config, read as data: `--file` follows no include."""
        if self._config is None:
            self._config = self.config_file(self._gitdirs()[1] / "config")
        return self._config

    def config_file(self, path: Path) -> dict[str, str]:
        """A git-config-format file as data (the last value of each key); {} if absent."""
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode):
                return {}
        except OSError:
            return {}
        # From `/`, not the checkout: git would otherwise discover the repository around it.
        rc, out, _ = self._exec(["config", "--file", str(path), "--null", "--list"], Path("/"), {})
        values: dict[str, str] = {}
        for entry in out.split("\0") if rc == 0 else ():
            key, _, value = entry.partition("\n")
            if key:
                values[key] = value
        return values

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        shadow = self._setup()
        rc, out, err = self._exec(list(args), shadow, {"GIT_DIR": str(shadow)})
        if check and rc != 0:
            why = " ".join(err.split())[:300] or f"exit {rc}"
            raise GitError(f"git {' '.join(args[:2])} failed in {self.repo}: {why}")
        import subprocess  # noqa: PLC0415

        return subprocess.CompletedProcess([self.git, *args], rc, out, err)

    def head(self) -> str:
        sha = self.run("rev-parse", "--verify", "HEAD^{commit}").stdout.strip()
        if not is_sha(sha):
            raise GitError(f"HEAD of {self.repo} is not a commit: {sha!r}")
        return sha

    def parents(self, sha: str) -> list[str]:
        return self.run("rev-list", "--parents", "-n", "1", sha).stdout.split()[1:]

    def is_shallow(self) -> bool:
        return self.run("rev-parse", "--is-shallow-repository").stdout.strip() == "true"

    def has_commit(self, sha: str) -> bool:
        return self.run("cat-file", "-e", f"{sha}^{{commit}}", check=False).returncode == 0

    def is_ancestor(self, old: str, new: str) -> bool:
        proc = self.run("merge-base", "--is-ancestor", old, new, check=False)
        if proc.returncode not in (0, 1):
            raise GitError(f"git merge-base failed: {' '.join(proc.stderr.split())[:200]}")
        return proc.returncode == 0

    def rev_list(self, old: str, new: str, limit: int) -> list[str]:
        out = self.run("rev-list", f"--max-count={limit + 1}", f"{old}..{new}").stdout
        return out.split()

    def branch(self) -> str | None:
        proc = self.run("symbolic-ref", "-q", "--short", "HEAD", check=False)
        return proc.stdout.strip() or None

    def remote_branches_containing(self, sha: str) -> list[str]:
        out = self.run(
            "branch", "-r", "--contains", sha, "--format=%(refname:short)", check=False
        ).stdout
        return [b for b in (normalise_branch(x) for x in out.split()) if b]

    def submodules(self, depth: int = 0) -> list[tuple[str, str]]:
        """(path, checked-out SHA) of every initialised submodule, recursively; read from
        `.gitmodules` as data and each submodule's own HEAD, never `git submodule`."""
        subs: list[tuple[str, str]] = []
        listed = self.config_file(self.repo / ".gitmodules")
        paths = [v for k, v in listed.items() if k.startswith("submodule.") and k.endswith(".path")]
        for rel in paths[:_SUBMODULES_MAX]:
            where = Path(os.path.normpath(self.repo / rel))
            if not where.is_relative_to(self.repo) or where == self.repo:
                continue
            if not os.path.lexists(where / ".git"):
                continue  # not initialised
            sub = Git(where, confine=self.confine, git=self.git, timeout=self.timeout)
            try:
                subs.append((rel, sub.head()))
                if depth + 1 < _SUBMODULE_DEPTH:
                    subs.extend((f"{rel}/{p}", sha) for p, sha in sub.submodules(depth + 1))
            finally:
                sub.close()
        return subs

    def remote_url(self, remote: str = "origin") -> str | None:
        url = self.config().get(f"remote.{remote}.url", "").strip()
        return clean_url(url) if url and is_remote_url(url) else None


@dataclass(slots=True)
class GitFacts:
    """What git says about one build, each value with where it came from."""

    head: str | None = None
    commits: list[str] = field(default_factory=list)
    commits_source: str = ""
    truncated: bool = False
    branch: str | None = None
    branch_source: str = ""
    repo_url: str | None = None
    notes: list[str] = field(default_factory=list)


def _range_from(git: Git, facts: GitFacts, old: str, head: str, *, source: str, limit: int) -> bool:
    if old == ZERO_SHA or not is_sha(old):
        facts.notes.append(f"{source}: {old!r} is no usable commit; next source")
        return False
    if not git.has_commit(old):
        why = "a shallow clone lacks it" if git.is_shallow() else "the repository lacks it"
        facts.notes.append(f"{source}: {old[:12]} unknown ({why}); next source")
        return False
    if not git.is_ancestor(old, head):
        facts.notes.append(
            f"{source}: {old[:12]} is not an ancestor of HEAD (force push?); next source"
        )
        return False
    commits = git.rev_list(old, head, limit)
    facts.truncated = len(commits) > limit
    facts.commits = commits[:limit]
    facts.commits_source = source
    return True


def gather(
    git: Git,
    *,
    explicit: list[str] | None = None,
    previous: str | None = None,
    ranges: list[tuple[str, str]] | None = None,
    pr_merge: bool = False,
    branch: tuple[str, str] | None = None,
    limit: int = 100,
) -> GitFacts:
    """HEAD, the commits new since `previous` (or the next source), branch and remote URL.

    `ranges` are (before-SHA, source) pairs from CI variables; `branch` is (name, source)
    from CI; `pr_merge` says HEAD is a pull-request merge commit whose second parent is the head.
    """
    facts = GitFacts()
    head = git.head()
    if pr_merge:
        parents = git.parents(head)
        if len(parents) == 2:
            facts.notes.append(
                f"HEAD {head[:12]} is a PR merge commit; reporting its PR head "
                f"{parents[1][:12]} (HEAD^2)"
            )
            head = parents[1]
    facts.head = head
    if explicit:
        shas = [s.lower() for s in explicit]
        bad = [s for s in shas if not is_sha(s)]
        if bad:
            facts.notes.append(f"explicit commit list: {len(bad)} not full SHAs, left out")
        facts.commits = [s for s in shas if is_sha(s)][:limit]
        facts.truncated = len(shas) - len(bad) > limit
        facts.commits_source = "explicit"
    if not facts.commits:
        # The CI's own hints first: a runner that lives for one job has no previous build,
        # and a shared host's record may be another branch's.
        hints = [*(ranges or ())]
        if previous is not None:
            hints.append((previous, "previous reported build"))
        done = False
        for before, source in hints:
            done = _range_from(git, facts, before, head, source=source, limit=limit)
            if done:
                break
        if not done:
            facts.commits, facts.commits_source = [head], "HEAD alone"
    if branch and normalise_branch(branch[0]):
        facts.branch, facts.branch_source = normalise_branch(branch[0]), branch[1]
    elif (local := git.branch()) is not None:
        facts.branch, facts.branch_source = local, "git symbolic-ref"
    else:
        remote = git.remote_branches_containing(head)
        if remote:
            facts.branch = (
                "main" if "main" in remote else ("master" if "master" in remote else remote[0])
            )
            facts.branch_source = "git branch -r --contains (detached HEAD)"
    facts.repo_url = git.remote_url()
    return facts
