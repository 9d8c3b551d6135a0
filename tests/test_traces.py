"""The trace output: each run as an OTLP/HTTP JSON trace, decoded here with the real
OpenTelemetry protobufs and checked against the semantic conventions' own attribute names;
sent after SEI, never in its way, and kept until the receiver takes it."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.semconv._incubating.attributes import cicd_attributes as cicd
from opentelemetry.semconv._incubating.attributes import test_attributes as tests_attr
from opentelemetry.semconv._incubating.attributes import vcs_attributes as vcs
from opentelemetry.semconv.attributes import error_attributes, service_attributes
from opentelemetry.semconv.schemas import Schemas

from sei_watch.config import load_settings
from sei_watch.config.otel import OtelSettings
from sei_watch.deliver.otlp import TraceBox, TraceSender
from sei_watch.payload.report import Given, build_report
from sei_watch.payload.trace import build_trace, export_request
from sei_watch.plugins import load_parsers
from sei_watch.records import SuiteSummary

from .conftest_sei import API_KEY, GUID
from .otlp_receiver import Receiver, decode
from .paths import ROOT
from .sei_server import StandIn

KNOWN = {
    v
    for mod in (cicd, tests_attr, vcs, error_attributes, service_attributes)
    for k, v in vars(mod).items()
    if k.isupper() and isinstance(v, str)
}
SERVER, INTERNAL, ERROR = 2, 1, 2


def _report(ws: Path) -> Any:
    return build_report(
        ws, load_parsers(), load_settings(None, {}),
        given=Given(fields={"instance_guid": GUID, "scm_url": "https://git.example/shop.git"}),
        environ={}, hostname="agent-7", now_ms=1_795_165_200_000,
    )  # fmt: skip


def _workspace(tmp: Path) -> Path:
    """The GitLab job log example plus a failing JUnit suite."""
    ws = tmp / "ws"
    shutil.copytree(ROOT / "examples" / "gitlab-job", ws)
    (ws / "test-results").mkdir()
    (ws / "test-results" / "TEST-cart.xml").write_text(
        '<testsuite name="CartTest" time="1.5"><testcase classname="CartTest" name="adds"/>'
        '<testcase classname="CartTest" name="totals"><failure message="2 != 3"/></testcase>'
        "</testsuite>"
    )
    return ws


def _trace(report: Any, **kw: Any) -> Any:
    suites = [r for r in report.scan.records if isinstance(r, SuiteSummary)]
    spans = build_trace(report.payload, suites, worker="agent-7", **kw)
    body = json.dumps(export_request([spans])).encode()
    return decode(body)


def _attrs(obj: Any) -> dict[str, Any]:
    out = {}
    for kv in obj.attributes:
        which = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, which)
    return out


def test_a_run_is_one_trace_of_stages_steps_and_suites(tmp_path: Path) -> None:
    """The GitLab example (4 stages, 2 steps, failed) and a JUnit suite: a SERVER root
    `BUILD {job}` with the run's times and result failure (status ERROR, error.type), an
    INTERNAL span per stage and step under it, the suite under a Tests stage with a
    test.case.failed event; every attribute name is the semantic conventions' own, and no
    user id is sent."""
    req = _trace(_report(_workspace(tmp_path)))
    (rs,) = req.resource_spans
    assert rs.schema_url == Schemas.V1_43_0.value
    res = _attrs(rs.resource)
    assert res[service_attributes.SERVICE_NAME] == "vm" or res[service_attributes.SERVICE_NAME]
    assert res[vcs.VCS_REPOSITORY_URL_FULL] == "https://git.example/shop.git"
    assert res[cicd.CICD_WORKER_NAME] == "agent-7"
    (ss,) = rs.scope_spans
    assert ss.scope.name == "sei-watch"
    spans = {s.name: s for s in ss.spans}
    root = spans["BUILD ws"]
    assert root.kind == SERVER
    assert not root.parent_span_id
    assert root.status.code == ERROR
    ra = _attrs(root)
    assert ra[cicd.CICD_PIPELINE_RESULT] == "failure"
    assert ra[error_attributes.ERROR_TYPE] == "FAILURE"
    assert root.end_time_unix_nano - root.start_time_unix_nano == 70_900 * 1_000_000
    for stage in ("prepare_executor", "get_sources", "step_script", "after_script", "Tests"):
        assert spans[stage].parent_span_id == root.span_id
        assert spans[stage].kind == INTERNAL
    assert spans["compile"].parent_span_id == spans["step_script"].span_id
    assert _attrs(spans["unit_tests"])[cicd.CICD_PIPELINE_TASK_TYPE] == "test"
    suite = spans["CartTest"]
    assert suite.parent_span_id == spans["Tests"].span_id
    assert _attrs(suite)[tests_attr.TEST_SUITE_RUN_STATUS] == "failure"
    assert [e.name for e in suite.events] == ["test.case.failed"]
    assert _attrs(suite.events[0])["test.case.name"] == "totals"
    names = {k for s in ss.spans for k in _attrs(s)} | set(res)
    assert names <= KNOWN | {"test.case.name"}, names - KNOWN
    assert not any("user" in n or "email" in n for n in names)
    assert len({s.trace_id for s in ss.spans}) == 1


def test_a_repost_gives_the_same_trace_and_span_ids(tmp_path: Path) -> None:
    """Building the trace of the same run twice gives the same trace id and span ids."""
    ws = _workspace(tmp_path)
    one, two = _trace(_report(ws)), _trace(_report(ws))
    assert _ids(one) == _ids(two)


def _ids(req: Any) -> list[tuple[bytes, bytes, bytes]]:
    spans = req.resource_spans[0].scope_spans[0].spans
    return [(s.trace_id, s.span_id, s.parent_span_id) for s in spans]


def test_inside_a_traced_job_the_run_is_a_child_of_the_ci_span(tmp_path: Path) -> None:
    """With TRACEPARENT, the run is a `sei-watch report` span in the CI's trace, its parent
    the CI's span."""
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    req = _trace(_report(_workspace(tmp_path)), traceparent=parent)
    spans = req.resource_spans[0].scope_spans[0].spans
    (root,) = [s for s in spans if s.name == "sei-watch report"]
    assert root.trace_id.hex() == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert root.parent_span_id.hex() == "00f067aa0ba902b7"
    assert all(s.trace_id == root.trace_id for s in spans)


def test_the_strict_decoder_refuses_base64_ids() -> None:
    """The receiver is strict: a span id written as base64 (protobuf's JSON mapping) instead
    of OTLP/JSON's hex is an error, as an unknown field is."""
    span = {"traceId": "S/kvNXezTaajzpKdDg5HNg==", "spanId": "AAAAAAAAAAE=", "name": "x"}
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()
    with pytest.raises(ValueError, match="traceId"):
        decode(body)
    bad = {"resourceSpans": [{"scopeSpans": [{"spans": [], "extra": 1}]}]}
    with pytest.raises(Exception, match="extra"):
        decode(json.dumps(bad).encode())


def test_parse_post_sends_the_trace_after_seis_run(run_cli: Any, tmp_path: Path) -> None:
    """`parse --post` with OTEL_EXPORTER_OTLP_ENDPOINT: SEI stores the run and the receiver
    gets its trace (the header from OTEL_EXPORTER_OTLP_HEADERS, never printed)."""
    sei = StandIn(API_KEY, instances={GUID: "agent-7"}).start()
    recv = Receiver().start()
    try:
        cfg = _config(tmp_path, sei.url)
        env = {"SEI_API_KEY": API_KEY, "OTEL_EXPORTER_OTLP_ENDPOINT": recv.url,
               "OTEL_EXPORTER_OTLP_HEADERS": "x-team-key=s3cr3t-value"}  # fmt: skip
        res = run_cli("parse", str(_workspace(tmp_path)), "--post", "--config", str(cfg),
                      "--set", "build_number=9", environ=env)  # fmt: skip
        assert res.status in (0, 1), res.err
        assert len(sei.store.runs) == 1
        assert len(recv.requests) == 1
        assert recv.headers_seen[0]["x-team-key"] == "s3cr3t-value"
        assert "s3cr3t-value" not in res.out + res.err
        assert recv.rejected == []
    finally:
        sei.stop()
        recv.stop()


def _config(tmp: Path, url: str) -> Path:
    cfg = tmp / "cfg.toml"
    cfg.write_text(
        f'[sei]\nurl = "{url}"\ninstance_guid = "{GUID}"\ninstance_name = "agent-7"\n'
        f'read_timeout = 2.0\n[state]\ndir = "{tmp / "state"}"\n'
    )
    return cfg


def spans(n: int) -> dict[str, Any]:
    """A minimal run: one span with ids made from `n`."""
    span = {"traceId": f"{n:032x}", "spanId": f"{n:016x}", "name": f"BUILD {n}"}
    return {"resource": {"attributes": []}, "scopeSpans": [{"spans": [span]}]}


def test_a_receiver_down_then_503_then_back_gets_every_trace_once(tmp_path: Path) -> None:
    """Traces queued while the receiver is down stay queued; a 503 with Retry-After is
    waited out; a batch refused with 400 is sent run by run, so only the run refused alone is
    dead (kept with the reason); runs waiting go in one request of up to 100."""
    box = TraceBox(tmp_path / "traces.db")
    down = OtelSettings(traces_url="http://127.0.0.1:9/v1/traces", timeout=1.0)
    for n in range(1, 6):
        box.put(f"job#{n}", spans(n))
    sender = TraceSender(down, tmp_path / "traces.db", threading.Event())
    assert sender.flush(box, until=time.monotonic() + 5) == 0
    assert box.counts() == {"pending": 5}
    recv = Receiver().start()
    try:
        up = OtelSettings(traces_url=f"{recv.url}/v1/traces", timeout=2.0)
        sender = TraceSender(up, tmp_path / "traces.db", threading.Event())
        box.db.execute("UPDATE traces SET next_at = 0")
        recv.script.append("503")
        assert sender.flush(box, until=time.monotonic() + 5) == 0
        waiting = box.next_at()
        assert waiting is not None
        assert waiting - time.time() >= 1.5  # Retry-After: 2
        box.db.execute("UPDATE traces SET next_at = 0")
        recv.script.extend(["400", "400"])  # the batch, then the first run alone
        assert sender.flush(box, until=time.monotonic() + 5) == 4
        assert box.counts() == {"dead": 1}
        assert len(recv.requests) == 4
        for n in range(10, 15):
            box.put(f"job#{n}", spans(n))
        assert sender.flush(box, until=time.monotonic() + 5) == 5
        assert len(recv.requests) == 5
        assert len(recv.requests[-1].resource_spans) == 5
    finally:
        recv.stop()
        box.close()


def test_the_daemon_sends_traces_beside_sei_and_keeps_them_while_the_receiver_is_down(
    tmp_path: Path, sei: StandIn
) -> None:
    """The real daemon with the trace output on and its receiver down: both builds reach SEI
    as they would without it; their traces wait in the trace outbox; once the receiver is up,
    both arrive (in the daemon's own trace thread), each run once."""
    from .daemonproc import DaemonProc, wait_for, write_build
    from .natsproc import free_port
    from .test_daemon import spool

    port = free_port()
    root, watches = spool(tmp_path)
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}", "OTEL_SERVICE_NAME": "ci"}
    d = DaemonProc(tmp_path, sei, watches, env=env).start()
    recv: Receiver | None = None
    try:
        write_build(root / "app" / "1")
        write_build(root / "app" / "2", result="FAILURE")
        wait_for(lambda: len(sei.accepted) == 2, 20, "both builds at SEI, the receiver down")
        box = TraceBox(tmp_path / "state" / "traces.db")
        try:
            wait_for(lambda: box.counts().get("pending") == 2, 10, "two traces waiting")
        finally:
            box.close()
        recv = Receiver(port).start()
        wait_for(lambda: len(recv.spans()) >= 2, 40, "the traces sent once it is up")
        roots = [s for s in recv.spans() if s.name.startswith("BUILD ")]
        assert sorted(s.name for s in roots) == ["BUILD app", "BUILD app"]
        assert len({s.trace_id for s in roots}) == 2
        assert recv.rejected == []
    finally:
        d.stop()
        if recv is not None:
            recv.stop()


def test_the_relay_sends_the_traces_of_the_runs_sei_accepted(tmp_path: Path) -> None:
    """In the fleet the relay emits the traces: two payloads posted through NATS reach SEI,
    and their traces the receiver, as two BUILD roots in two traces."""
    from .daemonproc import wait_for
    from .natsproc import NATS_SERVER, NatsNode
    from .test_fleet import KEY, agent_settings, payload, publish_all, relay_settings, run_relay

    if NATS_SERVER is None:
        pytest.skip("nats-server is not installed")
    from sei_watch.daemon import init_streams

    node = NatsNode("n0", tmp_path / "nats").start()
    fleet_guid = "89d2491c-764a-4f77-93d9-18e8e372b795"
    sei = StandIn(KEY, instances={fleet_guid: "fleet"}).start()
    recv = Receiver().start()
    try:
        cfg = relay_settings(tmp_path, node.url, sei, extra=f'[otel]\nendpoint = "{recv.url}"\n')
        init_streams(load_settings(cfg, {}))
        publish_all(agent_settings(tmp_path, node.url), [payload("api", 1), payload("api", 2)])
        relay, thread = run_relay(cfg)
        wait_for(lambda: len(sei.store.runs) == 2, 30, "both runs at SEI")
        wait_for(lambda: len(recv.spans()) >= 2, 30, "both traces at the receiver")
        relay.stop.set()
        thread.join(10)
        roots = [s for s in recv.spans() if s.name == "BUILD api"]
        assert len({s.trace_id for s in roots}) == 2
        assert recv.rejected == []
    finally:
        recv.stop()
        sei.stop()
        node.stop()
