"""The command line's grammar: every command and option, in one place, built without importing
the pipeline, so that `sei-watch --version` and `mark` start at once."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sei_watch import __version__
from sei_watch.errors import ConfigError
from sei_watch.schema import RESULTS

__all__ = ["build_parser", "parse_assignment"]


_EPILOG = """\
examples:
  sei-watch parse WORKSPACE                      what SEI would receive, and why
  sei-watch parse WORKSPACE --post --soft-fail   report a CI job from inside it
  sei-watch step test -- make test               time a step for the final parse
  sei-watch check-config --config FILE           every mistake of a config at once
  sei-watch doctor                               every precondition, with the fix
  sei-watch run --config FILE                    the daemon (see systemd/README.md)

exit statuses: 0 ok, 1 problems in files (the payload is still valid), 2 usage or
configuration, 3 invalid payload or refused for good, 4 not delivered yet (saved),
130/143 interrupted or cancelled (saved). With --soft-fail a CI step exits 0.

more: `sei-watch COMMAND --help`, and the project's README.md."""


class _Skipped:
    """A command's parser this run does not need: whatever is asked of it, it absorbs."""

    def __getattr__(self, _name: str) -> Any:
        return lambda *_a, **_k: self


class _Only:
    """The subparsers, building only `keep`: the options of 20 commands cost a one-shot
    `parse` ~15 ms, and argparse needs only the one on the command line."""

    def __init__(self, sub: Any, keep: str) -> None:
        self._sub, self._keep = sub, keep

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        return self._sub.add_parser(name, **kwargs) if name == self._keep else _Skipped()


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Every command and option, built without importing what the commands use. Given the
    command line, only its command is built (all of them for a bare `--help` or a typo)."""
    ap = argparse.ArgumentParser(
        prog="sei-watch",
        description="Report CI builds to Harness SEI.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--version", action="version", version=f"sei-watch {__version__}")
    ap.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour on a terminal (auto: unless NO_COLOR is set or output is not a terminal)",
    )
    ap.add_argument(
        "--log-format",
        choices=("auto", "json", "console"),
        default="auto",
        help="the structured log: auto is JSON under systemd or in a pipe, readable on a "
        "terminal, and in a CI job readable errors only",
    )
    ap.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        help="the least severe log event shown (default: [log] level, else info)",
    )
    sub: Any = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    command = _command_in(argv)
    if command is not None:
        sub = _Only(sub, command)
    _parse(sub)

    ps = sub.add_parser("parsers", help="list the parsers found and where each came from")
    ps.add_argument("--config", type=Path, help="a TOML config file")
    ps.add_argument("--json", action="store_true", help="the parsers as JSON")
    _outbox(sub)
    _mark(sub)
    st = sub.add_parser(
        "step",
        help="run a command as a timed step of the build (recorded for the final parse)",
        usage="sei-watch step [--workspace DIR] NAME -- COMMAND [ARG...]",
    )
    st.add_argument("rest", nargs=argparse.REMAINDER, help="NAME -- COMMAND [ARG...]")
    _install(sub)
    rn = sub.add_parser("run", help="the daemon: watch the roots, report every build to SEI")
    rn.add_argument("--config", type=Path, help="default: ./sei-watch.toml, else /etc/sei-watch")
    rl = sub.add_parser("relay", help="the fleet relay: post what agents publish to NATS to SEI")
    rl.add_argument("--config", type=Path, help="default: ./sei-watch.toml, else /etc/sei-watch")
    rl.add_argument(
        "--init", action="store_true", help="create or update the streams and consumer, then exit"
    )
    rl.add_argument(
        "--replay-dead",
        action="store_true",
        help="publish every dead letter again to its subject (after a fix), then exit",
    )
    cc = sub.add_parser("check-config", help="validate the config without running")
    cc.add_argument("--config", type=Path, help="a TOML config file")
    cc.add_argument("--json", action="store_true", help="the result and the watches as JSON")
    tl = sub.add_parser("timeline", help="show a build the daemon reported, as a Gantt chart")
    tl.add_argument("which", choices=["last"], help="the most recent build")
    tl.add_argument("--config", type=Path, help="a TOML config file")
    tl.add_argument("--ascii", action="store_true", help="plain ASCII")
    tl.add_argument("--width", type=int, help="default: the terminal's")
    tl.add_argument("--html", type=Path, metavar="FILE", help="also write the HTML page")
    bf = sub.add_parser("backfill", help="report every completed build under the roots")
    bf.add_argument("--config", type=Path, help="a TOML config file")
    win = bf.add_mutually_exclusive_group()
    win.add_argument("--since", metavar="YYYY-MM-DD", help="builds completed since this day")
    win.add_argument("--last", metavar="90d", help="builds of the last N days/hours/minutes")
    bf.add_argument("--watch", metavar="NAME", help="only this [[watch]]")
    bf.add_argument("--dry-run", action="store_true", help="count per job, show a sample")
    bf.add_argument("--rate", default="20/s", help="at most this many builds a second (20/s)")
    dr = sub.add_parser("doctor", help="check the install: config, key, SEI, roots, state, git")
    dr.add_argument("--config", type=Path, help="a TOML config file")
    dr.add_argument("--json", action="store_true", help="the results as JSON, for monitoring")
    co = sub.add_parser("completion", help="print shell completion (bash, zsh or fish)")
    co.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell to complete in")
    return ap


# Each command and where it runs (`module:function` under sei_watch.cli, imported when it
# runs): `build_parser` builds one of them from its name, `entry` runs it.
COMMANDS = {
    "parse": "parse:cmd_parse",
    "parsers": "ops:cmd_parsers",
    "outbox": "outbox:run_outbox",
    "register": "register:run_register",
    "mark": "mark:cmd_mark",
    "step": "step:cmd_step",
    "install-unit": "install:cmd_install_unit",
    "run": "ops:cmd_run",
    "relay": "fleet:cmd_relay",
    "check-config": "checkconfig:cmd_check_config",
    "doctor": "ops:cmd_doctor",
    "timeline": "ops:cmd_timeline",
    "backfill": "ops:cmd_backfill",
    "completion": "completion:cmd_completion",
}


def _command_in(argv: Sequence[str] | None) -> str | None:
    """The command named on the command line, when argparse will reach it: None for a help
    or version request before it, or no known command at all."""
    for arg in argv or ():
        if arg in ("-h", "--help", "--version"):
            return None
        if arg in COMMANDS:
            return None if arg == "completion" else arg
    return None


def _parse(sub: Any) -> None:
    """The `parse` subcommand and its options."""
    p = sub.add_parser("parse", help="parse a workspace (or one file) and show the payload")
    p.add_argument("path", type=Path, help="the build workspace, or one file with --parser")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print exactly the payload to post")
    out.add_argument("--records", action="store_true", help="print every record and problem")
    p.add_argument("--parser", metavar="NAME", help="run only this parser on the file PATH")
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a payload field (param.NAME=VALUE adds a job parameter)",
    )
    p.add_argument("--config", type=Path, help="a TOML config file")
    p.add_argument(
        "--strict", action="store_true", help="fail when a required field would be defaulted"
    )
    p.add_argument(
        "--post", action="store_true", help="queue the payload in the outbox and deliver it now"
    )
    p.add_argument(
        "--explain",
        action="store_true",
        help="print every payload field, its value and where it came from (with --json: JSON)",
    )
    p.add_argument("--repo", type=Path, help="the git checkout (default: the one around PATH)")
    out.add_argument("--timeline", action="store_true", help="draw the build as a Gantt chart")
    p.add_argument("--ascii", action="store_true", help="plain ASCII for --timeline")
    p.add_argument("--width", type=int, help="--timeline width (default: the terminal's)")
    p.add_argument("--html", type=Path, metavar="FILE", help="write the timeline as HTML")
    p.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds --post tries to deliver, retries included (default 30)",
    )
    p.add_argument(
        "--save-undelivered",
        type=Path,
        metavar="FILE",
        help="where --post keeps a payload it could not deliver "
        "(default: ./sei-watch-undelivered-JOB-N.json)",
    )
    p.add_argument(
        "--soft-fail",
        action="store_true",
        help="exit 0 when files had problems or delivery failed (also SEI_WATCH_SOFT_FAIL=1)",
    )


def _outbox(sub: Any) -> None:
    """Add the outbox and register commands to the CLI's subparsers."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="a TOML config file")
    ob = sub.add_parser("outbox", help="inspect, retry, drop or flush queued payloads")
    osub = ob.add_subparsers(dest="action", required=True, metavar="ACTION")
    ls = osub.add_parser("list", help="one line per row", parents=[common])
    ls.add_argument(
        "--state",
        choices=("pending", "inflight", "delivered", "dead"),
        help="only rows in this state",
    )
    ls.add_argument("--json", action="store_true", help="the rows as JSON")
    osub.add_parser("show", help="a row and its payload", parents=[common]).add_argument(
        "key", help="JOB#BUILD_NUMBER or a row id"
    )
    rt = osub.add_parser("retry", help="send a row (or every dead one) again", parents=[common])
    rt.add_argument("key", nargs="?", help="JOB#BUILD_NUMBER or a row id")
    rt.add_argument("--all-dead", action="store_true", help="every dead row")
    osub.add_parser("drop", help="delete a row for good", parents=[common]).add_argument(
        "key", help="JOB#BUILD_NUMBER or a row id"
    )
    osub.add_parser("stats", help="counts by state, oldest waiting, size", parents=[common])
    im = osub.add_parser(
        "import", help="queue payloads that `parse --post` saved undelivered", parents=[common]
    )
    im.add_argument("files", nargs="+", type=Path, metavar="FILE", help="saved payload files")
    im.add_argument("--flush", action="store_true", help="deliver them now, then exit")
    im.add_argument("--timeout", type=float, default=60.0, help="seconds for --flush")
    fl = osub.add_parser("flush", help="deliver what is waiting, then exit", parents=[common])
    fl.add_argument("--timeout", type=float, default=60.0, help="seconds (default 60)")

    rg = sub.add_parser("register", help="create the CI/CD instance GUID in SEI")
    rg.add_argument("--integration-id", required=True, help="the SEI integration it belongs to")
    rg.add_argument("--name", required=True, help="the instance's name, as SEI shows it")
    rg.add_argument("--type", default="jenkins", help="the instance type (default jenkins)")
    rg.add_argument(
        "--write-config",
        action="store_true",
        help="store the GUID and name as [sei] instance_guid and instance_name in the config",
    )
    rg.add_argument("--config", type=Path, help="a TOML config file")


def _mark(sub: Any) -> None:
    mk = sub.add_parser("mark", help="write the build marker (run as the CI job's last step)")
    mk.add_argument("--result", help=f"the job's result ({', '.join(RESULTS)} or the CI's word)")
    mk.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="a job parameter for SEI (repeatable)",
    )
    mk.add_argument("--cd", action="store_true", help="this job is a deployment")
    mk.add_argument("--dir", type=Path, default=Path("."), help="the build output directory")
    mk.add_argument("--repo", type=Path, help="the git checkout (default: the current one)")
    mk.add_argument("--start", type=int, help="the job's start, epoch ms, if the CI hides it")


def _install(sub: Any) -> None:
    """The `install-unit` subcommand."""
    p = sub.add_parser("install-unit", help="print or install the systemd unit and a config")
    p.add_argument(
        "--print",
        dest="show",
        choices=("unit", "config"),
        help="print the unit (or the example config) instead of writing it",
    )
    p.add_argument(
        "--unit-dir",
        type=Path,
        default=Path("/etc/systemd/system"),
        help="where the unit goes (default /etc/systemd/system)",
    )
    p.add_argument(
        "--config",
        type=Path,
        default=Path("/etc/sei-watch/config.toml"),
        help="where the example config goes, unless a file is there (default /etc/sei-watch)",
    )
    p.add_argument(
        "--exec",
        dest="exe",
        help="the sei-watch to run (default: this one, found on PATH or beside Python)",
    )


def parse_assignment(text: str) -> tuple[str, str]:
    """Split a `KEY=VALUE` from the command line."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE")
    return key.strip(), value
