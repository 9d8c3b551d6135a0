"""Sigstore bundles (`../shared/corpus/real/manifests/sigstore`): the in-toto statement inside
a bundle's `dsseEnvelope` gives its subjects as output artifacts, as PROVENANCE.md states each
one (they were 'neither an in-toto statement nor a DSSE envelope')."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sei_watch.plugins import load_parsers
from sei_watch.records import Artifact
from sei_watch.scan.workspace import parse_claimed

from .paths import corpus_dir

SIGSTORE = corpus_dir() / "real" / "manifests" / "sigstore"

# file: (subject name, digest) as the reference states it; one subject each.
SUBJECTS = {
    "gh-attestation-github_provenance_demo-0.0.12-bundle.jsonl": (
        "github_provenance_demo-0.0.12-py3-none-any.whl",
        "sha256:ae57936def59bc4c75edd3a837d89bcefc6d3a5e31d55a6fa7a71624f92c3c3b",
    ),
    "npm-provenance-sigstore-2.1.0-bundle.json": (
        "pkg:npm/sigstore",
        "sha512:90f223f992e4c88dd068cd2a5fc57f9d2b30798343dd6e38f29c240e04ba090ef831f84490847c4e8"
        "2b9232c78e8a258463b1e55c0f7469f730265008fa6633f",
    ),
    # Two bundles (a publish attestation and a SLSA provenance) of one package: one subject.
    "npm-registry-attestations-gundam-visor-1.0.1.json": (
        "pkg:npm/gundam-visor",
        "sha512:8d9d7972f676516c75014aa074e11ae604d98f0b64ec6725a61e2838ff3dab162118fa71433fb31e1"
        "550d30bd0dec9d086ce032b94457b583900c507acf39c40",
    ),
    "slsa-github-generator-container-based-v1.8.0-push-v14.2.intoto.jsonl": (
        "gha_container-based-binary-linux-amd64-v14.2",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ),
    "slsa-github-generator-go-v2.1.0-push-v14.2.intoto.jsonl": (
        "gha_go-binary-linux-amd64-v14.2",
        "sha256:f6ab7ad0c7549b5a4942c3b0690519d791c28c4c0f8b286208cb40da3322a066",
    ),
}


@pytest.mark.parametrize("name", sorted(SUBJECTS))
def test_each_bundle_gives_its_stated_subject(name: str, tmp_path: Path) -> None:
    """Claimed by content under a neutral name; the one output artifact is the subject."""
    src = SIGSTORE / name
    if not src.is_file():
        pytest.skip(f"{src} is not here (the shared corpus is beside the repository in CI)")
    neutral = tmp_path / ("attestation" + (".jsonl" if name.endswith(".jsonl") else ".json"))
    shutil.copyfile(src, neutral)
    names, records = parse_claimed(neutral, load_parsers())
    assert names == ["in-toto"]
    outputs = [r for r in records if isinstance(r, Artifact) and r.output]
    assert [(a.name, a.hash) for a in outputs] == [SUBJECTS[name]]


def test_every_bundle_in_the_corpus_is_in_the_table() -> None:
    """No bundle of the corpus goes untested."""
    if not SIGSTORE.is_dir():
        pytest.skip("no shared corpus here")
    assert {p.name for p in SIGSTORE.iterdir()} == set(SUBJECTS)
