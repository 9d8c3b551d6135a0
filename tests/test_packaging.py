"""Installing sei-watch the usual way: the wheel's contents and metadata, a fresh environment
that runs it from a directory with its own `parsers/`, the unit it ships, and the Dockerfile."""

from __future__ import annotations

import os
import re
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
    """The wheel pip builds from this checkout (no network: hatchling is a test dependency)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(out), str(ROOT)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (path,) = out.glob("sei_watch-*.whl")
    return path


def test_wheel_contents_and_metadata(wheel: Path) -> None:
    """Namespaced parsers (no top-level `parsers`), the unit and example config, py.typed,
    the licence, classifiers, Python floor and entry points into sei_watch_parsers."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        eps = zf.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    tops = {n.split("/", 1)[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"sei_watch", "sei_watch_parsers"}
    for needed in (
        "sei_watch/data/sei-watch.service",
        "sei_watch/data/config.example.toml",
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


def test_fresh_environment_runs_the_wheel(wheel: Path, tmp_path: Path) -> None:
    """A new venv with the wheel installed: `sei-watch parsers` from a directory that has its
    own `parsers/` lists every built-in, and the shipped unit is the repository's."""
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
    assert unit.stdout == (ROOT / "systemd" / "sei-watch.service").read_text()


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
