"""`make demo` is the README's first command: it must run the whole path and show it."""

from __future__ import annotations

import subprocess
import sys

from .paths import ROOT


def test_demo_posts_every_example_and_shows_it() -> None:
    """The demo exits 0, the stand-in received every example, timelines and problems shown."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    examples = sorted(p.name for p in (ROOT / "examples").iterdir() if p.is_dir())
    assert f"received {len(examples)} of {len(examples)} builds" in proc.stdout
    for name in examples:
        assert f"== {name}  result" in proc.stdout
    assert "deployed: envoyproxy/envoy:v1.30.1, registry.example.com/shop/cart:1.14.2" in (
        proc.stdout
    )
    assert "problem: test-results/junit.xml:3: not well-formed XML" in proc.stdout
    assert "step_script      |" in proc.stdout
