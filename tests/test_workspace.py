"""Workspace scanning: hostile layouts cost one file each, never the scan."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sei_watch.plugins import load_parsers
from sei_watch.records import Artifact, ParseProblem
from sei_watch.scan.workspace import scan

GOOD = {
    "artifact": {
        "output": True,
        "type": "container",
        "location": "r/app:1",
        "name": "r/app",
        "qualifier": "1",
    }
}


def write_good(ws: Path) -> None:
    (ws / "good").mkdir(parents=True, exist_ok=True)
    (ws / "good" / "sei-artifacts.json").write_text(json.dumps(GOOD))


def problems_and_artifacts(ws: Path, **kw: object) -> tuple[list[ParseProblem], list[Artifact]]:
    result = scan(ws, load_parsers(), **kw)  # type: ignore[arg-type]
    return (
        [r for r in result.records if isinstance(r, ParseProblem)],
        [r for r in result.records if isinstance(r, Artifact)],
    )


def test_manifest_that_is_not_json(tmp_path: Path) -> None:
    """A manifest that is not JSON gives a problem with its line; the good file still counts."""
    write_good(tmp_path)
    (tmp_path / "artifact-manifest.json").write_text('{\n  "artifacts": [\n    {oops}\n')
    probs, arts = problems_and_artifacts(tmp_path)
    assert [(p.path, p.line) for p in probs] == [("artifact-manifest.json", 3)]
    assert "not valid JSON" in probs[0].reason
    assert [a.name for a in arts] == ["r/app"]


def test_manifest_with_no_artifacts_shape(tmp_path: Path) -> None:
    """A JSON manifest of the wrong shape says what shapes are expected."""
    (tmp_path / "sei-artifacts.json").write_text("[1, 2]")
    probs, _ = problems_and_artifacts(tmp_path)
    assert 'expected {"artifacts": [...]}' in probs[0].reason


def test_symlink_out_of_the_workspace(tmp_path: Path) -> None:
    """A claimed file that links outside the root is reported, and its target is never read."""
    secret = tmp_path / "outside" / "secret.json"
    secret.parent.mkdir()
    secret.write_text(json.dumps({"artifact": {**GOOD["artifact"], "name": "SECRET"}}))
    ws = tmp_path / "ws"
    write_good(ws)
    (ws / "sei-artifacts.json").symlink_to(secret)
    (ws / "linked-dir").symlink_to(secret.parent, target_is_directory=True)
    probs, arts = problems_and_artifacts(ws)
    assert [(p.path, p.reason) for p in probs] == [
        ("sei-artifacts.json", "symlink leads outside the workspace")
    ]
    assert all(a.name != "SECRET" for a in arts)


def test_symlink_inside_the_workspace_is_not_read_twice(tmp_path: Path) -> None:
    """A link to a file inside the root is skipped: the file itself is parsed once."""
    write_good(tmp_path)
    (tmp_path / "sei-artifacts.json").symlink_to(tmp_path / "good" / "sei-artifacts.json")
    probs, arts = problems_and_artifacts(tmp_path)
    assert probs == []
    assert len(arts) == 1


def test_fifo_named_like_a_manifest_does_not_hang(tmp_path: Path) -> None:
    """A FIFO with a manifest's name is refused as not a regular file, without blocking."""
    os.mkfifo(tmp_path / "artifact-manifest.json")
    write_good(tmp_path)
    probs, arts = problems_and_artifacts(tmp_path)
    assert [(p.path, p.reason) for p in probs] == [("artifact-manifest.json", "not a regular file")]
    assert len(arts) == 1


def test_oversize_file_is_refused(tmp_path: Path) -> None:
    """A file over the size limit is named with its size and the limit."""
    (tmp_path / "sei-artifacts.json").write_text(" " * 5000 + json.dumps(GOOD))
    probs, _ = problems_and_artifacts(tmp_path, max_bytes=1000)
    assert "over the limit of 1000" in probs[0].reason


def test_excluded_directories_are_not_walked(tmp_path: Path) -> None:
    """node_modules and .git are skipped by default."""
    for sub in ("node_modules/pkg", ".git"):
        (tmp_path / sub).mkdir(parents=True)
        (tmp_path / sub / "sei-artifacts.json").write_text("not json")
    probs, _ = problems_and_artifacts(tmp_path)
    assert probs == []


@contextlib.contextmanager
def effective_nobody() -> Iterator[None]:
    """Root reads anything: take nobody's effective uid for the block, keeping root saved."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def test_unreadable_file_and_directory() -> None:
    """Unreadable files and directories are problems naming them; the rest is still reported."""
    base = Path(tempfile.mkdtemp(prefix="sei-watch-perm-"))
    try:
        base.chmod(0o755)
        ws = base / "ws"
        write_good(ws)
        for p in (ws, ws / "good"):
            p.chmod(0o755)
        (ws / "good" / "sei-artifacts.json").chmod(0o644)
        (ws / "artifact-manifest.json").write_text(json.dumps(GOOD))
        (ws / "artifact-manifest.json").chmod(0)
        (ws / "locked").mkdir()
        (ws / "locked").chmod(0)
        registry = load_parsers()
        with effective_nobody():
            result = scan(ws, registry)
        problems = {(r.path, r.reason) for r in result.records if isinstance(r, ParseProblem)}
        assert problems == {
            ("artifact-manifest.json", "Permission denied"),
            ("locked", "directory is not readable"),
        }
        assert [r.name for r in result.records if isinstance(r, Artifact)] == ["r/app"]
    finally:
        (base / "ws" / "locked").chmod(0o755)
        shutil.rmtree(base)


def test_nested_artifact_problem_keeps_the_rest_of_the_file(tmp_path: Path) -> None:
    """An artifact missing fields is dropped with a problem naming them; its siblings stay."""
    doc = {"artifacts": [GOOD["artifact"], {"name": "half", "type": "container"}, "junk"]}
    (tmp_path / "artifact-manifest.json").write_text(json.dumps(doc))
    probs, arts = problems_and_artifacts(tmp_path)
    assert [p.reason for p in probs] == [
        "artifact half is missing location, qualifier; it is not sent",
        "artifact #3 is not an object",
    ]
    assert [a.name for a in arts] == ["r/app"]


@pytest.mark.parametrize("data", [b"\xff\xfe\x00garbage", b"", b"\x00" * 100])
def test_binary_manifest(tmp_path: Path, data: bytes) -> None:
    """Binary or empty content in a manifest is a problem, never an exception."""
    (tmp_path / "sei-artifacts.json").write_bytes(data)
    probs, _ = problems_and_artifacts(tmp_path)
    assert len(probs) == 1
    assert probs[0].path == "sei-artifacts.json"
