"""Where the tests find their data: this repo's tests/data and the shared corpus beside it."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def corpus_dir() -> Path:
    """The read-only shared corpus: $SEI_WATCH_CORPUS, else ../shared/corpus beside the repo."""
    env = os.environ.get("SEI_WATCH_CORPUS")
    if env:
        return Path(env)
    for base in (ROOT.parent / "shared" / "corpus", ROOT.parent.parent / "shared" / "corpus"):
        if base.is_dir():
            return base
    return ROOT.parent / "shared" / "corpus"
