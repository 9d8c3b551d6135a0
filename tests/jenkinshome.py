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
