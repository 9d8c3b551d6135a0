"""A build's git repository is data: no key of its configuration runs a program, and no `.git`
file, `commondir` or marker leads sei-watch to a repository outside the build directory."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from sei_watch.context import BuildContext, finish
from sei_watch.context.gitinfo import Git, GitError, gather

from .gitrepo import Repo

# Every configuration key git documents as running a command (git-config(1), githooks(5),
# gitattributes(5)), each set to the planted script.
COMMAND_KEYS = (
    "core.fsmonitor",
    "core.sshCommand",
    "core.gitProxy",
    "core.askPass",
    "core.editor",
    "core.pager",
    "core.alternateRefsCommand",
    "sequence.editor",
    "diff.external",
    "diff.evil.command",
    "diff.evil.textconv",
    "filter.evil.clean",
    "filter.evil.smudge",
    "filter.evil.process",
    "merge.evil.driver",
    "gpg.program",
    "gpg.ssh.program",
    "gpg.x509.program",
    "gpg.ssh.defaultKeyCommand",
    "credential.helper",
    "remote.origin.uploadpack",
    "remote.origin.receivepack",
    "uploadpack.packObjectsHook",
    "pager.rev-list",
    "pager.branch",
    "pager.log",
    "web.browser",
    "mergetool.evil.cmd",
    "difftool.evil.cmd",
    "sendemail.sendmailCmd",
    "alias.st",
)
HOOKS = (
    "reference-transaction",
    "post-index-change",
    "post-checkout",
    "post-merge",
    "pre-commit",
    "pre-auto-gc",
    "fsmonitor-watchman",
    "post-rewrite",
)


def _script(where: Path, ran: Path, name: str) -> Path:
    script = where / name
    script.write_text(f'#!/bin/sh\necho "$0 $*" >> {ran}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def plant(repo: Repo, tmp: Path, *, via_include: bool = False) -> Path:
    """Every command-running key and hook in `repo`; returns the file a run would write."""
    ran = tmp / "ran.log"
    evil = tmp / "evil"
    evil.mkdir()
    script = _script(evil, ran, "payload.sh")
    hooks = evil / "hooks"
    hooks.mkdir()
    for hook in HOOKS:
        _script(hooks, ran, hook)
        _script(repo.path / ".git" / "hooks", ran, hook)
    lines = ["[log]\n\tshowSignature = true\n", f"[core]\n\thooksPath = {hooks}\n"]
    for key in COMMAND_KEYS:
        section, _, rest = key.partition(".")
        sub, _, name = rest.rpartition(".")
        head = f'[{section} "{sub}"]' if sub else f"[{section}]"
        value = f"!{script}" if section == "alias" else str(script)
        lines.append(f"{head}\n\t{name} = {value}\n")
    text = "".join(lines)
    config = repo.path / ".git" / "config"
    if via_include:
        (evil / "included").write_text(text)
        with config.open("a") as fh:
            fh.write(f"[include]\n\tpath = {evil / 'included'}\n")
    else:
        with config.open("a") as fh:
            fh.write(text)
    (repo.path / ".gitattributes").write_text("* diff=evil filter=evil merge=evil\n")
    return ran


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Repo, Repo, Path]:
    """A workspace repository with a submodule, both with every command key planted."""
    lib = Repo(tmp_path / "lib")
    lib.commit("lib")
    app = Repo(tmp_path / "ws")
    app.commit("one")
    app.git("remote", "add", "origin", "https://git.example.com/team/app.git")
    app.git(
        "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib.path), "vendor/lib"
    )
    app.git("commit", "-q", "-m", "lib")
    app.commit("two")
    # The submodule's own config (inside .git/modules) gets the keys too.
    sub = Repo(app.path / "vendor" / "lib", init=False)
    return app, sub, tmp_path


@pytest.mark.parametrize("via_include", [False, True], ids=["direct", "include.path"])
def test_no_configuration_key_runs_a_program(
    hostile: tuple[Repo, Repo, Path], via_include: bool
) -> None:
    """Every git call sei-watch makes (HEAD, range, branch, remote, submodules) with every
    command key and hook planted, directly or through include.path: nothing runs."""
    app, sub, tmp = hostile
    app.git("checkout", "-q", "-b", "feature")
    first = app.git("rev-list", "--max-parents=0", "HEAD")
    sub_head = sub.head()
    (tmp / "a").mkdir()
    ran = plant(app, tmp / "a", via_include=via_include)
    subdir = tmp / "b"
    subdir.mkdir()
    modules_cfg = app.path / ".git" / "modules" / "vendor" / "lib" / "config"
    assert modules_cfg.exists()
    with modules_cfg.open("a") as fh:
        fh.write(f"[core]\n\tfsmonitor = {_script(subdir, ran, 'sub.sh')}\n")
    git = Git(app.path)
    facts = gather(git, previous=first)
    ctx = BuildContext(repo=app.path)
    payload: dict[str, object] = {"instance_guid": "g", "job_full_name": "j"}
    finish(payload, {}, ctx, app.path, state=None)
    git.run("branch", "-r", "--contains", facts.head or "HEAD")
    assert not ran.exists(), ran.read_text()
    assert facts.head == app.head()
    assert facts.branch == "feature"
    assert facts.repo_url == "https://git.example.com/team/app.git"
    assert len(facts.commits) == 2
    params = {p["name"]: p["value"] for p in payload["job_run_params"]}  # type: ignore[index,union-attr]
    assert params["submodule:vendor/lib"] == sub_head


def test_parse_cli_runs_nothing_from_the_workspace_repository(
    hostile: tuple[Repo, Repo, Path], run_cli
) -> None:
    """`sei-watch parse` and `parse --post` on a workspace whose repository has every command
    key planted: the payload has its commit and nothing ran (the key was in the environment)."""
    app, _, tmp = hostile
    head = app.head()
    (tmp / "a").mkdir()
    ran = plant(app, tmp / "a")
    env = {
        "SEI_API_KEY": "k-secret",
        "SEI_URL": "http://127.0.0.1:9",
        "SEI_INSTANCE_GUID": "9b7e1f0e-52c1-4c0c-8b1e-2f4a3c5d6e7f",
        "SEI_WATCH_STATE_DIR": str(tmp / "state"),
        "CI": "true",
    }
    res = run_cli("parse", str(app.path), "--json", environ=env)
    assert not ran.exists(), ran.read_text()
    assert head in res.out, res.err
    run_cli("parse", str(app.path), "--post", "--timeout", "1", environ=env)
    assert not ran.exists(), ran.read_text()


def test_git_file_pointing_outside_the_build_is_not_followed(tmp_path: Path) -> None:
    """A `.git` file whose `gitdir:` names another team's repository gives no git facts, and
    for a watched build (the daemon's, backfill's) neither does a marker whose `repo` lies
    outside the build directory."""
    other = Repo(tmp_path / "other-team")
    other.commit("merger")
    other.git("checkout", "-q", "-b", "release/2027-merger")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / ".git").write_text(f"gitdir: {other.path / '.git'}\n")
    with pytest.raises(GitError, match="outside"):
        Git(ws).head()
    ctx = BuildContext()
    payload: dict[str, object] = {"instance_guid": "g", "job_full_name": "j"}
    finish(payload, {}, ctx, ws, state=None)
    assert "branch_name" not in payload
    assert "scm_commit_ids" not in payload
    assert any("outside" in n for n in ctx.notes), ctx.notes
    marked = tmp_path / "marked"
    marked.mkdir()
    (marked / ".sei-watch.json").write_text(json.dumps({"repo": str(other.path)}))
    from sei_watch.context import collect

    ctx = collect(marked, {}, confine_marker_repo=True)
    payload = {"instance_guid": "g", "job_full_name": "j"}
    finish(payload, {}, ctx, marked, state=None)
    assert "scm_commit_ids" not in payload
    assert any("outside" in n for n in ctx.notes), ctx.notes
    # In the job itself (`parse`), the marker the same job wrote may name its checkout.
    ctx = collect(marked, {})
    payload = {"instance_guid": "g", "job_full_name": "j"}
    finish(payload, {}, ctx, marked, state=None)
    assert payload["scm_commit_ids"] == [other.head()]


def test_commondir_and_objects_leading_outside_are_refused(tmp_path: Path) -> None:
    """A git directory whose `commondir` or `objects` symlink leads out of the build is not
    read."""
    other = Repo(tmp_path / "other")
    other.commit("x")
    ws = Repo(tmp_path / "ws")
    ws.commit("y")
    (ws.path / ".git" / "commondir").write_text(str(other.path / ".git") + "\n")
    with pytest.raises(GitError, match="commondir"):
        Git(ws.path).head()
    (ws.path / ".git" / "commondir").unlink()
    objects = ws.path / ".git" / "objects"
    os.rename(objects, tmp_path / "moved-objects")
    objects.symlink_to(other.path / ".git" / "objects")
    with pytest.raises(GitError, match="outside"):
        Git(ws.path).head()


def test_a_fifo_for_head_is_refused_not_waited_on(tmp_path: Path) -> None:
    """A FIFO planted as HEAD is an error at once, never a blocked read or git process."""
    ws = Repo(tmp_path / "ws")
    ws.commit("y")
    head = ws.path / ".git" / "HEAD"
    head.unlink()
    os.mkfifo(head)
    with pytest.raises(GitError, match="not a regular file"):
        Git(ws.path, timeout=2).head()


def test_a_config_in_the_workspace_is_never_read(run_cli, tmp_path: Path) -> None:
    """`parse` run from a checkout holding a `sei-watch.toml` with a [payload] table (another
    team's job name and instance) and a NATS target: the payload is the job's own."""
    ws = tmp_path / "checkout"
    ws.mkdir()
    (ws / "sei-watch.toml").write_text(
        '[sei]\nurl = "http://127.0.0.1:9"\n'
        'instance_guid = "11111111-2222-4333-8444-555555555555"\n'
        '[payload]\njob_full_name = "victim-team/deploy"\n'
        '[deliver]\ntarget = "nats"\n'
    )
    env = {
        "SEI_INSTANCE_GUID": "9b7e1f0e-52c1-4c0c-8b1e-2f4a3c5d6e7f",
        "SEI_JOB_FULL_NAME": "mine/build",
        "SEI_WATCH_STATE_DIR": str(tmp_path / "state"),
    }
    here = os.getcwd()
    os.chdir(ws)
    try:
        res = run_cli("parse", ".", "--json", environ=env)
    finally:
        os.chdir(here)
    assert res.status == 0, res.err
    assert "victim-team" not in res.out
    assert "11111111-2222" not in res.out
    assert "mine/build" in res.out


def test_the_daemon_and_backfill_run_nothing_from_a_build_repository(
    tmp_path: Path, sei, run_cli
) -> None:
    """The real daemon, then backfill, report a build whose checkout has every command key
    planted: both builds reach SEI with their commit, and nothing ran."""
    from .daemonproc import DaemonProc, wait_for, write_build

    root = tmp_path / "spool"
    watches = (
        f'[[watch]]\nname = "spool"\nroot = "{root}"\n'
        'pattern = "{pipeline}/{build_number}"\nsettle = 0.3\n'
    )
    builds = []
    for number in (1, 2):
        build = Repo(root / "app" / str(number))
        builds.append(build.commit(f"build {number}"))
        (tmp_path / f"p{number}").mkdir()
        ran = plant(build, tmp_path / f"p{number}")
    ran = tmp_path / "p1" / "ran.log"
    d = DaemonProc(tmp_path, sei, watches).start()
    try:
        write_build(root / "app" / "1")
        wait_for(lambda: len(sei.accepted) == 1, what="the build posted")
    finally:
        assert d.stop() == 0
    assert sei.accepted[0]["scm_commit_ids"] == [builds[0]]
    write_build(root / "app" / "2")
    res = run_cli("backfill", "--config", str(d.config))
    assert res.status == 0, res.err
    wait_for(lambda: len(sei.accepted) == 2, what="the backfilled build posted")
    assert sei.accepted[1]["scm_commit_ids"] == [builds[1]]
    for n in (1, 2):
        ran = tmp_path / f"p{n}" / "ran.log"
        assert not ran.exists(), ran.read_text()
