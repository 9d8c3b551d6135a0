"""One build directory in, one validated payload out: scan, context, assemble, git, validate.

The CLI and the daemon both report builds through here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sei_watch.config import Settings, WatchSpec, coerce_field
from sei_watch.context import BuildContext, collect, finish
from sei_watch.errors import ConfigError, SeiWatchError
from sei_watch.logs import get_logger
from sei_watch.plugins import Registry
from sei_watch.records import ParseProblem, SuiteSummary
from sei_watch.scan import ScanResult, files_under, scan
from sei_watch.validation import validate

from .assemble import Assembly, AssemblyInput, assemble

if TYPE_CHECKING:
    from sei_watch.context import BuildState

    from .ahead import Ahead, Built, Receive

__all__ = ["Given", "Report", "build_report", "report_watched", "require_instance"]

MAX_ATTACHMENT = 32 << 20  # bytes of JUnit reports in one multipart post
log = get_logger("sei_watch.report")
NO_GUID = (
    "instance_guid is not set, and SEI drops runs of an instance it does not know (after "
    "answering 202). Create one with `sei-watch register --integration-id ID --name NAME "
    "--write-config`, or set [sei] instance_guid (SEI_WATCH_SEI_INSTANCE_GUID) to a registered "
    "instance's GUID"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Given:
    """Fields stated outside the build directory: --set, the config, a watch's captures."""

    fields: Mapping[str, Any] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Report:
    """Everything about one build that a person or the outbox needs."""

    scan: ScanResult
    assembly: Assembly
    context: BuildContext
    invalid: list[str]
    head: str | None
    ahead: Ahead | None = field(default=None, repr=False)  # the test zip, being built

    @property
    def payload(self) -> dict[str, Any]:
        return self.assembly.payload

    @property
    def problems(self) -> tuple[ParseProblem, ...]:
        return self.assembly.problems

    @property
    def key(self) -> str:
        """`JOB#BUILD_NUMBER`, as the outbox and the logs name a build."""
        return f"{self.payload.get('job_full_name')}#{self.payload.get('build_number')}"

    def refusal(self) -> str | None:
        """Why this payload must not be posted, or None. SEI answers 202 to a run of an
        unregistered instance and then drops it, and keeps the first result it is sent."""
        if any(key == "instance_guid" for key, _ in self.assembly.defaults):
            return NO_GUID
        if self.context.provisional and self.assembly.sources.get("result", "").startswith(
            "derived"
        ):
            return (
                f"the build has not finished ({self.context.provisional}), and SEI keeps the "
                "first result it is sent: report it once it has finished"
            )
        return None

    def attachment(self, *, cap: int = MAX_ATTACHMENT) -> bytes | None:
        """The build's JUnit suites in the zip SEI's processor stores test rows from (the
        multipart transport; `testzip.py`), read through the scan's own safe I/O, at most `cap`
        bytes of suites. None when there is none. A report left out is logged with why."""
        ahead, self.ahead = self.ahead, None
        if ahead is not None and cap == MAX_ATTACHMENT:
            data, problems = ahead.result()
        else:
            if ahead is not None:
                ahead.cancel()
            data, problems = self._junit_zip(cap)
        for prob in problems:
            log.warning("tests.left_out", key=self.key, path=prob.path, reason=prob.reason)
        return data

    def cancel_attachment(self) -> None:
        """Stop a zip begun ahead (`build_report(zip_ahead=True)`) and not taken."""
        ahead, self.ahead = self.ahead, None
        if ahead is not None:
            ahead.cancel()

    def _junit_zip(self, cap: int) -> Built:
        from .testzip import junit_zip  # noqa: PLC0415  (lxml, zipfile: only when posting)

        root, sources, native = _zip_sources(self.scan)
        return junit_zip(root, sources, cap=cap, native=native)

    def remember(self, state: BuildState) -> None:
        """Once queued: this build's HEAD is the start of the job's next commit range."""
        if self.head:
            p = self.payload
            state.record(
                str(p["instance_guid"]), str(p["job_full_name"]), self.head, int(p["build_number"])
            )


def require_instance(settings: Settings) -> None:
    """Refuse a config that posts builds with no instance GUID for any of them: the daemon and
    backfill would only ever send runs that SEI drops."""
    if settings.fields.get("instance_guid"):
        return
    if (
        all("instance_guid" in w.fields or "{instance_guid}" in w.pattern for w in settings.watches)
        and settings.watches
    ):
        return
    raise ConfigError(f"{settings.source}: {NO_GUID}")


def _given_for(watch: WatchSpec, captures: Mapping[str, str]) -> Given:
    """A [[watch]]'s pattern captures and fixed fields, typed as SEI wants them; a capture that
    is no payload field (or of the wrong type) becomes a job parameter."""
    fields: dict[str, Any] = {}
    params = dict(watch.params)
    for key, value in {**captures, **watch.fields}.items():
        try:
            fields[key] = coerce_field(key, value, f"[[watch]] {watch.name}")
        except ConfigError:
            params[key] = str(value)
    if watch.cd:
        fields["cd"] = True
    return Given(fields=fields, params=params, sources=dict.fromkeys(fields, f"watch {watch.name}"))


def build_report(
    root: Path,
    registry: Registry,
    settings: Settings,
    *,
    given: Given,
    environ: Mapping[str, str],
    hostname: str,
    now_ms: int,
    state: BuildState | None = None,
    repo: Path | None = None,
    repos: tuple[Path, ...] = (),
    newer_than: float | None = None,
    watched: bool = False,
    zip_ahead: bool = False,
) -> Report:
    """Report the build in `root`: file records, CI and git facts, one payload, its problems.
    Files last written before `newer_than` (epoch seconds) belong to an earlier build.
    `watched`: the agent reports a build it did not run, so the build's files are trusted less.
    `zip_ahead` (a one-shot post): SEI's test zip is built on the other core while the scan
    runs (`ahead.py`), and `Report.attachment()` takes it."""
    ahead = _start_zip(root, settings.exclude) if zip_ahead else None
    try:
        result = scan(
            root,
            registry,
            exclude=settings.exclude,
            max_bytes=settings.max_file_bytes,
            newer_than=newer_than,
        )
        if ahead is not None:
            ahead.send(_zip_sources(result))
        report = _report(
            result, settings, given=given, environ=environ, hostname=hostname, now_ms=now_ms,
            state=state, repo=repo, repos=repos, watched=watched,
        )  # fmt: skip
    except BaseException:
        if ahead is not None:
            ahead.cancel()
        raise
    report.ahead = ahead
    return report


def _zip_sources(result: ScanResult) -> tuple[Path, list[str], list[SuiteSummary]]:
    """What the test zip holds: the JUnit reports read again, and the native readers' suites."""
    suites = [r for r in result.records if isinstance(r, SuiteSummary)]
    native = [s for s in suites if s.cases]
    return result.root, sorted({s.source for s in suites if not s.cases}), native


def _start_zip(root: Path, exclude: tuple[str, ...]) -> Ahead:
    """The test zip begun before the scan: the child reads every XML file's suites ahead (the
    scan's own order), until the scan is done and says which reports the zip holds."""
    from .ahead import start  # noqa: PLC0415
    from .testzip import junit_zip, report_suites  # noqa: PLC0415

    real = Path(os.path.realpath(root))

    def work(receive: Receive) -> Built:
        prebuilt: dict[str, list[bytes] | str | None] = {}
        held = 0
        for rel in files_under(real, exclude):
            if held > MAX_ATTACHMENT or receive(False) is not None:
                break  # past the zip's cap, or the scan is done: the rest only on demand
            if rel.lower().endswith(".xml"):
                got = prebuilt[rel] = report_suites(real, rel, MAX_ATTACHMENT)
                held += sum(map(len, got)) if isinstance(got, list) else 0
        scanned, sources, native = receive(True)
        if scanned != real:  # the scan read another tree (a link swapped meanwhile)
            prebuilt = {}
        return junit_zip(scanned, sources, cap=MAX_ATTACHMENT, native=native, prebuilt=prebuilt)

    return start(work)


def _report(
    result: ScanResult,
    settings: Settings,
    *,
    given: Given,
    environ: Mapping[str, str],
    hostname: str,
    now_ms: int,
    state: BuildState | None,
    repo: Path | None,
    repos: tuple[Path, ...],
    watched: bool,
) -> Report:
    extra: list[ParseProblem] = []
    try:
        ctx = collect(
            result.root,
            environ,
            repo=repo,
            confine_marker_repo=watched,
            identity=settings.identity,
        )
    except SeiWatchError as exc:  # a broken marker costs the marker only
        ctx = BuildContext()
        extra.append(ParseProblem(path=".sei-watch.json", reason=str(exc)))
    ctx.extra_repos.extend(repos)
    fields = {**ctx.fields, **settings.fields, **given.fields}
    sources = {
        **ctx.sources,
        **{k: settings.field_sources.get(k, f"config {settings.source}") for k in settings.fields},
        **given.sources,
    }
    asm = assemble(
        (*result.records, *extra),
        AssemblyInput(
            fields=fields,
            field_sources=sources,
            params={**ctx.params, **settings.params, **given.params},
            tests_stage=settings.tests_stage,
            workspace_name=result.root.name,
            hostname=hostname,
            now_ms=now_ms,
        ),
    )
    head = finish(asm.payload, asm.sources, ctx, result.root, state=state)
    return Report(scan=result, assembly=asm, context=ctx, invalid=validate(asm.payload), head=head)


def report_watched(
    watch: WatchSpec,
    directory: Path,
    captures: Mapping[str, str],
    registry: Registry,
    settings: Settings,
    *,
    hostname: str,
    now_ms: int,
    state: BuildState | None,
    newer_than: float | None = None,
) -> Report:
    """A build found under a [[watch]] (the daemon's and backfill's): its pattern captures and
    fixed fields given, its repositories, no CI environment (the build ran elsewhere)."""
    return build_report(
        directory,
        registry,
        settings,
        given=_given_for(watch, captures),
        environ={},
        hostname=hostname,
        now_ms=now_ms,
        state=state,
        repo=watch.repo,
        repos=watch.repos,
        newer_than=newer_than,
        watched=True,
    )
