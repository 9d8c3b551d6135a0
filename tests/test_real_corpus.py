"""Files that real producers wrote (`../shared/corpus/real`, see its PROVENANCE.md): each one
matches what its source states, or a reference computed here independently (lxml counts,
regexes), never our own earlier output."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from sei_watch.plugins import ParseContext, load_parsers
from sei_watch.records import Artifact, ParseProblem, Stage, SuiteSummary
from sei_watch.scan.workspace import parse_file, scan
from sei_watch_parsers.junit import JUnitParser
from sei_watch_parsers.test_native import CTestParser, RobotParser

from .paths import corpus_dir

REAL = corpus_dir() / "real"
JUNIT = sorted((REAL / "junit").glob("*.xml")) if (REAL / "junit").is_dir() else []

# (tests, passed, failed + errored, skipped) as PROVENANCE.md quotes the source: launchable's
# record_test_result.json, Flank's and quick-junit's self-declared root counts.
STATED = {
    "launchable-jest-junit.xml": (10, 10, 0, 0),
    "launchable-vitest-report.xml": (5, 3, 2, 0),
    "launchable-cypress-test-result.xml": (3, 3, 0, 0),
    "launchable-playwright-report.xml": (93, 84, 3, 6),
    "launchable-googletest-fail-output.xml": (3, 2, 1, 0),
    "launchable-bazel-mylib_test1-test.xml": (1, 1, 0, 0),
    "launchable-bazel-mylib_test6-test.xml": (1, 1, 0, 0),
    "launchable-xctest-junit.xml": (9, 7, 2, 0),
    "launchable-gradle-recursion-1.xml": (4, 4, 0, 0),
    "launchable-pytest-report.xml": (12, 8, 4, 0),
    "launchable-rspec.xml": (16, 16, 0, 0),
    "launchable-ctest-Test.xml": (4, 2, 1, 1),
    "launchable-robot-output.xml": (6, 4, 2, 0),
    "flank-android-error_result-NexusLowRes-27-test_result_1.xml": (2, 1, 1, 0),
    "flank-android-success_result-NexusLowRes-28-test_result_1.xml": (2, 2, 0, 0),
    "flank-ftl-android_fail.xml": (2, 1, 1, 0),
    "nextest-tests-junit.xml": (3, 2, 1, 0),
    "quick-junit-basic_report.xml": (7, 3, 3, 1),
}
# Summed case time in ms where the source states it (launchable sums its case durations).
STATED_MS = {
    "launchable-jest-junit.xml": 1377,
    "launchable-vitest-report.xml": 17,
    "launchable-cypress-test-result.xml": 315,
    "launchable-playwright-report.xml": 151887,
    "launchable-ctest-Test.xml": 15,
    "launchable-robot-output.xml": 11,
    "launchable-xctest-junit.xml": 37326,
}
NATIVE = {"launchable-ctest-Test.xml": CTestParser(), "launchable-robot-output.xml": RobotParser()}


def _suites(path: Path) -> tuple[list[SuiteSummary], list[ParseProblem]]:
    parser = NATIVE.get(path.name, JUnitParser())
    records = list(parser.parse(path, ParseContext(root=path.parent)))
    return (
        [r for r in records if isinstance(r, SuiteSummary)],
        [r for r in records if isinstance(r, ParseProblem)],
    )


def _totals(suites: list[SuiteSummary]) -> tuple[int, int, int, int]:
    return (
        sum(s.tests for s in suites),
        sum(s.passed for s in suites),
        sum(s.failures + s.errors for s in suites),
        sum(s.skipped for s in suites),
    )


@pytest.mark.parametrize("path", JUNIT, ids=[p.name for p in JUNIT])
def test_real_test_report(path: Path) -> None:
    """Every real report: our counts equal what its source states; where it states nothing,
    the number of <testcase> elements (a retry inside one element is one test), and the
    root's own tests= where it has one."""
    suites, problems = _suites(path)
    assert problems == []
    assert suites
    if path.name in STATED:
        assert _totals(suites) == STATED[path.name]
    if path.name in STATED_MS:
        assert abs(sum(s.case_time_ms for s in suites) - STATED_MS[path.name]) <= len(suites)
    if path.name in NATIVE:
        return
    root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    assert sum(s.tests for s in suites) == len(root.findall(".//testcase"))
    declared = root.getroot().get("tests")
    # Where the source states the count, it wins over the root's: mocha-junit-reporter's root
    # in the Cypress file says tests="6" over its 3 cases.
    if declared is not None and path.name not in STATED:
        assert sum(s.tests for s in suites) == int(declared)


def test_suite_without_cases_is_no_step() -> None:
    """Cypress' empty "Root Suite" (tests="0", no cases) gives no suite, so no empty step."""
    suites, _ = _suites(REAL / "junit" / "launchable-cypress-test-result.xml")
    assert [s.name for s in suites] == ["Window"]


def test_go_test_reports_each_hold_the_nine_cases() -> None:
    """launchable's go_test record (9 cases, all passed) covers reportv1 and reportv2, which
    hold the same nine tests: each file alone gives nine passing tests."""
    for name in ("launchable-go_test-reportv1.xml", "launchable-go_test-reportv2.xml"):
        assert _totals(_suites(REAL / "junit" / name)[0]) == (9, 9, 0, 0)


def test_googletest_pair_gives_six_passing_cases() -> None:
    """launchable's googletest record: 6 cases over output_a and output_b, all passed."""
    pair = [REAL / "junit" / f"launchable-googletest-output_{x}.xml" for x in "ab"]
    assert _totals([s for p in pair for s in _suites(p)[0]]) == (6, 6, 0, 0)


def test_go_junit_report_root_counts() -> None:
    """go-junit-report's golden files state tests/failures/errors/skipped on their root."""
    for path in sorted((REAL / "junit").glob("go-junit-report-*.xml")):
        root = etree.parse(str(path)).getroot()
        tests, _, bad, skipped = _totals(_suites(path)[0])
        assert tests == int(root.get("tests", "0")), path.name
        assert bad == int(root.get("failures", "0")) + int(root.get("errors", "0")), path.name
        assert skipped == int(root.get("skipped", "0")), path.name


# -- logs ------------------------------------------------------------------------------------

LOGS = REAL / "logs"
_MODULE = re.compile(rb"(?m)^\[INFO\] Building ([^:\r\n]+?)(?: +\[\d+/\d+\])?\r?$")
_MOJO = re.compile(rb"(?m)^\[INFO\] --- \S+ (?:\([^)]*\) )?@ (\S+) ---")


def _records(parser: str, path: Path) -> list[Any]:
    lp = load_parsers().get(parser)
    return parse_file(lp, path, path.parent)


@pytest.mark.parametrize(
    "name",
    [
        "analysis-model-maven.txt",
        "analysis-model-maven-enforcer.log",
        "analysis-model-maven-error-prone.log",
        "analysis-model-eclipse-maven-withjavadoc.log",
    ],
)
def test_maven_logs_keep_their_modules(name: str) -> None:
    """Maven logs with and without a Reactor Summary: a stage per module header (else per
    `@ module` of the mojo headers), a step per mojo execution, counted here by regex."""
    data = (LOGS / name).read_bytes()
    records = _records("log-maven", LOGS / name)
    stages = [r for r in records if isinstance(r, Stage)]
    assert not [r for r in records if isinstance(r, ParseProblem)]
    # The header's trailing version is no part of the name (`Building x 0.0.1-SNAPSHOT`).
    modules = [re.sub(r" \d[\w.+-]*$", "", m.decode().strip()) for m in _MODULE.findall(data)]
    mojo_modules = [m.decode() for m in _MOJO.findall(data)]
    expected = modules or list(dict.fromkeys(mojo_modules))
    assert [s.name for s in stages] == expected
    assert sum(len(s.steps) for s in stages) == len(mojo_modules)


def test_maven_enforcer_log_is_timed_from_its_total() -> None:
    """A one-module build cut short: its module lasts the log's own `Total time: 7.251 s`,
    ending at `Finished at`, and carries the BUILD FAILURE."""
    (stage,) = [r for r in _records("log-maven", LOGS / "analysis-model-maven-enforcer.log")
                if isinstance(r, Stage)]  # fmt: skip
    assert (stage.name, stage.duration_ms, stage.result) == ("warnings-ng", 7251, "FAILURE")


def test_buildkite_raw_agent_log() -> None:
    """The raw agent log (OSC `_bk;t=` times, CR/CRLF, ANSI): a stage per ~~~/---/+++ header,
    each starting at its header's own timestamp, found here by regex."""
    data = (LOGS / "buildkite-bash-example.log").read_bytes()
    headers = re.findall(rb"(?:^|[\r\n])\x1b_bk;t=(\d+)\x07(?:~~~|---|\+\+\+) ([^\r\n]*)", data)
    stages = [r for r in _records("log-buildkite", LOGS / "buildkite-bash-example.log")
              if isinstance(r, Stage)]  # fmt: skip
    assert [(s.start_ms, s.name) for s in stages] == [
        (int(t), " ".join(re.sub(rb"\x1b\[[0-9;]*m", b"", n).decode().split())) for t, n in headers
    ]


@pytest.mark.parametrize(
    "name",
    [
        "go-test-teamcity-output-subtest.txt",
        "go-test-teamcity-output-race.txt",
        "go-test-teamcity-output-json-testrace.txt",
    ],
)
def test_teamcity_test_messages_become_suites(name: str) -> None:
    """TeamCity test service messages: one test per distinct testStarted name, failed when a
    testFailed names it, skipped when only a testIgnored does; counted here by regex."""
    data = (LOGS / name).read_bytes()
    started = set(re.findall(rb"##teamcity\[testStarted [^\]]*?name='((?:[^'|]|\|.)*)'", data))
    failed = set(re.findall(rb"##teamcity\[testFailed [^\]]*?name='((?:[^'|]|\|.)*)'", data))
    ignored = set(re.findall(rb"##teamcity\[testIgnored [^\]]*?name='((?:[^'|]|\|.)*)'", data))
    suites = [r for r in _records("log-teamcity", LOGS / name) if isinstance(r, SuiteSummary)]
    assert sum(s.tests for s in suites) == len(started | ignored)
    assert sum(s.failures for s in suites) == len(failed)
    assert sum(s.skipped for s in suites) == len(ignored - failed)


# -- manifests -------------------------------------------------------------------------------

MANIFESTS = REAL / "manifests"


def _workspace(tmp: Path, layout: dict[str, str]) -> list[Any]:
    """The real files under the names their producers give them, then a whole scan."""
    for rel, name in layout.items():
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(MANIFESTS / name, tmp / rel)
    return list(scan(tmp, load_parsers()).records)


def _arts(records: list[Any]) -> list[Artifact]:
    return [r for r in records if isinstance(r, Artifact)]


def test_rendered_manifest_and_helm_values_name_the_same_images(tmp_path: Path) -> None:
    """ingress-nginx: the rendered manifest pins each image by tag@sha256 (found here by
    regex); the chart's values.yaml (registry from global.image, tag and digest apart) gives
    the same references; the Go template itself is no deployment and gives nothing."""
    records = _workspace(
        tmp_path,
        {
            "k8s/deploy.yaml": "k8s-ingress-nginx-deploy-cloud.yaml",
            "helm/values.yaml": "helm-ingress-nginx-values.yaml",
            "helm/Chart.yaml": "helm-ingress-nginx-Chart.yaml",
            "helm/templates/controller-deployment.yaml": (
                "helm-ingress-nginx-templates-controller-deployment.yaml"
            ),
        },
    )
    rendered = (MANIFESTS / "k8s-ingress-nginx-deploy-cloud.yaml").read_text()
    pinned = set(re.findall(r"(?m)^\s+image: (\S+@sha256:[0-9a-f]{64})$", rendered))
    by_file: dict[str, set[str]] = {}
    for a in _arts(records):
        assert a.input
        assert a.type == "container"
        by_file.setdefault(a.source, set()).add(dict(a.metadata)["image"])
    assert by_file["k8s/deploy.yaml"] == pinned
    assert pinned <= by_file["helm/values.yaml"]
    assert "helm/templates/controller-deployment.yaml" not in by_file
    for a in _arts(records):
        if a.source == "k8s/deploy.yaml":
            assert (a.location, a.hash[:7]) == ("registry.k8s.io/ingress-nginx", "sha256:")


def test_goreleaser_artifacts(tmp_path: Path) -> None:
    """goreleaser's dist/: every Binary, Archive, Linux Package and Checksum PROVENANCE counts
    (14 for go-httpbin; az-storage-upload's 5 binaries besides its Metadata entry), each with
    the version from dist/metadata.json."""
    for project, expected in (("go-httpbin", 14), ("az-storage-upload", 5)):
        artifacts = f"goreleaser-{project}-artifacts.json"
        metadata = f"goreleaser-{project}-metadata.json"
        ws = tmp_path / artifacts
        arts = _arts(
            _workspace(ws, {"dist/artifacts.json": artifacts, "dist/metadata.json": metadata})
        )
        version = json.loads((MANIFESTS / metadata).read_text())["version"]
        assert len(arts) == expected
        assert {a.qualifier for a in arts} == {version}


def test_bake_print_is_a_definition_not_artifacts(tmp_path: Path) -> None:
    """`docker buildx bake --print` lists targets to build, not built images: no artifact."""
    records = _workspace(
        tmp_path, {"docker-bake.json": "docker-bake-buildx-0.10.4-binaries-cross.json"}
    )
    assert _arts(records) == []


def test_buildkit_provenance_claimed_by_content(tmp_path: Path) -> None:
    """BuildKit's provenance.json (an in-toto statement) is read by a folder scan: subjects
    out, resolved dependencies in, counted here from the JSON; a purl's ?platform= is no
    version."""
    name = "docker-sigstore-multi-linux_arm64-provenance.json"
    doc = json.loads((MANIFESTS / name).read_text())
    arts = _arts(_workspace(tmp_path, {"provenance.json": name}))
    deps = doc["predicate"]["buildDefinition"]["resolvedDependencies"]
    assert sum(a.output for a in arts) == len(doc["subject"])
    assert sum(a.input for a in arts) == len(deps)
    assert "latest" in {a.qualifier for a in arts}


@pytest.mark.parametrize("name", sorted(p.name for p in MANIFESTS.glob("spdx3-*.json")))
def test_spdx3_json_ld(tmp_path: Path, name: str) -> None:
    """SPDX 3.0 JSON-LD: the package the document's root elements lead to (through an Sbom),
    named and versioned as the graph states it (looked up here); one without any version or
    checksum is a problem, not a record."""
    graph = json.loads((MANIFESTS / name).read_text())["@graph"]
    packages = {e["spdxId"]: e for e in graph if str(e.get("type", "")).endswith("Package")}
    records = _workspace(tmp_path, {name: name})
    arts = _arts(records)
    for a in arts:
        match = [p for p in packages.values() if p.get("name") == a.name]
        assert match, a.name
        assert a.qualifier == match[0].get("software_packageVersion", a.qualifier)
    if not arts:
        assert any("no version" in r.reason for r in records if isinstance(r, ParseProblem))


@pytest.mark.parametrize("name", sorted(p.name for p in MANIFESTS.glob("cyclonedx-*.json")))
def test_cyclonedx_by_content(tmp_path: Path, name: str) -> None:
    """CycloneDX 1.5/1.6 under its tool's own file name: claimed by bomFormat, the
    metadata.component as the output (read here from the JSON)."""
    comp = json.loads((MANIFESTS / name).read_text())["metadata"]["component"]
    (art,) = _arts(_workspace(tmp_path, {name: name}))
    assert art.output
    assert art.name.endswith(comp["name"])
    assert art.qualifier == comp["version"]


@pytest.mark.parametrize(
    "name",
    [
        "analysis-model-javac-timestamps.txt",
        "analysis-model-gradle.java.log",
        "analysis-model-kotlin-gradle-error.txt",
        "analysis-model-maven-line-number.log",
    ],
)
def test_other_real_logs_give_the_stages_their_markers_state(tmp_path: Path, name: str) -> None:
    """Compiler-output fragments (no stage markers at all, found here by regex) give no stage
    and no error; the Jenkins Pipeline console cut off mid-build gives its two `{ (Stage)`
    stages and says they were never closed."""
    shutil.copyfile(LOGS / name, tmp_path / name)
    records = list(scan(tmp_path, load_parsers()).records)
    text = (LOGS / name).read_text(errors="replace")
    pipeline = re.findall(r"(?m)^\[Pipeline\] \{ \((.+)\)$", text)
    markers = pipeline + re.findall(r"(?m)^> Task (\S+)", text)
    stages = [r.name for r in records if isinstance(r, Stage)]
    assert stages == markers
    problems = [r.reason for r in records if isinstance(r, ParseProblem)]
    assert bool(problems) == bool(pipeline)
    if pipeline:
        assert any("never closed" in p for p in problems)
