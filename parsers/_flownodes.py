"""Pipeline stages from a build's flow-node storage: `workflow/<id>.xml` files, or the bulk
`workflow-completed/flowNodeStore.xml` of newer Jenkins. A stage is a StepStartNode of the
StageStep descriptor carrying a LabelAction (its body); it runs until the StepEndNode whose
startId names it. An ErrorAction on that end fails it (an interruption aborts it); a
STAGE_STATUS tag of SKIPPED_* marks it not built."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from sei_watch.plugins import ParseContext
from sei_watch.records import Stage

from ._xml import tree_parser

__all__ = ["flow_stages"]

STAGE = "org.jenkinsci.plugins.workflow.support.steps.StageStep"
MAX_NODES = 20_000
MAX_NODE_FILE = 1 << 20
MAX_STORE = 256 << 20


@dataclass(slots=True)
class _Node:
    id: str
    kind: str
    descriptor: str = ""
    start_id: str = ""
    label: str = ""
    time: int | None = None
    error: str = ""
    tags: dict[str, str] = field(default_factory=dict)


def _node(tag: etree._Element) -> _Node | None:
    node = tag.find("node")
    if node is None:
        return None
    kind = (node.get("class") or "").rsplit(".", 1)[-1]
    out = _Node(
        id=(node.findtext("id") or "").strip(),
        kind=kind,
        descriptor=(node.findtext("descriptorId") or "").strip(),
        start_id=(node.findtext("startId") or "").strip(),
    )
    for action in tag.iterfind("actions/*"):
        name = str(action.tag).rsplit(".", 1)[-1]
        if name == "LabelAction":
            out.label = (action.findtext("displayName") or "").strip()
        elif name == "TimingAction":
            stamp = (action.findtext("startTime") or "").strip()
            out.time = int(stamp) if stamp.isdigit() else None
        elif name == "ErrorAction":
            err = action.find("error")
            out.error = (err.get("class") if err is not None else "") or "error"
        elif name == "TagsAction":
            for entry in action.iterfind(".//entry"):
                values = [(s.text or "") for s in entry.iterfind("string")]
                if len(values) == 2:
                    out.tags[values[0]] = values[1]
    return out


def _nodes(build_dir: Path, ctx: ParseContext) -> list[_Node]:
    store = build_dir / "workflow-completed" / "flowNodeStore.xml"
    found: list[_Node] = []
    if store.is_file():
        root = etree.fromstring(ctx.read_bytes(store, limit=MAX_STORE), tree_parser())
        for tag in root.iter("Tag"):
            node = _node(tag)
            if node is not None:
                found.append(node)
        return found
    folder = build_dir / "workflow"
    if not folder.is_dir():
        return []
    for path in sorted(folder.glob("*.xml"))[:MAX_NODES]:
        try:
            root = etree.fromstring(ctx.read_bytes(path, limit=MAX_NODE_FILE), tree_parser())
        except etree.XMLSyntaxError:
            continue  # one unreadable node costs that node only
        node = _node(root)
        if node is not None:
            found.append(node)
    return found


def flow_stages(build_dir: Path, ctx: ParseContext, source: str) -> list[Stage] | None:
    """Stages from flow nodes, in start order; None when the build has no flow-node storage."""
    nodes = _nodes(build_dir, ctx)
    if not nodes:
        return None
    ends = {n.start_id: n for n in nodes if n.kind == "StepEndNode" and n.start_id}
    stages = []
    for n in nodes:
        if n.kind != "StepStartNode" or n.descriptor != STAGE or not n.label:
            continue
        end = ends.get(n.id)
        result = "SUCCESS"
        if end is not None and end.error:
            result = "ABORTED" if "FlowInterrupted" in end.error else "FAILURE"
        if n.tags.get("STAGE_STATUS", "").startswith("SKIPPED"):
            result = "NOT_BUILT"
        start, stop = n.time, end.time if end is not None else None
        duration = max(stop - start, 0) if start is not None and stop is not None else 0
        stages.append(
            Stage(
                name=n.label,
                start_ms=start,
                duration_ms=duration,
                result=result,
                source=source,
                description="" if end is not None else "never ended",
            )
        )
    stages.sort(key=lambda s: (s.start_ms is None, s.start_ms or 0))
    return stages
