"""`check-config` in one pass: every mistake of a config file at once, each with its file,
line and key, instead of the first one `load_settings` stops at.

Each key of each scalar section, each [payload] field, each [[watch]] and each [parsers.X] is
validated on its own (the same rules as loading, so nothing can pass here and fail there),
then the whole file once more for the rules that span keys. `extra` adds checks the loader
leaves to later stages (a URL preset, the GUID's form), keyed by "section.key".
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sei_watch.errors import ConfigError

from .settings import SCALARS, SECTIONS, settings_from

__all__ = ["Finding", "check_file"]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One mistake: where it is, which key, and what is wrong."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}"


def _lines(text: str) -> dict[tuple[str, int, str], int]:
    """(table, index of the [[array]] entry, key) -> line number; "" for a table's header."""
    found: dict[tuple[str, int, str], int] = {}
    counts: dict[str, int] = {}
    table, index = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if m := _HEADER.match(raw):
            table = m.group(2).replace('"', "").replace("'", "").replace(" ", "")
            if m.group(1) == "[[":
                index = counts.get(table, 0)
                counts[table] = index + 1
            else:
                index = 0
            found.setdefault((table, index, ""), number)
        elif m := _KEY.match(raw):
            found.setdefault((table, index, m.group(1)), number)
    return found


def _parts(data: Mapping[str, Any]) -> Iterator[tuple[str, int, str, dict[str, Any]]]:
    """(table, index, key, the smallest document that validates it)."""
    state = {"state": data["state"]} if isinstance(data.get("state"), Mapping) else {}
    for section, value in data.items():
        if section not in SECTIONS or not isinstance(value, Mapping | list):
            yield section, 0, "", {section: value}
        elif section == "watch" and isinstance(value, list):
            for n, entry in enumerate(value):
                yield "watch", n, "", {"watch": [entry], **state}
        elif section == "parsers" and isinstance(value, Mapping):
            for name, table in value.items():
                yield f"parsers.{name}", 0, "", {"parsers": {name: table}}
        elif section in (*SCALARS, "payload") and isinstance(value, Mapping):
            for key, item in value.items():
                yield section, 0, key, {section: {key: item}}
        else:
            yield section, 0, "", {section: value}


def check_file(
    path: Path,
    environ: Mapping[str, str],
    *,
    extra: Mapping[str, Callable[[Any], str | None]] | None = None,
) -> list[Finding]:
    """Every mistake in the config at `path` (an empty list: it loads)."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [Finding(file=where, line=None, key="(file)", message=f"cannot read: {exc}")]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        at = re.search(r"line (\d+)", str(exc))
        return [
            Finding(
                file=where,
                line=int(at.group(1)) if at else None,
                key="(syntax)",
                message=f"not valid TOML: {exc}",
            )
        ]
    lines = _lines(text)
    findings: list[Finding] = []
    for table, index, key, part in _parts(data):
        label = f"[{table}]" if table != "watch" else f"[[watch]] #{index + 1}"
        label += f" {key}" if key else ""
        line = lines.get((table, index, key)) or lines.get((table, index, ""))
        try:
            settings_from(part, where, environ)
        except ConfigError as exc:
            message = str(exc).removeprefix(f"{where}: ").removeprefix(label).lstrip(": ")
            findings.append(Finding(file=where, line=line, key=label, message=message))
            continue
        check = (extra or {}).get(f"{table}.{key}")
        problem = check(part[table][key]) if check is not None and key else None
        if problem:
            findings.append(Finding(file=where, line=line, key=label, message=problem))
    if not findings:  # the rules that span keys
        try:
            settings_from(data, where, environ)
        except ConfigError as exc:
            message = str(exc).removeprefix(f"{where}: ")
            findings.append(Finding(file=where, line=None, key="(file)", message=message))
    return findings
