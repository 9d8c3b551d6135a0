"""Container images a build produced: docker buildx `--metadata-file`, OCI image layouts,
`docker save` manifests, Jib's `jib-image.json`, and the digest files of kaniko, ko and crane."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any

from sei_watch.plugins import ParseContext, ParseError
from sei_watch.records import Record

from .._json import load_json
from ._common import image_artifact, parse_image

__all__ = ["BuildxMetadata", "DigestFiles", "DockerSave", "JibImage", "OciLayout"]


class BuildxMetadata:
    """`docker buildx build --metadata-file F`: one record per name in `image.name`."""

    name = "buildx-metadata"
    sniff_suffixes = (".json",)

    def matches(self, path: PurePath) -> bool:
        return path.name in ("buildx-metadata.json", "metadata.json") and "dist" not in path.parts

    def sniff(self, head: bytes) -> bool:
        return b'"containerimage.digest"' in head or b'"buildx.build.ref"' in head

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        doc = load_json(path, ctx)
        if isinstance(doc, dict) and "containerimage.digest" in doc:
            yield from self._one(ctx, path, doc, target="")
            return
        # `docker buildx bake --metadata-file`: the same object per target, keyed by target.
        targets = {
            k: v for k, v in (doc.items() if isinstance(doc, dict) else ()) if isinstance(v, dict)
        }
        if not targets or ("target" in targets and "group" in targets):
            raise ParseError(
                "neither buildx build nor bake metadata (no containerimage.digest at the top or "
                "under a target); a `bake --print` definition lists no built image"
            )
        for target, meta in targets.items():
            if "containerimage.digest" in meta:
                yield from self._one(ctx, path, meta, target=target)
            elif "buildx.build.ref" not in meta:
                yield ctx.problem(
                    path, f"target {target!r}: no containerimage.digest (not pushed?)"
                )

    @staticmethod
    def _one(
        ctx: ParseContext, path: Path, doc: dict[str, Any], *, target: str
    ) -> Iterator[Record]:
        digest = str(doc["containerimage.digest"])
        desc = doc.get("containerimage.descriptor") or {}
        meta = {
            "buildx.build.ref": doc.get("buildx.build.ref", ""),
            "mediaType": desc.get("mediaType", "") if isinstance(desc, dict) else "",
            "size": desc.get("size", "") if isinstance(desc, dict) else "",
        }
        if target:
            meta["bake.target"] = target
        names = [n for n in str(doc.get("image.name", "")).split(",") if n.strip()]
        if not names:
            yield ctx.problem(path, "image.name is empty: the image was not named or pushed")
        for raw in names:
            ref = parse_image(raw)
            if ref is None:
                yield ctx.problem(path, f"image.name {raw!r} is not an image reference")
                continue
            yield image_artifact(ctx, path, ref, digest=digest, metadata=meta)


class OciLayout:
    """An OCI image layout: `index.json` beside `oci-layout`, named by the ref.name annotation."""

    name = "oci-layout"

    def matches(self, path: PurePath) -> bool:
        return path.name == "index.json"

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        if not (path.parent / "oci-layout").is_file():
            return  # an index.json of something else
        doc = load_json(path, ctx)
        for m in doc.get("manifests", []) if isinstance(doc, dict) else []:
            ann = m.get("annotations") or {}
            ref_name = ann.get("org.opencontainers.image.ref.name", "")
            base = ann.get("io.containerd.image.name", "")
            ref = parse_image(base) if base else parse_image(ref_name) if "/" in ref_name else None
            if ref is None:
                tag = ref_name or "latest"
                ref = parse_image(f"{path.parent.name}:{tag}")
            if ref is None:
                yield ctx.problem(path, f"manifest {m.get('digest')} has no usable name")
                continue
            yield image_artifact(
                ctx,
                path,
                ref,
                digest=str(m.get("digest", "")),
                metadata={"mediaType": m.get("mediaType", "")},
            )


class DockerSave:
    """`docker save` archives' `manifest.json`: RepoTags and the Config digest."""

    name = "docker-save"

    def matches(self, path: PurePath) -> bool:
        return path.name == "manifest.json"

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        doc = load_json(path, ctx)
        if not isinstance(doc, list) or not all(isinstance(e, dict) for e in doc):
            return  # another kind of manifest.json (a web app's, say)
        for entry in doc:
            config = str(entry.get("Config", ""))
            blob = config.rsplit("/", maxsplit=1)[-1].removesuffix(".json")
            digest = f"sha256:{blob}" if config else ""
            for tag in entry.get("RepoTags") or []:
                ref = parse_image(str(tag))
                if ref is None:
                    yield ctx.problem(path, f"RepoTags entry {tag!r} is not an image reference")
                    continue
                yield image_artifact(ctx, path, ref, digest=digest, metadata={"config": config})


class JibImage:
    """Jib's `jib-image.json`: image, imageId, imageDigest, tags."""

    name = "jib-image"

    def matches(self, path: PurePath) -> bool:
        return path.name == "jib-image.json"

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        doc: Any = load_json(path, ctx)
        if not isinstance(doc, dict) or not doc.get("image"):
            raise ParseError("jib-image.json without an image")
        base = parse_image(str(doc["image"]))
        if base is None:
            raise ParseError(f"image {doc['image']!r} is not an image reference")
        digest = str(doc.get("imageDigest", ""))
        tags = [str(t) for t in doc.get("tags") or []] or [base.qualifier]
        for tag in tags:
            ref = parse_image(f"{base.repository}:{tag}")
            if ref is not None:
                yield image_artifact(
                    ctx, path, ref, digest=digest, metadata={"imageId": doc.get("imageId", "")}
                )


_REF_LINE = re.compile(r"^\s*(\S+@sha256:[a-f0-9]{64})\s*$|^\s*(sha256:[a-f0-9]{64})\s*$", re.M)


class DigestFiles:
    """kaniko `--digest-file` / `--image-name-with-digest-file`, `ko build --image-refs`, and
    `crane` output: lines of `repo@sha256:...` (or a bare digest, named by the option `image`).
    Default names: image-digest, image-name-with-digest, image-refs, *.imageref; more via globs.
    """

    name = "image-digests"
    NAMES = frozenset({"image-digest", "image-name-with-digest", "image-refs", "digest.txt"})

    def matches(self, path: PurePath) -> bool:
        return path.name in self.NAMES or path.suffix == ".imageref"

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        text = ctx.read_bytes(path, limit=1 << 20).decode("utf-8", "replace")
        found = 0
        for m in _REF_LINE.finditer(text):
            if m.group(1):
                ref = parse_image(m.group(1))
            else:
                image = ctx.options.get("image")
                ref = parse_image(f"{image}@{m.group(2)}") if image else None
                if ref is None:
                    yield ctx.problem(
                        path,
                        "a bare digest: set [parsers.image-digests.options] "
                        'image = "registry/repo:tag" to name it',
                    )
                    continue
            if ref is not None:
                found += 1
                yield image_artifact(ctx, path, ref)
        if not found:
            raise ParseError("no repo@sha256:<digest> lines")
