"""Build-log dialects on hand-checked logs, the GitLab corpus, and hostile bytes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sei_watch.plugins import ParserSettings, load_parsers
from sei_watch.records import BuildFacts, ParseProblem, Stage
from sei_watch.scan.workspace import parse_file, scan
from sei_watch.schema import NAME_LIMIT

from .paths import DATA

LOGS = DATA / "logs"
T0 = 1_795_165_200_000  # 2026-11-20T09:00:00Z


def run(parser: str, path: Path, options: dict[str, Any] | None = None) -> list[Any]:
    registry = load_parsers({parser: ParserSettings(options=options or {})} if options else None)
    return parse_file(registry.get(parser), path, path.parent)


def stages(records: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (
            r.name,
            r.start_ms,
            r.duration_ms,
            r.result,
            [(s.name, s.duration_ms, s.result) for s in r.steps],
        )
        for r in records
        if isinstance(r, Stage)
    ]


def facts(records: list[Any]) -> BuildFacts:
    (f,) = [r for r in records if isinstance(r, BuildFacts)]
    return f


def test_gitlab_nested_sections_with_line_timestamps() -> None:
    """Outer sections are stages, inner ones steps; per-line RFC 3339 times give ms."""
    recs = run("log-gitlab", LOGS / "gitlab-job.log")
    assert stages(recs) == [
        ("prepare_executor", T0 + 100, 4400, "SUCCESS", []),
        ("get_sources", T0 + 4600, 2650, "SUCCESS", []),
        (
            "step_script",
            T0 + 7300,
            63300,
            "FAILURE",
            [("compile", 22700, "SUCCESS"), ("unit_tests", 40300, "SUCCESS")],
        ),
        ("after_script", T0 + 70700, 300, "SUCCESS", []),
    ]
    assert (facts(recs).result, facts(recs).start_ms) == ("FAILURE", T0 + 100)
    assert [r for r in recs if isinstance(r, ParseProblem)] == []


def test_gitlab_corpus_matches_gitlabs_own_expectation(corpus: Path) -> None:
    """The eight sections GitLab's own spec expects, though this copy lost its \\r\\e[0K."""
    trace = corpus / "logs/gitlabhq/spec/fixtures/trace"
    recs = run("log-gitlab", trace / "trace_with_sections")
    got = [(n, s // 1000, (s + d) // 1000) for n, s, d, _, _ in stages(recs)]
    assert got == [
        ("prepare_script", 1506004954, 1506004957),
        ("get_sources", 1506004957, 1506004958),
        ("restore_cache", 1506004958, 1506004958),
        ("download_artifacts", 1506004958, 1506004958),
        ("build_script", 1506004958, 1506004959),
        ("after_script", 1506004959, 1506004959),
        ("archive_cache", 1506004959, 1506004959),
        ("upload_artifacts", 1506004959, 1506004959),
    ]
    assert facts(recs).result == "SUCCESS"
    dup = run("log-gitlab", trace / "trace_with_duplicate_sections")
    assert len(stages(dup)) == 16
    assert all(d >= 0 for _, _, d, _, _ in stages(dup))
    assert any("went backwards" in r.reason for r in dup if isinstance(r, ParseProblem))


def test_github_run_folder(tmp_path: Path) -> None:
    """Each step file is a stage, in its number's order, first line to last; its groups are
    its header and details, not steps; errors fail."""
    ws = tmp_path / "ws"
    shutil.copytree(LOGS / "github-run", ws)
    result = scan(ws, load_parsers())
    got = stages(list(result.records))
    assert got == [
        ("Set up job", T0, 2500, "SUCCESS", []),
        ("Run tests", T0 + 3000, 39000, "FAILURE", []),
    ]


# The job log below is written to the exact shape the runner writes (no public repository holds
# a raw one): `##[group]Run X` wraps only a step's header, its output follows `##[endgroup]`.
GH_STEPS = [
    ("Set up job", T0, 2500, "SUCCESS", []),
    ("Run actions/checkout@v4", T0 + 2500, 1500, "SUCCESS", []),
    ("Run make install", T0 + 4000, 90500, "SUCCESS", []),
    ("Run make test", T0 + 94500, 70100, "FAILURE", []),
    ("Post job cleanup", T0 + 164600, 1000, "SUCCESS", []),
    ("Complete job", T0 + 165600, 300, "SUCCESS", []),
]


def test_github_job_log_times_steps_not_headers() -> None:
    """A raw GitHub job log: a step runs from its `Run` group to the next step (not to its
    `##[endgroup]`), the runner's preamble groups are no stages, the set-up before the first
    step is "Set up job", and the last stage ends at the last timestamped line."""
    got = stages(run("log-github", LOGS / "github-job.log"))
    assert got == GH_STEPS


def test_github_gh_cli_log_names_steps_by_their_column() -> None:
    """`gh run view --log` output (`job<TAB>step<TAB>` before every line): the same times,
    the step column for names."""
    got = stages(run("log-github", LOGS / "github-job-gh-cli.log"))
    names = ["Set up job", "Run actions/checkout@v4", "Install", "Test"]
    names += ["Post Run actions/checkout@v4", "Complete job"]
    assert [g[0] for g in got] == names
    assert [g[1:] for g in got] == [g[1:] for g in GH_STEPS]


@pytest.mark.parametrize(
    ("parser", "name", "expected", "result"),
    [
        (
            "log-azure",
            "azure.log",
            [
                ("Initialize job", T0, 2000, "SUCCESS", []),
                ("Build", T0 + 2100, 48000, "FAILURE", []),
                ("Finalize Job", T0 + 50200, 800, "SUCCESS", []),
            ],
            "FAILURE",
        ),
        (
            "log-teamcity",
            "teamcity.log",
            [
                ("Compile 'core'", T0, 12500, "SUCCESS", []),
                ("Tests [unit]", T0 + 12600, 47400, "FAILURE", []),
            ],
            "FAILURE",
        ),
        (
            "log-jenkins",
            "jenkins-console.log",
            [
                ("Checkout", T0 + 500, 4100, "SUCCESS", []),
                ("Build", T0 + 4800, 26400, "FAILURE", []),
                ("Deploy", T0 + 31400, 300, "NOT_BUILT", []),
            ],
            "FAILURE",
        ),
        (
            "log-buildkite",
            "buildkite.log",
            [
                ("Preparing working directory", T0, 3000, "SUCCESS", []),
                (":hammer: Build", T0 + 3000, 22000, "SUCCESS", []),
                (":test_tube: Test", T0 + 25000, 37000, "SUCCESS", []),
            ],
            None,
        ),
        (
            "log-maven",
            "maven-reactor.log",
            [
                ("shop-parent", T0, 912, "SUCCESS", []),
                ("shop-core", T0 + 912, 62000, "SUCCESS", []),
                ("shop-web", T0 + 62912, 12250, "FAILURE", []),
                ("shop-cli", T0 + 75162, 0, "NOT_BUILT", []),
            ],
            "FAILURE",
        ),
        (
            "log-maven",
            "maven-timestamps.log",
            [
                (
                    "cart",
                    T0 + 500,
                    28520,  # from its header (00.500) to the last timestamped line (29.020)
                    "SUCCESS",
                    [
                        ("maven-resources-plugin:3.3.1:resources", 1000, "SUCCESS"),
                        ("maven-compiler-plugin:3.13.0:compile", 7000, "SUCCESS"),
                        ("maven-surefire-plugin:3.2.5:test", 20020, "SUCCESS"),
                    ],
                )
            ],
            "SUCCESS",
        ),
        (
            "log-gradle",
            "gradle.log",
            [
                (
                    "gradle :core",
                    None,
                    0,
                    "SUCCESS",
                    [
                        (":core:compileJava", 0, "SUCCESS"),
                        (":core:processResources NO-SOURCE", 0, "NOT_BUILT"),
                        (":core:classes", 0, "SUCCESS"),
                    ],
                ),
                (
                    "gradle :app",
                    None,
                    0,
                    "FAILURE",
                    [
                        (":app:compileJava UP-TO-DATE", 0, "SUCCESS"),
                        (":app:test FAILED", 0, "FAILURE"),
                    ],
                ),
            ],
            "FAILURE",
        ),
    ],
    ids=["azure", "teamcity", "jenkins", "buildkite", "maven-reactor", "maven-mojos", "gradle"],
)
def test_dialect(
    parser: str, name: str, expected: list[tuple[Any, ...]], result: str | None
) -> None:
    """Each dialect's log gives the hand-checked stages, steps, durations and result."""
    recs = run(parser, LOGS / name)
    assert stages(recs) == expected
    assert facts(recs).result == result


def test_teamcity_escapes() -> None:
    """TeamCity's |' || |n |[ |] and |0xNNNN escapes are decoded."""
    from sei_watch_parsers.logs.teamcity import unescape

    assert unescape(b"a|'b|||n|[x|]|0x00e9") == "a'b|\n[x]é".encode()


def test_gradle_profile_and_ninja() -> None:
    """The --profile report gives task durations; .ninja_log groups targets by directory."""
    prof = stages(run("gradle-profile", LOGS / "profile" / "profile-2026-11-20-09-00-00.html"))
    assert prof == [
        ("gradle :core", None, 12345, "SUCCESS", [(":core:compileJava", 12345, "SUCCESS")]),
        (
            "gradle :app",
            None,
            65250,
            "FAILURE",
            [(":app:test", 65200, "FAILURE"), (":app:compileJava", 50, "SUCCESS")],
        ),
    ]
    ninja = stages(run("log-ninja", LOGS / ".ninja_log"))
    assert [(n, d, [s[:2] for s in steps]) for n, _, d, _, steps in ninja] == [
        ("src", 1300, [("src/core/a.o", 1300), ("src/core/b.o", 895)]),
        ("lib", 300, [("lib/libcore.a", 300)]),
        ("app", 2500, [("app/main", 2500)]),
    ]


def test_generic_log_from_config_alone() -> None:
    """A configured step regex and time format fit an in-house log without Python."""
    opts = {
        "step": r"^(?P<ts>\S+) ==> (?P<name>.+)$",
        "time_format": "%Y-%m-%dT%H:%M:%S%z",
        "error": r"^ERROR\b",
        "result": r"^BUILD (?P<result>\w+)",
        "timestamp": r"^(?P<ts>\S+) ",
    }
    recs = run("log-generic", LOGS / "generic.log", opts)
    assert stages(recs) == [
        ("checkout", T0, 5000, "SUCCESS", []),
        ("build", T0 + 5000, 40000, "FAILURE", []),
        ("package", T0 + 45000, 5000, "SUCCESS", []),
    ]
    assert facts(recs).result == "FAILED"
    bad = run("log-generic", LOGS / "generic.log", {"step": "^(no name group)"})
    assert "must be a regex with (?P<name>)" in bad[0].reason


def test_gitlab_log_and_junit_in_one_workspace(run_cli, tmp_path: Path) -> None:
    """The log's sections are stages beside the Tests stage; start and duration come from
    the log."""
    ws = tmp_path / "ws"
    (ws / "test-results").mkdir(parents=True)
    shutil.copy(LOGS / "gitlab-job.log", ws / "job.log")
    (ws / "test-results" / "junit.xml").write_text(
        '<testsuite name="unit" time="2" timestamp="2026-11-20T09:00:40Z">'
        '<testcase classname="a" name="t" time="2"/></testsuite>'
    )
    payload = json.loads(run_cli("parse", str(ws), "--json").out)
    names = [s["displayName"] for s in payload["job_run"]["stages"]]
    assert names == ["prepare_executor", "get_sources", "step_script", "Tests", "after_script"]
    assert payload["start_time"] == T0 + 100
    assert payload["duration"] == 71000 - 100
    assert payload["result"] == "FAILURE"


LONG = "x" * 30 + "y" * 40


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\x00\xff" * 50_000, None),
        (b"section_end:1506004957:never_opened\n", "never started"),
        (
            b"section_start:1506004954:a\r\x1b[0K\nsection_start:1506004955:a\r\x1b[0K\n"
            b"section_end:1506004956:a\r\x1b[0K\nsection_end:1506004957:a\r\x1b[0K\n",
            None,
        ),
        (
            b"section_start:1506004960:late\r\x1b[0K\nsection_end:1506004950:late\r\x1b[0K\n",
            "went backwards",
        ),
        (b"section_start:1506004954:cut\r\x1b[0K\nhalf a line", "never closed"),
        (
            b"section_start:1506004954:" + LONG.encode() + b"\r\x1b[0K\n"
            b"section_end:1506004955:" + LONG.encode() + b"\r\x1b[0K\n",
            None,
        ),
    ],
    ids=["binary", "unmatched-end", "duplicate-name", "backwards", "truncated", "long-name"],
)
def test_gitlab_hostile(tmp_path: Path, data: bytes, problem: str | None) -> None:
    """Bad logs give problems or flags; durations never go negative; names stay whole here."""
    path = tmp_path / "job.log"
    path.write_bytes(data)
    recs = run("log-gitlab", path)
    probs = [r.reason for r in recs if isinstance(r, ParseProblem)]
    if problem:
        assert any(problem in p for p in probs), probs
    for stage in (r for r in recs if isinstance(r, Stage)):
        assert stage.duration_ms >= 0
        assert all(s.duration_ms >= 0 for s in stage.steps)
    if LONG in str(data):
        assert stages(recs)[0][0] == LONG  # records keep the full name; payloads shorten it


def test_100mb_line_without_newline(tmp_path: Path) -> None:
    """A 100 MB line with no newline is skipped with a problem; the rest is still read."""
    path = tmp_path / "job.log"
    with path.open("wb") as fh:
        fh.write(
            b"section_start:1506004954:before\r\x1b[0K\nsection_end:1506004955:before\r\x1b[0K\n"
        )
        fh.write(b"z" * (100 << 20))
        fh.write(
            b"\nsection_start:1506004956:after\r\x1b[0K\nsection_end:1506004957:after\r"
            b"\x1b[0K\nJob succeeded\n"
        )
    recs = run("log-gitlab", path)
    assert [s[0] for s in stages(recs)] == ["before", "after"]
    assert any("over 1 MiB skipped" in r.reason for r in recs if isinstance(r, ParseProblem))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    data=st.one_of(
        st.binary(max_size=2000),
        st.lists(
            st.sampled_from(
                [
                    b"section_start:1506004954:a\r\x1b[0K",
                    b"section_end:1506004955:a",
                    b"section_start:99:b",
                    b"\n",
                    b"Job succeeded\n",
                    b"ERROR: Job failed",
                    b"##[group]g\n",
                    b"##[endgroup]\n",
                    b"[Pipeline] stage\n",
                    b"[Pipeline] { (S)\n",
                    b"[Pipeline] // stage\n",
                    b"\xff\x00",
                    b"##teamcity[blockOpened name='x']\n",
                    b"--- b\n",
                    b"> Task :a:b\n",
                    b"2026-11-20T09:00:00.0000000Z ##[section]Starting: s\n",
                ]
            ),
            max_size=60,
        ).map(b"".join),
    )
)
def test_any_bytes_give_only_valid_records(tmp_path: Path, data: bytes) -> None:
    """Every log parser accepts any bytes and returns only records or problems."""
    path = tmp_path / "any.log"
    path.write_bytes(data)
    for name in (
        "log-gitlab",
        "log-github",
        "log-azure",
        "log-jenkins",
        "log-teamcity",
        "log-buildkite",
        "log-maven",
        "log-gradle",
    ):
        for rec in run(name, path):
            assert isinstance(rec, Stage | BuildFacts | ParseProblem)
            if isinstance(rec, ParseProblem):
                assert "parser failed" not in rec.reason, (name, rec.reason)
            if isinstance(rec, Stage):
                assert rec.duration_ms >= 0
                assert all(s.duration_ms >= 0 for s in rec.steps)


def test_payload_names_are_shortened() -> None:
    """Stage names from logs reach the payload cut to 50 characters in the middle."""
    from sei_watch.payload.assemble import AssemblyInput, assemble

    payload = assemble([Stage(name="n" * 80, duration_ms=1)], AssemblyInput(now_ms=T0)).payload
    assert len(payload["job_run"]["stages"][0]["displayName"]) == NAME_LIMIT


def _hits(path: Path, literal: bytes | None) -> list[tuple[int, bytes]]:
    from sei_watch_parsers.logs._scan import LogScan
    from sei_watch_parsers.logs.gitlab import GitLabLog

    with path.open("rb") as fh:
        return [(h.offset, h.match.group(0)) for h in LogScan(GitLabLog.pattern, literal).hits(fh)]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    parts=st.lists(
        st.sampled_from(
            [
                b"section_start:1795165200:build\r\x1b[0KBuild\n",
                b"section_end:1795165260:build\r\x1b[0K\n",
                b"section_start:17951652:a_b[collapsed=true]Header text",
                b"section_",
                b"section_section_end:1795165201:x\n",
                b"plain output line\n",
                b"\x1b[32;1mgreen\x1b[0;m\n",
                b"\n",
                b"x" * 70,
            ]
        ),
        max_size=40,
    )
)
def test_literal_candidates_find_what_the_pattern_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts: list[bytes]
) -> None:
    """GitLab markers found through RE2 candidates are exactly the pattern's own `finditer`
    hits, at chunk boundaries too (chunks of 64 bytes here)."""
    from sei_watch_parsers.logs import _scan

    monkeypatch.setattr(_scan, "CHUNK", 64)
    path = tmp_path / "job.log"
    path.write_bytes(b"".join(parts))
    assert _hits(path, b"section_") == _hits(path, None)


def test_literal_candidates_match_on_the_gitlab_corpus() -> None:
    """On every log of the GitLab corpus, the RE2-led scan and the plain scan agree."""
    from .paths import corpus_dir

    logs = sorted(p for p in (corpus_dir() / "logs").rglob("*") if p.is_file())
    assert logs
    for path in logs:
        assert _hits(path, b"section_") == _hits(path, None), path


def test_a_candidate_inside_the_last_match_is_no_hit(tmp_path: Path) -> None:
    """A literal that occurs inside a match already taken starts no second match, as in
    `finditer`."""
    import re

    from sei_watch_parsers.logs._scan import LogScan

    path = tmp_path / "x.log"
    path.write_bytes(b"ab ab cd\nab\n")
    pattern = re.compile(rb"ab[^\n]*?cd|ab")
    for literal in (b"ab", None):
        with path.open("rb") as fh:
            hits = [h.match.group(0) for h in LogScan(pattern, literal).hits(fh)]
        assert hits == [b"ab ab cd", b"ab"], literal
