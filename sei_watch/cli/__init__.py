"""The `sei-watch` command: parses arguments, calls the stages, prints, and returns an
`ExitStatus`.

Enters: argv and an `Io` (streams, environment, clock) that tests replace.
Leaves: an exit status.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .entry import main
else:
    from sei_watch._lazy import exports

    __getattr__ = exports(
        __name__,
        {
            "main": "entry",
        },
    )

__all__ = [
    "main",
]
