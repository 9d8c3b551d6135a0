"""Path globs matched in our own code (watchdog's matching changes between releases).

`**` spans any number of directories, `*` and `?` stay inside one, `{a,b}` is either (not
nested), `[0-9]` and `[!x]` are character classes within one name; a pattern without a `/`
matches the file name at any depth, as in .gitignore. Anything else is an error naming the
pattern, never literal text by surprise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import PurePath

from .errors import ConfigError

__all__ = ["GlobSet", "compile_glob"]


def _translate(pattern: str, whole: str) -> str:
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
        elif pattern[i] == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                raise ConfigError(f"glob {whole!r}: a [class] that is not closed")
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            chars = re.escape(body[1:] if negate else body).replace("\\-", "-")
            out.append(f"[^/{chars}]" if negate else f"[{chars}]")
            i = end + 1
        elif pattern[i] == "{":
            end = pattern.find("}", i)
            if end < 0 or "{" in pattern[i + 1 : end]:
                raise ConfigError(f"glob {whole!r}: a {{a,b}} that is not closed, or nested")
            alternatives = pattern[i + 1 : end].split(",")
            out.append("(?:" + "|".join(_translate(a, whole) for a in alternatives) + ")")
            i = end + 1
        elif pattern[i] == "}":
            raise ConfigError(f"glob {whole!r}: a }} with no {{")
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


@lru_cache(maxsize=512)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """Translate one glob into an anchored regex over POSIX relative paths."""
    anchored = pattern if "/" in pattern else "**/" + pattern
    return re.compile(_translate(anchored, pattern) + r"\Z")


class GlobSet:
    """A set of globs; `match` answers for a path relative to its root."""

    __slots__ = ("_regexes", "patterns")

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        self._regexes = tuple(compile_glob(p) for p in self.patterns)

    def match(self, rel: PurePath | str) -> bool:
        """Whether any glob matches `rel` (a path relative to the watched root)."""
        if not self._regexes:
            return False  # most parsers have no configured globs, and files are many
        text = rel.as_posix() if isinstance(rel, PurePath) else rel
        return any(rx.match(text) for rx in self._regexes)

    def __bool__(self) -> bool:
        return bool(self.patterns)
