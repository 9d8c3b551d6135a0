"""One rule for every line a person reads: text from build files (test names, file names,
messages) never carries a control character to the terminal. ESC could rewrite the screen or
the window title, a newline could forge a line of our own output, a bidi override could hide
text. The HTML page escapes separately; JSON output is for machines and stays exact."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["safe_copy", "visible"]

# C0 (tab and newline included), DEL, C1, and the bidi embeddings, overrides and isolates.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group(0)
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str) -> str:
    """`text` with every control character shown as a visible escape (`\\x1b`, `\\n`)."""
    return _CONTROL.sub(_escape, text)


def safe_copy(value: Any) -> Any:
    """A copy of a payload (or any JSON-like value) with every string made visible."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, Mapping):
        return {visible(str(k)): safe_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe_copy(v) for v in value]
    return value
