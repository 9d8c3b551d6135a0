"""`make demo` is the README's first command: it must run the whole path and show it."""

from __future__ import annotations

import subprocess
import sys

from .paths import ROOT


def test_demo_posts_every_example_and_shows_it() -> None:
    """The demo exits 0: the stand-in stored every example with all its stages and steps, the
    maven-flaky run with its test rows as SEI's test table keeps them, the CI image linked to
    its deployment and nothing through a mutable tag; timelines and problems shown."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    examples = sorted(
        p.name for p in (ROOT / "examples").iterdir() if p.is_dir() and p.name != "ci"
    )
    assert f"SEI stored {len(examples)} of {len(examples)} builds" in proc.stdout
    for name in examples:
        assert f"== {name}  result" in proc.stdout
    assert "stored stages 4/4, steps 2/2" in proc.stdout  # the GitLab job, every section
    assert "deployed: envoy:v1.30.1, cart:1.14.2" in proc.stdout
    assert "maven-flaky: 9 test rows" in proc.stdout
    assert "stored: duration 1506 s (sent 1506200 ms)" in proc.stdout  # as SEI keeps it
    assert "FAILED      0.876 s  com.example.shop.CartServiceTest.checksOutWithTax" in proc.stdout
    assert "buildx-ci <-> deploy-cd" in proc.stdout
    assert "linked through a mutable tag" not in proc.stdout
    assert "dropped after the 202" not in proc.stdout
    assert "problem: test-results/junit.xml: declares XML entities" in proc.stdout
    assert "step_script      |" in proc.stdout
