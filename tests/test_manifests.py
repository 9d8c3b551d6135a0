"""Artifact manifests: each format's sample gives its records; hostile archives and YAML cost
only themselves; a CI and a CD workspace correlate in SEI's terms."""

from __future__ import annotations

import base64
import io
import json
import shutil
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from sei_watch.plugins import ParserSettings, load_parsers
from sei_watch.records import Artifact, ParseProblem
from sei_watch.scan.workspace import scan
from sei_watch_parsers.manifests._common import parse_image

from .paths import DATA

M = DATA / "manifests"
D1 = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b"


def records(ws: Path, settings: dict[str, ParserSettings] | None = None) -> list[Any]:
    return list(scan(ws, load_parsers(settings)).records)


def arts(ws: Path, **kw: Any) -> set[tuple[str, str, str, str, str]]:
    """(direction, type, name, qualifier, hash prefix); a container's name as
    `location|name`, so the split SEI makes (registry/namespace | last segment) is checked."""
    return {
        (
            "out" if a.output else "in",
            a.type,
            f"{a.location}|{a.name}" if a.type == "container" else a.name,
            a.qualifier,
            a.hash[:20],
        )
        for a in records(ws, **kw)
        if isinstance(a, Artifact)
    }


def problems(ws: Path) -> list[str]:
    return [p.reason for p in records(ws) if isinstance(p, ParseProblem)]


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        (
            "buildx",
            {
                ("out", "container", "registry.example.com/shop|cart", "1.14.2", D1[:20]),
                ("out", "container", "registry.example.com/shop|cart", "latest", D1[:20]),
            },
        ),
        ("oci", {("out", "container", "ghcr.io/acme|api", "3.2.0", "sha256:2f6a8d3c1b0e9")}),
        ("docker-save", {("out", "container", "acme|worker", "0.9.1", "sha256:7d9cb1f3e4a0b")}),
        (
            "jib",
            {
                ("out", "container", "gcr.io/acme|billing", "2.0.1", "sha256:bb22cc33dd44e"),
                ("out", "container", "gcr.io/acme|billing", "latest", "sha256:bb22cc33dd44e"),
            },
        ),
        (
            "kaniko",
            {
                (
                    "out",
                    "container",
                    "registry.example.com/tools|kaniko-built",
                    "sha256:cc33dd44ee55ff6600112233445566778899aabbccddeeff0011223344aabb11",
                    "sha256:cc33dd44ee55f",
                )
            },
        ),
        (
            "goreleaser",
            {
                ("out", "archive", "cli_1.7.0_linux_amd64.tar.gz", "1.7.0", "sha256:dd44ee55ff660"),
                ("out", "binary", "cli", "1.7.0", "sha256:ee55ff6600112"),
                ("out", "container", "ghcr.io/acme|cli", "1.7.0", ""),
                ("out", "checksum", "checksums.txt", "1.7.0", ""),
            },
        ),
        ("npm", {("out", "npm", "@acme/ui-kit", "4.3.0", "sha512-q2Hc1eN4Hx1Tq")}),
        (
            "sbom",
            {
                ("out", "application", "com.acme/orders", "5.1.0", "sha256:ff66001122334"),
                ("out", "package", "orders", "5.1.0", "sha256:0011223344556"),
                ("out", "jar", "orders-5.1.0.jar", "5.1.0", "sha256:1122334455667"),
                ("in", "jar", "com.google.guava:guava", "33.0.0", "sha256:2233445566778"),
            },
        ),
        ("helm", {("in", "container", "registry.example.com/shop|checkout", "3.8.0", "")}),
    ],
)
def test_sample(folder: str, expected: set[tuple[str, ...]]) -> None:
    """Each format's realistic sample gives exactly its expected records."""
    assert arts(M / folder) == expected


def test_templated_image_is_a_problem_not_a_record() -> None:
    """A Helm template expression is reported, not sent as an image."""
    assert any("templated" in p for p in problems(M / "helm"))


@pytest.mark.parametrize(
    ("ref", "parts"),
    [
        (
            "registry.example.com:5000/shop/cart:1.2",
            ("registry.example.com:5000/shop", "cart", "1.2", ""),
        ),
        ("nginx", ("", "nginx", "latest", "")),
        ("ghcr.io/a/b@sha256:" + "a" * 64, ("ghcr.io/a", "b", "sha256:" + "a" * 64, "a" * 64)),
        ("a/b:1@sha256:" + "b" * 64, ("a", "b", "1", "b" * 64)),
    ],
)
def test_image_references(ref: str, parts: tuple[str, str, str, str]) -> None:
    """SEI's split: location = registry/namespace (ports are not tags), name = the last
    segment, qualifier = the tag or else the digest, hash = the digest."""
    img = parse_image(ref)
    assert img is not None
    assert (img.location, img.name, img.qualifier, img.hash.removeprefix("sha256:")) == parts
    assert img.reference == ref


def _wheel(path: Path, *, metadata: bytes | None, bomb: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        if metadata is not None:
            zf.writestr("shopkit-2.1.0.dist-info/METADATA", metadata)
        if bomb:
            zf.writestr("shopkit-2.1.0.dist-info/METADATA", b"\0" * (64 << 20))
        zf.writestr("shopkit/__init__.py", "")


def test_python_wheel_and_sdist_named_by_their_metadata(tmp_path: Path) -> None:
    """Name and version come from METADATA / PKG-INFO (not the file name); sha256 streamed."""
    _wheel(
        tmp_path / "dist" / "misnamed.whl",
        metadata=b"Metadata-Version: 2.1\nName: shopkit\nVersion: 2.1.0\n",
    )
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = b"Metadata-Version: 2.1\nName: shopkit\nVersion: 2.1.0\n"
        info = tarfile.TarInfo("shopkit-2.1.0/PKG-INFO")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (tmp_path / "dist" / "shopkit-2.1.0.tar.gz").write_bytes(buf.getvalue())
    import hashlib

    want = "sha256:" + hashlib.sha256((tmp_path / "dist" / "misnamed.whl").read_bytes()).hexdigest()
    got = arts(tmp_path)
    assert ("out", "wheel", "shopkit", "2.1.0", want[:20]) in got
    assert any(a[1] == "sdist" and a[2:4] == ("shopkit", "2.1.0") for a in got)


def test_hash_cap_records_without_hash(tmp_path: Path) -> None:
    """Over the configured size cap, the file is recorded without a hash, and flagged."""
    _wheel(tmp_path / "dist" / "a.whl", metadata=b"Name: shopkit\nVersion: 2.1.0\n")
    recs = records(
        tmp_path, settings={"python-dist": ParserSettings(options={"hash_max_bytes": 10})}
    )
    (art,) = [r for r in recs if isinstance(r, Artifact)]
    assert art.hash == ""
    assert dict(art.metadata)["hash_skipped"] == "over 10 bytes"


def test_maven_jar_coordinates(tmp_path: Path) -> None:
    """A jar is named by its pom.properties: group:artifact, version, and the coordinate."""
    jar = tmp_path / "target" / "orders.jar"
    jar.parent.mkdir()
    with zipfile.ZipFile(jar, "w") as zf:
        zf.writestr(
            "META-INF/maven/com.acme/orders/pom.properties",
            "#Generated\ngroupId=com.acme\nartifactId=orders\nversion=5.1.0\n",
        )
    (art,) = [r for r in records(tmp_path) if isinstance(r, Artifact)]
    assert (art.type, art.name, art.qualifier) == ("jar", "com.acme:orders", "5.1.0")
    assert art.location == "com.acme:orders:5.1.0 target/orders.jar"


def test_npm_tarball(tmp_path: Path) -> None:
    """A .tgz package is named by its package/package.json."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = json.dumps({"name": "@acme/ui-kit", "version": "4.3.0"}).encode()
        info = tarfile.TarInfo("package/package.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (tmp_path / "acme-ui-kit-4.3.0.tgz").write_bytes(buf.getvalue())
    assert {a[:4] for a in arts(tmp_path)} == {("out", "npm", "@acme/ui-kit", "4.3.0")}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"name": "@acme/ui-kit", ', "not valid JSON"),
        (b"[" * 100_000, "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
    ],
    ids=["cut-off", "too-deep", "a-list"],
)
def test_npm_tarball_with_a_broken_package_json(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    """A tarball whose package.json is broken, nested past the parser or no object: one clear
    problem naming JSON, not a parser crash."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("package/package.json")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    (tmp_path / "acme-ui-kit-4.3.0.tgz").write_bytes(buf.getvalue())
    (reason,) = problems(tmp_path)
    assert expected in reason
    assert "parser failed" not in reason


def test_in_toto_line_nested_too_deep(tmp_path: Path) -> None:
    """A statement line nested past the parser is a problem on its line; the good line counts."""
    good = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "ghcr.io/acme/api", "digest": {"sha256": "a" * 64}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {},
    }
    (tmp_path / "build.intoto.jsonl").write_text(json.dumps(good) + "\n" + "[" * 100_000 + "\n")
    found = records(tmp_path)
    (problem,) = [r for r in found if isinstance(r, ParseProblem)]
    assert problem.line == 2
    assert "not valid JSON" in problem.reason
    assert any(isinstance(r, Artifact) and r.name == "ghcr.io/acme/api" for r in found)


def test_in_toto_envelope_and_statement(tmp_path: Path) -> None:
    """DSSE envelopes and plain statements: subjects out, materials / dependencies in."""
    stmt = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "ghcr.io/acme/api", "digest": {"sha256": "a" * 64}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "resolvedDependencies": [
                    {
                        "uri": "git+https://github.com/acme/api@refs/heads/main",
                        "digest": {"gitCommit": "b" * 40},
                    }
                ]
            }
        },
    }
    env = {
        "payloadType": "application/vnd.in-toto+json",
        "payload": base64.b64encode(json.dumps(stmt).encode()).decode(),
        "signatures": [],
    }
    (tmp_path / "api.intoto.jsonl").write_text(json.dumps(env) + "\n" + json.dumps(stmt) + "\n")
    got = arts(tmp_path)
    assert (
        "out",
        "provenance",
        "ghcr.io/acme/api",
        "sha256:" + "a" * 64,
        "sha256:aaaaaaaaaaaaa",
    ) in got
    assert any(a[0] == "in" and a[2] == "git+https://github.com/acme/api" for a in got)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("bom.json", b'{"bomFormat": "CycloneDX", ', "not valid JSON"),
        ("deploy/app.yaml", b"image: [unclosed\n", "not valid YAML"),
        (
            "deploy/bomb.yaml",
            b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
            + b"".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n".encode()
                for i in range(24)
            ),
            "aliases",
        ),
        ("jib-image.json", b"[1, 2]", "without an image"),
        ("sei-artifacts.json", b"\x00\xff", "not UTF-8"),
    ],
    ids=["json", "yaml", "yaml-alias-bomb", "jib-shape", "binary"],
)
def test_malformed_manifests(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    """Malformed JSON and YAML, an alias bomb and wrong shapes: one clear problem each."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    (tmp_path / "jib").mkdir()
    shutil.copy(M / "jib" / "jib-image.json", tmp_path / "jib")
    probs = problems(tmp_path)
    assert len(probs) == 1
    assert reason in probs[0]
    assert len(arts(tmp_path)) == 2  # the good manifest beside it still counts


def test_archive_bombs_and_broken_jars(tmp_path: Path) -> None:
    """A zip bomb is refused by its stated size; jars without or with garbled pom.properties,
    and a 1 GB file posing as an sdist, are problems."""
    _wheel(tmp_path / "dist" / "bomb.whl", metadata=None, bomb=True)
    (tmp_path / "target").mkdir()
    with zipfile.ZipFile(tmp_path / "target" / "nopom.jar", "w") as zf:
        zf.writestr("Main.class", b"\xca\xfe\xba\xbe")
    with zipfile.ZipFile(tmp_path / "target" / "garbled.jar", "w") as zf:
        zf.writestr("META-INF/maven/x/y/pom.properties", b"\xff\xfe garbage without keys")
    with (tmp_path / "dist" / "huge-1.0.tar.gz").open("wb") as fh:
        fh.truncate(1 << 30)  # sparse: 1 GB of zeros
    probs = sorted(problems(tmp_path))
    assert len(probs) == 4, probs
    assert any("zip bomb" in p for p in probs)
    assert any("no META-INF/maven" in p for p in probs)
    assert any("lacks groupId" in p for p in probs)
    assert any("not a readable" in p or "no METADATA" in p for p in probs)


def test_symlink_out_of_root(tmp_path: Path) -> None:
    """A manifest that links outside the workspace is refused and never read."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "bom.json").symlink_to(M / "sbom" / "bom.json")
    assert problems(ws) == ["symlink leads outside the workspace"]
    assert arts(ws) == set()


def test_ci_and_cd_payloads_correlate(run_cli) -> None:
    """The CI payload outputs the image with ci:true; the CD payload inputs the same name and
    qualifier with cd:true: how SEI links a deployment to the build that made it."""
    ci = json.loads(run_cli("parse", str(M / "ci-workspace"), "--json").out)
    cd = json.loads(run_cli("parse", str(M / "cd-workspace"), "--json").out)
    assert (ci["ci"], ci.get("cd")) == (True, None)
    assert (cd.get("ci"), cd["cd"]) == (None, True)
    built = {
        (a["name"], a["qualifier"])
        for a in ci["artifacts"]
        if a["output"] and a["type"] == "container"
    }
    deployed = {
        (a["name"], a["qualifier"])
        for a in cd["artifacts"]
        if a["input"] and a["type"] == "container"
    }
    assert ("cart", "1.14.2") in built & deployed
    assert ci["job_run"]["stages"][0]["displayName"] == "Tests"


def test_bake_metadata_is_keyed_by_target(tmp_path: Path) -> None:
    """`docker buildx bake --metadata-file` (written here to buildx's documented shape: the
    build metadata object per target) gives each target's image with its digest."""
    (tmp_path / "bake-metadata.json").write_text(
        json.dumps(
            {
                "api": {"containerimage.digest": D1, "image.name": "ghcr.io/acme/api:2.0"},
                "worker": {
                    "containerimage.digest": "sha256:" + "b" * 64,
                    "image.name": "ghcr.io/acme/worker:2.0",
                },
            }
        )
    )
    got = arts(tmp_path)
    assert got == {
        ("out", "container", "ghcr.io/acme|api", "2.0", D1[:20]),
        ("out", "container", "ghcr.io/acme|worker", "2.0", "sha256:" + "b" * 13),
    }
    assert problems(tmp_path) == []


def test_spdx2_package_without_version_is_named_by_its_checksum(tmp_path: Path) -> None:
    """An SPDX 2.3 package with no versionInfo (written to the spec's shape) is sent with its
    checksum as qualifier, not dropped."""
    (tmp_path / "app.spdx.json").write_text(
        json.dumps(
            {
                "spdxVersion": "SPDX-2.3",
                "documentDescribes": ["SPDXRef-app"],
                "packages": [
                    {
                        "SPDXID": "SPDXRef-app",
                        "name": "app",
                        "downloadLocation": "NOASSERTION",
                        "checksums": [{"algorithm": "SHA256", "checksumValue": "c" * 64}],
                    }
                ],
            }
        )
    )
    assert arts(tmp_path) == {("out", "package", "app", "sha256:" + "c" * 64, "sha256:" + "c" * 13)}


def test_jfrog_shared_dependency_once(tmp_path: Path) -> None:
    """A dependency two modules of a JFrog build-info share is one input, not two."""
    dep = {"id": "com.google.guava:guava:33.0.0", "sha256": "d" * 64, "type": "jar"}
    (tmp_path / "build-info.json").write_text(
        json.dumps(
            {
                "name": "shop",
                "number": "7",
                "modules": [
                    {"id": "com.acme:core:1.0", "dependencies": [dep]},
                    {"id": "com.acme:web:1.0", "dependencies": [dep]},
                ],
            }
        )
    )
    ins = [r for r in records(tmp_path) if isinstance(r, Artifact) and r.input]
    assert len(ins) == 1
