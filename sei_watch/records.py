"""What parsers emit: immutable values, one class per kind of fact a file can state."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Artifact",
    "BuildFacts",
    "CaseFailure",
    "CaseRow",
    "Cause",
    "ParseProblem",
    "Record",
    "Stage",
    "Step",
    "SuiteSummary",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One step inside a stage. `start_ms` is epoch ms; `result` is the source's own word."""

    name: str
    duration_ms: int
    result: str = "SUCCESS"
    start_ms: int | None = None
    description: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Stage:
    """A stage of the run with its steps, as a log or report states it."""

    name: str
    duration_ms: int
    result: str = "SUCCESS"
    start_ms: int | None = None
    description: str = ""
    source: str = ""
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseFailure:
    """The first failing cases of a suite, so a step description can name what broke."""

    case: str
    kind: str  # "failure" or "error"
    type: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseRow:
    """One test case as SEI's test table keeps it (its class is the suite's name), for a
    reader whose format SEI cannot read itself; `status` is passed, failed, error or skipped."""

    name: str
    status: str
    seconds: float = 0.0
    message: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SuiteSummary:
    """One test suite: counts from its test cases, time in ms, and what the file itself claimed."""

    name: str
    tests: int
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    flaky: int = 0
    attempts: int = 0
    time_ms: int = 0
    case_time_ms: int = 0
    start_ms: int | None = None
    source: str = ""
    from_attributes: bool = False
    partial: bool = False
    flags: tuple[str, ...] = ()
    stated: tuple[tuple[str, str], ...] = ()
    failed_cases: tuple[CaseFailure, ...] = ()
    # The cases themselves, from the native readers (a JUnit file is sent as it is written),
    # so the multipart transport can give SEI's test table their rows; bounded per file.
    cases: tuple[CaseRow, ...] = ()

    @property
    def passed(self) -> int:
        """Tests that neither failed, errored nor were skipped (flaky ones passed)."""
        return max(self.tests - self.failures - self.errors - self.skipped, 0)

    @property
    def failed(self) -> bool:
        """Whether any test of this suite failed or errored."""
        return self.failures + self.errors > 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Artifact:
    """Something a run produced (output) or consumed (input), in SEI's artifact terms."""

    type: str
    location: str
    name: str
    qualifier: str
    input: bool = False
    output: bool = False
    hash: str = ""
    metadata: tuple[tuple[str, str], ...] = ()
    source: str = ""

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Identity within a run: SEI correlates on name and qualifier."""
        return (self.type, self.name, self.qualifier, self.hash)


@dataclass(frozen=True, slots=True, kw_only=True)
class Cause:
    """Why a run started, as SEI's trigger_chain holds it: for an upstream run, its job (as
    SEI names it), its build number and its own causes."""

    type: str
    id: str
    run_number: str = ""
    parents: tuple[Cause, ...] = ()

    def to_json(self) -> dict[str, object]:
        """The trigger_chain entry; empty members left out, as the SEI plugin does."""
        out: dict[str, object] = {"id": self.id, "type": self.type}
        if self.run_number:
            out["job_run_number"] = self.run_number
        if self.parents:
            out["direct_parents"] = [p.to_json() for p in self.parents]
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildFacts:
    """Facts about the whole run that a file states. `fields` sets payload fields by name."""

    result: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    build_number: str | None = None
    source: str = ""
    fields: tuple[tuple[str, str], ...] = field(default=())
    params: tuple[tuple[str, str], ...] = ()  # job_run_params, name -> value
    param_types: tuple[tuple[str, str], ...] = ()  # name -> the CI's type of the param
    causes: tuple[Cause, ...] = ()  # trigger_chain
    commits: tuple[str, ...] = ()  # scm_commit_ids the file states


@dataclass(frozen=True, slots=True, kw_only=True)
class ParseProblem:
    """A file, or part of one, that could not be used, and why."""

    path: str
    reason: str
    line: int | None = None
    parser: str = ""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        by = f" [{self.parser}]" if self.parser else ""
        return f"{where}: {self.reason}{by}"


Record = Stage | SuiteSummary | Artifact | BuildFacts | ParseProblem
