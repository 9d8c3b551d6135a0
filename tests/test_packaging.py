"""Installing sei-watch the usual way: the wheel's contents and metadata, a fresh environment
that runs it from a directory with its own `parsers/`, the unit it ships, and the Dockerfile."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from sei_watch.status import ExitStatus

from .paths import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel pip builds from this checkout (no network: setuptools is a test dependency)."""
    out = tmp_path_factory.mktemp("wheel")
    # From a copy of the checkout's files (tracked, or new and not ignored): setuptools writes
    # its egg-info into the tree it builds, and a stale one would hide new entry points.
    src = tmp_path_factory.mktemp("src")
    listed = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    tracked = subprocess.run(listed, cwd=ROOT, capture_output=True, check=True).stdout
    tracked = tracked.decode().split("\0")
    for rel in filter(None, tracked):
        if (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(out), str(src)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (path,) = out.glob("sei_watch-*.whl")
    return path


def test_wheel_contents_and_metadata(wheel: Path) -> None:
    """Namespaced parsers (no top-level `parsers`), the unit, its README and example config,
    py.typed, the licence, classifiers, Python floor and entry points into sei_watch_parsers."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        eps = zf.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    tops = {n.split("/", 1)[0] for n in names}
    assert {t for t in tops if not t.endswith((".dist-info", ".data"))} == {
        "sei_watch",
        "sei_watch_parsers",
    }
    # The command is a plain script (pip's entry-point wrapper imports `re`: 9 ms a start).
    assert [n for n in names if "/scripts/" in n] == ["sei_watch-0.1.0.data/scripts/sei-watch"]
    assert "sei_watch/cli/sei-watch" not in names
    for needed in (
        "sei_watch/data/sei-watch.service",
        "sei_watch/data/config.example.toml",
        "sei_watch/data/README.md",  # the unit's own how-to, beside it
        "sei_watch/py.typed",
        "sei_watch_parsers/junit.py",
    ):
        assert needed in names, needed
    assert any(n.endswith("licenses/LICENSE") for n in names)
    assert "Requires-Python: >=3.11" in meta
    assert "License-Expression: Apache-2.0" in meta
    assert meta.count("Classifier: ") >= 10
    targets = re.findall(r"^[\w-]+ = ([\w.]+):", eps, re.M)
    assert targets
    assert all(t.startswith("sei_watch_parsers.") for t in targets if t != "sei_watch.cli")


def test_wheel_holds_every_module_of_both_folders(wheel: Path) -> None:
    """Every module under `sei_watch/` and `parsers/` is in the wheel, the latter under
    `sei_watch_parsers/` (a new subpackage missing from pyproject's list fails here)."""
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    for folder, package in (("sei_watch", "sei_watch"), ("parsers", "sei_watch_parsers")):
        for path in (ROOT / folder).rglob("*.py"):
            assert f"{package}/{path.relative_to(ROOT / folder).as_posix()}" in names, path
    assert not any(n.startswith(("parsers/", "tests/")) for n in names)


def _fresh_venv(tmp_path: Path) -> tuple[Path, Path]:
    """A venv without pip whose site-packages also sees this environment's dependencies."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    purelib = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    # The dependencies come from this environment's site-packages (no network in tests); its
    # editable sei-watch does not, since a path line in a .pth does not run that dir's .pth files.
    (purelib / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return py, purelib


def test_editable_install_maps_the_parsers_folder(tmp_path: Path) -> None:
    """`pip install -e .` into a fresh venv: `sei_watch_parsers` is the checkout's `parsers/`
    folder, an edit there is seen by the next import, and neither `parsers` nor `tests` is
    importable from outside the checkout."""
    py, purelib = _fresh_venv(tmp_path)
    out = tmp_path / "editable"
    existed = {name: (ROOT / name).exists() for name in ("build", "sei_watch.egg-info")}
    # The backend's own PEP 660 hook, as pip calls it (pip itself would want the network).
    built = subprocess.run(
        [sys.executable, "-c",
         "import sys; from setuptools import build_meta as b; print(b.build_editable(sys.argv[1]))",
         str(out)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    for leftover in ("build", "sei_watch.egg-info"):  # what the backend wrote in the tree
        if not existed[leftover]:
            shutil.rmtree(ROOT / leftover, ignore_errors=True)
    with zipfile.ZipFile(out / built.stdout.strip().splitlines()[-1]) as zf:
        zf.extractall(purelib)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = (
        "import importlib.util as u, sei_watch, sei_watch_parsers;"
        "print(sei_watch.__file__); print(sei_watch_parsers.__file__);"
        "print(u.find_spec('parsers'), u.find_spec('tests'))"
    )
    lines = subprocess.run(
        [str(py), "-c", probe], cwd=elsewhere, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert lines == [
        str(ROOT / "sei_watch" / "__init__.py"),
        str(ROOT / "parsers" / "__init__.py"),
        "None None",
    ]
    live = ROOT / "parsers" / "_live_edit_probe.py"
    try:
        live.write_text("SEEN = 'live'\n")
        seen = subprocess.run(
            [str(py), "-c", "from sei_watch_parsers._live_edit_probe import SEEN; print(SEEN)"],
            cwd=elsewhere, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    finally:
        live.unlink()
    assert seen == "live"


def test_fresh_environment_runs_the_wheel(wheel: Path, tmp_path: Path) -> None:
    """A new venv with the wheel installed: `sei-watch parsers` from a directory that has its
    own `parsers/` lists every built-in, and the shipped unit is the repository's."""
    py, purelib = _fresh_venv(tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(purelib)
    work = tmp_path / "project"
    (work / "parsers").mkdir(parents=True)
    (work / "parsers" / "__init__.py").write_text("raise ImportError('not ours')\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = [str(py), "-c", "from sei_watch.cli import main; raise SystemExit(main())"]
    listed = subprocess.run(
        [*run, "parsers"], cwd=work, env=env, capture_output=True, text=True, check=False
    )
    assert listed.returncode == 0, listed.stderr
    assert "sei_watch_parsers.junit:JUnitParser" in listed.stdout
    assert str(purelib) in subprocess.run(
        [str(py), "-c", "import sei_watch; print(sei_watch.__file__)"],
        cwd=work, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    unit = subprocess.run(
        [*run, "install-unit", "--print", "unit"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    shipped = (ROOT / "systemd" / "sei-watch.service").read_text()
    assert unit.stdout.splitlines()[:5] == shipped.splitlines()[:5]  # the wheel's own unit
    assert f"ExecStart={py.parent / 'sei-watch'} run" in unit.stdout


def test_install_unit_writes_unit_and_config(run_cli, tmp_path: Path) -> None:
    """install-unit points ExecStart at this installation, writes the example config only where
    none is, and never overwrites one."""
    cfg = tmp_path / "etc" / "config.toml"
    res = run_cli("install-unit", "--unit-dir", str(tmp_path / "units"), "--config", str(cfg),
                  "--exec", "/opt/x/bin/sei-watch")  # fmt: skip
    assert res.status == ExitStatus.OK, res.err
    unit = (tmp_path / "units" / "sei-watch.service").read_text()
    assert f"ExecStart=/opt/x/bin/sei-watch run --config {cfg}" in unit
    assert oct(cfg.stat().st_mode & 0o777) == "0o640"
    cfg.write_text("# mine\n")
    run_cli("install-unit", "--unit-dir", str(tmp_path / "units"), "--config", str(cfg))
    assert cfg.read_text() == "# mine\n"


def test_dockerfile_names_only_files_that_exist() -> None:
    """The Dockerfile: a slim Python base, every COPY source present here, a non-root user and
    sei-watch as the entry point (building the image is documented, not run in CI)."""
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"(?m)^FROM python:3\.\d+-slim$", text)
    for line in re.findall(r"(?m)^COPY (.+)$", text):
        for src in line.split()[:-1]:
            assert (ROOT / src).exists(), src
    user = re.findall(r"(?m)^USER (\S+)$", text)
    assert user
    assert user[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["sei-watch"]' in text
    assert os.path.exists(ROOT / "LICENSE")
