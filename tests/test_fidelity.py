"""What SEI stores, not what it answers 202 to: every test here posts through the real outbox
to the stand-in and asserts on what its model of the server kept (`tests/sei_store.py`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from lxml import etree

from sei_watch.status import ExitStatus

from .conftest_sei import GUID
from .jenkinshome import build
from .paths import ROOT
from .sei_server import StandIn
from .sei_store import MODES, InstantParseError, SeiStore, instant_parse

EXAMPLES = ROOT / "examples"


def _post(run_cli, ws: Path, cfg: Path, *sets: str) -> None:
    res = run_cli("parse", str(ws), "--post", "--config", str(cfg), *sets)
    assert res.status in (ExitStatus.OK, ExitStatus.PROBLEMS), res.err


def _only_run(sei: StandIn) -> dict:
    runs = [run.to_json() for run in sei.store.runs.values()]
    assert len(runs) == 1, (runs, sei.store.dropped)
    return runs[0]


# -- the stand-in's model itself -------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["2026-01-05T10:00:01Z", "2026-01-05T10:00:01.123Z", "2026-01-05T10:00:01.123+0000"],
)
def test_model_instant_parse_accepts_iso_utc(text: str) -> None:
    """The model parses ISO-8601 UTC instants, with SEI's +0000 fix."""
    assert instant_parse(text).isoformat().startswith("2026-01-05T10:00:01")


@pytest.mark.parametrize("value", [1795166043000, "1795166043000", "2026-01-05 10:00:01", "x"])
def test_model_instant_parse_refuses_numbers_and_local_forms(value: object) -> None:
    """A number (Jackson makes it a string) or a non-instant string throws, as Instant.parse."""
    with pytest.raises(InstantParseError):
        instant_parse(value)


def test_model_drops_unregistered_instances_and_numeric_stage_times() -> None:
    """The model drops a run of an unknown GUID, and the stages of a post from the first one
    with a numeric time on."""
    store = SeiStore()
    run = {"instance_guid": GUID, "job_full_name": "j", "build_number": 1, "result": "SUCCESS"}
    stage = {"id": "a", "displayName": "a", "durationInMillis": 1, "startTime": 1795166043000}
    store.ingest({**run, "job_run": {"stages": [stage]}})
    assert store.runs == {}
    assert "not registered" in store.dropped[0][1]
    store.register(GUID, {"name": "x"})
    store.ingest({**run, "job_run": {"stages": [stage]}})
    assert store.runs[(GUID, "j", 1)].stages == {}
    assert "stages from the bad one on dropped" in store.dropped[-1][1]


# -- stages and steps ------------------------------------------------------------------------


@pytest.mark.parametrize("example", ["maven-flaky", "gitlab-job", "buildx-ci"])
def test_every_stage_and_step_is_stored(
    run_cli, tmp_path: Path, sei: StandIn, sei_config: Path, example: str
) -> None:
    """Each example's stages and steps are stored, none dropped after the 202."""
    ws = tmp_path / example
    shutil.copytree(EXAMPLES / example, ws)
    _post(run_cli, ws, sei_config, "--set", "build_number=7")
    sent = sei.accepted[-1]["job_run"]["stages"]
    stored = _only_run(sei)
    assert sei.store.dropped == []
    assert len(stored["stages"]) == len(sent) > 0
    assert sum(len(s["steps"]) for s in stored["stages"]) == sum(len(s["steps"]) for s in sent)
    for node in sent:
        assert isinstance(node.get("startTime", ""), str)
        assert len(node["id"]) <= 50


def test_stage_ids_are_stable_when_a_stage_is_added(
    run_cli, tmp_path: Path, sei: StandIn, sei_config: Path
) -> None:
    """A re-post with one more stage upserts by name path: no stored stage changes its name."""
    ws = tmp_path / "ws"
    (ws / "test-results").mkdir(parents=True)
    (ws / "test-results" / "TEST-b.xml").write_text(
        '<testsuite name="b" timestamp="2026-01-05T10:00:05"><testcase name="t"/></testsuite>'
    )
    _post(run_cli, ws, sei_config, "--set", "build_number=3")
    (ws / "test-results" / "TEST-a.xml").write_text(
        '<testsuite name="a" timestamp="2026-01-05T10:00:01"><testcase name="t"/></testsuite>'
    )
    _post(run_cli, ws, sei_config, "--set", "build_number=3")
    run = _only_run(sei)
    assert run["posts"] == 2
    for stage in run["stages"]:
        for step in stage["steps"]:
            assert step["name"] in step["id"], "an id that is not the step's own name path"
    steps = sorted(st["name"] for s in run["stages"] for st in s["steps"])
    assert steps == ["a", "b"]


def test_step_description_fits_50_and_names_the_first_failure(
    run_cli, tmp_path: Path, sei: StandIn, sei_config: Path
) -> None:
    """A suite's step description is written to fit 50 characters, first failure included."""
    ws = tmp_path / "ws"
    ws.mkdir()
    cases = "".join(f'<testcase name="t{i}"/>' for i in range(11))
    (ws / "TEST-cart.xml").write_text(
        f'<testsuite name="cart">{cases}<testcase name="checksOutWithTax">'
        '<failure message="expected 12.10 but was 12.00">trace</failure></testcase></testsuite>'
    )
    _post(run_cli, ws, sei_config, "--set", "build_number=4")
    stage = _only_run(sei)["stages"][0]
    step = stage["steps"][0]
    assert step["description"] == "12 tests, 1 failed: checksOutWithTax"
    assert len(step["description"]) <= 50
    assert "checksOutWithTax" in stage["description"]


# -- the instance GUID -----------------------------------------------------------------------


def test_defaulted_guid_is_never_posted(run_cli, tmp_path: Path, sei: StandIn) -> None:
    """Without a GUID, `parse --post` refuses with the fix and sends nothing."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[sei]\nurl = "{sei.url}"\n[state]\ndir = "{tmp_path / "state"}"\n')
    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLES / "maven-flaky", ws)
    res = run_cli("parse", str(ws), "--post", "--config", str(cfg))
    assert res.status == ExitStatus.INVALID_PAYLOAD
    assert "sei-watch register" in res.err
    assert "instance_guid" in res.err
    assert sei.requests == 0
    assert not (tmp_path / "state" / "outbox.sqlite").exists() or "0 pending" in run_cli(
        "outbox", "stats", "--config", str(cfg)
    ).out.replace("pending: 0", "0 pending")


def test_register_calls_instances_and_keeps_the_name(
    run_cli, sei: StandIn, sei_config: Path
) -> None:
    """`register` creates the instance with one call and keeps its name for later payloads."""
    res = run_cli(
        "register", "--integration-id", "4711", "--name", "ci-east", "--write-config",
        "--config", str(sei_config),
    )  # fmt: skip
    assert res.status == 0, res.err
    guid = res.out.strip()
    assert sei.requests == 1
    assert sei.accepted == []
    text = sei_config.read_text()
    assert f'instance_guid = "{guid}"' in text
    assert 'instance_name = "ci-east"' in text


def test_doctor_says_whether_the_guid_is_registered(
    run_cli, tmp_path: Path, sei: StandIn, sei_config: Path
) -> None:
    """doctor asks SEI about the GUID: registered passes, unknown fails with the fix."""
    ok = json.loads(run_cli("doctor", "--json", "--config", str(sei_config)).out)
    check = next(c for c in ok if c["name"] == "instance guid")
    assert check["ok"]
    assert "registered" in check["detail"]
    other = tmp_path / "other.toml"
    other.write_text(sei_config.read_text().replace(GUID, "11111111-2222-4333-8444-555555555555"))
    bad = json.loads(run_cli("doctor", "--json", "--config", str(other)).out)
    check = next(c for c in bad if c["name"] == "instance guid")
    assert not check["ok"]
    assert "not registered" in check["detail"]
    assert "sei-watch register" in check["fix"]


# -- containers and correlation --------------------------------------------------------------


def test_containers_are_named_as_sei_names_them(
    run_cli, tmp_path: Path, sei: StandIn, sei_config: Path
) -> None:
    """location = registry/namespace, name = last segment, qualifier = tag, hash = digest."""
    ws = tmp_path / "ci"
    shutil.copytree(EXAMPLES / "buildx-ci", ws)
    _post(run_cli, ws, sei_config, "--set", "build_number=1")
    arts = {(a["location"], a["name"], a["qualifier"]): a for a in _only_run(sei)["artifacts"]}
    cart = arts[("registry.example.com/shop", "cart", "1.14.2")]
    assert cart["hash"].startswith("sha256:6c3c624b")
    assert cart["output"]
    sent = next(a for a in sei.accepted[-1]["artifacts"] if a["qualifier"] == "1.14.2")
    assert sent["metadata"]["image"] == "registry.example.com/shop/cart:1.14.2"


@pytest.mark.parametrize("mode", MODES)
def test_ci_build_links_to_its_deployments_in_every_mode(
    run_cli, tmp_path: Path, sei: StandIn, sei_config: Path, mode: str
) -> None:
    """The buildx CI run links to our k8s CD run in every mode, and to a Harness CD record
    of the same image where the mode can match it (Harness CD records no hash)."""
    for n, name in enumerate(("buildx-ci", "deploy-cd"), 1):
        shutil.copytree(EXAMPLES / name, tmp_path / name)
        _post(run_cli, tmp_path / name, sei_config, "--set", f"build_number={n}")
    ci = (GUID, "buildx-ci", 1)
    harness = sei.store.record_harness_cd(
        GUID, "harness-deploy", 9, "registry.example.com/shop/cart:1.14.2"
    )
    links = sei.store.correlate((mode,))
    assert (ci, (GUID, "deploy-cd", 2)) in links
    assert ((ci, harness) in links) == (mode != "hash")


def test_digest_only_reference() -> None:
    """A digest-only image: name without the digest, the digest as qualifier and hash."""
    from sei_watch_parsers.manifests._common import parse_image

    ref = parse_image("ghcr.io/acme/api@sha256:" + "a" * 64)
    assert ref is not None
    assert (ref.location, ref.name, ref.qualifier, ref.hash) == (
        "ghcr.io/acme", "api", "sha256:" + "a" * 64, "sha256:" + "a" * 64,
    )  # fmt: skip
    bare = parse_image("nginx:1.25")
    assert bare is not None
    assert (bare.location, bare.name, bare.qualifier) == ("", "nginx", "1.25")


# -- first write wins ------------------------------------------------------------------------


def test_a_re_post_cannot_change_the_result(
    run_cli, tmp_path: Path, sei: StandIn, sei_config: Path
) -> None:
    """A later report of the same build changes no run field at SEI, so none is sent: the
    outbox keeps the first body's run fields and sends only new artifacts and stages."""
    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLES / "maven-flaky", ws)
    _post(run_cli, ws, sei_config, "--set", "build_number=5", "--set", "result=FAILURE")
    _post(run_cli, ws, sei_config, "--set", "build_number=5", "--set", "result=SUCCESS")
    assert len(sei.accepted) == 1, "a change of run fields alone is not sent"
    (ws / "buildx-metadata.json").write_text(
        (EXAMPLES / "buildx-ci" / "buildx-metadata.json").read_text()
    )
    _post(run_cli, ws, sei_config, "--set", "build_number=5", "--set", "result=SUCCESS")
    assert len(sei.accepted) == 2
    assert sei.accepted[-1]["result"] == "FAILURE"
    run = _only_run(sei)
    assert run["result"] == "FAILURE"
    assert any(a["name"] == "cart" for a in run["artifacts"])


# -- triggers, users and Jenkins names ---------------------------------------------------------


def test_jenkins_names_in_the_plugin_forms(run_cli, tmp_path: Path) -> None:
    """Multibranch: job_full_name keeps jobs/ and branches/, pipeline is the last job segment,
    qualified_name is normalised, branch_name from branches/."""
    d = build(tmp_path, "payments/api@main", 57)
    p = json.loads(run_cli("parse", str(d), "--json", "--set", f"instance_guid={GUID}").out)
    assert p["job_full_name"] == "payments/jobs/api/branches/main"
    assert p["pipeline"] == "api"
    assert p["qualified_name"] == "payments/api/main"
    assert p["branch_name"] == "main"


def test_jenkins_names_the_same_from_inside_the_job(run_cli, tmp_path: Path) -> None:
    """`parse` inside a Jenkins multibranch job gives the names the JENKINS_HOME watcher gives."""
    ws = tmp_path / "ws"
    ws.mkdir()
    env = {
        "JENKINS_URL": "https://ci.example.com/",
        "JOB_NAME": "payments/api/main",
        "BRANCH_NAME": "main",
        "BUILD_NUMBER": "57",
    }
    p = json.loads(
        run_cli("parse", str(ws), "--json", "--set", f"instance_guid={GUID}", environ=env).out
    )
    assert (p["job_full_name"], p["pipeline"], p["qualified_name"], p["branch_name"]) == (
        "payments/jobs/api/branches/main", "api", "payments/api/main", "main",
    )  # fmt: skip


def test_upstream_trigger_links_to_the_parent_run(run_cli, tmp_path: Path) -> None:
    """An upstream cause names the parent's job_full_name (plugin form, looked up in
    JENKINS_HOME) and build number as a string, with the parent's causes as direct_parents:
    those Jenkins nested in the cause, else those of the parent's own build.xml. The user is
    the origin's, as the plugin follows the chain: SCMTrigger, then the parent's user."""
    build(tmp_path, "payments/api@main", 57)
    d = build(tmp_path, "ops/nightly", 9, kind="freestyle")
    p = json.loads(run_cli("parse", str(d), "--json", "--set", f"instance_guid={GUID}").out)
    link = {
        "id": "payments/jobs/api/branches/main",
        "job_run_number": "57",
        "type": "UpstreamCause",
    }
    assert p["trigger_chain"] == [
        {**link, "direct_parents": [{"id": "SCMTrigger", "type": "SCMTriggerCause"}]}
    ]
    assert p["user_id"] == "SCMTrigger"
    xml = (d / "build.xml").read_text()
    start, end = xml.index("<upstreamCauses>"), xml.index("</upstreamCauses>")
    (d / "build.xml").write_text(xml[:start] + xml[end + len("</upstreamCauses>") :])
    p = json.loads(run_cli("parse", str(d), "--json", "--set", f"instance_guid={GUID}").out)
    assert p["trigger_chain"] == [
        {**link, "direct_parents": [{"id": "jdoe", "type": "UserIdCause"}]}
    ]
    assert p["user_id"] == "jdoe"


def test_jenkins_params_keep_their_types(run_cli, tmp_path: Path) -> None:
    """Jenkins params keep their types; no synthetic git_commit param."""
    d = build(tmp_path, "payments/api@main", 57)
    p = json.loads(run_cli("parse", str(d), "--json", "--set", f"instance_guid={GUID}").out)
    types = {x["name"]: x["type"] for x in p["job_run_params"]}
    assert types["ENVIRONMENT"] == "StringParameterValue"
    assert types["DRY_RUN"] == "BooleanParameterValue"
    assert "git_commit" not in types


def test_user_id_is_always_present(run_cli, tmp_path: Path) -> None:
    """With no person behind the build, user_id is SYSTEM, as the plugin sends it."""
    ws = tmp_path / "ws"
    ws.mkdir()
    p = json.loads(run_cli("parse", str(ws), "--json", environ={}).out)
    assert p["user_id"] == "SYSTEM"


# -- the small ones --------------------------------------------------------------------------


def test_no_artifacts_means_no_ci_or_cd_flag(run_cli, tmp_path: Path) -> None:
    """ci and cd are left out without artifact evidence."""
    ws = tmp_path / "ws"
    ws.mkdir()
    p = json.loads(run_cli("parse", str(ws), "--json", environ={}).out)
    assert "ci" not in p
    assert "cd" not in p


def test_repo_url_only_when_remote(run_cli, tmp_path: Path) -> None:
    """A checkout whose remote is a local path sends no repo_url."""
    from .gitrepo import Repo, clone

    upstream = Repo(tmp_path / "upstream")
    upstream.commit("a")
    local = clone(upstream, tmp_path / "clone")
    p = json.loads(run_cli("parse", str(local.path), "--json", environ={}).out)
    assert "repo_url" not in p
    assert p["scm_commit_ids"] == [upstream.head()]


def test_unformattable_start_is_left_out_with_a_problem() -> None:
    """A stage start that cannot be an ISO instant is left out with a problem, never a number."""
    from sei_watch.payload.assemble import AssemblyInput, assemble
    from sei_watch.records import Stage

    asm = assemble(
        [Stage(name="s", duration_ms=5, start_ms=10**17, source="log")],
        AssemblyInput(fields={"start_time": 1_750_000_000_000}, now_ms=1_750_000_000_000),
    )
    node = asm.payload["job_run"]["stages"][0]
    assert "startTime" not in node
    assert any("start" in p.reason for p in asm.problems)


def _no_guid_config(tmp_path: Path, sei: StandIn) -> Path:
    home = tmp_path / "jenkins"
    build(home, "payments/api@main", 57)
    cfg = tmp_path / "noguid.toml"
    cfg.write_text(
        f'[sei]\nurl = "{sei.url}"\n[state]\ndir = "{tmp_path / "state"}"\n'
        f'[[watch]]\npreset = "jenkins-home"\nroot = "{home}"\n'
    )
    return cfg


def test_daemon_and_backfill_refuse_without_a_guid(run_cli, tmp_path: Path, sei: StandIn) -> None:
    """`run`, `backfill` and `check-config` refuse a config that gives no instance GUID, with
    the fix, and nothing reaches SEI."""
    cfg = _no_guid_config(tmp_path, sei)
    for command in ("check-config", "backfill", "run"):
        res = run_cli(command, "--config", str(cfg))
        assert res.status == ExitStatus.USAGE, (command, res.err)
        assert "sei-watch register" in res.err + res.out, command
    assert sei.requests == 0


# -- the plugin's multipart transport ----------------------------------------------------------


def test_multipart_transport_fills_the_test_tables(run_cli, tmp_path: Path, sei: StandIn) -> None:
    """`[sei] transport = "multipart"` posts the payload and a zip of the JUnit reports to
    /v1/generic-requests/multipart, as the SEI Jenkins plugin does: the run is stored with all
    its stages, and every test case of the reports reaches the test tables (counted here)."""
    ws = tmp_path / "maven-flaky"
    shutil.copytree(EXAMPLES / "maven-flaky", ws)
    cfg = tmp_path / "mp.toml"
    cfg.write_text(
        f'[sei]\nurl = "{sei.url}"\ninstance_guid = "{GUID}"\ntransport = "multipart"\n'
        f'[state]\ndir = "{tmp_path / "state"}"\n'
    )
    _post(run_cli, ws, cfg, "--set", "build_number=11")
    run = _only_run(sei)
    cases = sum(
        len(etree.parse(str(f)).getroot().findall(".//testcase"))
        for f in (ws / "target" / "surefire-reports").glob("*.xml")
    )
    assert run["test_cases"] == cases > 0
    assert len(run["stages"]) == len(sei.accepted[-1]["job_run"]["stages"])
    assert sei.seen_headers[-1]["Content-Type"].startswith("multipart/form-data; boundary=")


def test_multipart_zip_is_bounded(tmp_path: Path) -> None:
    """The zip holds JUnit suites only (flat, in the nested zip SEI reads), up to its cap;
    what does not fit is left out."""
    import io as _io
    import zipfile

    from sei_watch.config.settings import load_settings
    from sei_watch.payload.report import Given, build_report
    from sei_watch.plugins import load_parsers

    ws = tmp_path / "ws"
    (ws / "test-results").mkdir(parents=True)
    for n in range(3):
        (ws / "test-results" / f"TEST-{n}.xml").write_text(
            f'<testsuite name="s{n}">' + "<testcase name='t'/>" * 200 + "</testsuite>"
        )
    (ws / "build.log").write_text("not a report\n")
    report = build_report(
        ws, load_parsers(), load_settings(None, {}), given=Given(), environ={},
        hostname="h", now_ms=1_795_165_200_000,
    )  # fmt: skip

    def inner(data: bytes | None) -> zipfile.ZipFile:
        assert data is not None
        outer = zipfile.ZipFile(_io.BytesIO(data))
        assert outer.namelist() == ["levelops_junit_reports.zip"]
        return zipfile.ZipFile(_io.BytesIO(outer.read("levelops_junit_reports.zip")))

    whole = inner(report.attachment())
    assert sorted(whole.namelist()) == ["TEST-0_0.xml", "TEST-1_1.xml", "TEST-2_2.xml"]
    size = whole.getinfo("TEST-0_0.xml").file_size
    assert len(inner(report.attachment(cap=size * 2)).namelist()) == 2


def test_the_documented_optional_fields_pass_through(run_cli, tmp_path: Path) -> None:
    """SEI's documented optional fields are accepted and sent: `web_url` from the CI's build
    URL (or --set), `execution_id`, `cfr_status` and `themes` as stated (each was refused as
    an unknown field)."""
    ws = tmp_path / "ws"
    ws.mkdir()
    from .conftest_sei import GITHUB

    env = dict(GITHUB)
    res = run_cli(
        "parse", str(ws), "--json", "--set", f"instance_guid={GUID}",
        "--set", "execution_id=exec-42", "--set", "cfr_status=failed", "--set", "themes=a,b",
        environ=env,
    )  # fmt: skip
    assert res.status in (0, 1), res.err
    p = json.loads(res.out)
    assert p["web_url"] == "https://github.com/acme/shop/actions/runs/9000417"
    assert (p["execution_id"], p["cfr_status"], p["themes"]) == ("exec-42", "failed", ["a", "b"])


def test_the_stand_in_runs_as_the_readme_says(run_cli, tmp_path: Path) -> None:
    """`python -m tests.sei_server --key K --instance GUID=NAME` prints its URL; a post to it
    is stored and shown at /_standin/runs."""
    import subprocess
    import sys
    import urllib.request

    from .paths import ROOT

    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.sei_server", "--key", "k1", "--instance", f"{GUID}=ci"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        ws = tmp_path / "ws"
        shutil.copytree(EXAMPLES / "maven-flaky", ws)
        env = {"SEI_URL": url, "SEI_API_KEY": "k1", "SEI_INSTANCE_GUID": GUID,
               "SEI_INSTANCE_NAME": "ci", "SEI_WATCH_STATE_DIR": str(tmp_path / "s")}  # fmt: skip
        res = run_cli("parse", str(ws), "--post", "--set", "build_number=7", environ=env)
        assert res.status in (0, 1), res.err
        with urllib.request.urlopen(f"{url}/_standin/runs", timeout=5) as resp:
            runs = json.loads(resp.read())
        assert [r["build_number"] for r in runs] == [7]
    finally:
        proc.terminate()
        proc.wait(10)
