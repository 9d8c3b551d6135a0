"""Image SBOMs (`../shared/corpus/real/manifests/cyclonedx-images`): the scanned image is a
container artifact in SEI's naming (location `registry/namespace`, name the last segment,
qualifier the tag, else the digest), found where each producer keeps it: syft's name and
digest `version`, trivy's `aquasecurity:trivy:RepoTag` property or its OCI purl."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sei_watch.plugins import load_parsers
from sei_watch.records import Artifact, ParseProblem
from sei_watch.scan.workspace import parse_claimed

from .paths import corpus_dir

IMAGES = corpus_dir() / "real" / "manifests" / "cyclonedx-images"

# file: (location, name, qualifier, digest prefix) as PROVENANCE.md states the image, or None
# where the SBOM names no image at all (a scanned tar with no RepoTag or RepoDigest).
EXPECTED: dict[str, tuple[str, str, str, str] | None] = {
    "syft-0.58-alpine-latest.cdx.json": (
        "docker.io/library", "alpine", "latest", "sha256:cbaa390e",
    ),
    "syft-0.58-busybox.cdx.json": (
        "docker.io/library", "busybox", "sha256:bf5e28853a83134e949201fb5979927a9e5cc74cb747b7a0"
        "80d96eaba1303411", "sha256:bf5e2885",
    ),
    "syft-0.58-distroless-static-nonroot.cdx.json": (
        "gcr.io/distroless", "static", "nonroot", "sha256:6ad5b696",
    ),
    "trivy-0.39-image-demo-referrers-2023.cdx.json": (
        "localhost:5001", "demo-referrers-2023", "app", "sha256:e76a1347",
    ),
    "trivy-0.41-bitnami-elasticsearch-8.7.1.cdx.json": (
        "bitnami", "elasticsearch", "8.7.1-debian-11-r7", "sha256:d4b68b60",
    ),
    "trivy-image-fluentd-multiple-lockfiles.cdx.json": (
        "ghcr.io/aquasecurity", "trivy-test-images", "fluentd-multiple-lockfiles", "",
    ),
    "trivy-image-fluentd-multiple-lockfiles-fixture-2022.cdx.json": None,
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_image_sbom_names_its_image(name: str, tmp_path: Path) -> None:
    """Under a neutral name, the SBOM's one output is its image as stated, or, with no image
    name anywhere, a problem that says so (it was 'has no version' for every trivy file)."""
    src = IMAGES / name
    if not src.is_file():
        pytest.skip(f"{src} is not here (the shared corpus is beside the repository in CI)")
    neutral = tmp_path / "sbom.json"
    shutil.copyfile(src, neutral)
    _, records = parse_claimed(neutral, load_parsers())
    outputs = [r for r in records if isinstance(r, Artifact) and r.output]
    want = EXPECTED[name]
    if want is None:
        assert outputs == []
        assert any("no image name" in r.reason for r in records if isinstance(r, ParseProblem))
        return
    ((art,),) = [outputs]
    assert (art.type, art.location, art.name, art.qualifier) == ("container", *want[:3])
    assert art.hash.startswith(want[3])
    assert bool(art.hash) == bool(want[3])


def test_a_described_package_without_any_version_is_still_sent(tmp_path: Path) -> None:
    """A CycloneDX SBOM whose described (non-image) component has no version, purl version or
    hash: still the build's output (SEI needs only a name), with an empty qualifier and a
    problem saying so."""
    sbom = tmp_path / "bom.json"
    sbom.write_text(
        '{"bomFormat": "CycloneDX", "specVersion": "1.5", "metadata": '
        '{"component": {"type": "application", "name": "cart-service"}}}'
    )
    _, records = parse_claimed(sbom, load_parsers())
    (art,) = [r for r in records if isinstance(r, Artifact)]
    assert (art.name, art.qualifier, art.output) == ("cart-service", "", True)
    assert any("empty qualifier" in r.reason for r in records if isinstance(r, ParseProblem))
