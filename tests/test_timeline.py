"""The timeline: golden terminal renderings at a fixed width, and the HTML page's bars."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from sei_watch.show.timeline import render_html, render_text, rows_of

from .paths import DATA

GOLDEN = DATA / "timeline"
PAYLOAD = {
    "job_full_name": "shop/cart/build",
    "build_number": 902,
    "result": "FAILURE",
    "start_time": 1_795_165_200_000,
    "duration": 70_000,
    "job_run": {
        "stages": [
            {
                "id": "1",
                "displayName": "checkout",
                "result": "SUCCESS",
                "state": "FINISHED",
                "durationInMillis": 4_400,
                "startTime": 1_795_165_200_000,
                "steps": [],
            },
            {
                "id": "2",
                "displayName": "build",
                "result": "FAILURE",
                "state": "FINISHED",
                "durationInMillis": 60_000,
                "startTime": 1_795_165_205_000,
                "steps": [
                    {
                        "id": "3",
                        "displayName": "compile",
                        "result": "SUCCESS",
                        "state": "FINISHED",
                        "durationInMillis": 22_700,
                        "startTime": 1_795_165_205_100,
                    },
                    {
                        "id": "4",
                        "displayName": "unit tests",
                        "result": "FAILURE",
                        "state": "FINISHED",
                        "durationInMillis": 37_000,
                        "startTime": 1_795_165_228_000,
                    },
                ],
            },
            {
                "id": "5",
                "displayName": "deploy",
                "result": "NOT_BUILT",
                "state": "SKIPPED",
                "durationInMillis": 0,
                "steps": [],
            },
        ]
    },
}


@pytest.mark.parametrize("ascii_only", [True, False], ids=["ascii", "unicode"])
def test_golden_terminal_timeline(ascii_only: bool) -> None:
    """At width 80 the chart matches its golden file, bars to scale, durations on each row."""
    text = render_text(PAYLOAD, width=80, ascii_only=ascii_only)
    golden = GOLDEN / ("ascii.txt" if ascii_only else "unicode.txt")
    if os.environ.get("SEI_WATCH_REGEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
    assert all(len(line) <= 80 for line in text.splitlines())


def test_failed_rows_are_red_on_a_tty() -> None:
    """With colour, failed rows are wrapped in red and skipped ones dimmed."""
    text = render_text(PAYLOAD, width=80, color=True)
    build = next(line for line in text.splitlines() if " build " in line or "build  " in line)
    assert build.startswith("\x1b[31m")
    assert "\x1b[2mdeploy" in text


def test_rows_lay_out_stages_without_start_after_the_previous() -> None:
    """A stage with no start time follows the one before it."""
    rows = rows_of(PAYLOAD)
    assert [(r.name, r.start, r.duration) for r in rows] == [
        ("checkout", 0, 4400),
        ("build", 5000, 60000),
        ("compile", 5100, 22700),
        ("unit tests", 28000, 37000),
        ("deploy", 65000, 0),
    ]


def test_html_is_self_contained_with_a_titled_bar_per_row(tmp_path: Path) -> None:
    """One inline SVG, no script or external asset, a bar with a hover title per row."""
    page = render_html(PAYLOAD)
    assert "<script" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    doc = etree.HTML(page.encode())
    bars = doc.xpath("//*[local-name()='rect']")
    assert len(bars) == 5
    titles = [b.xpath("string(*[local-name()='title'])") for b in bars]
    assert titles[1] == "build: start 09:00:05.000 UTC, 1m00s, FAILURE"
    assert "failure" in bars[1].get("class")


def test_cli_timeline_and_html(run_cli, tmp_path: Path) -> None:
    """`parse --timeline --ascii --width` prints the chart; --html writes the page."""
    ws = tmp_path / "ws"
    ws.mkdir()
    shutil.copy(DATA / "logs" / "gitlab-job.log", ws / "job.log")
    res = run_cli(
        "parse",
        str(ws),
        "--timeline",
        "--ascii",
        "--width",
        "70",
        "--html",
        str(tmp_path / "t.html"),
    )
    lines = res.out.splitlines()
    assert lines[0].startswith("ws #")
    assert any(line.startswith("step_script") and "#" in line for line in lines)
    assert (tmp_path / "t.html").read_text().count("<rect") == 6


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_html_renders_in_a_real_browser(tmp_path: Path) -> None:
    """Headless Chromium renders the page: a screenshot of the expected size, bars in the DOM."""
    page = tmp_path / "timeline.html"
    page.write_text(render_html(PAYLOAD))
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    shot = tmp_path / "shot.png"
    subprocess.run(
        [CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1100,400", page.as_uri()],
        capture_output=True,
        timeout=60,
        check=False,
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1100, 400)
    dom = subprocess.run(
        [CHROMIUM, *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout
    assert dom.count("<rect") == 5
    assert "unit tests: start 09:00:28.000 UTC" in dom
