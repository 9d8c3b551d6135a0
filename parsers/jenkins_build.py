"""Jenkins' own build records, read from JENKINS_HOME without a plugin.

`build.xml` (root `flow-build`, `build`, `matrix-build`, `maven-build`, ...) gives the result,
start and duration, the causes (trigger_chain, user_id), the parameters (String, Boolean, Choice
and Text only: never passwords or credentials), and the git plugin's revision, branch and remote
URLs (credentials removed). `changelog*.xml` (git's raw log) gives the commits new in the build,
as the SEI Jenkins plugin sends them. Stages come from the flow-node storage
(`workflow/*.xml` or `workflow-completed/flowNodeStore.xml`); without it, from the build's `log`
(the Jenkins console dialect). The job path gives the names, as the SEI Jenkins plugin gives them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path, PurePath

from lxml import etree

from sei_watch import BuildFacts, ParseContext, ParseError, Record
from sei_watch.gitinfo import clean_url, normalise_branch

from ._flownodes import flow_stages
from ._xml import tree_parser

__all__ = ["JenkinsBuild", "JenkinsChangelog", "job_names"]

MAX_BUILD_XML = 16 << 20
_SAFE_PARAMS = (
    "StringParameterValue",
    "BooleanParameterValue",
    "TextParameterValue",
    "ChoiceParameterValue",
)
_CAUSES = {
    "UserIdCause": "UserIdCause",
    "SCMTriggerCause": "SCMTriggerCause",
    "TimerTriggerCause": "TimerTriggerCause",
    "UpstreamCause": "UpstreamCause",
    "RemoteCause": "RemoteCause",
    "BranchIndexingCause": "SCMTriggerCause",
    "BranchEventCause": "SCMTriggerCause",
    "ReplayCause": "UserIdCause",
}
_COMMIT = re.compile(rb"(?m)^commit ([0-9a-f]{40})\b")


def job_names(rel: PurePath) -> tuple[str, str, str | None, str] | None:
    """(pipeline, job_full_name, branch, build number) from `jobs/a/jobs/b/branches/c/builds/7`:
    the folder path without its `jobs/` and `branches/` segments."""
    parts = rel.parts
    if len(parts) < 4 or parts[-3] != "builds" or "jobs" not in parts:
        return None
    path = parts[parts.index("jobs") : -3]
    names, branch = [], None
    for kind, name in zip(path[0::2], path[1::2], strict=False):
        if kind == "branches":
            branch = name
        elif kind != "jobs":
            return None
        names.append(name)
    if not names:
        return None
    full = "/".join(names)
    pipeline = "/".join(names[:-1]) if branch is not None and len(names) > 1 else full
    return pipeline, full, branch, parts[-2]


def _text(node: etree._Element | None) -> str:
    return (node.text or "").strip() if node is not None else ""


class JenkinsBuild:
    """`build.xml` in a Jenkins build directory."""

    name = "jenkins-build"

    def matches(self, path: PurePath) -> bool:
        return path.name == "build.xml"

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        data = ctx.read_bytes(path, limit=MAX_BUILD_XML)
        try:
            root = etree.fromstring(data, tree_parser())
        except etree.XMLSyntaxError as exc:
            raise ParseError(f"build.xml is not well-formed: {exc.msg}", line=exc.lineno) from exc
        result = _text(root.find("result")) or None
        if result is None:
            return  # still running: its record is written again when it ends
        start_text = _text(root.find("startTime")) or _text(root.find("timestamp"))
        start = int(start_text) if start_text.isdigit() else None
        dur = _text(root.find("duration"))
        end = start + int(dur) if start is not None and dur.isdigit() else None
        fields: dict[str, str] = {}
        names = job_names(PurePath(ctx.rel(path)))
        number = _text(root.find("number")) or (names[3] if names else "")
        if names is None:
            names = job_names(_from_home(path))
        if names is not None:
            fields.update(pipeline=names[0], job_full_name=names[1], qualified_name=names[1])
            if names[2]:
                fields["branch_name"] = names[2]
            number = number or names[3]
        causes, user = self._causes(root)
        if user:
            fields["user_id"] = user
        git = root.find(".//hudson.plugins.git.util.BuildData")
        params = self._params(root)
        if git is not None:
            urls = [clean_url(_text(u)) for u in git.findall("remoteUrls/string")]
            if urls:
                fields["repo_url"] = urls[0]
            sha = (
                _text(git.find("lastBuiltRevision/SHA1"))
                or _text(git.find("lastBuild/revision/SHA1"))
                or _text(git.find("lastBuild/marked/SHA1"))
            )
            if sha:
                params.append(("git_commit", sha))
            branch = _text(git.find("lastBuiltRevision/branches//name")) or _text(
                git.find("lastBuild/revision/branches//name")
            )
            if branch and normalise_branch(branch) and "branch_name" not in fields:
                fields["branch_name"] = normalise_branch(branch) or branch
        try:
            stages = flow_stages(path.parent, ctx, ctx.rel(path))
        except (etree.XMLSyntaxError, ParseError) as exc:
            stages = None
            yield ctx.problem(path, f"flow-node storage unreadable ({exc}); stages from the log")
        yield from stages or ()
        yield BuildFacts(
            result=result,
            start_ms=start,
            end_ms=end,
            build_number=number or None,
            source=ctx.rel(path),
            fields=tuple(fields.items()),
            params=tuple(params),
            causes=tuple(causes),
        )

    @staticmethod
    def _causes(root: etree._Element) -> tuple[list[tuple[str, str]], str]:
        causes: list[tuple[str, str]] = []
        user = ""
        for bag in root.iter("causeBag", "causes"):
            for cause in bag.iter():
                tag = str(cause.tag).rsplit("_-", 1)[-1].rsplit(".", 1)[-1]
                kind = _CAUSES.get(tag)
                if kind is None:
                    continue
                if kind == "UserIdCause":
                    user = user or _text(cause.find("userId"))
                    causes.append((kind, _text(cause.find("userId")) or "user"))
                elif kind == "UpstreamCause":
                    causes.append(
                        (
                            kind,
                            f"{_text(cause.find('upstreamProject'))}#"
                            f"{_text(cause.find('upstreamBuild'))}",
                        )
                    )
                elif kind == "SCMTriggerCause":
                    causes.append((kind, "SCMTrigger"))
                elif kind == "TimerTriggerCause":
                    causes.append((kind, "TimerTrigger"))
                else:
                    causes.append((kind, tag))
        return causes, user

    @staticmethod
    def _params(root: etree._Element) -> list[tuple[str, str]]:
        out = []
        for params in root.iter("parameters"):
            for value in params:
                tag = str(value.tag)
                if not tag.endswith(_SAFE_PARAMS):  # passwords, credentials, files: never
                    continue
                name = _text(value.find("name"))
                if name:
                    out.append((name, _text(value.find("value"))))
        return out


def _from_home(path: Path) -> PurePath:
    """The build's path from the last `jobs` segment's parent, when the scan root is deeper."""
    parts = path.parts
    first = parts.index("jobs") if "jobs" in parts else len(parts)
    return PurePath(*parts[first:])


class JenkinsChangelog:
    """`changelog*.xml` of the git plugin: raw `git log` output, `commit <sha>` blocks."""

    name = "jenkins-changelog"

    def matches(self, path: PurePath) -> bool:
        return path.name.startswith("changelog") and path.suffix == ".xml"

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        data = ctx.read_bytes(path, limit=64 << 20)
        shas = list(dict.fromkeys(m.decode() for m in _COMMIT.findall(data)))[:100]
        if shas:
            yield BuildFacts(source=ctx.rel(path), commits=tuple(shas))
