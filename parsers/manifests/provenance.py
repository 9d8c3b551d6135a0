"""SBOMs and provenance: CycloneDX, SPDX, in-toto / SLSA statements, JFrog build-info.

What a document describes is an output; its materials and dependencies are inputs."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any

from sei_watch import ParseContext, ParseError, Record

from .._json import load_json
from ._common import artifact

__all__ = ["BuildInfo", "CycloneDx", "InToto", "Spdx"]

_ALGS = {
    "SHA-256": "sha256",
    "SHA256": "sha256",
    "SHA-1": "sha1",
    "SHA1": "sha1",
    "SHA-512": "sha512",
    "SHA512": "sha512",
    "MD5": "md5",
}


def _best(hashes: dict[str, str]) -> str:
    """The strongest digest given, as `alg:hex` (gitCommit and the like as a last resort)."""
    for alg in ("sha256", "sha512", "sha1", "md5"):
        if hashes.get(alg):
            return f"{alg}:{hashes[alg]}"
    return next((f"{alg}:{value}" for alg, value in hashes.items() if value), "")


class CycloneDx:
    """`bom.json` / `*.cdx.json`: metadata.component is the output."""

    name = "cyclonedx"

    def matches(self, path: PurePath) -> bool:
        return path.name in ("bom.json", "sbom.json") or path.name.endswith(".cdx.json")

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        doc = load_json(path, ctx)
        if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
            raise ParseError("not a CycloneDX JSON document (bomFormat)")
        comp = (doc.get("metadata") or {}).get("component")
        if not isinstance(comp, dict):
            raise ParseError(
                "metadata.component is missing: the SBOM does not say what it describes"
            )
        hashes = {
            _ALGS.get(str(h.get("alg", "")), str(h.get("alg", ""))).lower(): h.get("content", "")
            for h in comp.get("hashes") or []
            if isinstance(h, dict)
        }
        version = str(comp.get("version", ""))
        purl = str(comp.get("purl", ""))
        if not version:
            yield ctx.problem(path, f"component {comp.get('name')!r} has no version; not sent")
            return
        yield artifact(
            ctx,
            path,
            kind=str(comp.get("type", "library")),
            name=str(comp.get("group", "") + "/" if comp.get("group") else "")
            + str(comp.get("name", "")),
            qualifier=version,
            location=purl or str(comp.get("name", "")),
            hash_=_best(hashes),
            metadata={
                "purl": purl,
                "serialNumber": doc.get("serialNumber", ""),
                "components": len(doc.get("components") or []),
            },
        )


class Spdx:
    """`*.spdx.json`: the packages the document describes."""

    name = "spdx"

    def matches(self, path: PurePath) -> bool:
        return path.name.endswith(".spdx.json")

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        doc = load_json(path, ctx)
        if not isinstance(doc, dict) or not str(doc.get("spdxVersion", "")).startswith("SPDX-"):
            raise ParseError("not an SPDX JSON document (spdxVersion)")
        described = set(doc.get("documentDescribes") or [])
        for rel in doc.get("relationships") or []:
            if rel.get("relationshipType") == "DESCRIBES":
                described.add(rel.get("relatedSpdxElement"))
        for pkg in doc.get("packages") or []:
            if pkg.get("SPDXID") not in described:
                continue
            sums = {
                c.get("algorithm", "").lower(): c.get("checksumValue", "")
                for c in pkg.get("checksums") or []
            }
            purl = next(
                (
                    r.get("referenceLocator", "")
                    for r in pkg.get("externalRefs") or []
                    if r.get("referenceType") == "purl"
                ),
                "",
            )
            version = str(pkg.get("versionInfo", ""))
            if not version:
                yield ctx.problem(path, f"package {pkg.get('name')!r} has no versionInfo")
                continue
            yield artifact(
                ctx,
                path,
                kind="package",
                name=str(pkg.get("name", "")),
                qualifier=version,
                location=purl or str(pkg.get("downloadLocation")),
                hash_=_best(sums),
                metadata={"purl": purl},
            )


def _statement(raw: Any) -> dict[str, Any] | None:
    if isinstance(raw, dict) and "payload" in raw:  # a DSSE envelope
        try:
            raw = json.loads(base64.b64decode(raw["payload"], validate=True))
        except (ValueError, TypeError):
            return None
    return raw if isinstance(raw, dict) and "subject" in raw else None


class InToto:
    """`*.intoto.jsonl`: subjects are outputs; materials / resolvedDependencies are inputs."""

    name = "in-toto"

    def matches(self, path: PurePath) -> bool:
        return path.name.endswith((".intoto.jsonl", ".intoto.json"))

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        text = ctx.read_bytes(path).decode("utf-8", "replace")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if path.name.endswith(".json"):
            lines = [text]
        for no, line in enumerate(lines, 1):
            try:
                stmt = _statement(json.loads(line))
            except ValueError as exc:
                yield ctx.problem(path, f"not JSON: {exc}", line=no)
                continue
            if stmt is None:
                yield ctx.problem(path, "neither an in-toto statement nor a DSSE envelope", line=no)
                continue
            pred = stmt.get("predicate") or {}
            for subj in stmt.get("subject") or []:
                yield self._one(ctx, path, subj, output=True)
            deps = (
                pred.get("materials")
                or ((pred.get("buildDefinition") or {}).get("resolvedDependencies"))
                or []
            )
            for dep in deps:
                yield self._one(ctx, path, dep, output=False)

    @staticmethod
    def _one(ctx: ParseContext, path: Path, item: dict[str, Any], *, output: bool) -> Record:
        name = str(item.get("name") or item.get("uri") or "")
        digest = item.get("digest") or {}
        value = _best({k.lower(): v for k, v in digest.items()}) if isinstance(digest, dict) else ""
        if not name or not value:
            return ctx.problem(
                path,
                f"{'subject' if output else 'material'} {name!r} lacks a "
                "name or a digest; not sent",
            )
        base, _, version = name.partition("@")
        return artifact(
            ctx,
            path,
            kind="provenance",
            name=base,
            qualifier=version or value,
            location=name,
            hash_=value,
            output=output,
        )


class BuildInfo:
    """JFrog `build-info.json`: modules[].artifacts are outputs, .dependencies inputs."""

    name = "jfrog-build-info"

    def matches(self, path: PurePath) -> bool:
        return path.name == "build-info.json"

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        doc = load_json(path, ctx)
        if not isinstance(doc, dict) or "modules" not in doc:
            raise ParseError("not a JFrog build-info document (no modules)")
        for module in doc.get("modules") or []:
            mod_id = str(module.get("id", ""))
            version = (
                mod_id.rsplit(":", 1)[-1] if mod_id.count(":") >= 2 else str(doc.get("number", ""))
            )
            for output, key in ((True, "artifacts"), (False, "dependencies")):
                for item in module.get(key) or []:
                    sums = {a: item.get(a, "") for a in ("sha256", "sha1", "md5")}
                    name = str(item.get("name") or item.get("id") or "")
                    if not name or not version:
                        yield ctx.problem(path, f"{key} entry without name or version")
                        continue
                    yield artifact(
                        ctx,
                        path,
                        kind=str(item.get("type", "file")),
                        name=name if output else name.rsplit(":", 1)[0],
                        qualifier=version if output else name.rsplit(":", 1)[-1],
                        location=f"{mod_id} {name}",
                        hash_=_best(sums),
                        output=output,
                        metadata={"module": mod_id, "build": doc.get("name", "")},
                    )
