"""Packages a build produced: goreleaser's dist/artifacts.json, npm pack output and tarballs,
Python wheels and sdists, Maven jars and wars. Names and versions come from the package's own
metadata, never from the file name alone; local files are hashed by streaming."""

from __future__ import annotations

import re
import tarfile
import zipfile
from collections.abc import Iterator
from email.parser import HeaderParser
from pathlib import Path, PurePath

from sei_watch.plugins import ParseContext, ParseError
from sei_watch.records import Record

from .._json import decode_json, load_json
from ._common import (
    MAX_MEMBER,
    artifact,
    file_sha256,
    image_artifact,
    parse_image,
    zip_member,
)

__all__ = ["Goreleaser", "MavenJar", "NpmPack", "PythonDist"]

MAX_TAR_MEMBERS = 20_000
MAX_TAR_BYTES = 256 << 20
_GORELEASER = {
    "Archive": "archive",
    "Binary": "binary",
    "Docker Image": "container",
    "Docker Manifest": "container",
    "Linux Package": "package",
    "Checksum": "checksum",
}


class Goreleaser:
    """`dist/artifacts.json`, with `dist/metadata.json` for version, tag and commit."""

    name = "goreleaser"

    def matches(self, path: PurePath) -> bool:
        return path.name == "artifacts.json" and "dist" in path.parts[:-1]

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        items = load_json(path, ctx)
        if not isinstance(items, list):
            raise ParseError("artifacts.json is not a list")
        meta_path = path.parent / "metadata.json"
        meta = load_json(meta_path, ctx) if meta_path.is_file() else {}
        version = str(meta.get("version", "")) if isinstance(meta, dict) else ""
        extra = (
            {k: meta.get(k, "") for k in ("tag", "commit", "project_name")}
            if isinstance(meta, dict)
            else {}
        )
        for item in items:
            if not isinstance(item, dict) or item.get("type") not in _GORELEASER:
                continue
            kind = _GORELEASER[item["type"]]
            checksum = str((item.get("extra") or {}).get("Checksum", ""))
            if kind == "container":
                ref = parse_image(str(item.get("name", "")))
                if ref is None:
                    yield ctx.problem(path, f"{item.get('name')!r} is not an image reference")
                    continue
                yield image_artifact(ctx, path, ref, digest=checksum, metadata=extra)
                continue
            qualifier = version or extra.get("tag", "")
            if not qualifier:
                yield ctx.problem(
                    path, f"{item.get('name')}: no version (dist/metadata.json missing?); not sent"
                )
                continue
            yield artifact(
                ctx,
                path,
                kind=kind,
                name=str(item.get("name", "")),
                qualifier=qualifier,
                location=str(item.get("path", "")),
                hash_=checksum,
                metadata={**extra, "goos": item.get("goos", ""), "goarch": item.get("goarch", "")},
            )


def _tar_member(ctx: ParseContext, path: Path, want: re.Pattern[str]) -> bytes | None:
    """A small member of a (gzipped) tarball, read as a stream with bounds on count and bytes,
    so a compression bomb cannot expand."""
    seen, total = 0, 0
    with ctx.open(path) as fh, tarfile.open(fileobj=fh, mode="r|*") as tar:
        for member in tar:
            seen += 1
            total += member.size
            if seen > MAX_TAR_MEMBERS or total > MAX_TAR_BYTES:
                raise ParseError(
                    f"more than {MAX_TAR_MEMBERS} members or {MAX_TAR_BYTES} "
                    "bytes before the metadata (a bomb?)"
                )
            if member.isfile() and want.fullmatch(member.name):
                if member.size > MAX_MEMBER:
                    raise ParseError(f"{member.name} is {member.size} bytes; over the limit")
                extracted = tar.extractfile(member)
                return extracted.read(MAX_MEMBER) if extracted else None
    return None


class NpmPack:
    """`npm pack --json` output (npm-pack.json) and `.tgz` packages (their package.json)."""

    name = "npm-pack"

    def matches(self, path: PurePath) -> bool:
        return path.name == "npm-pack.json" or path.suffix == ".tgz"

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        if path.suffix == ".tgz":
            try:
                raw = _tar_member(ctx, path, re.compile(r"package/package\.json"))
            except (tarfile.TarError, EOFError, OSError) as exc:
                raise ParseError(f"not a readable npm tarball: {exc}") from exc
            if raw is None:
                raise ParseError("no package/package.json in the tarball")
            pkg = decode_json(raw)
            if not isinstance(pkg, dict):
                raise ParseError("package/package.json is not a JSON object")
            digest, meta = file_sha256(ctx, path)
            yield artifact(
                ctx,
                path,
                kind="npm",
                name=str(pkg.get("name", "")),
                qualifier=str(pkg.get("version", "")),
                location=ctx.rel(path),
                hash_=digest,
                metadata=meta,
            )
            return
        doc = load_json(path, ctx)
        for pkg in doc if isinstance(doc, list) else [doc]:
            if not isinstance(pkg, dict) or not pkg.get("name") or not pkg.get("version"):
                yield ctx.problem(path, "an entry without name or version; not sent")
                continue
            yield artifact(
                ctx,
                path,
                kind="npm",
                name=str(pkg["name"]),
                qualifier=str(pkg["version"]),
                location=str(pkg.get("filename", "")),
                hash_=str(pkg.get("integrity") or pkg.get("shasum") or ""),
                metadata={"shasum": pkg.get("shasum", "")},
            )


class PythonDist:
    """Wheels and sdists in dist/: name and version from METADATA or PKG-INFO."""

    name = "python-dist"

    def matches(self, path: PurePath) -> bool:
        return "dist" in path.parts[:-1] and (
            path.suffix == ".whl" or path.name.endswith((".tar.gz", ".zip"))
        )

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        try:
            if path.suffix == ".whl":
                with ctx.open(path) as fh, zipfile.ZipFile(fh) as zf:
                    found = zip_member(zf, re.compile(r"^[^/]+\.dist-info/METADATA$"))
                raw = found[1] if found else None
                kind = "wheel"
            elif path.name.endswith(".zip"):
                with ctx.open(path) as fh, zipfile.ZipFile(fh) as zf:
                    found = zip_member(zf, re.compile(r"^[^/]+/PKG-INFO$"))
                raw, kind = (found[1] if found else None), "sdist"
            else:
                raw, kind = _tar_member(ctx, path, re.compile(r"[^/]+/PKG-INFO")), "sdist"
        except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
            raise ParseError(f"not a readable {path.suffix} archive: {exc}") from exc
        if raw is None:
            raise ParseError("no METADATA / PKG-INFO inside: name and version unknown")
        headers = HeaderParser().parsestr(raw.decode("utf-8", "replace"))
        name, version = headers.get("Name", ""), headers.get("Version", "")
        if not name or not version:
            raise ParseError("METADATA / PKG-INFO lacks Name or Version")
        digest, meta = file_sha256(ctx, path)
        yield artifact(
            ctx,
            path,
            kind=kind,
            name=name,
            qualifier=version,
            location=ctx.rel(path),
            hash_=digest,
            metadata=meta,
        )


class MavenJar:
    """Jars and wars in target/, named by META-INF/maven/**/pom.properties."""

    name = "maven-jar"

    def matches(self, path: PurePath) -> bool:
        return "target" in path.parts[:-1] and path.suffix in (".jar", ".war", ".ear")

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        try:
            with ctx.open(path) as fh, zipfile.ZipFile(fh) as zf:
                found = zip_member(zf, re.compile(r"^META-INF/maven/.+/pom\.properties$"))
        except zipfile.BadZipFile as exc:
            raise ParseError(f"not a readable jar: {exc}") from exc
        if found is None:
            raise ParseError("no META-INF/maven/**/pom.properties: coordinates unknown")
        props = dict(
            (k.strip(), v.strip())
            for k, _, v in (
                line.partition("=")
                for line in found[1].decode("utf-8", "replace").splitlines()
                if "=" in line and not line.lstrip().startswith("#")
            )
        )
        g, a, v = props.get("groupId", ""), props.get("artifactId", ""), props.get("version", "")
        if not (g and a and v):
            raise ParseError(f"{found[0]} lacks groupId, artifactId or version")
        digest, meta = file_sha256(ctx, path)
        yield artifact(
            ctx,
            path,
            kind=path.suffix.lstrip("."),
            name=f"{g}:{a}",
            qualifier=v,
            location=f"{g}:{a}:{v} {ctx.rel(path)}",
            hash_=digest,
            metadata=meta,
        )
