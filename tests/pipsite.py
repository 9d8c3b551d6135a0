"""Install a package for real (pip, no build isolation) into a private site directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def install(source: Path, site: Path) -> Path:
    """pip install SOURCE --target SITE; returns SITE for PYTHONPATH."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--target",
            str(site),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    return site
