"""Stage 2, context: the facts no file holds, from the CI's environment, git, the
`.sei-watch.json` marker and the builds reported before.

Enters: a build directory and an environment.
Leaves: a `BuildContext` (payload fields with where each came from) and the `BuildState` that
remembers what was reported.
"""

from typing import TYPE_CHECKING

# The state database's file name, here so that a look for it costs no sqlite3 import.
STATE_FILE = "state.db"

if TYPE_CHECKING:
    from .ci_env import detect
    from .facts import BuildContext, collect
    from .git_facts import finish
    from .gitinfo import Git, GitError, clean_url, find_top, normalise_branch
    from .jenkins_names import JobNames
    from .marker import MARKER_NAME, write_marker
    from .state import BuildState
else:
    from sei_watch._lazy import exports

    __getattr__ = exports(
        __name__,
        {
            "detect": "ci_env",
            "BuildContext": "facts",
            "collect": "facts",
            "finish": "git_facts",
            "Git": "gitinfo",
            "GitError": "gitinfo",
            "clean_url": "gitinfo",
            "find_top": "gitinfo",
            "normalise_branch": "gitinfo",
            "JobNames": "jenkins_names",
            "MARKER_NAME": "marker",
            "write_marker": "marker",
            "BuildState": "state",
        },
    )

__all__ = [
    "MARKER_NAME",
    "STATE_FILE",
    "BuildContext",
    "BuildState",
    "Git",
    "GitError",
    "JobNames",
    "clean_url",
    "collect",
    "detect",
    "find_top",
    "finish",
    "normalise_branch",
    "write_marker",
]
