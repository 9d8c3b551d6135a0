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

from sei_watch.context import JobNames, clean_url, normalise_branch
from sei_watch.errors import SeiWatchError
from sei_watch.plugins import ParseContext, ParseError
from sei_watch.records import BuildFacts, Cause, Record
from sei_watch.safeio import read_under

from ._flownodes import flow_stages
from ._xml import tree_parser

__all__ = ["JenkinsBuild", "JenkinsChangelog", "job_names", "plugin_job_name"]

MAX_BUILD_XML = 16 << 20
_SAFE_PARAMS = (
    "StringParameterValue",
    "BooleanParameterValue",
    "TextParameterValue",
    "ChoiceParameterValue",
)
_MAX_UPSTREAM_DEPTH = 5
_COMMIT = re.compile(rb"(?m)^commit ([0-9a-f]{40})\b")


def job_names(rel: PurePath) -> JobNames | None:
    """The names of the job whose build is `.../jobs/a/jobs/b/branches/c/builds/7/...`."""
    parts = rel.parts
    if "builds" not in parts or "jobs" not in parts:
        return None
    b = len(parts) - 1 - parts[::-1].index("builds")
    if b + 1 >= len(parts):
        return None
    path = parts[parts.index("jobs") : b]
    if len(path) % 2:
        return None
    return JobNames.from_segments(list(zip(path[0::2], path[1::2], strict=True)), parts[b + 1])


def plugin_job_name(home: Path | None, full_name: str) -> str:
    """Jenkins' full name of a job (`payments/api/main`) in the plugin's form, looking up in
    JENKINS_HOME which segments are folders and which are branches or modules."""
    names = [n for n in full_name.strip("/").split("/") if n]
    if not names:
        return full_name
    pairs: list[tuple[str, str]] = [("jobs", names[0])]
    here = home / "jobs" / names[0] if home is not None else None
    for name in names[1:]:
        kind = "jobs"
        if here is not None:
            kind = next(
                (k for k in ("jobs", "branches", "modules") if (here / k / name).is_dir()), "jobs"
            )
            here = here / kind / name
        pairs.append((kind, name))
    found = JobNames.from_segments(pairs)
    return found.job_full_name if found else full_name


def jenkins_home(path: Path) -> Path | None:
    """The JENKINS_HOME a build directory lies in: the parent of the first `jobs` segment."""
    parts = path.parts
    if "jobs" not in parts:
        return None
    return Path(*parts[: parts.index("jobs")])


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
        names = job_names(PurePath(ctx.rel(path))) or job_names(_from_home(path))
        number = _text(root.find("number")) or (names.number if names else "")
        if names is not None:
            fields.update(
                pipeline=names.pipeline,
                job_full_name=names.job_full_name,
                qualified_name=names.qualified_name,
            )
            if names.branch:
                fields["branch_name"] = names.branch
            if names.module:
                fields["module_name"] = names.module
        causes = _causes(root, jenkins_home(path), depth=0)
        fields["user_id"] = plugin_user(causes)
        git = root.find(".//hudson.plugins.git.util.BuildData")
        params = _params(root)
        if git is not None:
            urls = [clean_url(_text(u)) for u in git.findall("remoteUrls/string")]
            if urls:
                fields["repo_url"] = urls[0]
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
            params=tuple((name, value) for name, value, _ in params),
            param_types=tuple((name, kind) for name, _, kind in params),
            causes=tuple(causes),
        )


# Causes that subclass Jenkins' SCMTriggerCause: the plugin's user for them is "SCMTrigger".
_SCM_TRIGGERS = frozenset(
    {"SCMTriggerCause", "GitHubPushCause", "GitLabWebHookCause", "BitBucketPushCause"}
)
_NOT_CAUSES = frozenset({"entry", "int"})  # a causeBag entry's wrapper and its count


def _cause(node: etree._Element, home: Path | None, depth: int) -> Cause | None:
    """One cause as the SEI plugin sends it (`JobRunParserService.buildTriggerChain`): the
    class's simple name as the type, an id for the kinds it knows and "unknown" for the rest;
    an upstream one with the parent's own causes: those Jenkins nests in the cause, else those
    of the parent's build.xml."""
    tag = str(node.tag).rsplit("_-", 1)[-1].rsplit(".", 1)[-1]
    if tag in _NOT_CAUSES or not tag.endswith("Cause"):
        return None
    if tag == "UserIdCause":
        return Cause(type=tag, id=_text(node.find("userId")) or "anonymous")
    if tag == "UserCause":
        return Cause(type=tag, id=_text(node.find("authenticationName")) or "anonymous")
    if tag == "SCMTriggerCause":
        return Cause(type=tag, id="SCMTrigger")
    if tag == "RemoteCause":
        return Cause(type=tag, id=_text(node.find("addr")) or "unknown")
    if tag not in ("UpstreamCause", "BuildUpstreamCause"):
        return Cause(type=tag, id="unknown")
    project, number = _text(node.find("upstreamProject")), _text(node.find("upstreamBuild"))
    nested = node.find("upstreamCauses")
    if depth >= _MAX_UPSTREAM_DEPTH:
        parents: list[Cause] = []
    elif nested is not None and len(nested):
        parents = [c for c in (_cause(x, home, depth + 1) for x in nested) if c is not None]
    else:
        parents = _upstream_causes(home, project, number, depth + 1)
    return Cause(
        type=tag,
        id=plugin_job_name(home, project),
        run_number=number,
        parents=tuple(parents),
    )


def plugin_user(causes: list[Cause] | tuple[Cause, ...]) -> str:
    """The user the plugin sends (`JobRunParserService.getCurrentUser`): the origin build's,
    following the upstream chain as far as it is known; "SCMTrigger" for an SCM trigger, else
    the user who started it, else "SYSTEM"."""
    for _ in range(_MAX_UPSTREAM_DEPTH + 1):
        up = next((c for c in causes if c.type.endswith("UpstreamCause") and c.parents), None)
        if up is None:
            break
        causes = up.parents
    if any(c.type in _SCM_TRIGGERS for c in causes):
        return "SCMTrigger"
    return next((c.id for c in causes if c.type in ("UserIdCause", "UserCause")), "SYSTEM")


def _causes(root: etree._Element, home: Path | None, depth: int) -> list[Cause]:
    out: list[Cause] = []
    for bag in root.iter("causeBag", "causes"):
        for entry in bag:
            for node in (entry, *entry) if str(entry.tag) == "entry" else (entry,):
                cause = _cause(node, home, depth)
                if cause is not None and cause not in out:
                    out.append(cause)
    return out


def _upstream_causes(home: Path | None, project: str, number: str, depth: int) -> list[Cause]:
    """The causes in the parent build's build.xml, read inside JENKINS_HOME only."""
    if home is None or not number.isdigit() or not project:
        return []
    segments = Path(plugin_job_name(home, project))
    where = home / "jobs" / segments / "builds" / number / "build.xml"
    try:
        data = read_under(home, where, max_bytes=MAX_BUILD_XML)
        return _causes(etree.fromstring(data, tree_parser()), home, depth)
    except (OSError, SeiWatchError, etree.XMLSyntaxError):
        return []  # the parent was discarded or is unreadable: the link still names it


def _params(root: etree._Element) -> list[tuple[str, str, str]]:
    """(name, value, Jenkins type) of the safe parameters: never passwords or credentials."""
    out = []
    for params in root.iter("parameters"):
        for value in params:
            tag = str(value.tag)
            if not tag.endswith(_SAFE_PARAMS):
                continue
            name = _text(value.find("name"))
            if name:
                out.append((name, _text(value.find("value")), tag.rsplit(".", 1)[-1]))
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
