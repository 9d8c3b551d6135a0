"""Build-tool logs with a time before every line (Jenkins' Timestamper, runners' log
collectors, Maven's own), and Maven 2's Reactor Summary: one prefix rule for every log dialect
(`parsers/logs/_scan.py` TS_PREFIX), each shape against its PROVENANCE.md reference."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sei_watch.plugins import ParserSettings, load_parsers
from sei_watch.records import BuildFacts, Stage
from sei_watch.scan.workspace import parse_claimed, parse_file

from .paths import corpus_dir

LOGS = corpus_dir() / "real" / "logs"
STAMPED = LOGS / "maven-timestamped"


def _read(path: Path, tmp: Path, name: str = "console.log") -> tuple[list[Stage], list[BuildFacts]]:
    copy = tmp / name
    shutil.copyfile(path, copy)
    _, records = parse_claimed(copy, load_parsers())
    return (
        [r for r in records if isinstance(r, Stage)],
        [r for r in records if isinstance(r, BuildFacts)],
    )


def _need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"{path} is not here (the shared corpus is beside the repository in CI)")
    return path


@pytest.mark.parametrize(
    "prefix",
    [
        "[2023-05-01T10:00:00.123Z] ",  # Jenkins Timestamper, ISO
        "2024-04-23T07:55:52.1826118Z ",  # a runner's collector, 7-digit fraction
        "15:46:06 ",  # Timestamper's bare clock
        "2023-05-01 10:00:00,123 ",  # Maven's own showDateTime
    ],
)
def test_a_prefixed_maven_console_reads_like_the_plain_one(tmp_path: Path, prefix: str) -> None:
    """Every line of a real multi-module Maven console prefixed with a time: the same modules,
    results and durations as without the prefix (it gave 0 stages and no result)."""
    plain = _need(LOGS / "analysis-model-eclipse-maven-withjavadoc.log")
    stamped = tmp_path / "stamped.txt"
    stamped.write_bytes(
        b"".join(prefix.encode() + line for line in plain.read_bytes().splitlines(keepends=True))
    )
    want, want_facts = _read(plain, tmp_path, "plain.log")
    got, got_facts = _read(stamped, tmp_path, "stamped.log")
    assert want
    assert [(s.name, s.result, s.duration_ms) for s in got] == [
        (s.name, s.result, s.duration_ms) for s in want
    ]
    # A runner-style prefix is also GitHub's raw log format: its reader adds facts of its own
    # (no result, no stage); the build's result is Maven's.
    assert [f.result for f in got_facts if f.result] == [f.result for f in want_facts]


def test_maven2_reactor_summaries(tmp_path: Path) -> None:
    """Maven 2's `[2.730s]` and `[1:06.449s]` durations and a nameless module with no dots
    (`Unnamed - g:a:jar:v  SUCCESS`): the eight and four modules each source states."""
    got, facts = _read(_need(STAMPED / "maven2-reactor" / "gcauchis-chat-mvn.log"), tmp_path)
    assert [(s.name, s.duration_ms) for s in got] == [
        ("irc", 2730), ("common", 14202), ("server", 70), ("server-model", 5854),
        ("server-service", 73),
        ("Unnamed - com.gc.irc:server-service-api:jar:0.0.2-SNAPSHOT", 1626),
        ("server-service-impl-file", 1310), ("server-core", 66449),
    ]  # fmt: skip
    assert {s.result for s in got} == {"SUCCESS"}
    assert [f.result for f in facts] == ["SUCCESS"]
    got, _ = _read(_need(STAMPED / "maven2-reactor" / "gkonst-staub-mvn-2.0.7-debug.log"), tmp_path)
    assert [s.duration_ms for s in got] == [4341, 6538, 3976, 2211]


@pytest.mark.parametrize(
    ("name", "module", "start", "end"),
    [
        (
            "analysis-model-issue63346-timestamper-iso.txt", "ldap",
            "2020-08-05T20:06:07.664Z", "2020-08-05T20:06:13.796Z",
        ),
        (
            "warnings-ng-issue56484-maven-timestamper-iso.txt", "analysis-model",
            "2019-03-09T19:12:04.459Z", "2019-03-09T19:12:23.996Z",
        ),
    ],
)  # fmt: skip
def test_timestamper_logs_are_timed_by_their_prefixes(
    tmp_path: Path, name: str, module: str, start: str, end: str
) -> None:
    """A Timestamper console with no Reactor Summary: its module, from the first stamped line
    to the last (the span each reference states)."""
    from datetime import datetime

    def ms(text: str) -> int:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)

    got, _ = _read(_need(STAMPED / name), tmp_path)
    assert [s.name for s in got] == [module]
    assert got[0].start_ms == ms(start)
    assert got[0].start_ms + got[0].duration_ms == ms(end)


@pytest.mark.parametrize(
    "prefix", ["", "[2023-05-01T10:00:00.123Z] ", "15:46:06 ", "2024-04-23T07:55:52.1826118Z "]
)
def test_a_configured_plain_log_reads_the_same_with_a_prefix(tmp_path: Path, prefix: str) -> None:
    """`log-generic`'s patterns anchored with `^` also match after a collector's timestamp:
    the same config reads the raw and the stamped log alike (its patterns matched nothing on
    a stamped log before); a pattern that names the time itself still gets it."""
    log = tmp_path / "build.log"
    log.write_text(
        "".join(
            f"{prefix}{line}\n"
            for line in (
                "==> compile",
                "cc -c a.c",
                "==> test",
                "ERROR: 1 test failed",
                "BUILD FAILURE",
            )
        )
    )
    lp = load_parsers(
        {
            "log-generic": ParserSettings(
                globs=("**/build.log",),
                options={"step": "^==> (?P<name>.+)$", "error": "^ERROR:",
                         "result": "^BUILD (?P<result>\\w+)"},
            )
        }
    ).get("log-generic")  # fmt: skip
    records = parse_file(lp, log, tmp_path)
    stages = [r for r in records if isinstance(r, Stage)]
    assert [(s.name, s.result) for s in stages] == [("compile", "SUCCESS"), ("test", "FAILURE")]
