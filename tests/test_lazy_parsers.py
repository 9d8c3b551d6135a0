"""Parsers imported only when a file needs them: the declared claims hold to each class, and a
lazy registry gives what the eager one gives, record for record and payload byte for byte."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from sei_watch.config.settings import load_settings
from sei_watch.discovery import find_entry_points
from sei_watch.payload.report import Given, build_report
from sei_watch.payload.testzip import NESTED
from sei_watch.plugins import ENTRY_POINT_GROUP, hint_for, load_parsers
from sei_watch.show.summary import record_json

from .conftest import DATA

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "corpus"
EXAMPLES = ROOT / "examples"
EAGER = load_parsers(lazy=False)


def _all_files() -> list[PurePosixPath]:
    """Every file name the tests know: the shared corpus, the examples and the test data."""
    found = []
    for base in (SHARED, EXAMPLES, DATA):
        for dirpath, _dirs, files in os.walk(base):
            rel = Path(dirpath).relative_to(base)
            found += [PurePosixPath(rel.as_posix(), f) for f in files]
    return found


SYNTHETIC = [
    PurePosixPath(p)
    for p in (
        "target/surefire-reports/TEST-a.xml", "build/test-results/test/x.xml", "junit.xml",
        "bazel-testlogs/a/test.xml", "Testing/2026/Test.xml", "profile/profile-1.html",
        ".ninja_log", "deploy/app.json", "k8s/base/app.yaml", "values-prod.yaml", "a.k8s.yaml",
        "dist/artifacts.json", "dist/a-1.0.tar.gz", "dist/a.whl", "dist/a.zip", "target/a.jar",
        "target/a.war", "target/a.ear", "x.tgz", "npm-pack.json", "metadata.json",
        "buildx-metadata.json", "index.json", "manifest.json", "jib-image.json", "image-digest",
        "image-refs", "digest.txt", "a.imageref", "bom.json", "sbom.json", "a.cdx.json",
        "a.bom.json", "a.spdx.json", "a.spdx3.json", "a.intoto.jsonl", "a.intoto.json",
        "build-info.json", "builds/7/build.xml", "builds/7/changelog3.xml",
        "artifact-manifest.json", "sei-artifacts.json", ".sei-watch-steps.jsonl", "TEST-A.XML",
    )
]  # fmt: skip


def test_every_builtin_parser_declares_its_claims_as_its_class_does() -> None:
    """Each built-in entry point has a declared claim whose name and sniff suffixes are the
    class's own, so the registry can name and sniff without importing it."""
    eps = find_entry_points(ENTRY_POINT_GROUP)
    assert len(eps) >= 40
    for ep in eps:
        hint = hint_for(ep)
        assert hint is not None, ep.value
        parser = EAGER.get(hint.name).parser
        assert type(parser).__module__ + ":" + type(parser).__name__ == ep.value
        assert tuple(hint.sniff) == tuple(getattr(parser, "sniff_suffixes", ())), ep.value


@pytest.mark.parametrize("lp", EAGER.parsers, ids=lambda lp: lp.name)
def test_a_declared_claim_covers_every_name_the_parser_matches(lp) -> None:  # type: ignore[no-untyped-def]
    """No file a parser's `matches` accepts falls outside its declared patterns: over every
    file of the corpus, the examples and the test data, and the names each parser is for."""
    hint = hint_for(lp.entry_point)
    assert hint is not None
    names = _all_files() + SYNTHETIC
    missed = [str(p) for p in names if lp.parser.matches(p) and not hint.covers(p.name)]
    assert not missed
    assert any(lp.parser.matches(p) for p in names) or not hint.patterns


def _suites(data: bytes | None) -> dict[str, bytes]:
    """The test zip's files, name to bytes (the zip's own bytes carry the clock)."""
    if data is None:
        return {}
    outer = zipfile.ZipFile(io.BytesIO(data))
    inner = zipfile.ZipFile(io.BytesIO(outer.read(NESTED)))
    return {name: inner.read(name) for name in inner.namelist()}


def _workspaces() -> list[Path]:
    dirs = [p for p in sorted(EXAMPLES.iterdir()) if p.is_dir()]
    dirs += [SHARED / d for d in ("testreports", "logs")]
    dirs += [p for p in sorted((SHARED / "real").iterdir()) if p.is_dir()]
    return dirs


@pytest.mark.parametrize("ws", _workspaces(), ids=lambda p: p.name)
def test_lazy_and_eager_registries_give_the_same_build_byte_for_byte(ws: Path) -> None:
    """The same records, problems, payload and test zip whether parsers load on demand or
    all at once, on every example and every corpus folder."""
    settings = load_settings(None, {})

    def report(registry):  # type: ignore[no-untyped-def]
        return build_report(
            ws, registry, settings, given=Given(), environ={}, hostname="h",
            now_ms=1_795_165_200_000,
        )  # fmt: skip

    lazy, eager = report(load_parsers()), report(EAGER)
    dump = lambda r: json.dumps([record_json(x) for x in r.scan.records], sort_keys=True)  # noqa: E731
    assert dump(lazy) == dump(eager)
    assert json.dumps(lazy.assembly.payload) == json.dumps(eager.assembly.payload)
    assert _suites(lazy.attachment()) == _suites(eager.attachment())
    assert lazy.scan.files_parsed == eager.scan.files_parsed


def test_a_junit_workspace_imports_only_the_parsers_it_needs() -> None:
    """`parse` of the small Maven example imports the JUnit and manifest parsers and none of
    the log, JSON, .NET or deployment ones (their modules stay out of sys.modules)."""
    code = (
        "import sys; from sei_watch.cli import main; "
        f"rc = main(['parse', {str(EXAMPLES / 'maven-flaky')!r}, '--json']); "
        "print(sorted(m for m in sys.modules if m.startswith('sei_watch_parsers.')), "
        "'importlib.metadata' in sys.modules, file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    mods, metadata = out.stderr.strip().splitlines()[-1].rsplit("] ", 1)
    loaded = {
        m.removeprefix("sei_watch_parsers.") for m in json.loads(mods.replace("'", '"') + "]")
    }
    assert {"junit", "sei_manifest"} <= loaded
    assert not loaded & {"test_json", "test_dotnet", "logs.gitlab", "logs.buildtools",
                         "manifests.provenance", "jenkins_build"}  # fmt: skip
    assert metadata == "False"


def test_a_parser_that_fails_to_import_when_needed_costs_that_parser_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A declared parser whose module fails to import is reported as a load failure when a
    file first needs it; the other parsers still read their files."""
    import importlib.metadata as md

    pkg = tmp_path / "site" / "brokenplug"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        'SEI_WATCH_CLAIMS = {"brokenplug.mod:P": ("broken", ("*.xml",), ())}\n'
    )
    (pkg / "mod.py").write_text("raise RuntimeError('this plugin is broken')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    eps = [
        md.EntryPoint(name="broken", value="brokenplug.mod:P", group=ENTRY_POINT_GROUP),
        md.EntryPoint(
            name="sei-manifest",
            value="sei_watch_parsers.sei_manifest:SeiManifestParser",
            group=ENTRY_POINT_GROUP,
        ),
    ]
    registry = load_parsers(entry_points=eps)
    assert registry.failures == ()  # nothing imported yet
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "TEST-a.xml").write_text("<testsuite name='a'><testcase name='t'/></testsuite>")
    (ws / "artifact-manifest.json").write_text(
        '[{"type": "container", "location": "r/n", "name": "app", "qualifier": "1"}]'
    )
    from sei_watch.scan import scan

    result = scan(ws, registry)
    assert result.files_parsed == 1
    (failure,) = registry.failures
    assert "'broken'" in failure
    assert "this plugin is broken" in failure
