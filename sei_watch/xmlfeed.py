"""Feeding untrusted XML to lxml's push parser in bounded memory, for the parsers and for
the test-report zip alike."""

from __future__ import annotations

from typing import Any

from .errors import ParseError

__all__ = ["MAX_OPEN_TAG", "Feeder", "UnendingTag"]

# libxml2's push parser holds a tag it has not seen the end of whole, at about ten times its
# size, before it parses it: a start tag that never closes grew to 1.5 GB on a 153 MB file.
# No report needs 2 MiB without a '>' (libxml2 refuses attribute values over 10 MB anyway).
MAX_OPEN_TAG = 2 << 20


class UnendingTag(ParseError):
    """A tag (or a run of text) with no `>` for MAX_OPEN_TAG bytes: read no further."""


class Feeder:
    """Feeds a pull parser chunk by chunk, counting lines, and stops at a tag that never ends,
    before libxml2 buffers it."""

    def __init__(self, parser: Any) -> None:
        self.parser = parser
        self.line = 1
        self._open = 0  # bytes since the last '>'

    def feed(self, chunk: bytes) -> None:
        gt = chunk.rfind(b">")
        self._open = self._open + len(chunk) if gt < 0 else len(chunk) - 1 - gt
        if self._open > MAX_OPEN_TAG:
            raise UnendingTag(
                f"no '>' in {MAX_OPEN_TAG >> 20} MiB: a tag that never ends; not read further",
                line=self.line,
            )
        self.line += chunk.count(b"\n")
        self.parser.feed(chunk)
