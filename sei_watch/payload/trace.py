"""A finished run as an OpenTelemetry trace (OTLP/JSON `ResourceSpans`), built after the fact
from the payload that goes to SEI and the test suites read beside it, by the CI/CD semantic
conventions (release candidates since semconv 1.43).

One SERVER span per run (`BUILD {job}`), an INTERNAL span per stage and per step, and the test
suites as steps of a `Tests` stage with at most 20 `test.case.failed` events each; no span per
test case, no user id or e-mail. Ids come from the run's identity (instance, job, build
number) and the payload's stage and step ids, so a re-post lands in the same trace, on the
same spans. Under a `TRACEPARENT` the run is a `sei-watch report` child of the CI's span.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sei_watch import __version__
from sei_watch.records import SuiteSummary
from sei_watch.schema import instant_ms

__all__ = ["SCHEMA_URL", "build_trace", "export_request", "trace_id_for"]

SCHEMA_URL = "https://opentelemetry.io/schemas/1.43.0"
MAX_FAILED_EVENTS = 20
_KIND_INTERNAL, _KIND_SERVER = 1, 2
_STATUS_OK, _STATUS_ERROR = 1, 2
_RESULTS = {  # SEI's result -> (cicd.pipeline.result, error.type)
    "SUCCESS": ("success", None),
    "FAILURE": ("failure", "FAILURE"),
    "UNSTABLE": ("failure", "UNSTABLE"),
    "ABORTED": ("cancellation", None),
    "NOT_BUILT": ("skip", None),
}
_TRACEPARENT = re.compile(r"\A00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}\Z")
_TYPES = (("test", "test"), ("deploy", "deploy"), ("release", "deploy"), ("build", "build"),
          ("compile", "build"))  # fmt: skip


def _hex(text: str, size: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[: size * 2]


def _run_key(payload: Mapping[str, Any]) -> str:
    guid, job = payload.get("instance_guid"), payload.get("job_full_name")
    return f"{guid}/{job}#{payload.get('build_number')}"


def trace_id_for(payload: Mapping[str, Any]) -> str:
    """The run's trace id: the same for every post of the run."""
    return _hex("trace/" + _run_key(payload), 16)


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}  # int64 is a string in OTLP/JSON
    return {"key": key, "value": {"stringValue": str(value)}}


def _attrs(pairs: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [_attr(k, v) for k, v in pairs.items() if v is not None and v != ""]


def _ns(ms: int) -> str:
    return str(max(ms, 0) * 1_000_000)


def _task_type(name: str) -> str | None:
    low = name.lower()
    return next((kind for word, kind in _TYPES if word in low), None)


def _span(
    *, trace: str, span: str, parent: str | None, name: str, kind: int, start_ms: int,
    end_ms: int, attrs: Mapping[str, Any], result: str | None,
    events: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:  # fmt: skip
    if result in ("FAILURE", "UNSTABLE"):
        status: dict[str, Any] = {"code": _STATUS_ERROR, "message": str(result)}
    else:
        status = {"code": _STATUS_OK if result == "SUCCESS" else 0}
    out: dict[str, Any] = {
        "traceId": trace,
        "spanId": span,
        "name": name,
        "kind": kind,
        "startTimeUnixNano": _ns(start_ms),
        "endTimeUnixNano": _ns(max(end_ms, start_ms)),
        "attributes": _attrs(attrs),
        "status": status,
    }
    if parent:
        out["parentSpanId"] = parent
    if events:
        out["events"] = list(events)
    return out


def _task(
    key: str, trace: str, parent: str, node: Mapping[str, Any], fallback_ms: int
) -> dict[str, Any]:
    start = instant_ms(node.get("startTime")) or fallback_ms
    dur = node.get("durationInMillis")
    result = str(node.get("result") or "") or None
    name = str(node.get("displayName") or node.get("id") or "stage")
    return _span(
        trace=trace,
        span=_hex(f"{key}/task/{node.get('id')}", 8),
        parent=parent,
        name=name,
        kind=_KIND_INTERNAL,
        start_ms=start,
        end_ms=start + (dur if isinstance(dur, int) else 0),
        result=result,
        attrs={
            "cicd.pipeline.task.name": name,
            "cicd.pipeline.task.run.id": str(node.get("id") or ""),
            "cicd.pipeline.task.run.result": _RESULTS.get(result or "", (None, None))[0],
            "cicd.pipeline.task.type": _task_type(name),
        },
    )


def _suites(
    key: str, trace: str, root: str, suites: Sequence[SuiteSummary], *, start_ms: int, stage: str
) -> list[dict[str, Any]]:
    if not suites:
        return []
    tests_id = _hex(f"{key}/tests", 8)
    spans = []
    cursor = start_ms
    for suite in suites:
        begin = suite.start_ms or cursor
        cursor = begin + suite.time_ms
        events = [
            {
                "timeUnixNano": _ns(begin),
                "name": "test.case.failed",
                "attributes": _attrs({"test.case.name": case.case}),
            }
            for case in suite.failed_cases[:MAX_FAILED_EVENTS]
        ]
        spans.append(
            _span(
                trace=trace,
                span=_hex(f"{key}/suite/{suite.source}/{suite.name}", 8),
                parent=tests_id,
                name=suite.name,
                kind=_KIND_INTERNAL,
                start_ms=begin,
                end_ms=begin + suite.time_ms,
                result="FAILURE" if suite.failed else "SUCCESS",
                events=events,
                attrs={
                    "cicd.pipeline.task.name": suite.name,
                    "cicd.pipeline.task.type": "test",
                    "test.suite.name": suite.name,
                    "test.suite.run.status": "failure" if suite.failed else "success",
                },
            )
        )
    first = min(int(s["startTimeUnixNano"]) for s in spans) // 1_000_000
    last = max(int(s["endTimeUnixNano"]) for s in spans) // 1_000_000
    failed = any(s.failed for s in suites)
    stage_span = _span(
        trace=trace, span=tests_id, parent=root, name=stage, kind=_KIND_INTERNAL,
        start_ms=first, end_ms=last, result="FAILURE" if failed else "SUCCESS",
        attrs={"cicd.pipeline.task.name": stage, "cicd.pipeline.task.type": "test",
               "cicd.pipeline.task.run.result": "failure" if failed else "success"},
    )  # fmt: skip
    return [stage_span, *spans]


def build_trace(
    payload: Mapping[str, Any],
    suites: Sequence[SuiteSummary] = (),
    *,
    service_name: str | None = None,
    resource: Mapping[str, str] | None = None,
    worker: str | None = None,
    traceparent: str | None = None,
    tests_stage: str = "Tests",
) -> dict[str, Any]:
    """One `ResourceSpans` for the run `payload` describes."""
    key = _run_key(payload)
    start = int(payload.get("start_time") or 0)
    end = start + int(payload.get("duration") or 0)
    result = str(payload.get("result") or "") or None
    mapped, error_type = _RESULTS.get(result or "", (None, None))
    job = str(payload.get("job_full_name") or "")
    parent = _TRACEPARENT.match((traceparent or "").strip().lower())
    trace = parent.group(1) if parent else trace_id_for(payload)
    root_id = _hex(f"{key}/run", 8)
    root = _span(
        trace=trace,
        span=root_id,
        parent=parent.group(2) if parent else None,
        name="sei-watch report" if parent else f"BUILD {job}",
        kind=_KIND_INTERNAL if parent else _KIND_SERVER,
        start_ms=start,
        end_ms=end,
        result=result,
        attrs={
            "cicd.pipeline.name": job,
            "cicd.pipeline.run.id": str(payload.get("build_number") or ""),
            "cicd.pipeline.run.url.full": payload.get("web_url") or payload.get("job_url"),
            "cicd.pipeline.action.name": "BUILD",
            "cicd.pipeline.result": mapped,
            "error.type": error_type,
        },
    )
    spans = [root]
    for stage in (payload.get("job_run") or {}).get("stages") or []:
        spans.append(_task(key, trace, root_id, stage, start))
        stage_id = spans[-1]["spanId"]
        spans += [_task(key, trace, stage_id, step, start) for step in stage.get("steps") or []]
    spans += _suites(key, trace, root_id, suites, start_ms=start, stage=tests_stage)
    commits = payload.get("scm_commit_ids") or []
    res = {
        **(resource or {}),
        "service.name": service_name or str(payload.get("instance_name") or "sei-watch"),
        "cicd.pipeline.name": job,
        "cicd.pipeline.run.id": str(payload.get("build_number") or ""),
        "cicd.worker.name": worker,
        "vcs.repository.url.full": payload.get("scm_url"),
        "vcs.ref.head.name": payload.get("branch_name"),
        "vcs.ref.head.type": "branch" if payload.get("branch_name") else None,
        "vcs.ref.head.revision": commits[0] if commits else None,
    }
    return {
        "resource": {"attributes": _attrs(res)},
        "scopeSpans": [
            {
                "scope": {"name": "sei-watch", "version": __version__},
                "schemaUrl": SCHEMA_URL,
                "spans": spans,
            }
        ],
        "schemaUrl": SCHEMA_URL,
    }


def export_request(resource_spans: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """An `ExportTraceServiceRequest` of up to 100 runs."""
    return {"resourceSpans": list(resource_spans)}
