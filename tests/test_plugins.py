"""Parser discovery through entry points: built-ins and third parties take the same path."""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sei_watch.errors import PluginError
from sei_watch.plugins import ENTRY_POINT_GROUP, ParserSettings, load_parsers

from .conftest import DATA
from .pipsite import install

PLUGIN_SRC = Path(__file__).parent / "plugins" / "demo_plugin"


def ep(name: str, value: str) -> md.EntryPoint:
    return md.EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


def test_builtins_come_from_our_own_entry_points() -> None:
    """The built-in parsers are found through the entry-point group, not imported by the core."""
    names = {e.name for e in md.entry_points(group=ENTRY_POINT_GROUP)}
    assert "sei-manifest" in names
    registry = load_parsers()
    assert registry.get("sei-manifest").origin.startswith("sei_watch_parsers.sei_manifest:")


def test_same_name_twice_is_an_error_naming_both() -> None:
    """Two parsers with the same name raise an error that names both origins."""
    eps = [
        ep("sei-manifest", "sei_watch_parsers.sei_manifest:SeiManifestParser"),
        ep("copy", "sei_watch_parsers.sei_manifest:SeiManifestParser"),
    ]
    with pytest.raises(PluginError) as info:
        load_parsers(entry_points=eps)
    assert "two parsers are named 'sei-manifest'" in str(info.value)
    assert str(info.value).count("sei_watch_parsers.sei_manifest:SeiManifestParser") == 2


def test_same_entry_point_seen_twice_is_not_a_clash() -> None:
    """The same distribution found twice on sys.path loads its parser once."""
    value = "sei_watch_parsers.sei_manifest:SeiManifestParser"
    registry = load_parsers(entry_points=[ep("sei-manifest", value), ep("sei-manifest", value)])
    assert [lp.name for lp in registry.parsers] == ["sei-manifest"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("no_such_module:Parser", "No module named 'no_such_module'"),
        ("json:dumps", "without 'name'"),
        ("sei_watch_parsers.sei_manifest:NAMES", "without 'name'"),
    ],
)
def test_broken_plugin_is_reported_and_skipped(value: str, reason: str) -> None:
    """A plugin that fails to load is reported with its origin; the others still load."""
    registry = load_parsers(
        entry_points=[
            ep("broken", value),
            ep("sei-manifest", "sei_watch_parsers.sei_manifest:SeiManifestParser"),
        ]
    )
    assert [lp.name for lp in registry.parsers] == ["sei-manifest"]
    (failure,) = registry.failures
    assert "'broken'" in failure
    assert value in failure
    assert reason in failure


def test_config_disables_and_names_unknown_parsers() -> None:
    """Settings turn a parser off; naming a parser that does not exist is an error."""
    registry = load_parsers({"sei-manifest": ParserSettings(enabled=False)})
    assert "sei-manifest" not in [lp.name for lp in registry.parsers]
    assert registry.parsers
    with pytest.raises(PluginError, match=r"unknown parsers \['junit-typo'\]"):
        load_parsers({"junit-typo": ParserSettings()})


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo plugin package under tests/, really installed (pip) into a private site dir."""
    site = tmp_path_factory.mktemp("site")
    install(PLUGIN_SRC, site)
    return site


def _cli(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [sys.executable, "-m", "sei_watch", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_installed_plugin_is_listed_and_broken_one_reported(plugin_site: Path) -> None:
    """`sei-watch parsers` lists the installed plugin, and warns about its broken sibling."""
    proc = _cli(plugin_site, "parsers")
    assert "demo-facts" in proc.stdout
    assert "sei_watch_demo:FactsParser (sei-watch-demo-plugin 1.0.0)" in proc.stdout
    assert "sei-manifest" in proc.stdout
    assert "parser plugin 'demo-broken'" in proc.stderr
    assert "No module named 'sei_watch_demo.missing'" in proc.stderr
    assert proc.returncode == 1


def test_installed_plugin_is_used_by_parse(plugin_site: Path) -> None:
    """`parse` uses the plugin's facts: result, start, end and build number come from its file."""
    proc = _cli(plugin_site, "parse", str(DATA / "ws-manifest"), "--json")
    payload = json.loads(proc.stdout)
    assert payload["result"] == "FAILURE"
    assert payload["start_time"] == 1749999000000
    assert payload["duration"] == 90500
    assert payload["build_number"] == 412
    # three from the files, and the api image's tag@digest qualifier Harness CD records
    assert len(payload["artifacts"]) == 4


def test_parsers_says_what_each_reads(run_cli) -> None:
    """`sei-watch parsers` shows, under each parser, what it reads (its docstring's first
    paragraph), in --json too; every built-in parser says something."""
    import json

    res = run_cli("parsers", "--json")
    doc = json.loads(res.out)
    reads = {p["name"]: p["reads"] for p in doc["parsers"]}
    assert all(reads.values()), [name for name, text in reads.items() if not text]
    assert "trx" in reads["trx"]
    assert reads["sei-steps"] in run_cli("parsers").out
