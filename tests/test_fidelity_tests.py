"""SEI's test table, as the stand-in models its processor (`tests/sei_tests.py`): what the
multipart transport must send for test rows to arrive, asserted on what was STORED."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from sei_watch.status import ExitStatus

from .conftest_sei import API_KEY, GUID
from .paths import ROOT
from .sei_server import StandIn
from .sei_tests import NESTED, read_junit_zip

EXAMPLES = ROOT / "examples"


def _config(tmp: Path, url: str) -> Path:
    cfg = tmp / "mp.toml"
    cfg.write_text(
        f'[sei]\nurl = "{url}"\ninstance_guid = "{GUID}"\ninstance_name = "agents"\n'
        f'transport = "multipart"\nread_timeout = 2.0\nbackoff_cap = 0.2\n'
        f'[state]\ndir = "{tmp / "state"}"\n'
    )
    return cfg


def _guid_only(tmp: Path, url: str) -> Path:
    """A config naming the instance by its GUID only, as a CI runner's usually does."""
    cfg = tmp / "guid-only.toml"
    cfg.write_text(
        f'[sei]\nurl = "{url}"\ninstance_guid = "{GUID}"\n[state]\ndir = "{tmp / "state"}"\n'
    )
    return cfg


def _post(run_cli, ws: Path, cfg: Path, number: int) -> None:
    res = run_cli(
        "parse", str(ws), "--post", "--timeout", "10", "--config", str(cfg),
        "--set", f"build_number={number}", "--set", "job_full_name=shop/ci",
    )  # fmt: skip
    assert res.status in (ExitStatus.OK, ExitStatus.PROBLEMS), res.err


def _run(sei: StandIn):  # type: ignore[no-untyped-def]
    (run,) = sei.store.runs.values()
    return run


def _zip_of(files: dict[str, bytes]) -> bytes:
    inner, outer = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    with zipfile.ZipFile(outer, "w") as zf:
        zf.writestr(NESTED, inner.getvalue())
    return outer.getvalue()


def test_the_model_reads_only_flat_testsuite_files_of_the_nested_zip() -> None:
    """The stand-in's processor: a `<testsuites>` root gives no row, a Surefire `1,503.2`
    time loses its file, a nameless suite fails its insert, a file in a folder is never seen,
    and a zip without the nested one stores nothing."""
    good = b'<testsuite name="s" time="1.5"><testcase classname="a" name="t" time="1"/></testsuite>'
    rows, skipped = read_junit_zip(
        _zip_of(
            {
                "good.xml": good,
                "wrapped.xml": b"<testsuites>" + good + b"</testsuites>",
                "grouped.xml": good.replace(b'time="1.5"', b'time="1,503.2"'),
                "nameless.xml": good.replace(b' name="s"', b""),
                "dir/deep.xml": good,
            }
        )
    )
    assert [(r.suite, r.key) for r in rows] == [("s", "a.t")]
    assert any("1,503.2" in s for s in skipped)
    assert any("not-null" in s for s in skipped)
    flat = io.BytesIO()
    with zipfile.ZipFile(flat, "w") as zf:
        zf.writestr("TEST-a.xml", good)
    assert read_junit_zip(flat.getvalue())[0] == []


def test_maven_flaky_test_rows_arrive_with_their_grouped_times(
    run_cli, tmp_path: Path, sei: StandIn
) -> None:
    """The maven-flaky example over multipart: every test case of both reports is a stored
    row, those of the `1,503.2` file included, with their times as numbers."""
    ws = tmp_path / "maven-flaky"
    shutil.copytree(EXAMPLES / "maven-flaky", ws)
    _post(run_cli, ws, _config(tmp_path, sei.url), 11)
    run = _run(sei)
    expected = {
        f"{c.get('classname')}.{c.get('name')}"
        for f in (ws / "target" / "surefire-reports").glob("*.xml")
        for c in etree.parse(str(f)).getroot().iter("testcase")
    }
    assert set(run.tests) == expected, run.skipped_files
    assert run.tests["com.example.shop.InventoryClientTest.reservesStock"].time_s == 1200.5
    assert run.skipped_files == []
    # The user's files are never touched.
    assert (
        'time="1,503.2"'
        in (
            ws / "target/surefire-reports/TEST-com.example.shop.InventoryClientTest.xml"
        ).read_text()
    )


def test_testsuites_roots_nameless_suites_and_broken_files(
    run_cli, tmp_path: Path, sei: StandIn
) -> None:
    """A pytest-style `<testsuites>` file is split into its suites, a nameless suite is named
    after its file, and a report cut off mid-way is left out without costing the others."""
    ws = tmp_path / "ws"
    (ws / "reports").mkdir(parents=True)
    (ws / "reports" / "pytest.xml").write_text(
        '<testsuites><testsuite name="pytest" tests="2" time="0.5">'
        '<testcase classname="tests.test_a" name="test_one" time="0.25"/>'
        '<testcase classname="tests.test_a" name="test_two" time="0.25">'
        '<failure message="boom">trace</failure></testcase></testsuite>'
        '<testsuite name="other" tests="1"><testcase classname="tests.test_b" name="test_x"/>'
        "</testsuite></testsuites>"
    )
    (ws / "reports" / "go.xml").write_text(
        '<testsuite tests="1"><testcase classname="pkg" name="TestGo" time="0.1"/></testsuite>'
    )
    (ws / "reports" / "cut.xml").write_text(
        '<testsuite name="cut" tests="3"><testcase classname="c" name="a"/><testcase classn'
    )
    _post(run_cli, ws, _config(tmp_path, sei.url), 12)
    run = _run(sei)
    assert set(run.tests) == {
        "tests.test_a.test_one", "tests.test_a.test_two", "tests.test_b.test_x", "pkg.TestGo"
    }  # fmt: skip
    assert run.tests["tests.test_a.test_two"].status == "FAILED"
    assert run.tests["pkg.TestGo"].suite == "go"
    assert run.skipped_files == []


def test_a_repost_keeps_the_first_row_of_each_test(run_cli, tmp_path: Path, sei: StandIn) -> None:
    """Rows are first-write-wins per `classname.name`: a re-post of the same run with a
    changed outcome keeps the stored row and adds only new tests."""
    ws = tmp_path / "ws"
    (ws / "r").mkdir(parents=True)
    report = ws / "r" / "TEST-x.xml"
    report.write_text('<testsuite name="x"><testcase classname="x" name="a"/></testsuite>')
    cfg = _config(tmp_path, sei.url)
    _post(run_cli, ws, cfg, 13)
    report.write_text(
        '<testsuite name="x"><testcase classname="x" name="a"><failure/></testcase>'
        '<testcase classname="x" name="b"/></testsuite>'
    )
    _post(run_cli, ws, cfg, 13)
    run = _run(sei)
    assert run.tests["x.a"].status == "PASSED"
    assert set(run.tests) == {"x.a", "x.b"}


def test_a_key_without_the_admin_role_still_delivers_the_run(run_cli, tmp_path: Path) -> None:
    """Multipart needs an ADMIN key: on its 403 the payload goes to /v1/custom-cicd instead
    (the run kept, its tests dropped), the next builds too, and nothing is held."""
    sei = StandIn(API_KEY, instances={GUID: "agents"}, admin=False).start()
    try:
        ws = tmp_path / "maven-flaky"
        shutil.copytree(EXAMPLES / "maven-flaky", ws)
        cfg = _config(tmp_path, sei.url)
        res = run_cli(
            "parse", str(ws), "--post", "--timeout", "10", "--config", str(cfg),
            "--set", "build_number=14", "--set", "job_full_name=shop/ci",
        )  # fmt: skip
        assert res.status in (ExitStatus.OK, ExitStatus.PROBLEMS), res.err
        assert "admin" in res.err.lower()
        (run,) = sei.store.runs.values()
        assert run.test_cases == 0
        assert run.stages
    finally:
        sei.stop()


@pytest.mark.parametrize("size", [600_000])
def test_large_bodies_are_limited_by_the_model(size: int) -> None:
    """The model refuses a second body over 500,000 characters within 10 s with a 429."""
    import requests

    sei = StandIn(API_KEY, instances={GUID: "agents"}).start()
    try:
        body = b'{"pad": "' + b"x" * size + b'"}'
        headers = {"Authorization": f"ApiKey {API_KEY}", "Content-Type": "application/json"}
        first = requests.post(f"{sei.url}/v1/custom-cicd", data=body, headers=headers, timeout=5)
        second = requests.post(f"{sei.url}/v1/custom-cicd", data=body, headers=headers, timeout=5)
        assert first.status_code == 400  # malformed for SEI, but counted as a large request
        assert second.status_code == 429
        assert "Retry-After" not in second.headers
    finally:
        sei.stop()


def test_a_defaulted_instance_name_never_renames_the_instance(run_cli, tmp_path: Path) -> None:
    """Only the GUID configured (the usual runner set-up): the payload carries the name and
    URL SEI holds for the instance, so SEI's instance table keeps them after the post (it
    was renamed after the runner's host name, and its URL nulled)."""
    sei = StandIn(API_KEY, instances={GUID: "build-agents"}).start()
    try:
        sei.store.instances[GUID]["url"] = "https://ci.example.com/"
        ws = tmp_path / "maven-flaky"
        shutil.copytree(EXAMPLES / "maven-flaky", ws)
        cfg = _guid_only(tmp_path, sei.url)
        for number in (1, 2):  # the second from the state directory's memory
            res = run_cli(
                "parse", str(ws), "--post", "--config", str(cfg), "--set", f"build_number={number}"
            )
            assert res.status in (ExitStatus.OK, ExitStatus.PROBLEMS), res.err
        assert sei.store.instances[GUID]["name"] == "build-agents"
        assert sei.store.instances[GUID]["url"] == "https://ci.example.com/"
    finally:
        sei.stop()


def test_an_instance_sei_does_not_name_is_not_posted(run_cli, tmp_path: Path) -> None:
    """No instance name configured and SEI has no record of the GUID to read it from: the
    post is refused with the fix (exit 3), never sent under the host's name."""
    sei = StandIn(API_KEY, instances={}).start()
    try:
        ws = tmp_path / "maven-flaky"
        shutil.copytree(EXAMPLES / "maven-flaky", ws)
        cfg = _guid_only(tmp_path, sei.url)
        res = run_cli("parse", str(ws), "--post", "--config", str(cfg))
        assert res.status == ExitStatus.INVALID_PAYLOAD, res.err
        assert "instance_name" in res.err
        assert sei.accepted == []
    finally:
        sei.stop()


def test_a_tag_that_never_ends_is_left_out_of_the_zip_not_buffered(tmp_path: Path) -> None:
    """The zip's own reading of a report stops at a tag with no `>` for 2 MiB (libxml2 would
    hold it whole, at ten times its size): that report is left out with the reason, and the
    good report beside it still gives its rows."""
    from sei_watch.payload.testzip import junit_zip

    good = '<testsuite name="g"><testcase classname="c" name="t" time="0.5"/></testsuite>'
    (tmp_path / "TEST-good.xml").write_text(good)
    (tmp_path / "TEST-bad.xml").write_bytes(b'<testsuite name="b"' + b' x="y"' * 600_000)
    data, problems = junit_zip(tmp_path, ["TEST-good.xml", "TEST-bad.xml"], cap=8 << 20)
    assert data is not None
    rows, _ = read_junit_zip(data)
    assert [(r.classname, r.name) for r in rows] == [("c", "t")]
    assert [p.path for p in problems] == ["TEST-bad.xml"]
    assert "no '>' in 2 MiB" in problems[0].reason


def test_native_reports_give_seis_test_table_their_rows(
    run_cli, tmp_path: Path, sei: StandIn, corpus: Path
) -> None:
    """A workspace holding a TRX, an NUnit 3 report and a `go test -json` stream (real
    files from the shared corpus) posted over multipart: SEI's test table gets a row per case
    of each, as the readers count them (7 + 23 + 4), with the failed ones failed; each was
    counted, and nothing reached the table, before."""
    ws = tmp_path / "ws"
    ws.mkdir()
    native = corpus / "real" / "junit-like"
    for rel in ("trx/allure2-testresultsWithChildren.trx",
                "nunit/nunit3-nunit-plugin-issue110-Money.xml",
                "go-json/go-junit-report-103-subtests.gojson.txt"):  # fmt: skip
        shutil.copy(native / rel, ws / Path(rel).name)
    _post(run_cli, ws, _config(tmp_path, sei.url), 21)
    run = _run(sei)
    assert run.skipped_files == []
    assert len(run.tests) == 7 + 23 + 4, sorted(run.tests)
    failed = sum(1 for row in run.tests.values() if row.status == "FAILED")
    assert failed >= 4 + 1 + 2


def test_a_native_case_with_control_characters_still_gives_the_build(tmp_path: Path) -> None:
    """A Mocha JSON report whose failure messages are coloured with ANSI escapes (a real one
    from the shared corpus) gives its rows, the escapes dropped whole; the zip writer raised
    lxml's ValueError and the whole build was lost."""
    from sei_watch.config.settings import load_settings
    from sei_watch.payload.report import Given, build_report
    from sei_watch.plugins import load_parsers

    src = ROOT.parent / "shared" / "corpus" / "testreports" / "publish-unit-test-result-action"
    ws = tmp_path / "ws"
    ws.mkdir()
    shutil.copy(src / "python/test/files/mocha/tests.json", ws)
    report = build_report(
        ws, load_parsers(), load_settings(None, {}), given=Given(), environ={},
        hostname="h", now_ms=1_795_165_200_000,
    )  # fmt: skip
    data = report.attachment()
    assert data is not None
    rows, _ = read_junit_zip(data)
    assert rows
    inner = zipfile.ZipFile(io.BytesIO(zipfile.ZipFile(io.BytesIO(data)).read(NESTED)))
    text = b"".join(inner.read(n) for n in inner.namelist()).decode()
    assert "expected" in text
    assert "[31m" not in text
    assert "\x1b" not in text
