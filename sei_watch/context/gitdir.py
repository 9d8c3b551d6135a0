"""A build's git repository, read without its configuration.

A checkout's `.git/config` is written by whoever controls the build: `core.fsmonitor`,
`core.hooksPath`, `diff.external`, `filter.*`, `gpg.program`, `include.path` and a dozen more
make git run a program. Overriding them one by one with `-c` leaves every key git adds next
year open, so sei-watch never lets git read that file at all: each repository is read through
a private *shadow* git directory, owned by this process, whose `config` is ours and whose
`HEAD`, `objects`, `refs`, `packed-refs` and `shallow` point at the repository's. The
repository's own config is read as data only (`git config --file`, which follows no
`include.path`), for its `extensions.*` and its remote URL.

A `.git` file (`gitdir: …`) or a `commondir` that leads outside the directory the repository
may live in (`confine`) is not followed: a build cannot make sei-watch report another team's
repository.
"""

from __future__ import annotations

import os
import shutil
import stat
import weakref
from pathlib import Path

from sei_watch.errors import SeiWatchError

__all__ = ["GitError", "Shadow", "find_top", "resolve_gitdir"]

# Ours, not the repository's: nothing in it runs a program, and the keys git would read from
# a config to run one are pinned off in case a future git reads them from elsewhere.
SHADOW_CONFIG = """\
[core]
\trepositoryformatversion = {version}
\tbare = true
\tfsmonitor = false
\thooksPath = /dev/null
\tpager = cat
\taskPass =
\tsshCommand = false
[protocol]
\tallow = never
[log]
\tshowSignature = false
[credential]
\thelper =
[submodule]
\trecurse = false
[extensions]
{extensions}"""

_LINKED = ("objects", "refs", "packed-refs", "shallow", "reftable")
_HEAD_MAX = 4096


class GitError(SeiWatchError):
    """git is missing, refused the repository, timed out, or answered something unexpected."""


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def find_top(directory: Path) -> Path | None:
    """The nearest directory at or above `directory` that holds a `.git` (dir or file)."""
    here = Path(os.path.realpath(directory))
    for place in (here, *here.parents):
        if os.path.lexists(place / ".git"):
            return place
    return None


def _read_small(path: Path, what: str) -> str:
    """A small regular file's text; a FIFO, device or link out is refused, never waited on."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError as exc:
        raise GitError(f"{what} {path}: {exc.strerror}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise GitError(f"{what} {path} is not a regular file")
        return os.read(fd, _HEAD_MAX).decode("utf-8", "replace")
    finally:
        os.close(fd)


def resolve_gitdir(top: Path, confine: Path) -> tuple[Path, Path]:
    """(git dir, common dir) of the checkout at `top`, each inside `confine`."""
    top = Path(os.path.realpath(top))
    confine = Path(os.path.realpath(confine))
    if not _inside(top, confine):
        raise GitError(f"repository {top} is outside {confine}: not read")
    dotgit = top / ".git"
    if not os.path.lexists(dotgit):
        raise GitError(f"{top} is not a git repository (no .git)")
    if dotgit.is_symlink():
        target = Path(os.path.realpath(dotgit))
        if not _inside(target, confine):
            raise GitError(f"{dotgit} links outside {confine}: not followed")
        dotgit = target
    if dotgit.is_file():
        text = _read_small(dotgit, "git file").strip()
        if not text.startswith("gitdir:"):
            raise GitError(f"{dotgit} is neither a git directory nor a 'gitdir:' file")
        gitdir = Path(os.path.realpath(top / text.removeprefix("gitdir:").strip()))
    else:
        gitdir = Path(os.path.realpath(dotgit))
    if not _inside(gitdir, confine):
        raise GitError(f"{top / '.git'} points to {gitdir}, outside {confine}: not followed")
    common = gitdir
    if (gitdir / "commondir").exists():
        rel = _read_small(gitdir / "commondir", "commondir").strip()
        common = Path(os.path.realpath(gitdir / rel))
        if not _inside(common, confine):
            raise GitError(f"{gitdir}/commondir points outside {confine}: not followed")
    if not (common / "objects").is_dir():
        raise GitError(f"{gitdir} is not a git directory (no objects/)")
    return gitdir, common


class Shadow:
    """A private git directory that reads one repository's refs and objects, not its config.

    Made on first use, removed when the object is collected or `close()`d.
    """

    def __init__(self, gitdir: Path, common: Path, confine: Path) -> None:
        self.gitdir, self.common, self.confine = gitdir, common, confine
        self._path: Path | None = None
        self._finalizer: weakref.finalize[..., Shadow] | None = None

    def path(self, repo_config: dict[str, str]) -> Path:
        if self._path is not None:
            return self._path
        import tempfile  # noqa: PLC0415  (only for a repository that needs a shadow)

        made = Path(tempfile.mkdtemp(prefix="sei-watch-git-"))
        self._finalizer = weakref.finalize(self, shutil.rmtree, made, True)
        head = _read_small(self.gitdir / "HEAD", "HEAD")
        (made / "HEAD").write_text(head if head.endswith("\n") else head + "\n")
        for name in _LINKED:
            real = self.common / name
            if not os.path.lexists(real):
                continue
            resolved = Path(os.path.realpath(real))
            if not _inside(resolved, self.confine):
                raise GitError(f"{real} leads outside {self.confine}: not followed")
            os.symlink(resolved, made / name)
        extensions = "".join(
            f"\t{key.removeprefix('extensions.')} = {value}\n"
            for key, value in repo_config.items()
            if key.startswith("extensions.") and value.replace("-", "").isalnum()
        )
        version = "1" if repo_config.get("core.repositoryformatversion") == "1" else "0"
        (made / "config").write_text(SHADOW_CONFIG.format(version=version, extensions=extensions))
        self._path = made
        return made

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
