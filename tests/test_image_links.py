"""Container artifacts that link what they should (`payload/images.py`), asserted on the
stand-in's correlation of what it stored."""

from __future__ import annotations

import json
from pathlib import Path

from sei_watch.status import ExitStatus

from .conftest_sei import GUID
from .paths import ROOT
from .sei_server import StandIn

DIGEST = "sha256:" + "6c" * 32


def _post(run_cli, ws: Path, cfg: Path, number: int) -> str:
    res = run_cli(
        "parse", str(ws), "--post", "--config", str(cfg), "--set", f"build_number={number}"
    )
    assert res.status in (ExitStatus.OK, ExitStatus.PROBLEMS), res.err
    return res.out + res.err


def _manifest(ws: Path, *refs: tuple[str, str]) -> None:
    ws.mkdir(parents=True)
    (ws / "sei-artifacts.json").write_text(
        json.dumps(
            {
                "artifacts": [
                    {"output": True, "type": "container", "location": "registry.example.com/shop",
                     "name": "cart", "qualifier": tag, "hash": digest}
                    for tag, digest in refs
                ]
            }
        )
    )  # fmt: skip


def test_latest_links_nothing_and_a_pinned_deploy_links(
    run_cli, tmp_path: Path, sei: StandIn, sei_config: Path
) -> None:
    """Two builds both pushed `cart:latest` beside their own version: neither is linked to
    the other's deployment through `latest`; a Harness CD deploy pinned as `1.14.2@sha256:…`
    links to the build that pushed that digest, and `latest` is kept in metadata."""
    _manifest(tmp_path / "b1", ("1.14.2", DIGEST), ("latest", DIGEST))
    _manifest(tmp_path / "b2", ("1.15.0", "sha256:" + "7d" * 32), ("latest", "sha256:" + "7d" * 32))
    _post(run_cli, tmp_path / "b1", sei_config, 1)
    _post(run_cli, tmp_path / "b2", sei_config, 2)
    latest = sei.store.record_harness_cd(GUID, "deploy", 8, "registry.example.com/shop/cart:latest")
    pinned = sei.store.record_harness_cd(
        GUID, "deploy", 9, f"registry.example.com/shop/cart:1.14.2@{DIGEST}"
    )
    links = sei.store.correlate()
    b1 = next(k for k in sei.store.runs if k[2] == 1)
    b2 = next(k for k in sei.store.runs if k[2] == 2)
    assert not any(cd == latest for _, cd in links), links
    assert (b1, pinned) in links
    assert (b2, pinned) not in links
    sent = [a for a in sei.accepted[0]["artifacts"] if a["qualifier"] == "1.14.2"]
    assert sent[0]["metadata"]["mutable_tags"] == "latest"


def test_old_style_manifest_is_sent_in_seis_naming(
    run_cli, tmp_path: Path, sei: StandIn, sei_config: Path
) -> None:
    """A manifest in the old naming (registry path in `name`, tag in `location`, as
    maven-flaky's was) is sent as location `registry.example.com/shop`, name `cart`, qualifier
    `1.14.2`, with a problem that says so."""
    ws = tmp_path / "old"
    ws.mkdir()
    (ws / "artifact-manifest.json").write_text(
        json.dumps(
            {"artifacts": [{"output": True, "type": "container",
                            "location": "registry.example.com/shop/cart:1.14.2",
                            "name": "registry.example.com/shop/cart", "qualifier": "1.14.2",
                            "hash": DIGEST}]}
        )
    )  # fmt: skip
    out = _post(run_cli, ws, sei_config, 3)
    arts = {(a["location"], a["name"], a["qualifier"]) for a in sei.accepted[-1]["artifacts"]}
    assert ("registry.example.com/shop", "cart", "1.14.2") in arts
    assert ("registry.example.com/shop", "cart", f"1.14.2@{DIGEST}") in arts
    assert "old naming" in out


def test_the_example_manifest_is_in_seis_naming() -> None:
    """examples/maven-flaky's manifest already names its image as SEI does."""
    doc = json.loads((ROOT / "examples/maven-flaky/target/artifact-manifest.json").read_text())
    (art,) = doc["artifacts"]
    assert (art["location"], art["name"], art["qualifier"]) == (
        "registry.example.com/shop", "cart", "1.14.2",
    )  # fmt: skip
