"""The fleet relay against real nats-server processes: agents publish to JetStream and hold no
SEI key; relays post each payload to the stand-in once, within the fleet's rate limit, through
node failures and relays killed mid-work."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sei_watch.config import Settings, load_settings
from sei_watch.daemon import Relay, init_streams
from sei_watch.deliver import NatsPublisher, connect, make_sender, open_outbox

from .daemonproc import wait_for
from .natsauth import agent_permissions, make_client, relay_permissions, server_config
from .natsproc import NatsNode, cluster, needs_nats
from .sei_server import StandIn

pytestmark = needs_nats

GUID = "89d2491c-764a-4f77-93d9-18e8e372b795"
KEY = "sk-relay-only-0123456789abcdef"


def payload(job: str, n: int) -> dict[str, Any]:
    return {
        "pipeline": job,
        "instance_name": "fleet",
        "instance_guid": GUID,
        "job_full_name": job,
        "qualified_name": job,
        "result": "SUCCESS",
        "build_number": n,
        "start_time": 1795165200000 + n,
        "duration": 1000,
    }


def agent_settings(tmp: Path, servers: str, name: str = "agent", nats: str = "") -> Settings:
    cfg = tmp / f"{name}.toml"
    cfg.write_text(
        f'[deliver]\ntarget = "nats"\n[nats]\nservers = "{servers}"\npublish_timeout = 3.0\n'
        f'{nats}[sei]\ninstance_guid = "{GUID}"\ninstance_name = "fleet"\n[state]\n'
        f'dir = "{tmp / name}"\n'
    )
    (tmp / name).mkdir(exist_ok=True)
    return load_settings(cfg, {})


def relay_settings(
    tmp: Path, servers: str, sei: StandIn, *, budget: int = 600, extra: str = "", nats: str = ""
) -> Path:
    cfg = tmp / "relay.toml"
    cfg.write_text(
        f'[sei]\nurl = "{sei.url}"\nmax_per_minute = {budget}\nbackoff_cap = 0.5\n'
        f'read_timeout = 2.0\n[nats]\nservers = "{servers}"\n{nats}[state]\n'
        f'dir = "{tmp / "relay"}"\n{extra}'
    )
    return cfg


def publish_all(settings: Settings, payloads: list[dict[str, Any]]) -> None:
    box = open_outbox(settings)
    for p in payloads:
        box.enqueue(p)
    sender = make_sender(settings, box, {})
    try:
        sender.run(threading.Event(), until_empty=True, idle=0.2)
        assert box.stats()["delivered"] == len(payloads)
    finally:
        sender.client.close()
        box.close()


def stream_messages(servers: str, stream: str = "SEI_PAYLOADS") -> list[tuple[Any, bytes]]:
    async def read() -> list[tuple[Any, bytes]]:
        nc = await connect(load_settings(None, {"SEI_WATCH_NATS_SERVERS": servers}).nats)
        try:
            js = nc.jetstream()
            info = await js.stream_info(stream)
            out = []
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                try:
                    msg = await js.get_msg(stream, seq)
                except Exception:  # deleted (acked, in a work queue)
                    continue
                out.append((msg.headers or {}, msg.data or b""))
            return out
        finally:
            await nc.close()

    return asyncio.run(read())


@pytest.fixture
def node(tmp_path: Path) -> Any:
    n = NatsNode("n0", tmp_path / "nats").start()
    yield n
    n.stop()


@pytest.fixture
def sei() -> Any:
    s = StandIn(KEY, instances={GUID: "fleet"}).start()
    yield s
    s.stop()


def run_relay(cfg: Path) -> tuple[Relay, threading.Thread]:
    relay = Relay(load_settings(cfg, {"SEI_API_KEY": KEY}), {"SEI_API_KEY": KEY})
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    return relay, thread


def test_agents_publish_and_the_relay_posts_each_payload_once(
    tmp_path: Path, node: NatsNode, sei: StandIn
) -> None:
    """An agent with target nats marks a row delivered once JetStream stored it; the relay
    posts it to SEI with the central key, and the work queue is empty afterwards."""
    cfg = relay_settings(tmp_path, node.url, sei)
    assert "created stream SEI_PAYLOADS" in init_streams(load_settings(cfg, {}))
    publish_all(agent_settings(tmp_path, node.url), [payload("api", n) for n in range(20)])
    assert len(stream_messages(node.url)) == 20
    relay, thread = run_relay(cfg)
    wait_for(lambda: len(sei.store.runs) == 20, 30, "20 runs stored")
    relay.stop.set()
    thread.join(10)
    assert sei.duplicates == 0
    assert {h["Authorization"] for h in sei.seen_headers} == {f"ApiKey {KEY}"}
    wait_for(lambda: stream_messages(node.url) == [], 5, "the work queue drained")


def test_a_retried_publish_is_dropped_by_the_stream(tmp_path: Path, node: NatsNode) -> None:
    """The same payload published twice (a PubAck lost, then the retry) is stored once, and
    a changed re-post of the same run (new artifacts) is not mistaken for it."""
    settings = agent_settings(tmp_path, node.url)
    init_streams(settings)
    pub = NatsPublisher(settings.nats)
    try:
        body = json.dumps(payload("api", 1)).encode()
        first, second = pub.post_run(body), pub.post_run(body)
        assert (first.kind, second.kind) == ("delivered", "delivered")
        assert "duplicate" in second.message
        assert "duplicate" not in first.message
        changed = json.dumps({**payload("api", 1), "artifacts": []}).encode()
        assert "duplicate" not in pub.post_run(changed).message
    finally:
        pub.close()
    assert len(stream_messages(node.url)) == 2


def test_a_refused_payload_goes_to_the_dead_subject_with_the_reason(
    tmp_path: Path, node: NatsNode, sei: StandIn
) -> None:
    """SEI's 400 is permanent: the relay moves the payload to the dead stream with SEI's
    status and reason, and it leaves the work queue."""
    cfg = relay_settings(tmp_path, node.url, sei)
    init_streams(load_settings(cfg, {}))
    sei.script.append("400")
    publish_all(agent_settings(tmp_path, node.url), [payload("api", 7)])
    relay, thread = run_relay(cfg)
    wait_for(lambda: len(stream_messages(node.url, "SEI_PAYLOADS_DEAD")) == 1, 30, "dead")
    relay.stop.set()
    thread.join(10)
    ((headers, data),) = stream_messages(node.url, "SEI_PAYLOADS_DEAD")
    assert headers["Sei-Status"] == "400"
    assert headers["Sei-Reason"]
    assert json.loads(data)["build_number"] == 7
    assert stream_messages(node.url) == []


OTHER_GUID = "2f7a9c1e-5b3d-4e8f-a0c2-9d4b6e1f3a57"


def _raw_publish(servers: str, items: list[tuple[str, bytes, dict[str, str] | None]]) -> None:
    """Publish straight to the stream, as any client with publish rights could."""

    async def run() -> None:
        nc = await connect(load_settings(None, {"SEI_WATCH_NATS_SERVERS": servers}).nats)
        try:
            js = nc.jetstream()
            for subject, data, headers in items:
                await js.publish(subject, data, headers=headers)
        finally:
            await nc.close()

    asyncio.run(run())


def test_only_a_valid_payload_for_its_own_subject_is_posted(
    tmp_path: Path, node: NatsNode, sei: StandIn
) -> None:
    """Raw bytes, a JSON list, an invalid payload and a body for another instance than its
    subject names (agent A posting for B) are dead-lettered with the reason and never reach
    SEI; 20 such messages without a Nats-Msg-Id are 20 dead letters, not one. Before, each was
    posted with the central key, and 19 of 20 dead letters were dropped as duplicates."""
    cfg = relay_settings(tmp_path, node.url, sei)
    init_streams(load_settings(cfg, {}))
    mine = f"sei.payloads.{GUID}"
    for_b = json.dumps({**payload("api", 1), "instance_guid": OTHER_GUID}).encode()
    junk = [(mine, b"\x00\x01raw", None), (mine, b"[1,2,3]", None)]
    junk += [(mine, json.dumps({"pipeline": "x"}).encode(), None)]
    junk += [(mine, for_b, {"Nats-Msg-Id": "a-for-b"})]
    junk += [(mine, b"not json %d" % i, None) for i in range(16)]
    _raw_publish(node.url, junk)
    relay, thread = run_relay(cfg)
    wait_for(lambda: len(stream_messages(node.url, "SEI_PAYLOADS_DEAD")) == 20, 30, "20 dead")
    relay.stop.set()
    thread.join(10)
    assert sei.requests == 0
    assert sei.store.runs == {}
    reasons = [h["Sei-Reason"] for h, _ in stream_messages(node.url, "SEI_PAYLOADS_DEAD")]
    assert reasons.count("subject/instance_guid mismatch") == 1
    assert reasons.count("not JSON") == 17
    assert any(r.startswith("not an SEI payload: a JSON list") for r in reasons)
    assert any(r.startswith("not a valid SEI payload") for r in reasons)
    assert stream_messages(node.url) == []


def test_a_429_is_naked_and_posted_later(tmp_path: Path, node: NatsNode, sei: StandIn) -> None:
    """A 429 (and a 503) leaves the payload in the stream with a delay; it is posted later."""
    cfg = relay_settings(tmp_path, node.url, sei)
    init_streams(load_settings(cfg, {}))
    sei.script.extend(["429", "503"])
    publish_all(agent_settings(tmp_path, node.url), [payload("api", 1)])
    relay, thread = run_relay(cfg)
    wait_for(lambda: len(sei.store.runs) == 1, 30, "stored after the 429 and the 503")
    relay.stop.set()
    thread.join(10)
    assert sei.requests >= 3
    assert sei.duplicates == 0


def test_an_agent_that_delivers_through_nats_holds_no_sei_key(
    tmp_path: Path, node: NatsNode, sei: StandIn, run_cli: Any
) -> None:
    """No SEI key anywhere on an agent with target nats: `parse --post` and delivery work
    without one, its config, logs and outbox never hold the relay's key, and `doctor` says
    so (and fails when a key is there after all)."""
    init_streams(load_settings(relay_settings(tmp_path, node.url, sei), {}))
    settings = agent_settings(tmp_path, node.url)
    cfg = tmp_path / "agent.toml"
    ws = tmp_path / "ws"
    (ws / "test-results").mkdir(parents=True)
    (ws / "test-results" / "junit.xml").write_text(
        '<testsuite name="s"><testcase classname="c" name="t" time="0.1"/></testsuite>'
    )
    res = run_cli(
        "parse", str(ws), "--post", "--config", str(cfg), "--set", "job_full_name=api",
        "--set", "build_number=5", "--set", "result=SUCCESS", "--timeout", "10",
        environ={},
    )  # fmt: skip
    assert res.status == 0, res.err
    ((_headers, data),) = stream_messages(node.url)
    assert json.loads(data)["build_number"] == 5
    doctor = run_cli("doctor", "--config", str(cfg), "--json", environ={})
    checks = {c["name"]: c for c in json.loads(doctor.out)}
    assert checks["api key"]["ok"]
    assert "relays hold the key" in checks["api key"]["detail"]
    assert checks["nats"]["ok"]
    # No credentials: it works, and doctor says what that allows.
    assert checks["nats credentials"]["state"] == "warning"
    assert "any client" in checks["nats credentials"]["detail"]
    with_key = run_cli("doctor", "--config", str(cfg), "--json", environ={"SEI_API_KEY": KEY})
    assert not {c["name"]: c for c in json.loads(with_key.out)}["api key"]["ok"]
    for path in [cfg, *settings.state_dir.rglob("*")]:
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    assert KEY not in res.err + res.out + doctor.out


def _relay_proc(cfg: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "sei_watch", "relay", "--config", str(cfg)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "SEI_API_KEY": KEY},
    )


@pytest.mark.slow
def test_the_fleet_survives_a_lost_node_and_killed_relays(tmp_path: Path) -> None:
    """3 JetStream nodes with the documented per-client permissions (agents publish only their
    instance's subject; relays only work their consumer), 3 relays with 3 POSTs in flight each,
    20 agents' payloads: one node killed (and back 5 s later), relays SIGKILLed at random and
    restarted. Every payload is stored, none lost, no request over the rate limit (the
    stand-in answers 429 past it), duplicates only of runs posted by a killed relay."""
    agent, relay = make_client(tmp_path, "agents"), make_client(tmp_path, "relay")
    admin = make_client(tmp_path, "admin")
    conf = server_config([agent_permissions(agent, GUID), relay_permissions(relay)], admin)
    nodes = cluster(tmp_path / "nats", config=conf)
    servers = ",".join(n.url for n in nodes)
    auth = {c.name: f'nkey_file = "{c.seed_file}"\ninbox_prefix = "{c.inbox}"\n' for c in
            (agent, relay, admin)}  # fmt: skip
    # A 6 s window stands for Harness' minute: 60 requests per window for the fleet.
    sei = StandIn(KEY, instances={GUID: "fleet"}, limit=60, limit_window=6.0).start()
    relays: list[subprocess.Popen[bytes]] = []
    try:
        # 57 for the fleet leaves room for the one request in flight of each of 3 relays
        # killed within a window (a kill every 2.5 s at most).
        cfg = relay_settings(
            tmp_path,
            servers,
            sei,
            budget=57,
            extra="[relay]\ninstances = 3\nwindow = 6.0\nack_wait = 5.0\nin_flight = 3\n",
            nats="replicas = 3\n" + auth["relay"],
        )
        admin_cfg = tmp_path / "admin.toml"
        admin_cfg.write_text(cfg.read_text().replace(auth["relay"], auth["admin"]))
        wait_for(lambda: _init_ok(admin_cfg), 30, "the cluster took the streams")
        keys = {(f"job{a}", n) for a in range(20) for n in range(5)}
        agents = [
            threading.Thread(
                target=publish_all,
                args=(
                    agent_settings(tmp_path, servers, f"agent{a}", auth["agents"]),
                    [payload(f"job{a}", n) for n in range(5)],
                ),
            )
            for a in range(20)
        ]
        for t in agents:
            t.start()
        relays = [_relay_proc(cfg) for _ in range(3)]
        rng = random.Random(7)
        killed_node, restarted, kills, killed_at = False, False, 0, 0.0
        end = time.monotonic() + 150
        while time.monotonic() < end and len(sei.store.runs) < len(keys):
            time.sleep(2.5)
            if not killed_node and len(sei.store.runs) > 10:
                nodes[2].kill()  # one of three: the streams keep their quorum
                killed_node, killed_at = True, time.monotonic()
            elif killed_node and not restarted and time.monotonic() - killed_at > 5:
                nodes[2].start()  # back, with its store: it catches up from the others
                restarted = True
            if rng.random() < 0.5:
                i = rng.randrange(3)
                relays[i].send_signal(signal.SIGKILL)
                relays[i].wait(10)
                relays[i] = _relay_proc(cfg)
                kills += 1
        for t in agents:
            t.join(60)
        stored = {(job, number) for _, job, number in sei.store.runs}
        assert stored == keys, f"{len(keys - stored)} not stored"
        assert killed_node
        assert kills
        assert sei.over_limit == 0
        # A relay killed between SEI's 202 and its acks posts those runs again (up to its 3 in
        # flight); SEI keeps the first write, so the copies change nothing. Only those.
        assert sei.duplicates <= kills * 3
    finally:
        for p in relays:
            p.kill()
        sei.stop()
        for n in nodes:
            n.stop()


def _init_ok(cfg: Path) -> bool:
    try:
        init_streams(load_settings(cfg, {}))
    except Exception:
        return False
    return True


def test_the_relay_serves_metrics_health_and_stream_lag(
    tmp_path: Path, node: NatsNode, sei: StandIn
) -> None:
    """With [metrics] listen, a relay shows what it delivered, the stream's lag, JetStream's
    view of the stream and the consumer, NATS connected, its POST times and SEI's answers by
    status (read with prometheus_client's own parser), and /healthz and /readyz answer."""
    import urllib.request

    from .natsproc import free_port

    port = free_port()
    cfg = relay_settings(tmp_path, node.url, sei, extra=f'[metrics]\nlisten = "127.0.0.1:{port}"\n')
    init_streams(load_settings(cfg, {}))
    publish_all(agent_settings(tmp_path, node.url), [payload("api", n) for n in range(3)])
    relay, thread = run_relay(cfg)
    try:
        wait_for(lambda: len(sei.store.runs) == 3, 30, "3 runs stored")
        wait_for(lambda: relay.lag == 0, 10, "the lag read as 0")
        base = f"http://127.0.0.1:{port}"
        text = urllib.request.urlopen(f"{base}/metrics", timeout=5).read().decode()
        assert "payloads_delivered_total 3" in text.replace("{}", "")
        assert "stream_lag 0" in text
        from prometheus_client.parser import text_string_to_metric_families

        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text)
            for s in fam.samples
        }
        assert samples[("sei_watch_relay_nats_connected", ())] == 1
        assert samples[("sei_watch_relay_requests_total", (("status", "202"),))] == 3
        assert samples[("sei_watch_relay_post_seconds_count", ())] == 3
        assert samples[("sei_watch_relay_ack_pending", ())] == 0
        assert samples[("sei_watch_relay_hold", ())] == 0
        assert 0 <= samples[("sei_watch_relay_stream_bytes_ratio", ())] < 1
        assert urllib.request.urlopen(f"{base}/readyz", timeout=5).status == 200
        assert urllib.request.urlopen(f"{base}/healthz", timeout=5).status == 200
    finally:
        relay.stop.set()
        thread.join(10)


def test_a_reload_closes_the_publisher_it_replaces(tmp_path: Path, node: NatsNode) -> None:
    """Each SIGHUP gives the daemon a new NATS publisher; the old one's connection and I/O
    thread are closed, not left behind one per reload."""
    from .daemonproc import DaemonProc, write_build

    sei = StandIn(KEY).start()
    root = tmp_path / "builds"
    root.mkdir()
    init_streams(agent_settings(tmp_path, node.url))
    fleet = f'[deliver]\ntarget = "nats"\n[nats]\nservers = "{node.url}"\n'
    watch = f'[[watch]]\nname = "b"\nroot = "{root}"\npattern = "{{build_number}}"\nsettle = 0.1\n'
    d = DaemonProc(tmp_path, sei, fleet + watch).start()
    try:
        assert d.proc is not None
        counts = []
        for n in range(1, 5):
            write_build(root / str(n))
            wait_for(lambda n=n: len(stream_messages(node.url)) == n, 20, f"build {n} published")
            counts.append(len(list(Path(f"/proc/{d.proc.pid}/task").iterdir())))
            d.signal(signal.SIGHUP)
            wait_for(lambda n=n: len(d.seen("config.reloaded")) == n, 10, "reloaded")
        assert counts[-1] == counts[0], counts  # one nats-io thread, however many reloads
    finally:
        d.stop()
        sei.stop()
