"""Stage 1, scan: a build directory becomes the records its files hold.

Enters: a build directory and the registry of parsers (`sei_watch.plugins`).
Leaves: a `ScanResult`, the records of every file a parser claimed, and one `ParseProblem` for
each file that could not be read or parsed (a bad file costs that file only).
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .workspace import ScanResult, files_under, parse_claimed, parse_file, scan
else:
    from sei_watch._lazy import exports

    __getattr__ = exports(
        __name__,
        {
            "ScanResult": "workspace",
            "files_under": "workspace",
            "parse_claimed": "workspace",
            "parse_file": "workspace",
            "scan": "workspace",
        },
    )

__all__ = [
    "ScanResult",
    "files_under",
    "parse_claimed",
    "parse_file",
    "scan",
]
