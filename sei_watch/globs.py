"""Path globs matched in our own code (watchdog's matching changes between releases).

`**` spans any number of directories, `*` and `?` stay inside one; a pattern without a `/`
matches the file name at any depth, as in .gitignore.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import PurePath

__all__ = ["GlobSet", "compile_glob"]


@lru_cache(maxsize=512)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """Translate one glob into an anchored regex over POSIX relative paths."""
    if "/" not in pattern:
        pattern = "**/" + pattern
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


class GlobSet:
    """A set of globs; `match` answers for a path relative to its root."""

    __slots__ = ("_regexes", "patterns")

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        self._regexes = tuple(compile_glob(p) for p in self.patterns)

    def match(self, rel: PurePath | str) -> bool:
        """Whether any glob matches `rel` (a path relative to the watched root)."""
        text = rel.as_posix() if isinstance(rel, PurePath) else rel
        return any(rx.match(text) for rx in self._regexes)

    def __bool__(self) -> bool:
        return bool(self.patterns)
