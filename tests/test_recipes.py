"""The ready-made CI steps in examples/ci: each recipe's own shell text is run by bash under
that vendor's environment variables, against the stand-in SEI, and what SEI stored is checked.
With SEI down, each still exits 0 (soft-fail) and leaves the payload for the job to keep."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest_sei import API_KEY, GUID
from .paths import ROOT
from .sei_server import StandIn

CI = ROOT / "examples" / "ci"
BIN = str(Path(sys.executable).parent)


def github_script(timeout: str) -> str:
    """The action's run step, with its inputs bound the way the runner binds them."""
    action = yaml.safe_load((CI / "github" / "action.yml").read_text())
    step = action["runs"]["steps"][0]
    defaults = {k: v.get("default", "") for k, v in action["inputs"].items()}
    defaults["timeout"] = timeout  # as a workflow's `with: timeout:` would
    env = {
        k: re.sub(r"\$\{\{ inputs\.([\w-]+) \}\}", lambda m: str(defaults[m.group(1)]), v)
        for k, v in step["env"].items()
    }
    env["SEI_RESULT"] = "failure"  # ${{ job.status }}
    env.pop("SEI_URL"), env.pop("SEI_API_KEY"), env.pop("SEI_WATCH_SEI_INSTANCE_GUID")
    exports = "".join(f"export {k}={v!r}\n" for k, v in env.items())
    return exports + str(step["run"])


class _GitLabYaml(yaml.SafeLoader):
    """GitLab's YAML: `!reference [.job, key]` names another part of the file."""


_GitLabYaml.add_constructor(
    "!reference", lambda loader, node: ("!reference", loader.construct_sequence(node))
)


def gitlab_script(timeout: str, package: str | None = None) -> str:
    """The template's after_script, its `!reference`s expanded as GitLab does, with its
    variables (a job's own variables win)."""
    doc = yaml.load((CI / "gitlab" / "sei-watch.gitlab-ci.yml").read_text(), _GitLabYaml)
    job = doc[".sei-watch"]
    lines: list[str] = []
    for item in job["after_script"]:
        if isinstance(item, tuple):
            target = doc
            for part in item[1]:
                target = target[part]
            lines.extend(target)
        else:
            lines.append(item)
    variables = {**job["variables"], "SEI_TIMEOUT": timeout}
    if package is not None:
        variables["SEI_WATCH_PACKAGE"] = package
    exports = "".join(f"export {k}={v!r}\n" for k, v in variables.items())
    return exports + "\n".join(lines)


def jenkins_script(timeout: str) -> str:
    """The snippet's sh block, with the withEnv values a finished build gives."""
    text = (CI / "jenkins" / "Jenkinsfile").read_text()
    body = re.search(r"sh '''\n(.*?)'''", text, re.S)
    assert body is not None
    env = f"export SEI_RESULT=UNSTABLE SEI_WATCH_SOFT_FAIL=true SEI_TIMEOUT={timeout}\n"
    return env + body.group(1)


def buildkite_script(timeout: str) -> str:
    return (
        f"export SEI_TIMEOUT={timeout}\n"
        + (CI / "buildkite" / "hooks" / "post-command").read_text()
    )


RECIPES = {
    "github": (
        github_script,
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": "acme/shop",
            "GITHUB_WORKFLOW": "ci",
            "GITHUB_JOB": "test",
            "GITHUB_RUN_ID": "9000417",
            "GITHUB_RUN_NUMBER": "417",
        },
        "FAILURE",
    ),
    "gitlab": (
        gitlab_script,
        {
            "GITLAB_CI": "true",
            "CI_PROJECT_PATH": "acme/shop",
            "CI_JOB_NAME": "test",
            "CI_PIPELINE_IID": "88",
            "CI_JOB_ID": "123456",
            "CI_JOB_STATUS": "failed",
        },
        "FAILURE",
    ),
    "buildkite": (
        buildkite_script,
        {
            "BUILDKITE": "true",
            "BUILDKITE_PIPELINE_SLUG": "shop",
            "BUILDKITE_LABEL": "test",
            "BUILDKITE_BUILD_NUMBER": "12",
            "BUILDKITE_COMMAND_EXIT_STATUS": "0",
        },
        "SUCCESS",
    ),
    "jenkins": (
        jenkins_script,
        {
            "JENKINS_URL": "https://ci.example.com/",
            "JOB_NAME": "shop/test",
            "BUILD_NUMBER": "31",
        },
        "UNSTABLE",
    ),
}


def _run(
    name: str, tmp: Path, url: str, timeout: str = "30"
) -> tuple[subprocess.CompletedProcess[str], Path]:
    script, vendor, _ = RECIPES[name]
    ws = tmp / name
    shutil.copytree(ROOT / "examples" / "maven-flaky", ws)
    vendor = dict(vendor)
    if name == "gitlab":
        vendor["CI_PROJECT_DIR"] = str(ws)
    elif name == "buildkite":
        vendor["BUILDKITE_BUILD_CHECKOUT_PATH"] = str(ws)
    elif name == "jenkins":
        vendor["WORKSPACE"] = str(ws)
    else:
        vendor["GITHUB_WORKSPACE"] = str(ws)
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "HOME": str(tmp / "home"),
        "SEI_URL": url,
        "SEI_API_KEY": API_KEY,
        "SEI_WATCH_SEI_INSTANCE_GUID": GUID,
        "SEI_WATCH_STATE_DIR": str(tmp / f"state-{name}"),
        **vendor,
    }
    proc = subprocess.run(
        ["bash", "-c", script(timeout)],
        cwd=ws,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc, ws


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_reports_the_job(tmp_path: Path, name: str) -> None:
    """The recipe's shell, under its CI's variables: exit 0, the run stored with its result."""
    srv = StandIn(API_KEY, instances={GUID: "runners"}).start()
    try:
        proc, _ = _run(name, tmp_path, srv.url)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "delivered to SEI" in proc.stderr
        (run,) = srv.store.runs.values()
        assert run.fields["result"] == RECIPES[name][2]
        assert run.stages
    finally:
        srv.stop()


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_with_sei_down_keeps_the_payload(tmp_path: Path, name: str) -> None:
    """SEI unreachable: the job is not failed, and the payload is saved for the artifacts."""
    srv = StandIn(API_KEY).start()
    url = srv.url
    srv.stop()  # nothing listens there any more
    proc, ws = _run(name, tmp_path, url, timeout="2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert list(ws.glob("sei-watch-undelivered-*.json")), proc.stderr[-2000:]


def test_action_passes_actionlint() -> None:
    """The example workflow that uses the action passes actionlint, which checks the inputs
    it gives against action.yml (skipped where actionlint did not install)."""
    tool = shutil.which("actionlint", path=f"{BIN}:{os.environ.get('PATH', '')}")
    if tool is None:
        pytest.skip("actionlint is not installed here (make test installs it where it can)")
    proc = subprocess.run(
        [tool, "-no-color", str(CI / "github" / "workflow.yml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("name", ["github", "gitlab"])
def test_a_failed_install_never_turns_the_job_red(tmp_path: Path, name: str) -> None:
    """sei-watch not on PATH and its package not installable (no index, a PEP 668 system
    Python): the recipe installs into a private venv, never `pip --user`, and when that fails
    it warns and exits 0 (the old recipe's `pip install --user` exited 1)."""
    ws = tmp_path / "ws"
    ws.mkdir()
    script = (
        github_script("5").replace("sei-watch==0.1.0", "/nonexistent/sei_watch-0.whl")
        if name == "github"
        else gitlab_script("5", package="/nonexistent/sei_watch-0.whl")
    )
    env = {
        "PATH": "/usr/bin:/bin",  # no sei-watch here
        "HOME": str(tmp_path / "home"),
        "TMPDIR": str(tmp_path),
        "RUNNER_TEMP": str(tmp_path),
        "CI_JOB_ID": "1",
        "PIP_NO_INDEX": "1",
        "GITHUB_WORKSPACE": str(ws),
        "CI_PROJECT_DIR": str(ws),
    }
    proc = subprocess.run(
        ["bash", "-c", script], cwd=ws, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert "could not install" in proc.stdout + proc.stderr
    assert "pip install --user" not in script
