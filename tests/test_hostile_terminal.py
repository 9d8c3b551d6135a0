"""Terminal escape injection (issue #18, item 9): escape codes and newlines in test names (a
`&#27;` becomes a real ESC in libxml2) and in file names never reach the terminal raw, in the
summary, --timeline, --explain, the problem list, `timeline last` or `outbox list`."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from sei_watch.logs import configure_logging, get_logger
from sei_watch.termsafe import visible

from .daemonproc import write_build
from .sei_server import StandIn

RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069]")


def hostile_ws(tmp: Path) -> Path:
    ws = tmp / "ws"
    write_build(
        ws,
        marker=False,
        junit='<testsuite name="evil&#27;]2;pwned&#7;&#27;[31m">'
        '<testcase classname="c" name="t&#27;[2J"><failure message="m&#27;[1m"/></testcase>'
        "</testsuite>",
    )
    (ws / "TEST-bad\nsei-watch: problem: forged\x1b[31m.xml").write_text("<testsuite><")
    return ws


def _clean(text: str) -> None:
    assert not RAW.search(text), repr(RAW.findall(text)[:5])
    assert "\nsei-watch: problem: forged" not in text


def test_visible_escapes_controls_and_keeps_text() -> None:
    """The one escaping function: C0, C1, DEL, ESC, newlines and bidi overrides visible."""
    assert visible("a\x1b[31mb\nc\x9bd\u202ee\tf") == "a\\x1b[31mb\\nc\\x9bd\\u202ee\\tf"
    assert visible("plain ünïcode ✔") == "plain ünïcode ✔"


def test_summary_timeline_explain_and_problems_are_escaped(run_cli, tmp_path: Path) -> None:
    """Every human-facing view of a hostile workspace carries no raw control character."""
    ws = hostile_ws(tmp_path)
    for args in ((), ("--timeline",), ("--explain",), ("--timeline", "--ascii")):
        res = run_cli("parse", str(ws), *args)
        _clean(res.out)
        _clean(res.err)
        assert "\\x1b" in res.out + res.err


def test_timeline_last_and_outbox_list_are_escaped(
    run_cli, tmp_path: Path, sei: StandIn, sei_config: Path
) -> None:
    """What the daemon kept (a timeline, an outbox row) is escaped when shown too: the
    `parse --post` result lines, `outbox list`, and `outbox retry|drop ID`, which echo the key."""
    ws = hostile_ws(tmp_path)
    posted = run_cli(
        "parse", str(ws), "--post", "--config", str(sei_config),
        "--set", "pipeline=p\x1b[2J", "--set", "job_full_name=j\x1b]2;x\x07",
    )  # fmt: skip
    _clean(posted.out)
    _clean(posted.err)
    listed = run_cli("outbox", "list", "--config", str(sei_config))
    _clean(listed.out)
    assert "\\x1b" in listed.out
    row = listed.out.split()[0]
    for action in ("retry", "drop"):
        res = run_cli("outbox", action, row, "--config", str(sei_config))
        _clean(res.out)
        _clean(res.err)
        assert "\\x1b" in res.out, (action, res.out)


def test_the_console_log_escapes_what_it_prints() -> None:
    """The human log renderer (a TTY, or `--log-format console`) shows a file name with ESC
    and a newline in it as escapes, as every other human line does; JSON stays exact."""
    out = io.StringIO()
    configure_logging(stream=out, json=False, color=False)
    log = get_logger("test")
    log.warning("file.unreadable", path="TEST-\x1b[2Jx\nforged.xml")
    try:
        raise ValueError("bad name TEST-\x1b]2;owned\x07.xml")
    except ValueError:
        log.exception("build.crashed", build="b\x1b[31m")
    _clean(out.getvalue())
    assert "\\x1b[2J" in out.getvalue()
    out = io.StringIO()
    configure_logging(stream=out, json=True)
    get_logger("test").warning("file.unreadable", path="TEST-\x1b[2Jx.xml")
    configure_logging()  # back to stderr for the tests that follow
    assert json.loads(out.getvalue())["path"] == "TEST-\x1b[2Jx.xml"
