"""The layout is the pipeline: each stage imports only stages below it, and only through their
front doors (the names in a stage's `__init__.__all__`)."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

import sei_watch
import sei_watch_parsers

# Low to high. The contract (records, plugins, errors, config...) is the ground every stage
# stands on; daemon and show are peers: neither may import the other.
RANK = {
    "contract": 0,
    "scan": 1,
    "context": 2,
    "parsers": 3,
    "payload": 4,
    "deliver": 5,
    "daemon": 6,
    "show": 6,
    "cli": 7,
}
STAGES = ("scan", "context", "payload", "deliver", "daemon", "show", "cli")
PACKAGE_ROOTS = (Path(sei_watch.__file__).parent, Path(sei_watch_parsers.__file__).parent)


def _sources() -> Iterator[tuple[str, str]]:
    """(module name, text) of every module, named from the package (the folder `parsers/`
    installs as `sei_watch_parsers`)."""
    for root, package in zip(PACKAGE_ROOTS, ("sei_watch", "sei_watch_parsers"), strict=True):
        for path in sorted(root.rglob("*.py")):
            parts = (package, *path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join(parts), path.read_text(encoding="utf-8")


def _is_package(module: str, sources: dict[str, str]) -> bool:
    return any(other.startswith(module + ".") for other in sources)


def stage_of(module: str) -> str:
    """The stage a module belongs to; the entry `python -m sei_watch` stands with the CLI."""
    parts = module.split(".")
    if parts[0] == "sei_watch_parsers":
        return "parsers"
    if module == "sei_watch.__main__":
        return "cli"
    if len(parts) > 1 and parts[1] in STAGES:
        return parts[1]
    return "contract"


def front_door(module: str) -> str:
    """The module other stages must import a stage's names from."""
    parts = module.split(".")
    if parts[0] == "sei_watch" and len(parts) > 1 and parts[1] in (*STAGES, "config"):
        return ".".join(parts[:2])
    return module


def _imports(module: str, text: str, sources: dict[str, str]) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import, function-level ones included."""
    package = module if _is_package(module, sources) else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{a.name}" for a in node.names]
            # `from pkg import submodule` imports the submodule; `from pkg import name`, pkg.
            found = [n for n in names if n in sources]
            yield from ((node.lineno, n) for n in found)
            if len(found) < len(names):
                yield node.lineno, base


def violations(sources: dict[str, str]) -> list[str]:
    """Every import that climbs the pipeline, crosses to a peer, or goes past a front door."""
    out = []
    for module, text in sources.items():
        mine = stage_of(module)
        for line, target in _imports(module, text, sources):
            if not target.startswith(("sei_watch.", "sei_watch_parsers")) and target not in (
                "sei_watch",
            ):
                continue
            theirs = stage_of(target)
            where = f"{module}:{line} imports {target}"
            if RANK[theirs] > RANK[mine] or (RANK[theirs] == RANK[mine] and theirs != mine):
                out.append(f"{where}: {mine} may not import {theirs}")
            elif front_door(target) != front_door(module) and front_door(target) != target:
                out.append(f"{where}: past the front door {front_door(target)}")
    return out


def test_no_stage_imports_one_above_it() -> None:
    """Imports point one way: cli → daemon/show → deliver → payload → parsers → context → scan →
    contract, and other stages are reached only through their `__init__`."""
    assert violations(dict(_sources())) == []


@pytest.mark.parametrize(
    ("module", "bad", "reason"),
    [
        ("sei_watch.scan.workspace", "from sei_watch.cli import main", "scan may not import cli"),
        ("sei_watch.daemon.daemon", "from sei_watch.show import visible", "daemon may not"),
        ("sei_watch.records", "from sei_watch.payload import Report", "contract may not"),
        ("sei_watch.cli.parse", "from sei_watch.deliver.outbox import Outbox", "front door"),
        ("sei_watch_parsers.junit", "from sei_watch.deliver import submit", "parsers may not"),
    ],
)
def test_a_planted_bad_import_is_caught(module: str, bad: str, reason: str) -> None:
    """The checker is not vacuous: one wrong import added to a real module is reported."""
    sources = dict(_sources())
    sources[module] += f"\n\ndef _planted() -> None:\n    {bad}\n"
    found = violations(sources)
    assert len(found) == 1
    assert module in found[0]
    assert reason in found[0]


def _stage_packages() -> Iterable[str]:
    return [f"sei_watch.{name}" for name in (*STAGES, "config")]


@pytest.mark.parametrize("package", _stage_packages())
def test_front_door_names_resolve_and_shadow_no_module(package: str) -> None:
    """Every name a stage exports resolves, and none is also a module of that stage (a module
    imported first would replace the name on the package)."""
    pkg = importlib.import_module(package)
    assert pkg.__doc__
    assert "Enters:" in pkg.__doc__
    assert "Leaves:" in pkg.__doc__
    modules = {p.stem for p in Path(pkg.__file__ or "").parent.glob("*.py")}
    for name in pkg.__all__:
        assert name not in modules, f"{package}.{name} is both an export and a module"
        assert getattr(pkg, name) is not None
