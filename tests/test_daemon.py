"""The real daemon process against the SEI stand-in: layouts, restarts, lost events, hostile
builds, reloads, late reports."""

from __future__ import annotations

import io
import signal
import time
from pathlib import Path

from sei_watch.cli import main
from sei_watch.cli.io import Io

from .conftest_sei import API_KEY, GUID
from .daemonproc import DaemonProc, wait_for, write_build
from .sei_server import StandIn

SPOOL = """
[[watch]]
name = "spool"
root = "{root}"
pattern = "{{pipeline}}/{{build_number}}"
settle = 0.3
"""


def spool(tmp: Path) -> tuple[Path, str]:
    root = tmp / "spool"
    root.mkdir()
    return root, SPOOL.format(root=root)


def keys(sei: StandIn) -> list[tuple[str, int]]:
    return [(p["job_full_name"], p["build_number"]) for p in sei.accepted]


def test_marker_layout_posts_each_build_once(tmp_path: Path, sei: StandIn) -> None:
    """A build with a marker is posted once, with fields from the pattern's captures."""
    root, watches = spool(tmp_path)
    d = DaemonProc(tmp_path, sei, watches).start()
    try:
        write_build(root / "checkout" / "41")
        write_build(root / "checkout" / "42", result="FAILURE")
        wait_for(lambda: len(sei.accepted) == 2, what="two builds posted")
        time.sleep(1.0)
        assert sorted(keys(sei)) == [("checkout", 41), ("checkout", 42)]
        by_no = {p["build_number"]: p for p in sei.accepted}
        assert by_no[42]["result"] == "FAILURE"
        assert by_no[41]["pipeline"] == "checkout"
        assert by_no[41]["job_run"]["stages"][0]["steps"][0]["displayName"] == "unit"
        assert d.seen("build.completed")
        assert d.seen("payload.sent")
    finally:
        assert d.stop() == 0
    out = io.StringIO()  # the daemon kept the timelines: `timeline last` draws the newest
    status = main(
        ["timeline", "last", "--config", str(d.config), "--ascii", "--width", "60"],
        Io(stdout=out, environ={"SEI_API_KEY": "x"}),
    )
    assert status == 0
    assert out.getvalue().startswith("checkout #4")
    assert "unit" in out.getvalue()


def test_jenkins_build_xml_and_quiet_layouts(tmp_path: Path, sei: StandIn) -> None:
    """build.xml completes a build only once it has a <result>; quiet:N after N idle seconds."""
    jenkins, quiet = tmp_path / "jobs", tmp_path / "drop"
    jenkins.mkdir()
    quiet.mkdir()
    watches = f"""
[[watch]]
name = "jenkins"
root = "{jenkins}"
pattern = "{{pipeline}}/builds/{{build_number}}"
complete_when = "file:build.xml"
settle = 0.3

[[watch]]
name = "quiet"
root = "{quiet}"
pattern = "{{pipeline}}/{{build_number}}"
complete_when = "quiet:1"
settle = 0.3
"""
    d = DaemonProc(tmp_path, sei, watches).start()
    try:
        build = jenkins / "api" / "builds" / "7"
        write_build(build, marker=False)
        (build / "build.xml").write_text("<flow-build><number>7</number></flow-build>")
        time.sleep(1.5)
        assert sei.accepted == []  # running: no <result> yet
        (build / "build.xml").write_text(
            "<flow-build><number>7</number><result>UNSTABLE</result></flow-build>"
        )
        write_build(quiet / "nightly" / "3", marker=False)
        wait_for(lambda: len(sei.accepted) == 2, 10, "jenkins and quiet builds")
        assert sorted(keys(sei)) == [("api", 7), ("nightly", 3)]
    finally:
        assert d.stop() == 0


def test_builds_completed_while_down_are_posted_at_start(tmp_path: Path, sei: StandIn) -> None:
    """Stopped daemon, three builds complete, restart: all three posted, old ones not again."""
    root, watches = spool(tmp_path)
    d = DaemonProc(tmp_path, sei, watches).start()
    write_build(root / "app" / "1")
    wait_for(lambda: len(sei.accepted) == 1, what="first build")
    assert d.stop() == 0
    for n in (2, 3, 4):
        write_build(root / "app" / str(n))
    d2 = DaemonProc(tmp_path, sei, watches).start()
    try:
        wait_for(lambda: len(sei.accepted) == 4, what="three builds after restart")
        time.sleep(1.0)
        assert sorted(keys(sei)) == [("app", n) for n in (1, 2, 3, 4)]
        assert d2.seen("daemon.ready")[0]["builds_found"] == 3
    finally:
        assert d2.stop() == 0


def test_lost_events_are_found_by_the_periodic_rescan(tmp_path: Path, sei: StandIn) -> None:
    """With every event lost (events off), the periodic rescan still reports the builds."""
    root, watches = spool(tmp_path)
    d = DaemonProc(tmp_path, sei, watches, daemon="events = false\nrescan = 1.0").start()
    try:
        write_build(root / "batch" / "9")
        write_build(root / "batch" / "10")
        wait_for(lambda: len(sei.accepted) == 2, 10, "rescan finds the builds")
    finally:
        assert d.stop() == 0


def test_hostile_build_is_reported_and_the_daemon_stays_up(tmp_path: Path, sei: StandIn) -> None:
    """A build full of hostile files is reported with its problems; later builds still go."""
    root, watches = spool(tmp_path)
    d = DaemonProc(tmp_path, sei, watches).start()
    try:
        bad = root / "evil" / "1"
        write_build(
            bad,
            junit='<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            '<testsuite name="s"><testcase name="&e;"/>',
        )
        (bad / "test-results" / "bomb.xml").write_bytes(b"\x00\xff" * 1000)
        (bad / "sei-artifacts.json").write_text("{nope")
        (bad / "artifact-manifest.json").symlink_to("/etc/passwd")
        write_build(root / "good" / "2")
        wait_for(lambda: len(sei.accepted) == 2, what="both builds")
        assert d.seen("parse.problem", key="evil#1")
        assert "root:" not in str(sei.accepted)
        assert d.proc is not None
        assert d.proc.poll() is None
    finally:
        assert d.stop() == 0


def test_late_report_within_grace_replaces_the_payload(tmp_path: Path, sei: StandIn) -> None:
    """A JUnit file written after the build was reported updates it, within the grace window."""
    root, watches = spool(tmp_path)
    d = DaemonProc(tmp_path, sei, watches).start()
    try:
        build = root / "app" / "5"
        write_build(build)
        wait_for(lambda: len(sei.accepted) == 1, what="first report")
        (build / "test-results" / "TEST-late.xml").write_text(
            '<testsuite name="late"><testcase classname="b" name="x"/></testsuite>'
        )
        wait_for(lambda: len(sei.accepted) == 2, what="the updated report")
        steps = sei.accepted[1]["job_run"]["stages"][0]["steps"]
        assert sorted(s["displayName"] for s in steps) == ["late", "unit"]
    finally:
        assert d.stop() == 0


def test_sighup_reload_keeps_old_config_when_new_is_bad(tmp_path: Path, sei: StandIn) -> None:
    """SIGHUP with a broken config keeps the old one and says why; a good one adds a watch."""
    root, watches = spool(tmp_path)
    d = DaemonProc(tmp_path, sei, watches).start()
    try:
        good = d.config.read_text()
        d.config.write_text(good + "\n[[watch]]\nroot = 42\n")
        d.signal(signal.SIGHUP)
        wait_for(lambda: bool(d.seen("config.reload_failed")), what="reload refused")
        write_build(root / "x" / "1")
        wait_for(lambda: len(sei.accepted) == 1, what="still reporting")
        other = tmp_path / "other"
        other.mkdir()
        d.config.write_text(good + SPOOL.format(root=other).replace('"spool"', '"other"'))
        d.signal(signal.SIGHUP)
        wait_for(lambda: bool(d.seen("config.reloaded")), what="reload")
        write_build(other / "y" / "2")
        wait_for(lambda: len(sei.accepted) == 2, what="the new watch reports")
    finally:
        assert d.stop() == 0


def test_missing_root_is_reported_and_watched_once_it_exists(tmp_path: Path, sei: StandIn) -> None:
    """A root that does not exist yet is logged, retried at rescan, then watched."""
    root = tmp_path / "later"
    d = DaemonProc(tmp_path, sei, SPOOL.format(root=root), daemon="rescan = 1.0").start()
    try:
        assert d.seen("watch.root_unavailable")
        write_build(root / "late" / "1")
        wait_for(lambda: len(sei.accepted) == 1, 10, "the build under the new root")
    finally:
        assert d.stop() == 0


def test_sighup_reloads_sei_settings_too(tmp_path: Path, sei: StandIn) -> None:
    """SIGHUP re-reads [sei] as well: a new URL and key file take effect for the next build
    (validated first: a malformed key keeps the old settings), and a reload logs no overflow."""
    root, watches = spool(tmp_path)
    key = tmp_path / "api-key"
    key.write_text("sk-other-1234567\n")
    key.chmod(0o600)
    other = StandIn("sk-other-1234567", instances={GUID: "agents"}).start()
    (tmp_path / "k0").write_text(API_KEY + "\n")
    (tmp_path / "k0").chmod(0o600)
    d = DaemonProc(tmp_path, sei, watches, env={"SEI_API_KEY": ""})
    d.config.write_text(
        d.config.read_text().replace("[state]", f'api_key_file = "{tmp_path / "k0"}"\n[state]')
    )
    d.start()
    try:
        write_build(root / "a" / "1")
        wait_for(lambda: len(sei.accepted) == 1, what="first build to the first SEI")
        good = d.config.read_text()
        key.write_text("bad key with spaces\n")
        d.config.write_text(
            good.replace(sei.url, other.url).replace(str(tmp_path / "k0"), str(key))
        )
        d.signal(signal.SIGHUP)
        wait_for(lambda: bool(d.seen("config.reload_failed")), what="bad key refused")
        key.write_text("sk-other-1234567\n")
        d.signal(signal.SIGHUP)
        wait_for(lambda: bool(d.seen("config.reloaded")), what="reload")
        write_build(root / "a" / "2")
        wait_for(lambda: len(other.accepted) == 1, what="next build to the new SEI")
        assert len(sei.accepted) == 1
        assert not d.seen("watch.overflow")
    finally:
        assert d.stop() == 0
        other.stop()
