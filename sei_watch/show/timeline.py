"""The build as a Gantt chart: in the terminal (Unicode eighth blocks or ASCII) and as one
self-contained HTML page with inline SVG. Drawn from the payload, so it shows what SEI gets."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sei_watch.schema import instant_ms
from sei_watch.termsafe import safe_copy

from .summary import fmt_ms

__all__ = ["Row", "render_html", "render_text", "rows_of"]

_EIGHTHS = " ▏▎▍▌▋▊▉█"
_RED, _DIM, _RESET = "\x1b[31m", "\x1b[2m", "\x1b[0m"


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    depth: int
    start: int  # ms from the run's start
    duration: int
    result: str


def rows_of(payload: Mapping[str, Any]) -> list[Row]:
    """Stages and steps with offsets from the run's start; a stage without a start time
    follows the one before it."""
    base = int(payload.get("start_time") or 0)
    rows: list[Row] = []
    cursor = 0
    for stage in payload.get("job_run", {}).get("stages", []):
        at = instant_ms(stage.get("startTime"))
        start = at - base if at is not None else cursor
        rows.append(
            Row(stage["displayName"], 0, max(start, 0), stage["durationInMillis"], stage["result"])
        )
        inner = start
        for step in stage.get("steps", []):
            step_at = instant_ms(step.get("startTime"))
            s = step_at - base if step_at is not None else inner
            rows.append(
                Row(step["displayName"], 1, max(s, 0), step["durationInMillis"], step["result"])
            )
            inner = s + step["durationInMillis"]
        cursor = max(cursor, start + stage["durationInMillis"])
    return rows


def _bar(start: int, duration: int, scale: float, width: int, *, ascii_only: bool) -> str:
    left = start * scale
    right = (start + duration) * scale
    cells = []
    for i in range(width):
        cover = max(0.0, min(right, i + 1) - max(left, i))
        if ascii_only or left > i:
            # Eighth blocks fill from the left: a bar that starts inside a cell gets a whole
            # block or none, so its start is never drawn too early.
            cells.append(("#" if ascii_only else "█") if cover >= 0.5 else " ")
        else:
            cells.append(_EIGHTHS[round(cover * 8)] if cover > 0 else " ")
    text = "".join(cells).rstrip()
    if not text.strip() and duration == 0:  # an instant: one thin mark where it happened
        pos = min(int(left), width - 1)
        text = " " * pos + ("|" if ascii_only else "▏")
    return text


def render_text(
    payload: Mapping[str, Any], *, width: int = 100, ascii_only: bool = False, color: bool = False
) -> str:
    """One line per stage and step: name, bar to scale, duration; failed rows in red. Names
    from the build are escaped for the terminal."""
    payload = safe_copy(payload)
    rows = rows_of(payload)
    total = max([r.start + r.duration for r in rows] + [int(payload.get("duration") or 0), 1])
    name_w = min(max([len(r.name) + 2 * r.depth for r in rows] + [8]), 40)
    bar_w = max(width - name_w - 12, 10)
    scale = bar_w / total
    edge = "|" if ascii_only else "│"
    lines = [
        f"{payload.get('job_full_name', '?')} #{payload.get('build_number', '?')}  "
        f"{payload.get('result', '?')}  {fmt_ms(total)}"
    ]
    for r in rows:
        label = ("  " * r.depth + r.name)[:name_w].ljust(name_w)
        bar = _bar(r.start, r.duration, scale, bar_w, ascii_only=ascii_only).ljust(bar_w)
        line = f"{label} {edge}{bar}{edge} {fmt_ms(r.duration):>8}"
        if color and r.result in ("FAILURE", "ABORTED"):
            line = f"{_RED}{line}{_RESET}"
        elif color and r.result == "NOT_BUILT":
            line = f"{_DIM}{line}{_RESET}"
        lines.append(line)
    return "\n".join(lines) + "\n"


_FILL = {
    "SUCCESS": "#2e9e5b",
    "FAILURE": "#d64541",
    "UNSTABLE": "#e0a030",
    "ABORTED": "#8a8a8a",
    "NOT_BUILT": "#c8c8c8",
}


def render_html(payload: Mapping[str, Any]) -> str:
    """A single page: inline SVG, no scripts or external assets; each bar has a hover title."""
    rows = rows_of(payload)
    total = max([r.start + r.duration for r in rows] + [int(payload.get("duration") or 0), 1])
    left, bar_w, row_h = 260, 720, 22
    base = int(payload.get("start_time") or 0)
    parts = []
    for i, r in enumerate(rows):
        y = 30 + i * row_h
        x = left + r.start / total * bar_w
        w = max(r.duration / total * bar_w, 1.5)
        when = datetime.fromtimestamp((base + r.start) / 1000, tz=UTC).strftime("%H:%M:%S.%f")[:-3]
        title = html.escape(f"{r.name}: start {when} UTC, {fmt_ms(r.duration)}, {r.result}")
        parts.append(
            f'<text x="{8 + 14 * r.depth}" y="{y + 15}" class="n">{html.escape(r.name)}</text>'
            f'<rect class="bar {r.result.lower()}" x="{x:.1f}" y="{y + 3}" width="{w:.1f}" '
            f'height="{row_h - 6}" fill="{_FILL.get(r.result, "#888")}"><title>{title}</title>'
            f'</rect><text x="{left + bar_w + 8}" y="{y + 15}" class="d">'
            f"{fmt_ms(r.duration)}</text>"
        )
    height = 40 + len(rows) * row_h
    head = html.escape(
        f"{payload.get('job_full_name', '?')} #{payload.get('build_number', '?')}"
        f" {payload.get('result', '?')} {fmt_ms(total)}"
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>' + head + "</title>"
        "<style>body{font:13px sans-serif;margin:16px}.n,.d{font:12px monospace}"
        '.d{fill:#555}</style></head><body><h1 style="font-size:16px">' + head + "</h1>"
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + bar_w + 80}" height="{height}" '
        f'role="img">' + "".join(parts) + "</svg></body></html>\n"
    )
