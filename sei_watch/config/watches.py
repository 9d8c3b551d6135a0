"""`[[watch]]` tables: where builds appear, how to tell one is complete, what fields they fill.

A pattern such as `{pipeline}/builds/{build_number}` locates build directories under the root,
one path segment per part; `{name}` captures the segment into the payload field `name`, `*`
matches any one segment, anything else must match literally. An empty pattern makes the root
itself the build directory (one reused workspace, where every new marker is a new build).
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from sei_watch.errors import ConfigError
from sei_watch.schema import FIELD_TYPES

__all__ = ["WATCH_KEYS", "Completion", "WatchSpec", "check_roots", "parse_watches"]

WATCH_KEYS = {
    "name",
    "root",
    "pattern",
    "complete_when",
    "include",
    "exclude",
    "repo",
    "repos",
    "preset",
    "fields",
    "params",
    "cd",
    "min_age",
    "settle",
    "force_polling",
    "grace",
}
_CAPTURE = re.compile(r"\{([a-z_]+)\}\Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class Completion:
    """marker (`.sei-watch.json`), file:GLOB (a file appears), or quiet:SECONDS."""

    kind: str
    glob: str = ""
    quiet: float = 0.0

    @classmethod
    def parse(cls, text: str, where: str) -> Completion:
        kind, _, arg = text.partition(":")
        if kind == "marker" and not arg:
            return cls(kind="marker")
        if kind == "file" and arg:
            return cls(kind="file", glob=arg)
        if kind == "quiet":
            try:
                return cls(kind="quiet", quiet=float(arg))
            except ValueError:
                pass
        raise ConfigError(
            f"{where}: complete_when {text!r}: use marker, file:GLOB or quiet:SECONDS"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchSpec:
    """One build layout under one root."""

    name: str
    root: Path
    pattern: tuple[str, ...]
    complete_when: Completion = field(default_factory=lambda: Completion(kind="marker"))
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    repo: Path | None = None
    repos: tuple[Path, ...] = ()  # more repositories the build uses: named in job_run_params
    fields: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    cd: bool = False
    min_age: float = 0.0
    settle: float = 2.0
    grace: float = 600.0
    force_polling: bool = False
    preset: str = ""

    @property
    def depth(self) -> int:
        return len(self.pattern)

    def match(self, rel: PurePosixPath) -> tuple[Path, dict[str, str]] | None:
        """The build directory a path under the root belongs to, and its captures."""
        parts = rel.parts
        if self.preset == "jenkins-home":
            return _jenkins(self.root, parts)
        if len(parts) < self.depth:
            return None
        captures: dict[str, str] = {}
        for part, want in zip(parts, self.pattern, strict=False):
            cap = _CAPTURE.match(want)
            if cap:
                captures[cap.group(1)] = part
            elif not fnmatch.fnmatchcase(part, want):
                return None
        return self.root.joinpath(*parts[: self.depth]), captures


def _jenkins(root: Path, parts: tuple[str, ...]) -> tuple[Path, dict[str, str]] | None:
    """jobs/<a>[/jobs|branches/<b>...]/builds/<n>: any depth of folders and branches."""
    if len(parts) < 4 or parts[0] != "jobs":
        return None
    i = 2
    while i + 1 < len(parts) and parts[i] in ("jobs", "branches"):
        i += 2
    if i + 1 < len(parts) and parts[i] == "builds" and parts[i + 1].isdigit():
        return root.joinpath(*parts[: i + 2]), {}
    return None


def _pattern(text: str, where: str) -> tuple[str, ...]:
    parts = tuple(p for p in text.strip("/").split("/") if p)
    for part in parts:
        if part in (".", "..") or ("{" in part and not _CAPTURE.match(part)):
            raise ConfigError(f"{where}: pattern part {part!r}: use {{field}}, * or a literal")
        cap = _CAPTURE.match(part)
        if cap and cap.group(1) not in FIELD_TYPES:
            import difflib  # noqa: PLC0415  (only for a mistyped key)

            close = difflib.get_close_matches(cap.group(1), list(FIELD_TYPES), n=1)
            hint = f"; did you mean {{{close[0]}}}?" if close else ""
            raise ConfigError(
                f"{where}: pattern captures {{{cap.group(1)}}}, not a payload field{hint}"
            )
    return parts


def _strs(value: Any, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def _num(value: Any, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{where}: {key} must be a number of seconds >= 0")
    return float(value)


def parse_watches(raw: Any, where: str) -> tuple[WatchSpec, ...]:
    """Validate `[[watch]]` tables; every error names the table and the key."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: watch must be an array of tables: [[watch]]")
    specs = []
    for i, given in enumerate(raw):
        table = given
        here = f"{where}: [[watch]] #{i + 1}"
        if not isinstance(table, Mapping):
            raise ConfigError(f"{here} must be a table")
        for key in table:
            if key not in WATCH_KEYS:
                import difflib  # noqa: PLC0415  (only for a mistyped key)

                close = difflib.get_close_matches(key, sorted(WATCH_KEYS), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigError(f"{here}: unknown key {key!r}{hint}")
        preset = str(table.get("preset", ""))
        if preset not in ("", "jenkins-home"):
            raise ConfigError(f"{here}: preset {preset!r}: the only preset is jenkins-home")
        if preset == "jenkins-home":
            table = {
                "root": "/var/lib/jenkins",
                "complete_when": "file:build.xml",
                "name": "jenkins",
                **table,
            }
        if not isinstance(table.get("root"), str) or not table["root"]:
            raise ConfigError(f"{here}: root is required (a directory)")
        fields = table.get("fields", {})
        params = table.get("params", {})
        if not isinstance(fields, Mapping) or not isinstance(params, Mapping):
            raise ConfigError(f"{here}: fields and params must be tables")
        specs.append(
            WatchSpec(
                name=str(table.get("name") or f"watch{i + 1}"),
                root=Path(table["root"]),
                pattern=_pattern(str(table.get("pattern", "")), here),
                complete_when=Completion.parse(str(table.get("complete_when", "marker")), here),
                include=_strs(table.get("include", []), here, "include"),
                exclude=_strs(table.get("exclude", []), here, "exclude"),
                repo=Path(table["repo"]) if table.get("repo") else None,
                repos=tuple(Path(r) for r in _strs(table.get("repos", []), here, "repos")),
                fields=dict(fields),
                params={str(k): str(v) for k, v in params.items()},
                cd=bool(table.get("cd", False)),
                min_age=_num(table.get("min_age", 0), here, "min_age"),
                settle=_num(table.get("settle", 2.0), here, "settle"),
                grace=_num(table.get("grace", 600), here, "grace"),
                force_polling=bool(table.get("force_polling", False)),
                preset=preset,
            )
        )
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: two [[watch]] tables share a name")
    return tuple(specs)


def check_roots(watches: tuple[WatchSpec, ...], state_dir: Path, where: str) -> None:
    """A root that holds the state directory (or is `/`) would see the daemon's own writes as
    builds, completing them again every few seconds for ever."""
    state = Path(os.path.realpath(state_dir))
    for w in watches:
        root = Path(os.path.realpath(w.root))
        if root == Path("/"):
            raise ConfigError(
                f'{where}: [[watch]] {w.name}: root = "/" watches the whole machine, the state '
                "directory included: name the directory the builds are in"
            )
        if state == root or root in state.parents:
            raise ConfigError(
                f"{where}: the state directory {state_dir} is inside the watched root {w.root} "
                f"([[watch]] {w.name}): the daemon's own writes would look like builds; move "
                "[state] dir out of it"
            )
