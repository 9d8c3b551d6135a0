"""SEI artifact manifests, the files the SEI Jenkins plugin reads from a run's artifacts.

`artifact-manifest.json` and `sei-artifacts.json` hold `{"artifacts": [...]}`,
`{"artifact": {...}}`, or one flat artifact object.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any

from sei_watch.plugins import ParseContext, ParseError
from sei_watch.records import Artifact, Record

from ._json import load_json, text_of

__all__ = ["SeiManifestParser"]

NAMES = frozenset({"artifact-manifest.json", "sei-artifacts.json"})
REQUIRED = ("type", "location", "name", "qualifier")


def _nodes(doc: Any) -> list[Any]:
    if isinstance(doc, dict):
        if isinstance(doc.get("artifacts"), list):
            return list(doc["artifacts"])
        if isinstance(doc.get("artifact"), dict):
            return [doc["artifact"]]
        if any(k in doc for k in ("name", "location", "qualifier")):
            return [doc]
    raise ParseError(
        'holds no artifacts: expected {"artifacts": [...]}, {"artifact": {...}} or one artifact'
    )


def _flag(node: dict[str, Any], key: str) -> bool:
    value = node.get(key)
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


class SeiManifestParser:
    """Artifacts declared by the build itself, in the SEI plugin's manifest format."""

    name = "sei-manifest"

    def matches(self, path: PurePath) -> bool:
        return path.name in NAMES

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        for i, node in enumerate(_nodes(load_json(path, ctx))):
            if not isinstance(node, dict):
                yield ctx.problem(path, f"artifact #{i + 1} is not an object")
                continue
            missing = [k for k in REQUIRED if not text_of(node, k)]
            if missing:
                label = text_of(node, "name") or f"#{i + 1}"
                yield ctx.problem(
                    path, f"artifact {label} is missing {', '.join(missing)}; it is not sent"
                )
                continue
            meta = node.get("metadata")
            metadata = (
                tuple((str(k), text_of(meta, k)) for k in meta) if isinstance(meta, dict) else ()
            )
            yield Artifact(
                input=_flag(node, "input"),
                output=_flag(node, "output"),
                type=text_of(node, "type"),
                location=text_of(node, "location"),
                name=text_of(node, "name"),
                qualifier=text_of(node, "qualifier"),
                hash=text_of(node, "hash"),
                metadata=metadata,
                source=ctx.rel(path),
            )
