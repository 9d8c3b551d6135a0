"""The one hardened lxml set-up: no entities, no DTD, no network, bytes we read ourselves.

We never hand lxml a path: `etree.parse(path)` silently gunzips, so a 7.8 KB file can become
hundreds of MB. Parsers get a file object that `ParseContext.open` made safe and bounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict

from lxml import etree

from sei_watch.plugins import ParseContext, ParseError
from sei_watch.xmlfeed import Feeder, UnendingTag

__all__ = [
    "Feeder",
    "UnendingTag",
    "XMLSyntaxError",
    "pull_events",
    "pull_parser",
    "root_tag",
    "tree_parser",
]

XMLSyntaxError = etree.XMLSyntaxError

_PROLOG = re.compile(rb"<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^<>]|<[^<>]*>)*>|\s+", re.S)
_TAG = re.compile(rb"<([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)([^>]*)")
_BOMS = (b"\xef\xbb\xbf",)


def root_tag(head: bytes) -> tuple[str, bool] | None:
    """The root element's name in the first bytes of a document, and whether it sets a default
    namespace; None when the head does not look like XML."""
    for bom in _BOMS:
        head = head.removeprefix(bom)
    pos = 0
    while True:
        m = _PROLOG.match(head, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
    m = _TAG.match(head, pos)
    if not m:
        return None
    return m.group(1).decode("ascii", "replace"), b"xmlns=" in m.group(2)


# Untrusted build output: no entities, DTDs or network, no huge-tree escape hatch.
class _Hardening(TypedDict):
    resolve_entities: bool
    load_dtd: bool
    no_network: bool
    dtd_validation: bool
    huge_tree: bool
    remove_comments: bool
    remove_pis: bool


_HARDENED = _Hardening(
    resolve_entities=False,
    load_dtd=False,
    no_network=True,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


def pull_parser(tags: tuple[str, ...], *, recover: bool = False) -> etree.XMLPullParser:
    """A pull parser reporting start and end of `tags` only, hardened."""
    return etree.XMLPullParser(events=("start", "end"), tag=tags, recover=recover, **_HARDENED)


def tree_parser() -> etree.XMLParser:
    """A parser for small documents read whole (bounded bytes): the same hardening."""
    return etree.XMLParser(**_HARDENED)


CHUNK = 1 << 16


def pull_events(path: Path, ctx: ParseContext, tags: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    """(event, element) for the start and end of `tags`, streamed from a file the context
    opened (bounded, inside the root); malformed XML is a ParseError with its line."""
    parser = pull_parser(tags)
    feeder = Feeder(parser)
    with ctx.open(path) as fh:
        try:
            while chunk := fh.read(CHUNK):
                feeder.feed(chunk)
                yield from parser.read_events()
            parser.close()
            yield from parser.read_events()
        except XMLSyntaxError as exc:
            raise ParseError(f"not well-formed XML: {exc.msg}", line=exc.lineno) from exc
