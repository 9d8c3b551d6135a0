"""What SEI does with a custom CI/CD run after its 202, modelled from the public server code.

The stand-in answers 202 to every well-formed POST, as SEI does; this module is the part that
runs later and decides what is kept. Tests assert on what it stored, never on what it received:
- a run whose instance_guid is not a registered instance is dropped whole;
- a run is (instance, job_full_name, build_number) and the first write wins for its fields;
  a re-post replaces the artifacts and upserts stages (and their steps) by id;
- stage and step `startTime` are strings parsed like Java's `Instant.parse` (plus SEI's fix for a
  `+0000` ending); one that does not parse, or a stage id that is missing or over 50 characters,
  drops every stage of that post;
- names are cut to 50 characters, stage descriptions to 200, step descriptions to 50;
- a run's start keeps its milliseconds; durations (run, stage, step) are whole seconds;
- CI→CD correlation looks at `type = container` artifacts only, in one of three modes;
- test rows come only from a multipart post's nested zip (`sei_tests.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .sei_tests import TestRow, read_junit_zip

RunKey = tuple[str, str, int]
MODES = ("name_qualifier", "name_qualifier_location", "hash")
# Instant.parse (ISO_INSTANT): seconds are required, 0-9 fraction digits, `Z` or an offset.
_INSTANT = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{0,9}))?"
    r"(Z|[+-]\d{2}:\d{2}(?::\d{2})?)\Z"
)
# SEI's own split of a Harness CD image reference into location, name and qualifier.
_HARNESS_IMAGE = re.compile(r"((.*)/)?([^/:]*)(:(.*))?")
_RUN_FIELDS = (
    "pipeline",
    "qualified_name",
    "instance_name",
    "result",
    "user_id",
    "repo_url",
    "branch_name",
    "module_name",
    "ci",
    "cd",
    "scm_commit_ids",
    "job_run_params",
    "trigger_chain",
)


class InstantParseError(ValueError):
    """`Instant.parse` threw: DateTimeParseException."""


def instant_parse(value: Any) -> datetime:
    """Parse as SEI does: Jackson makes any JSON scalar a string, then `Instant.parse`."""
    text = value if isinstance(value, str) else str(value).lower() if value is not None else ""
    if text.endswith("+0000"):  # the server's one fix before parsing
        text = text[:-5] + "Z"
    m = _INSTANT.match(text)
    if not m:
        raise InstantParseError(f"Text '{text}' could not be parsed")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac = (m.group(7) or "").ljust(9, "0")
    try:
        when = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise InstantParseError(f"Text '{text}' could not be parsed: {exc}") from exc
    when += timedelta(microseconds=int(frac) // 1000)
    zone = m.group(8)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        parts = [int(x) for x in zone[1:].split(":")]
        when -= sign * timedelta(hours=parts[0], minutes=parts[1], seconds=sum(parts[2:]))
    return when


@dataclass
class StoredStep:
    """A row of the steps table."""

    id: str
    name: str
    description: str
    result: str
    state: str
    duration_s: int
    start: datetime


@dataclass
class StoredStage:
    """A row of the stages table with its steps, keyed by step id."""

    id: str
    name: str
    description: str
    result: str
    state: str
    duration_s: int
    start: datetime
    steps: dict[str, StoredStep] = field(default_factory=dict)


@dataclass
class StoredArtifact:
    """A row of the artifacts table."""

    type: str
    location: str
    name: str
    qualifier: str
    hash: str
    input: bool
    output: bool


@dataclass
class StoredRun:
    """A job run: its fields as first written, its artifacts and stages as last upserted."""

    key: RunKey
    fields: dict[str, Any]
    start_ms: int
    duration_s: int
    artifacts: list[StoredArtifact] = field(default_factory=list)
    stages: dict[str, StoredStage] = field(default_factory=dict)
    posts: int = 1
    # SEI's test table (the multipart transport only), by `classname.name`: first write wins.
    tests: dict[str, TestRow] = field(default_factory=dict)
    skipped_files: list[str] = field(default_factory=list)  # what the processor logged

    @property
    def test_cases(self) -> int:
        return len(self.tests)

    def to_json(self) -> dict[str, Any]:
        return {
            "instance_guid": self.key[0],
            "job_full_name": self.key[1],
            "build_number": self.key[2],
            **self.fields,
            "start_time_ms": self.start_ms,
            "duration_s": self.duration_s,
            "posts": self.posts,
            "test_cases": self.test_cases,
            "tests": [vars(row) for row in self.tests.values()],
            "artifacts": [vars(a) for a in self.artifacts],
            "stages": [
                {
                    **{k: v for k, v in vars(st).items() if k not in ("steps", "start")},
                    "start": st.start.isoformat(),
                    "steps": [
                        {**{k: v for k, v in vars(sp).items() if k != "start"}}
                        | {"start": sp.start.isoformat()}
                        for sp in st.steps.values()
                    ],
                }
                for st in self.stages.values()
            ],
        }


def _artifact(doc: dict[str, Any]) -> StoredArtifact:
    return StoredArtifact(
        type=str(doc.get("type") or ""),
        location=str(doc.get("location") or ""),
        name=str(doc.get("name") or ""),
        qualifier=str(doc.get("qualifier") or ""),
        hash=str(doc.get("hash") or ""),
        input=bool(doc.get("input")),
        output=bool(doc.get("output")),
    )


def _stage_id(node: dict[str, Any]) -> str:
    ident = node.get("id")
    if ident is None or ident == "":
        raise ValueError("null value in column stage_id violates not-null constraint")
    ident = str(ident)
    if len(ident) > 50:
        raise ValueError("value too long for type character varying(50): stage_id")
    return ident


def _seconds(ms: Any) -> int:
    return int(ms) // 1000 if isinstance(ms, int | float) and not isinstance(ms, bool) else 0


def _stages(doc: dict[str, Any], run_start: datetime) -> tuple[list[StoredStage], str | None]:
    """The stages of one post in order, up to a bad one: the server stores each as it goes,
    and the error ends the loop (that stage and the ones after it are lost)."""
    out: list[StoredStage] = []
    for node in (doc.get("job_run") or {}).get("stages") or []:
        try:
            out.append(_stage(node, run_start))
        except (ValueError, KeyError, TypeError) as exc:
            return out, str(exc)
    return out, None


def _stage(node: dict[str, Any], run_start: datetime) -> StoredStage:
    start = instant_parse(node["startTime"]) if "startTime" in node else run_start
    stage = StoredStage(
        id=_stage_id(node),
        name=str(node.get("displayName") or "")[:50],
        description=str(node.get("displayDescription") or "")[:200],
        result=str(node.get("result") or ""),
        state=str(node.get("state") or ""),
        duration_s=_seconds(node.get("durationInMillis")),
        start=start,
    )
    for step in node.get("steps") or []:
        sid = _stage_id(step)
        stage.steps[sid] = StoredStep(
            id=sid,
            name=str(step.get("displayName") or "")[:50],
            description=str(step.get("displayDescription") or "")[:50],
            result=str(step.get("result") or ""),
            state=str(step.get("state") or ""),
            duration_s=_seconds(step.get("durationInMillis")),
            start=instant_parse(step["startTime"]) if "startTime" in step else start,
        )
    return stage


@dataclass
class StoredJob:
    """A row of the jobs table, keyed by (instance, job_full_name): the upsert's
    `DO UPDATE SET` fields are the last post's (NULL included), the rest the first insert's."""

    job_name: str | None
    module_name: str | None
    scm_url: str | None
    branch_name: str | None
    job_normalized_full_name: str | None
    project_name: str | None


def _job_row(doc: dict[str, Any], old: StoredJob | None) -> StoredJob:
    return StoredJob(
        job_name=old.job_name if old else doc.get("job_name") or doc.get("job_full_name"),
        module_name=old.module_name if old else doc.get("module_name"),
        scm_url=doc.get("repo_url"),
        branch_name=doc.get("branch_name"),
        job_normalized_full_name=doc.get("job_normalized_full_name") or doc.get("job_full_name"),
        project_name=doc.get("project_name"),
    )


class SeiStore:
    """The server's tables, fed one accepted body at a time."""

    def __init__(self) -> None:
        self.instances: dict[str, dict[str, Any]] = {}
        self.jobs: dict[tuple[str, str], StoredJob] = {}
        self.runs: dict[RunKey, StoredRun] = {}
        self.dropped: list[tuple[str, str]] = []  # (job#number, why): what SEI never tells

    def register(self, guid: str, doc: dict[str, Any]) -> None:
        self.instances[guid] = doc

    def ingest(self, doc: dict[str, Any]) -> None:
        """The work SEI does after answering 202; failures are recorded, never answered."""
        what = f"{doc.get('job_full_name')}#{doc.get('build_number')}"
        guid = str(doc.get("instance_guid") or "")
        if guid not in self.instances:
            self.dropped.append((what, f"instance {guid} is not registered: run dropped"))
            return
        # cicd_instances is upserted from every post: name and URL overwritten, NULL included.
        self.instances[guid] = {
            **self.instances[guid],
            "name": doc.get("instance_name"),
            "url": doc.get("instance_url"),
        }
        try:
            number = int(doc.get("build_number") or 0)
        except (TypeError, ValueError):
            self.dropped.append((what, "build_number is not a number: run dropped"))
            return
        job_key = (guid, str(doc["job_full_name"]))
        self.jobs[job_key] = _job_row(doc, self.jobs.get(job_key))
        key = (guid, str(doc["job_full_name"]), number)
        run = self.runs.get(key)
        if run is None:  # the first write decides every run field
            run = StoredRun(
                key=key,
                fields={k: doc[k] for k in _RUN_FIELDS if k in doc},
                start_ms=int(doc.get("start_time") or 0),
                duration_s=_seconds(doc.get("duration")),
            )
            self.runs[key] = run
        else:
            run.posts += 1
        if doc.get("artifacts"):  # replaced only when the new list is non-empty
            run.artifacts = [_artifact(a) for a in doc["artifacts"]]
        stages, error = _stages(doc, datetime.fromtimestamp(run.start_ms / 1000, UTC))
        if error is not None:
            self.dropped.append((what, f"stages from the bad one on dropped: {error}"))
        for stage in stages:
            old = run.stages.get(stage.id)
            if old is not None:
                stage.steps = {**old.steps, **stage.steps}
            run.stages[stage.id] = stage

    def add_tests(self, doc: dict[str, Any], file_part: bytes | None) -> None:
        """A multipart post's zip, into the run's test table: rows from the nested zip's
        top-level `<testsuite>` files, a bad file skipped, the first write of a test kept."""
        key = (
            str(doc.get("instance_guid")),
            str(doc.get("job_full_name")),
            int(doc.get("build_number") or 0),
        )
        run = self.runs.get(key)
        if run is None or not file_part:
            return
        rows, skipped = read_junit_zip(file_part)
        run.skipped_files.extend(skipped)
        for row in rows:
            run.tests.setdefault(row.key, row)  # UNIQUE ... ON CONFLICT DO NOTHING

    def record_harness_cd(self, guid: str, job: str, number: int, image: str) -> RunKey:
        """A deployment as Harness CD records it: the image split by SEI's pattern, no hash."""
        m = _HARNESS_IMAGE.fullmatch(image)
        assert m is not None
        key = (guid, job, number)
        self.runs[key] = StoredRun(
            key=key,
            fields={"cd": True},
            start_ms=0,
            duration_s=0,
            artifacts=[
                StoredArtifact(
                    type="container",
                    location=m.group(2) or "",
                    name=m.group(3) or "",
                    qualifier=m.group(5) or "",
                    hash="",
                    input=True,
                    output=False,
                )
            ],
        )
        return key

    def correlate(self, modes: tuple[str, ...] = MODES) -> set[tuple[RunKey, RunKey]]:
        """Pairs of runs SEI links: container artifacts only, in any of `modes` (SEI combines
        them), whatever `input` and `output` say, both ways; an empty name, qualifier,
        location or hash never matches."""
        assert set(modes) <= set(MODES)

        def same(a: StoredArtifact, b: StoredArtifact) -> bool:
            if "hash" in modes and a.hash and a.hash == b.hash:
                return True
            if not (a.name and a.qualifier) or (a.name, a.qualifier) != (b.name, b.qualifier):
                return False
            if "name_qualifier" in modes:
                return True
            return (
                "name_qualifier_location" in modes
                and bool(a.location)
                and (a.location == b.location)
            )

        links = set()
        for one in self.runs.values():
            mine = [a for a in one.artifacts if a.type == "container"]
            for other in self.runs.values():
                if other is one:
                    continue
                theirs = [a for a in other.artifacts if a.type == "container"]
                if any(same(a, b) for a in mine for b in theirs):
                    links.add((one.key, other.key))
        return links
