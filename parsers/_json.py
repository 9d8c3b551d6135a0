"""Bounded JSON loading for manifest parsers: one place where JSON errors become ParseErrors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sei_watch.plugins import ParseContext, ParseError

__all__ = ["decode_json", "load_json", "text_of"]

MAX_JSON_BYTES = 16 * 1024**2


def _no_constants(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")


def load_json(path: Path, ctx: ParseContext, *, limit: int = MAX_JSON_BYTES) -> Any:
    """Parse a JSON file of at most `limit` bytes; bad JSON names the line and the reason."""
    return decode_json(ctx.read_bytes(path, limit=limit))


def decode_json(data: bytes | str) -> Any:
    """JSON from bytes already read (an archive member, a line, a DSSE payload): the same
    rules and errors as `load_json`, nesting too deep included."""
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        return json.loads(text, parse_constant=_no_constants)
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"not valid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno
        ) from exc
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"not valid JSON: {exc}") from exc


def text_of(node: dict[str, Any], key: str) -> str:
    """A field as stripped text; null, missing and blank are all ''."""
    value = node.get(key)
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()
