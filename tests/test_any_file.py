"""Property: no single file, whatever it holds, can make a build's payload invalid. Every parser
is run on generated files (report, log, manifest and build-record shapes with odd times and
numbers, and plain bytes); what it returns, assembled into a payload, always validates."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sei_watch.payload.assemble import AssemblyInput, assemble
from sei_watch.plugins import load_parsers
from sei_watch.scan.workspace import parse_file
from sei_watch.validation import validate

REGISTRY = load_parsers()
GIVEN = AssemblyInput(
    fields={"instance_guid": "89d2491c-764a-4f77-93d9-18e8e372b795"},
    workspace_name="ws",
    hostname="agent",
    now_ms=1_795_165_200_000,
)

ODD_TIMES = st.one_of(
    st.sampled_from(
        [
            "0001-01-01T00:00:00Z",  # gotestsum's zero time
            "9999-12-31T23:59:59Z",
            "1970-01-01T00:00:00Z",
            "2026-02-30T10:00:00",
            "",
            "yesterday",
            "2026-11-20T09:00:00.1234567Z",
        ]
    ),
    st.datetimes().map(lambda d: d.isoformat()),
)
ODD_NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["-1", "1e308", "nan", "inf", "1,5", "0x10", ""]),
)
TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="<>&\"'"), max_size=30
)


@st.composite
def shaped(draw: st.DrawFn) -> bytes:
    """A file in one of the shapes the parsers claim, with odd values in its slots."""
    ts, n, s = draw(ODD_TIMES), draw(ODD_NUMBERS), draw(TEXT)
    shapes = [
        f'<testsuites><testsuite name="{s}" timestamp="{ts}" time="{n}">'
        f'<testcase name="{s}" time="{n}"/><testcase name="{s}"><failure/></testcase>'
        "</testsuite></testsuites>",
        f'<?xml version="1.0"?><build><number>{n}</number><startTime>{n}</startTime>'
        f"<timestamp>{n}</timestamp><duration>{n}</duration><result>{s}</result></build>",
        f"{ts} ##[group]Run {s}\n{ts} x\n{ts} ##[error]boom\n{ts} Post job cleanup.\n",
        f"section_start:{n}:{s}\r\x1b[0K\nx\nsection_end:{n}:{s}\r\x1b[0K\nJob succeeded\n",
        f"[{ts}] [Pipeline] {{ ({s})\n[{ts}] [Pipeline] // stage\n",
        f"##teamcity[blockOpened name='{s}' timestamp='{ts}']\n"
        f"##teamcity[blockClosed name='{s}']\n##teamcity[testStarted name='{s}']\n",
        f'{{"containerimage.digest": "sha256:{n}", "image.name": "{s}"}}',
        f'{{"bomFormat": "CycloneDX", "metadata": {{"timestamp": "{ts}", "component": '
        f'{{"type": "application", "name": "{s}", "version": "{n}"}}}}}}',
        f'{{"spdxVersion": "SPDX-2.3", "packages": [{{"name": "{s}", "versionInfo": "{n}"}}]}}',
        f"image: {s}:{n}\n",
        f'{{"name": "{s}", "version": "{n}", "started": "{ts}", "modules": []}}',
        f"[INFO] Building {s} {n}\n[INFO] BUILD SUCCESS\n[INFO] Finished at: {ts}\n",
        f'<TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010"><Results>'
        f'<UnitTestResult testName="{s}" testId="{s}" duration="{n}" startTime="{ts}" '
        f'outcome="{s}"/></Results><TestDefinitions><UnitTest id="{s}"><TestMethod '
        f'className="{s}" name="{s}"/></UnitTest></TestDefinitions>'
        f'<ResultSummary><Counters total="{n}"/></ResultSummary></TestRun>',
        f'<test-run total="{n}"><test-suite type="TestFixture" name="{s}" result="Failed" '
        f'site="TearDown"><test-case name="{s}" result="{s}" duration="{n}" label="{s}"/>'
        "</test-suite></test-run>",
        f'<test-results total="{n}" not-run="{n}"><test-suite name="{s}"><results>'
        f'<test-case name="{s}" executed="{s}" result="{s}" time="{n}"/></results>'
        "</test-suite></test-results>",
        f'<assemblies><assembly total="{n}"><collection name="{s}"><test name="{s}" '
        f'type="{s}" time="{n}" result="{s}"/></collection></assembly></assemblies>',
        f'{{"Time":"{ts}","Action":"run","Package":"{s}","Test":"{s}"}}\n'
        f'{{"Time":"{ts}","Action":"fail","Package":"{s}","Test":"{s}","Elapsed":{n or 0}}}\n'
        f'{{"Action":"build-fail","ImportPath":"{s}"}}\n',
        f'{{"numFailedTestSuites": {n or 0}, "numTotalTests": {n or 0}, "testResults": [{{'
        f'"name": "{s}", "startTime": {n or 0}, "assertionResults": [{{"status": "{s}", '
        f'"fullName": "{s}", "duration": {n or 0}, "failureMessages": ["{s}"]}}]}}]}}',
        f'{{"stats": {{"tests": {n or 0}, "start": "{ts}"}}, "tests": [{{"title": "{s}", '
        f'"fullTitle": "{s} {s}", "duration": {n or 0}, "err": {{}}}}], "passes": [], '
        f'"failures": [{{"title": "{s}", "err": {{"message": "{s}"}}}}], "pending": []}}',
        f'{{"version": "3.{n}", "examples": [{{"status": "{s}", "file_path": "{s}", '
        f'"run_time": {n or 0}, "exception": {{"message": "{s}"}}}}], '
        f'"summary": {{"example_count": {n or 0}}}}} Coverage {s}',
        f'<?xml version="1.0"?><TestCase name="{s}"><TestFunction name="{s}"><Incident '
        f'type="{s}"><DataTag>{s}</DataTag></Incident><Duration msecs="{n}"/></TestFunction>'
        f'</TestCase><?xml version="1.0"?><TestCase name="{s}"><TestFunction name="x">'
        '<Incident type="fail"/></TestFunction></TestCase>',
        f'<TestResult><TestSuite name="{s}"><TestCase name="{s}" result="{s}" '
        f'assertions_failed="{n}"/></TestSuite></TestResult>',
    ]
    return draw(st.sampled_from(shapes)).encode("utf-8", "surrogatepass")


NAMES = {
    "junit": "TEST-x.xml",
    "jenkins-build": "build.xml",
    "cyclonedx": "bom.json",
    "spdx": "x.spdx.json",
    "k8s-images": "values.yaml",
    "jfrog-build-info": "build-info.json",
    "buildx-metadata": "metadata.json",
    "trx": "results.trx",
    "go-test-json": "go-test.json",
    "jest-json": "jest.json",
    "mocha-json": "mocha.json",
    "rspec-json": "rspec.json",
}


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.one_of(shaped(), st.binary(max_size=600)))
def test_any_single_file_leaves_the_payload_valid(data: bytes) -> None:
    """Whatever one file holds, every parser's records assemble into a valid payload: an
    impossible time or number becomes a problem record, never an invalid field."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for lp in REGISTRY.parsers:
            path = root / NAMES.get(lp.name, "file.log")
            path.write_bytes(data)
            records = parse_file(lp, path, root)
            payload = assemble(records, GIVEN).payload
            assert validate(payload) == [], (lp.name, data[:200])
            path.unlink()
