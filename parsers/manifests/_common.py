"""Shared by the manifest parsers: image references, streamed hashes, bounded archive reads."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sei_watch.plugins import ParseContext, ParseError
from sei_watch.records import Artifact

if TYPE_CHECKING:
    import zipfile

__all__ = [
    "DEFAULT_HASH_CAP",
    "ImageRef",
    "artifact",
    "file_sha256",
    "image_artifact",
    "parse_image",
    "zip_member",
]

DEFAULT_HASH_CAP = 2 << 30
MAX_MEMBER = 1 << 20
_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-fA-F0-9]{32,}$")


class ImageRef:
    """`registry/namespace/name[:tag][@sha256:digest]`, split the way SEI names an image (and
    Harness CD records one): location = `registry/namespace`, name = the last segment,
    qualifier = the tag (the digest when there is no tag), hash = the digest."""

    __slots__ = ("digest", "repository", "tag")

    def __init__(self, repository: str, tag: str, digest: str) -> None:
        self.repository, self.tag, self.digest = repository, tag, digest

    @property
    def name(self) -> str:
        return self.repository.rpartition("/")[2]

    @property
    def location(self) -> str:
        return self.repository.rpartition("/")[0]

    @property
    def qualifier(self) -> str:
        return self.tag or self.digest or "latest"

    @property
    def hash(self) -> str:
        return self.digest

    @property
    def reference(self) -> str:
        """The whole reference, as written: kept in the artifact's metadata."""
        ref = self.repository + (f":{self.tag}" if self.tag else "")
        return ref + (f"@{self.digest}" if self.digest else "")


def parse_image(ref: str) -> ImageRef | None:
    ref = ref.strip().strip("'\"")
    if not ref or any(c.isspace() for c in ref) or "${" in ref or "{{" in ref:
        return None
    name, _, digest = ref.partition("@")
    if digest and not _DIGEST.match(digest):
        return None
    tag = ""
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:  # a colon after the last slash is a tag, not a registry port
        name, tag = name[:colon], name[colon + 1 :]
    if not name or not re.match(r"^[A-Za-z0-9][A-Za-z0-9._/:-]*$", name):
        return None
    return ImageRef(name, tag, digest)


def artifact(
    ctx: ParseContext,
    path: Path,
    *,
    kind: str,
    name: str,
    qualifier: str,
    location: str,
    hash_: str = "",
    output: bool = True,
    metadata: Mapping[str, Any] | None = None,
) -> Artifact:
    meta = tuple((str(k), "" if v is None else str(v)) for k, v in (metadata or {}).items())
    return Artifact(
        type=kind,
        name=name,
        qualifier=qualifier,
        location=location,
        hash=hash_,
        output=output,
        input=not output,
        metadata=meta,
        source=ctx.rel(path),
    )


def image_artifact(
    ctx: ParseContext,
    path: Path,
    ref: ImageRef,
    *,
    digest: str = "",
    output: bool = True,
    metadata: Mapping[str, Any] | None = None,
) -> Artifact:
    return artifact(
        ctx,
        path,
        kind="container",
        name=ref.name,
        qualifier=ref.qualifier,
        location=ref.location,
        hash_=ref.digest or digest,
        output=output,
        metadata={"image": ref.reference, **(metadata or {})},
    )


def file_sha256(ctx: ParseContext, path: Path) -> tuple[str, dict[str, str]]:
    """`sha256:<hex>` of a file, streamed; over the cap, no hash and a flag saying so."""
    import hashlib  # noqa: PLC0415  (OpenSSL's loading: only for a file that is hashed)

    cap = int(ctx.options.get("hash_max_bytes", DEFAULT_HASH_CAP))
    digest = hashlib.sha256()
    size = 0
    with ctx.open(path) as fh:
        while chunk := fh.read(1 << 20):
            size += len(chunk)
            if size > cap:
                return "", {"size": str(path.stat().st_size), "hash_skipped": f"over {cap} bytes"}
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}", {"size": str(size)}


def zip_member(zf: zipfile.ZipFile, pattern: re.Pattern[str]) -> tuple[str, bytes] | None:
    """The first member whose name matches, read only if its stated size is small (and then
    read with a bound, so a lying header cannot expand it past the limit)."""
    for info in zf.infolist():
        if pattern.search(info.filename):
            if info.file_size > MAX_MEMBER:
                raise ParseError(
                    f"{info.filename} claims {info.file_size} bytes; over the "
                    f"{MAX_MEMBER} limit (a zip bomb?)"
                )
            with zf.open(info) as member:
                data = member.read(MAX_MEMBER + 1)
            if len(data) > MAX_MEMBER:
                raise ParseError(f"{info.filename} expands past {MAX_MEMBER} bytes")
            return info.filename, data
    return None
