"""Config globs have a documented syntax (issue #19, item 7): `**`, `*`, `?`, `{a,b}` and
`[0-9]` / `[!x]` classes, as gitwildmatch; a pattern they cannot read is an error naming it."""

from __future__ import annotations

import pytest

from sei_watch.errors import ConfigError
from sei_watch.globs import GlobSet


@pytest.mark.parametrize(
    ("pattern", "path", "hit"),
    [
        ("**/TEST-{unit,it}-*.xml", "a/b/TEST-unit-1.xml", True),
        ("**/TEST-{unit,it}-*.xml", "TEST-it-9.xml", True),
        ("**/TEST-{unit,it}-*.xml", "TEST-e2e-1.xml", False),
        ("reports/run[0-9].xml", "reports/run7.xml", True),
        ("reports/run[0-9].xml", "reports/runx.xml", False),
        ("logs/[!.]*.log", "logs/build.log", True),
        ("logs/[!.]*.log", "logs/.hidden.log", False),
        ("out/*.xml", "out/a/b.xml", False),
        ("{a,b}/**/*.json", "b/x/y/z.json", True),
    ],
)
def test_glob_syntax(pattern: str, path: str, hit: bool) -> None:
    """Braces and classes are read as glob syntax, not as literal text."""
    assert GlobSet([pattern]).match(path) is hit


@pytest.mark.parametrize("pattern", ["run[0-9.xml", "out/{a,b.xml", "{a,{b,c}}/x"])
def test_unreadable_glob_is_an_error(pattern: str) -> None:
    """An unclosed class or brace, or nested braces, is refused with the pattern named."""
    with pytest.raises(ConfigError, match="glob"):
        GlobSet([pattern])
