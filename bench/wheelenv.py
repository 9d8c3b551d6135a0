"""A wheel of this checkout in a fresh venv, as a user's install is (bytecode compiled by pip,
no editable-install finder): the start-up benches time that, not the development venv."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def install_wheel(tmp: Path, *, deps: bool) -> Path:
    """Build the wheel and install it into `tmp/env`, with its dependencies from the index or
    (`deps=False`) alone and offline; the venv's directory."""
    wheels, env = tmp / "wheel", tmp / "env"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(wheels), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    alone = ["--no-deps", "--no-index"] if not deps else []
    subprocess.run(
        [str(env / "bin" / "pip"), "install", "-q", *alone, *map(str, wheels.glob("*.whl"))],
        check=True, capture_output=True,
    )  # fmt: skip
    return env
