"""Build a JENKINS_HOME from the fixtures in tests/data/jenkins, multiplied as needed."""

from __future__ import annotations

from pathlib import Path

from .paths import DATA

FIX = DATA / "jenkins"
T0 = 1_795_165_200_000


def build(
    home: Path,
    job: str,
    number: int,
    *,
    kind: str = "pipeline",
    result: str = "SUCCESS",
    start_ms: int = T0,
) -> Path:
    """One build dir. `job` is a folder path like "payments/api@main" (@ marks a branch)."""
    parts = []
    base, _, branch = job.partition("@")
    for name in base.split("/"):
        parts += ["jobs", name]
    if branch:
        parts += ["branches", branch]
    d = home.joinpath(*parts, "builds", str(number))
    d.mkdir(parents=True, exist_ok=True)
    template = (FIX / f"{kind}-build.xml").read_text()
    xml = (
        template.replace("TIMESTAMP", str(start_ms))
        .replace("STARTTIME", str(start_ms + 50))
        .replace("BUILD_NUMBER", str(number))
    )
    # A running build (result "") has no <result> yet.
    xml = xml.replace("RESULT", result) if result else xml.replace("<result>RESULT</result>", "")
    if kind == "pipeline":
        (d / "changelog0.xml").write_text((FIX / "changelog0.xml").read_text())
        (d / "log").write_text((FIX / "pipeline-log").read_text())
    (d / "injectedEnvVars.txt").write_text((FIX / "injectedEnvVars.txt").read_text())
    (d / "build.xml").write_text(xml)
    return d


def home_with(home: Path, jobs: int, builds: int) -> int:
    """`jobs` x `builds` completed builds across pipelines, folders and multibranch projects."""
    n = 0
    for j in range(jobs):
        job = [f"team{j % 5}/svc{j}@main", f"svc{j}", f"folder{j % 3}/nightly{j}"][j % 3]
        kind = "pipeline" if j % 3 != 2 else "freestyle"
        for b in range(1, builds + 1):
            build(home, job, b, kind=kind, start_ms=T0 + (j * builds + b) * 60_000)
            n += 1
    return n


def _tag(
    node_class: str,
    node_id: str,
    *,
    parent: str,
    descriptor: str = "",
    start_id: str = "",
    label: str = "",
    time_ms: int | None = None,
    error: str = "",
    skipped: bool = False,
) -> str:
    """One flow node as Jenkins' XStream writes it (the `wf.a.` / `cps.n.` aliases)."""
    inner = f"<parentIds><string>{parent}</string></parentIds><id>{node_id}</id>"
    if descriptor:
        inner += f"<descriptorId>{descriptor}</descriptorId>"
    if start_id:
        inner += f"<startId>{start_id}</startId>"
    actions = ""
    if label:
        actions += (
            '<wf.a.LabelAction plugin="workflow-api@1336.vee415d95c521">'
            f"<displayName>{label}</displayName></wf.a.LabelAction>"
        )
    if time_ms is not None:
        actions += (
            '<wf.a.TimingAction plugin="workflow-api@1336.vee415d95c521">'
            f"<startTime>{time_ms}</startTime></wf.a.TimingAction>"
        )
    if error:
        actions += (
            f'<wf.a.ErrorAction plugin="workflow-api@1336.vee415d95c521"><error '
            f'class="{error}"><detailMessage>script returned exit code 2'
            "</detailMessage></error></wf.a.ErrorAction>"
        )
    if skipped:
        actions += (
            "<org.jenkinsci.plugins.workflow.actions.TagsAction><tags><entry>"
            "<string>STAGE_STATUS</string><string>SKIPPED_FOR_FAILURE</string></entry>"
            "</tags></org.jenkinsci.plugins.workflow.actions.TagsAction>"
        )
    return (
        f'<Tag plugin="workflow-support@907.v6eec8b_ede7f"><node class="cps.n.{node_class}" '
        f'plugin="workflow-cps@3894.3896.vca_2c931e7935">{inner}</node>'
        f"<actions>{actions}</actions></Tag>"
    )


STAGE = "org.jenkinsci.plugins.workflow.support.steps.StageStep"


def flow_nodes(build_dir: Path, *, bulk: bool, start_ms: int = T0) -> None:
    """Build (ok, 60 s), Test (failed, 20 s), Deploy (skipped): per-node files or the bulk store."""
    tags = {
        "3": _tag("StepStartNode", "3", parent="2", descriptor=STAGE, time_ms=start_ms),
        "4": _tag(
            "StepStartNode", "4", parent="3", descriptor=STAGE, label="Build", time_ms=start_ms + 10
        ),
        "6": _tag("StepEndNode", "6", parent="5", start_id="4", time_ms=start_ms + 60_010),
        "8": _tag(
            "StepStartNode",
            "8",
            parent="7",
            descriptor=STAGE,
            label="Test",
            time_ms=start_ms + 60_100,
        ),
        "10": _tag(
            "StepEndNode",
            "10",
            parent="9",
            start_id="8",
            time_ms=start_ms + 80_100,
            error="hudson.AbortException",
        ),
        "12": _tag(
            "StepStartNode",
            "12",
            parent="11",
            descriptor=STAGE,
            label="Deploy",
            time_ms=start_ms + 80_200,
            skipped=True,
        ),
        "13": _tag("StepEndNode", "13", parent="12", start_id="12", time_ms=start_ms + 80_210),
    }
    head = "<?xml version='1.1' encoding='UTF-8'?>\n"
    if bulk:
        (build_dir / "workflow-completed").mkdir(exist_ok=True)
        entries = "".join(f"<entry><string>{k}</string>{v}</entry>" for k, v in tags.items())
        (build_dir / "workflow-completed" / "flowNodeStore.xml").write_text(
            f"{head}<linked-hash-map>{entries}</linked-hash-map>\n"
        )
    else:
        (build_dir / "workflow").mkdir(exist_ok=True)
        for k, v in tags.items():
            (build_dir / "workflow" / f"{k}.xml").write_text(head + v + "\n")
