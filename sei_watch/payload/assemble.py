"""Records plus stated facts become one SEI payload. Pure: no I/O, the clock is passed in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sei_watch.records import Artifact, BuildFacts, ParseProblem, Record, Stage, Step, SuiteSummary
from sei_watch.schema import (
    FIELD_TYPES,
    STAGE_TEXT_LIMIT,
    STEP_TEXT_LIMIT,
    fit,
    iso_instant,
    node_id,
    normalise_result,
    plausible_ms,
    shorten,
    uuid5_dns,
)

from .images import link_ready
from .suites import tests_stage

MAX_RUN_MS = 100 * 365 * 86_400_000  # validation refuses a run longer than a century
JAVA_LONG = 2**63 - 1  # SEI's build_number column

__all__ = ["Assembly", "AssemblyInput", "assemble"]

_SEVERITY = {"SUCCESS": 0, "NOT_BUILT": 1, "UNSTABLE": 2, "ABORTED": 3, "FAILURE": 4}


@dataclass(frozen=True, slots=True, kw_only=True)
class AssemblyInput:
    """What the assembler needs besides the records: stated fields and the local defaults."""

    fields: Mapping[str, Any] = field(default_factory=dict)
    field_sources: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    param_types: Mapping[str, str] = field(default_factory=dict)
    tests_stage: str = "Tests"
    workspace_name: str = "workspace"
    hostname: str = "localhost"
    now_ms: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Assembly:
    """The payload, which fields were defaulted and why, and the records behind it."""

    payload: dict[str, Any]
    sources: dict[str, str]
    defaults: tuple[tuple[str, str], ...]
    stages: tuple[Stage, ...]
    suites: tuple[SuiteSummary, ...]
    artifacts: tuple[Artifact, ...]
    problems: tuple[ParseProblem, ...]


def _worst(results: Iterable[str]) -> str:
    return max(results, key=lambda r: _SEVERITY.get(r, 0), default="SUCCESS")


def _result_of(text: str) -> str:
    return normalise_result(text) or "FAILURE"


def _state_of(result: str) -> str:
    return "SKIPPED" if result == "NOT_BUILT" else "FINISHED"


def _node(
    item: Stage | Step, path: tuple[str, ...], limit: int, problems: list[ParseProblem]
) -> dict[str, Any]:
    result = _result_of(item.result)
    node: dict[str, Any] = {
        "id": node_id(path),
        "displayName": shorten(item.name) or "(unnamed)",
        "displayDescription": fit(item.description or item.name, limit),
        "result": result,
        "state": _state_of(result),
        "durationInMillis": max(int(item.duration_ms), 0),
    }
    if item.start_ms is not None:
        when = iso_instant(int(item.start_ms))
        if when is None:  # SEI would drop every stage of the run for it
            problems.append(
                ParseProblem(
                    path=item.source or "(assembler)",
                    reason=f"{item.name}: start {item.start_ms} ms is no time a build can "
                    "have; sent without a start",
                )
            )
        else:
            node["startTime"] = when
    return node


def _unique(path: tuple[str, ...], seen: dict[tuple[str, ...], int]) -> tuple[str, ...]:
    """The same name twice at one level (two `build` sections) gets `#2`, in scan order."""
    seen[path] = seen.get(path, 0) + 1
    n = seen[path]
    return path if n == 1 else (*path[:-1], f"{path[-1]}#{n}")


def _job_run(stages: list[Stage], problems: list[ParseProblem]) -> dict[str, Any]:
    seen: dict[tuple[str, ...], int] = {}
    out = []
    for stage in stages:
        path = _unique((stage.name,), seen)
        node = _node(stage, path, STAGE_TEXT_LIMIT, problems)
        node["steps"] = [
            _node(step, _unique((*path, step.name), seen), STEP_TEXT_LIMIT, problems)
            for step in stage.steps
        ]
        out.append(node)
    return {"stages": out}


def _artifact(a: Artifact) -> dict[str, Any]:
    return {
        "input": a.input,
        "output": a.output,
        "type": a.type,
        "location": a.location,
        "name": a.name,
        "qualifier": a.qualifier,
        "hash": a.hash,
        "metadata": dict(a.metadata),
    }


def _missing(a: Artifact) -> list[str]:
    """The fields SEI requires that an artifact record leaves empty (a container may have no
    location: SEI names `nginx:1.25` so)."""
    need = ("type", "name", "qualifier") + (() if a.type == "container" else ("location",))
    return [key for key in need if not getattr(a, key)]


def _spans(stages: list[Stage], facts: list[BuildFacts]) -> tuple[int | None, int | None]:
    """The earliest start and latest end the files state; a time no build can have (year 1,
    year 3000) is not one of them."""
    starts = [f.start_ms for f in facts if f.start_ms is not None]
    ends = [f.end_ms for f in facts if f.end_ms is not None]
    for st in stages:
        items: list[Stage | Step] = [st, *st.steps]
        for item in items:
            if item.start_ms is not None:
                starts.append(item.start_ms)
                ends.append(item.start_ms + item.duration_ms)
    starts = [t for t in starts if plausible_ms(t)]
    ends = [t for t in ends if plausible_ms(t)]
    return (min(starts) if starts else None), (max(ends) if ends else None)


def assemble(records: Iterable[Record], given: AssemblyInput) -> Assembly:
    """Turn one build's records into its payload; stated fields always win over derived ones."""
    stages: list[Stage] = []
    suites: list[SuiteSummary] = []
    facts: list[BuildFacts] = []
    problems: list[ParseProblem] = []
    artifacts: dict[tuple[str, str, str, str], Artifact] = {}
    for rec in records:
        if isinstance(rec, Stage):
            stages.append(rec)
        elif isinstance(rec, SuiteSummary):
            suites.append(rec)
        elif isinstance(rec, BuildFacts):
            facts.append(rec)
        elif isinstance(rec, ParseProblem):
            problems.append(rec)
        elif missing := _missing(rec):
            problems.append(
                ParseProblem(
                    path=rec.source or "(parser)",
                    reason=f"artifact {rec.name or '(unnamed)'} is missing {', '.join(missing)}; "
                    "it is not sent",
                )
            )
        else:
            artifacts.setdefault(rec.key, rec)
    all_stages = stages + ([tests_stage(suites, given.tests_stage)] if suites else [])
    # Stages in the order they ran; those with no start keep the order of the scan, after.
    all_stages.sort(key=lambda st: (st.start_ms is None, st.start_ms or 0))
    defaults: list[tuple[str, str]] = []
    p: dict[str, Any] = {}
    src: dict[str, str] = {}
    for fact in facts:  # earlier files win, so the order of the scan decides conflicts
        for key, value in fact.fields:
            if key not in p:
                p[key], src[key] = value, f"file {fact.source}"
    for fact in facts:
        if fact.causes and "trigger_chain" not in p:
            p["trigger_chain"] = [c.to_json() for c in fact.causes]
            src["trigger_chain"] = f"file {fact.source}"
        if fact.commits and "scm_commit_ids" not in p:
            p["scm_commit_ids"] = list(fact.commits)
            src["scm_commit_ids"] = f"file {fact.source}"
    p.update(given.fields)
    src.update({k: given.field_sources.get(k, "config") for k in given.fields})
    file_params = {k: v for fact in facts for k, v in fact.params}

    start, end = _spans(all_stages, facts)
    if "start_time" not in p:
        if start is None:
            start = given.now_ms - sum(s.duration_ms for s in all_stages)
            if not plausible_ms(start):  # stages that claim decades: start now instead
                start = given.now_ms
            defaults.append(("start_time", "no file states a start; taken as now minus the stages"))
        else:
            src["start_time"] = "derived: the earliest start the files state"
        p["start_time"] = start
    if "duration" not in p:
        if end is not None and end >= p["start_time"]:
            p["duration"] = end - p["start_time"]
            src["duration"] = "derived: from the start to the latest end the files state"
        else:
            p["duration"] = sum(s.duration_ms for s in all_stages)
            src["duration"] = "derived: the sum of the stage durations"
        if p["duration"] > MAX_RUN_MS:  # files whose times claim centuries: not a build's
            p["duration"] = 0
            src["duration"] = "derived: 0 (the files' times add up to more than a century)"
    if "result" not in p:
        stated_by = next((f for f in facts if f.result), None)
        if stated_by is not None and stated_by.result is not None:
            p["result"] = _result_of(stated_by.result)
            src["result"] = f"file {stated_by.source}"
        else:
            p["result"] = _worst(_result_of(s.result) for s in all_stages)
            src["result"] = "derived: the worst stage and test result"
    elif isinstance(p["result"], str):
        p["result"] = normalise_result(p["result"]) or p["result"]
    if "build_number" not in p:
        numbered = next((f for f in facts if f.build_number), None)
        stated = numbered.build_number if numbered is not None else None
        if stated and stated.isdigit() and int(stated) > JAVA_LONG:
            problems.append(
                ParseProblem(
                    path=numbered.source if numbered else ".",
                    reason=f"build number {stated[:30]} is past SEI's range (a Java long); "
                    "not used",
                )
            )
            stated = None
        if numbered is not None and stated and stated.isdigit():
            p["build_number"] = int(stated)
            src["build_number"] = f"file {numbered.source}"
        else:
            p["build_number"] = p["start_time"] // 1000
            defaults.append(("build_number", "no build number given; the start time in seconds"))
    guid = uuid5_dns(f"sei-watch.{given.hostname}")
    for key, fallback, why in (
        ("pipeline", lambda: given.workspace_name, "the workspace directory name"),
        ("job_full_name", lambda: p["pipeline"], "the pipeline"),
        ("qualified_name", lambda: p["job_full_name"], "the job_full_name"),
        ("instance_name", lambda: given.hostname, "this host's name"),
        ("instance_guid", lambda: guid, "derived from the host name; run `sei-watch register`"),
    ):
        if not p.get(key):
            p[key] = fallback()
            defaults.append((key, why))
    src.update({key: f"default: {why}" for key, why in defaults})
    p["job_run"] = _job_run(all_stages, problems)
    src["job_run"] = f"parsers: {len(all_stages)} stages"
    params = {**file_params, **given.params}
    types = {**{k: v for fact in facts for k, v in fact.param_types}, **given.param_types}
    if params:
        p.setdefault("job_run_params", [])
        p["job_run_params"] = [
            {"type": types.get(k, "StringParameterValue"), "name": k, "value": v}
            for k, v in params.items()
        ] + [x for x in p["job_run_params"] if x.get("name") not in params]
        src["job_run_params"] = "config, --set param.*, CI and marker"
    arts, image_problems = link_ready(artifacts.values(), branch=p.get("branch_name"))
    problems.extend(image_problems)
    if arts:
        p["artifacts"] = [_artifact(a) for a in arts]
        src["artifacts"] = "parsers: " + ", ".join(sorted({a.source for a in arts}))
    # The SEI plugin sends ci only with an output artifact and cd only with an input one.
    for flag, evidence in (("ci", any(a.output for a in arts)), ("cd", any(a.input for a in arts))):
        if flag not in p and evidence:
            p[flag] = True
            src[flag] = "derived: output artifacts make CI, input artifacts make CD"
    if not p.get("user_id"):
        scm = any(
            isinstance(c, Mapping) and c.get("type") == "SCMTriggerCause"
            for c in p.get("trigger_chain") or ()
        )
        p["user_id"] = "SCMTrigger" if scm else "SYSTEM"
        src["user_id"] = "default: as the SEI plugin (SCMTrigger for an SCM cause, else SYSTEM)"
    order = {key: i for i, key in enumerate(FIELD_TYPES)}
    return Assembly(
        payload=dict(sorted(p.items(), key=lambda kv: order.get(kv[0], len(order)))),
        sources=src,
        defaults=tuple(defaults),
        stages=tuple(all_stages),
        suites=tuple(suites),
        artifacts=tuple(arts),
        problems=tuple(problems),
    )
