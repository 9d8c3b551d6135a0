"""`sei-watch step NAME -- COMMAND...`: run a command as a timed step of the build.

The command's output goes straight to the job's log (its own file descriptors, never a pipe),
its exit status comes back untouched (a death by signal is re-raised on ourselves), and one
line is appended to `.sei-watch-steps.jsonl` in the workspace: the step's name, start,
duration, result and, when it runs inside another step, that step's id. The final `parse`
reads the file: top-level steps become stages, nested ones their steps.

Steps are not written to the marker (`.sei-watch.json`): the marker tells the daemon the
build is complete. This module runs before argparse and imports no more than it must: it
wraps every step of a build, so its own start-up is the cost (see bench/step.py).
"""

from __future__ import annotations

import os
import sys
import time
from _json import encode_basestring_ascii as _quote

TYPE_CHECKING = False  # not `typing`'s: nothing is imported that the step does not use
if TYPE_CHECKING:
    import signal
    from collections.abc import Mapping, Sequence
    from typing import Any
else:  # the C module under `signal`, which pulls in enum and functools (9 ms under load)
    import _signal as signal

__all__ = ["STEPS_FILE", "cmd_step", "run_step", "workspace_of"]

STEPS_FILE = ".sei-watch-steps.jsonl"
USAGE = "usage: sei-watch step [--workspace DIR] NAME -- COMMAND [ARG...]"
# Where each CI keeps the checkout; a nested step inherits the outer one's.
_WORKSPACE_VARS = (
    "SEI_WATCH_WORKSPACE",
    "GITHUB_WORKSPACE",
    "CI_PROJECT_DIR",
    "BUILDKITE_BUILD_CHECKOUT_PATH",
    "BITBUCKET_CLONE_DIR",
    "WORKSPACE",
)
_FORWARD = (signal.SIGTERM, signal.SIGHUP)
_MAX_NAME = 200


def workspace_of(environ: Mapping[str, str]) -> str:
    """The workspace a step belongs to: the outer step's, the CI's checkout, else here."""
    for var in _WORKSPACE_VARS:
        if environ.get(var):
            return environ[var]
    return os.getcwd()


def _split(argv: Sequence[str]) -> tuple[str | None, str, list[str]] | None:
    args = list(argv)
    workspace = None
    if args[:1] == ["--workspace"] and len(args) > 1:
        workspace, args = args[1], args[2:]
    elif args[:1] and args[0].startswith("--workspace="):
        workspace, args = args[0].partition("=")[2], args[1:]
    if not args or args[0].startswith("-"):
        return None
    name, rest = args[0], args[1:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    if not rest or not name.strip():
        return None
    return workspace, name, rest


def run_step(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    """Run the step; return the command's exit status (or end by its signal)."""
    parsed = _split(argv)
    if parsed is None:
        sys.stderr.write(f"{USAGE}\n")
        return 2
    workspace, name, command = parsed
    workspace = workspace or workspace_of(environ)
    step_id = f"{os.getpid()}-{time.time_ns()}"
    child_env = {**environ, "SEI_WATCH_WORKSPACE": workspace, "SEI_WATCH_STEP_ID": step_id}
    start_ns = time.time_ns()
    t0 = time.monotonic_ns()
    try:
        pid = os.posix_spawnp(command[0], command, child_env)
    except OSError as exc:
        sys.stderr.write(f"sei-watch step: {command[0]}: {exc.strerror}\n")
        _record(workspace, name, step_id, environ, start_ns, 0, 127, None)
        return 127
    # Ctrl-C reaches the whole process group; the command decides what it means. A
    # cancelled job's SIGTERM (sent to us alone) is passed on.
    previous = {sig: signal.signal(sig, lambda s, _f: _pass_on(pid, s)) for sig in _FORWARD}
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except ChildProcessError:
                status = 0
                break
            except InterruptedError:
                continue
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    elapsed_ms = (time.monotonic_ns() - t0) // 1_000_000
    code = os.waitstatus_to_exitcode(status)
    died_by = -code if code < 0 else None
    _record(workspace, name, step_id, environ, start_ns, elapsed_ms, code, died_by)
    if died_by is not None:
        signal.signal(died_by, signal.SIG_DFL)
        os.kill(os.getpid(), died_by)  # the caller sees the same death
        return 128 + died_by
    return code


def cmd_step(args: Any, io: Any) -> int:
    """`step` through the full command line (the console script takes a faster path)."""
    return run_step(args.rest, io.environ)


def _pass_on(pid: int, sig: int) -> None:
    try:  # noqa: SIM105  (contextlib is an import the step does not need)
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _record(  # noqa: PLR0917  (one call site; the positions read as the line's fields)
    workspace: str,
    name: str,
    step_id: str,
    environ: Mapping[str, str],
    start_ns: int,
    elapsed_ms: int,
    code: int,
    died_by: int | None,
) -> None:
    """Append the step's line. Never fails the command: a workspace we cannot write is one
    warning line, and the command's status stands."""
    result = "SUCCESS" if code == 0 else ("ABORTED" if died_by is not None else "FAILURE")
    parent = environ.get("SEI_WATCH_STEP_ID")
    line = (
        f'{{"v":1,"id":{_quote(step_id)},"parent":{_quote(parent) if parent else "null"},'
        f'"name":{_quote(name[:_MAX_NAME])},"start_ms":{start_ns // 1_000_000},'
        f'"duration_ms":{elapsed_ms},"exit":{code},"result":"{result}"}}\n'
    ).encode()
    path = os.path.join(workspace, STEPS_FILE)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
        try:
            os.write(fd, line)  # one write of one line: parallel steps never interleave
        finally:
            os.close(fd)
    except OSError as exc:
        sys.stderr.write(f"sei-watch step: the step was not recorded in {path}: {exc.strerror}\n")
