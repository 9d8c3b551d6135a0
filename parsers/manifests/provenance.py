"""SBOMs and provenance: CycloneDX, SPDX, in-toto / SLSA statements, JFrog build-info.

What a document describes is an output; its materials and dependencies are inputs."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import unquote

from sei_watch.plugins import ParseContext, ParseError
from sei_watch.records import Record

from .._json import decode_json, load_json
from ._common import artifact, image_artifact, parse_image

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
    sniff_suffixes = (".json",)

    def matches(self, path: PurePath) -> bool:
        return path.name in ("bom.json", "sbom.json") or path.name.endswith(
            (".cdx.json", ".bom.json")
        )

    def sniff(self, head: bytes) -> bool:
        return b'"bomFormat"' in head and b"CycloneDX" in head

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
        if comp.get("type") == "container":
            yield from self._image(ctx, path, comp, version, purl)
            return
        if not version:
            version = _purl_version(purl) or _best(hashes)
        if not version:
            # SEI's artifact table needs only a name; the SBOM still says what was built.
            yield ctx.problem(
                path,
                f"component {comp.get('name')!r} has no version, purl version or checksum; "
                "sent with an empty qualifier",
            )
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

    @staticmethod
    def _image(
        ctx: ParseContext, path: Path, comp: dict[str, Any], version: str, purl: str
    ) -> Iterator[Record]:
        """An image SBOM: the image is a container artifact in SEI's naming. trivy names the
        component after what it scanned (a tar path, say) and keeps the image in its
        `aquasecurity:trivy:RepoTag`/`RepoDigest` properties; syft puts the digest in
        `version`; both may carry the digest in an OCI purl."""
        tag_ref = _property(comp, "aquasecurity:trivy:RepoTag")
        digest_ref = _property(comp, "aquasecurity:trivy:RepoDigest")
        repo, purl_digest = _oci_purl(purl)
        digest = next(
            (d for d in (digest_ref.partition("@")[2], version, purl_digest)
             if d.startswith("sha256:") and len(d) == 71),
            "",
        )  # fmt: skip
        for candidate in (tag_ref, str(comp.get("name", "")), repo):
            ref = parse_image(candidate) if candidate else None
            if ref is not None and digest and not ref.digest and not ref.tag:
                ref = parse_image(f"{candidate}@{digest}")  # digest-only: SEI's qualifier
            if (
                ref is not None
                and ("/" in candidate or ":" in candidate)
                and not (candidate.endswith((".tar", ".tar.gz", ".tgz")))
            ):
                yield image_artifact(ctx, path, ref, digest=digest, metadata={"purl": purl})
                return
        yield ctx.problem(
            path,
            f"image SBOM of {comp.get('name')!r}: no image name (no RepoTag, RepoDigest or "
            "registry reference); not sent",
        )


def _property(comp: dict[str, Any], name: str) -> str:
    for prop in comp.get("properties") or []:
        if isinstance(prop, dict) and prop.get("name") == name and prop.get("value"):
            return str(prop["value"])
    return ""


def _oci_purl(purl: str) -> tuple[str, str]:
    """(repository, digest) of `pkg:oci/name@sha256:…?repository_url=host%2Fpath`."""
    if not purl.startswith("pkg:oci/"):
        return "", ""
    body, _, query = purl.partition("?")
    digest = unquote(body.partition("@")[2])
    repo = ""
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key == "repository_url":
            repo = unquote(value)
    return repo, digest


def _purl_version(purl: str) -> str:
    """`pkg:golang/x/y@v1.2.3?arch=amd64` -> `v1.2.3`."""
    return purl.partition("@")[2].split("?")[0].split("#")[0] if "@" in purl else ""


class Spdx:
    """`*.spdx.json` (SPDX 2.x) and `*.spdx3.json` / any SPDX 3.0 JSON-LD (`@context`,
    `@graph`): the packages the document describes. A package without a version is named by
    its purl's version or its checksum, else reported and not sent."""

    name = "spdx"
    sniff_suffixes = (".json",)

    def matches(self, path: PurePath) -> bool:
        return path.name.endswith((".spdx.json", ".spdx3.json"))

    def sniff(self, head: bytes) -> bool:
        return (b"spdx.org/rdf/3." in head and b"@graph" in head) or b'"spdxVersion"' in head

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        doc = load_json(path, ctx)
        if isinstance(doc, dict) and isinstance(doc.get("@graph"), list):
            yield from self._spdx3(ctx, path, doc)
            return
        if not isinstance(doc, dict) or not str(doc.get("spdxVersion", "")).startswith("SPDX-"):
            raise ParseError("not an SPDX JSON document (spdxVersion, or an SPDX 3 @graph)")
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
            yield self._package(
                ctx,
                path,
                name=str(pkg.get("name", "")),
                version=str(pkg.get("versionInfo", "")),
                purl=purl,
                digest=_best(sums),
                location=purl or str(pkg.get("downloadLocation") or ""),
            )

    @staticmethod
    def _package(
        ctx: ParseContext, path: Path, *, name: str, version: str, purl: str, digest: str,
        location: str,
    ) -> Record:  # fmt: skip
        qualifier = version or _purl_version(purl) or digest
        if not qualifier:
            return ctx.problem(
                path, f"package {name!r} has no version, purl version or checksum; not sent"
            )
        return artifact(
            ctx,
            path,
            kind="package",
            name=name,
            qualifier=qualifier,
            location=location or name,
            hash_=digest,
            metadata={"purl": purl, **({} if version else {"version": "(none stated)"})},
        )

    def _spdx3(self, ctx: ParseContext, path: Path, doc: dict[str, Any]) -> Iterator[Record]:
        graph = [e for e in doc["@graph"] if isinstance(e, dict)]
        by_id = {str(e.get("spdxId") or e.get("@id") or ""): e for e in graph}
        roots: list[str] = []
        for e in graph:
            if e.get("type") == "SpdxDocument":
                roots += [str(r) for r in e.get("rootElement") or []]
            source = by_id.get(str(e.get("from")), {})
            if e.get("relationshipType") == "describes" and source.get("type") == "SpdxDocument":
                roots += [str(t) for t in e.get("to") or []]
        if not roots:  # no document element: the SBOMs' roots
            roots = [str(r) for e in graph if e.get("type") == "software_Sbom"
                     for r in e.get("rootElement") or []]  # fmt: skip
        seen: set[str] = set()
        found = 0
        while roots and len(seen) < 10_000:
            ident = roots.pop(0)
            if ident in seen:
                continue
            seen.add(ident)
            element = by_id.get(ident)
            if element is None:
                continue
            kind = str(element.get("type", ""))
            if kind in ("software_Sbom", "Bom", "Bundle"):  # a collection: what it is about
                roots += [str(r) for r in element.get("rootElement") or []]
                continue
            if not kind.endswith("Package"):
                continue
            found += 1
            hashes = {
                str(h.get("algorithm", "")).lower().replace("-", ""): str(h.get("hashValue", ""))
                for h in element.get("verifiedUsing") or []
                if isinstance(h, dict) and h.get("type") == "Hash"
            }
            purl = str(element.get("software_packageUrl") or "") or next(
                (
                    str(x.get("identifier", ""))
                    for x in element.get("externalIdentifier") or []
                    if isinstance(x, dict) and x.get("externalIdentifierType") == "packageUrl"
                ),
                "",
            )
            yield self._package(
                ctx,
                path,
                name=str(element.get("name", "")),
                version=str(element.get("software_packageVersion", "")),
                purl=purl,
                digest=_best(hashes),
                location=purl or str(element.get("software_downloadLocation") or ""),
            )
        if not found:
            yield ctx.problem(path, "the SPDX 3 document describes no package; nothing sent")


def _statement(raw: Any) -> dict[str, Any] | None:
    if isinstance(raw, dict) and "payload" in raw:  # a DSSE envelope
        try:
            raw = decode_json(base64.b64decode(raw["payload"], validate=True))
        except (ValueError, TypeError, ParseError):
            return None
    return raw if isinstance(raw, dict) and "subject" in raw else None


def _statements(raw: Any) -> list[dict[str, Any]] | None:
    """The in-toto statements a document carries: itself, a DSSE envelope of one, a Sigstore
    bundle (`mediaType` application/vnd.dev.sigstore.bundle…, the envelope in `dsseEnvelope`:
    slsa-github-generator, npm provenance, GitHub artifact attestations), or the npm registry's
    `{"attestations": [{"bundle": …}]}`. None when it is none of these."""
    if isinstance(raw, dict) and isinstance(raw.get("attestations"), list):
        found = [s for a in raw["attestations"] if isinstance(a, dict)
                 for s in _statements(a.get("bundle")) or []]  # fmt: skip
        return found or None
    if isinstance(raw, dict) and str(raw.get("mediaType", "")).startswith(_BUNDLE):
        envelope = raw.get("dsseEnvelope")
        stmt = _statement(envelope) if isinstance(envelope, dict) else None
        return [stmt] if stmt is not None else None
    stmt = _statement(raw)
    return [stmt] if stmt is not None else None


_BUNDLE = "application/vnd.dev.sigstore.bundle"


class InToto:
    """`*.intoto.jsonl`, DSSE envelopes and Sigstore bundles: subjects are outputs; materials /
    resolvedDependencies are inputs."""

    name = "in-toto"
    sniff_suffixes = (".json", ".jsonl")

    def matches(self, path: PurePath) -> bool:
        return path.name.endswith((".intoto.jsonl", ".intoto.json"))

    def sniff(self, head: bytes) -> bool:
        """BuildKit's `provenance.json` and any statement: claimed by `_type`/`predicateType`,
        or a DSSE envelope of one."""
        statement = b"in-toto.io/Statement" in head and b'"predicateType"' in head
        bundle = b"vnd.dev.sigstore.bundle" in head and b'"dsseEnvelope"' in head
        return statement or bundle or (b'"payloadType"' in head and b"in-toto" in head)

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        text = ctx.read_bytes(path).decode("utf-8", "replace")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if path.name.endswith(".json"):
            lines = [text]  # one statement, possibly pretty-printed
        seen: set[Any] = set()
        for no, line in enumerate(lines, 1):
            try:
                stmts = _statements(decode_json(line))
            except ParseError as exc:
                yield ctx.problem(path, exc.reason, line=no)
                continue
            if stmts is None:
                yield ctx.problem(
                    path,
                    "neither an in-toto statement, a DSSE envelope nor a Sigstore bundle",
                    line=no,
                )
                continue
            for stmt in stmts:
                pred = stmt.get("predicate") or {}
                deps = (
                    pred.get("materials")
                    or ((pred.get("buildDefinition") or {}).get("resolvedDependencies"))
                    or []
                )
                items = [(s, True) for s in stmt.get("subject") or []]
                for item, output in [*items, *((d, False) for d in deps)]:
                    record = self._one(ctx, path, item, output=output)
                    key = repr(record)  # two bundles of one package name it twice
                    if key not in seen:
                        seen.add(key)
                        yield record

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
        version = version.split("?")[0].split("#")[0]  # a purl's qualifiers are no version
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
        seen: set[tuple[bool, str, str]] = set()  # a dependency two modules share: once
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
                    key_id = (output, name, _best(sums))
                    if key_id in seen:
                        continue
                    seen.add(key_id)
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
