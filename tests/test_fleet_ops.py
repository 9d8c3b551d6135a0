"""The fleet as operators run it, on a real nats-server: what can never be published is dead
at once, a slow SEI is no duplicate, the consumer follows the settings, a relay stops when
told, and no password in a server URL is ever shown or stored."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from sei_watch.config import load_settings
from sei_watch.daemon import init_streams
from sei_watch.deliver import connect, make_sender, open_outbox

from .daemonproc import wait_for
from .natsproc import NatsNode, free_port, needs_nats
from .sei_server import StandIn
from .test_fleet import GUID, KEY, agent_settings, payload, relay_settings, run_relay

pytestmark = needs_nats


@pytest.fixture
def node(tmp_path: Path) -> Any:
    n = NatsNode("n0", tmp_path / "nats").start()
    yield n
    n.stop()


def _rows_after(settings: Any, payloads: list[dict[str, Any]], steps: int) -> list[Any]:
    box = open_outbox(settings)
    for p in payloads:
        box.enqueue(p)
    sender = make_sender(settings, box, {})
    try:
        for _ in range(steps):
            sender.step()
        return box.rows()
    finally:
        sender.client.close()
        box.close()


def test_a_payload_over_max_payload_is_dead_and_the_next_build_goes(
    tmp_path: Path, node: NatsNode
) -> None:
    """A 1.5 MiB payload (over the server's 1 MiB max_payload) is dead at its first attempt
    with the reason; the job's next build is delivered in the next send cycle. Before, the
    big one was retried for ever and every later build of the job waited behind it."""
    agent = agent_settings(tmp_path, node.url)
    init_streams(agent)
    big = {**payload("api", 1), "job_normalized_full_name": "x" * (1536 << 10)}
    rows = _rows_after(agent, [big, payload("api", 2)], steps=2)
    assert [r.state for r in rows] == ["dead", "delivered"]
    assert "max_payload" in (rows[0].last_error or "")


def test_a_guid_that_is_not_a_uuid_is_dead_not_an_invalid_subject(
    tmp_path: Path, node: NatsNode
) -> None:
    """An instance GUID with `*`, `>` or a space would be a wildcard or an invalid subject:
    the row is dead with the reason at once, and the next build goes."""
    agent = agent_settings(tmp_path, node.url)
    init_streams(agent)
    bad = {**payload("api", 1), "instance_guid": "team a > b"}
    rows = _rows_after(agent, [bad, payload("api", 2)], steps=2)
    assert [r.state for r in rows] == ["dead", "delivered"]
    assert "not a UUID" in (rows[0].last_error or "")


def test_a_post_slower_than_ack_wait_is_not_sent_twice(tmp_path: Path, node: NatsNode) -> None:
    """SEI answering after 5 s with ack_wait at 2 s and two POSTs in flight: the relay keeps
    the message alive while it posts, so JetStream does not hand it to the second worker."""
    sei = StandIn(KEY, instances={GUID: "fleet"}, slow_seconds=5.0).start()
    try:
        cfg = relay_settings(
            tmp_path, node.url, sei, extra="[relay]\nack_wait = 2.0\nin_flight = 2\n"
        )
        cfg.write_text(cfg.read_text().replace("read_timeout = 2.0", "read_timeout = 10.0"))
        init_streams(load_settings(cfg, {}))
        sei.script.append("slow")
        rows = _rows_after(agent_settings(tmp_path, node.url), [payload("api", 1)], steps=1)
        assert rows[0].state == "delivered"
        relay, thread = run_relay(cfg)
        wait_for(lambda: len(sei.store.runs) == 1, 30, "stored")
        time.sleep(3)  # past another ack_wait: a redelivery would post again now
        relay.stop.set()
        thread.join(10)
        assert sei.requests == 1
        assert sei.duplicates == 0
    finally:
        sei.stop()


def test_relay_init_applies_the_consumer_settings_and_a_relay_warns_on_drift(
    tmp_path: Path, node: NatsNode, capsys: pytest.CaptureFixture[str]
) -> None:
    """`relay --init` creates the consumer with ack_wait and max_ack_pending from the
    settings and updates it when they change; a relay started with settings the live consumer
    does not have says so. Before, nats-py bound to the existing durable and a new ack_wait
    never took effect."""
    sei = StandIn(KEY, instances={GUID: "fleet"}).start()
    try:
        old = relay_settings(tmp_path, node.url, sei, extra="[relay]\nack_wait = 30.0\n")
        done = init_streams(load_settings(old, {}))
        assert done[0].startswith("warning: NATS is reached without credentials")
        assert "created consumer sei-relay" in done
        assert _consumer(node.url) == (30.0, 4)
        new = relay_settings(
            tmp_path, node.url, sei, extra="[relay]\nack_wait = 12.0\nin_flight = 2\n"
        )
        relay, thread = run_relay(new)
        wait_for(lambda: relay.lag is not None, 10, "the relay pulling")
        relay.stop.set()
        thread.join(10)
        out = capsys.readouterr().out
        assert "relay.consumer_drift" in out
        assert "ack_wait 30 s, the settings say 12" in out
        init_streams(load_settings(new, {}))
        assert _consumer(node.url) == (12.0, 2)
    finally:
        sei.stop()


def _consumer(servers: str) -> tuple[float, int]:
    async def ask() -> tuple[float, int]:
        nc = await connect(load_settings(None, {"SEI_WATCH_NATS_SERVERS": servers}).nats)
        try:
            info = await nc.jetstream().consumer_info("SEI_PAYLOADS", "sei-relay")
            return float(info.config.ack_wait), int(info.config.max_ack_pending)
        finally:
            await nc.close()

    return asyncio.run(ask())


def test_a_relay_cut_off_from_nats_stops_on_sigterm_and_hides_the_password(
    tmp_path: Path,
) -> None:
    """`sei-watch relay` with no NATS to reach exits within 5 s of SIGTERM (it was still
    alive 10 s later), its log is JSON lines, and the password in the server URL appears
    nowhere in what it printed."""
    sei = StandIn(KEY, instances={GUID: "fleet"}).start()
    try:
        url = f"nats://relay:hunter2secret@127.0.0.1:{free_port()}"
        cfg = tmp_path / "relay.toml"
        cfg.write_text(
            f'[sei]\nurl = "{sei.url}"\n[nats]\nservers = ["{url}"]\n'
            f'[state]\ndir = "{tmp_path / "state"}"\n'
        )
        env = {**os.environ, "SEI_API_KEY": KEY}
        proc = subprocess.Popen(
            [sys.executable, "-m", "sei_watch", "--log-format", "json", "relay", "--config",
             str(cfg)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        time.sleep(3)
        proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        out, _ = proc.communicate(timeout=20)
        assert time.monotonic() - t0 < 5, "not stopped within 5 s of SIGTERM"
        text = out.decode()
        assert "hunter2secret" not in text
        assert "@127.0.0.1" in text  # the server named, its userinfo masked
        lines = [line for line in text.splitlines() if line.strip()]
        assert lines
        assert all(line.lstrip().startswith(("{", "<")) for line in lines), text[-500:]
    finally:
        sei.stop()


def test_failures_in_a_row_open_the_breaker_and_a_revoked_key_holds(
    tmp_path: Path, node: NatsNode
) -> None:
    """Three 503s in a row open the breaker: no request for its pause, then the payload is
    posted; a 401 (the key revoked) holds the relay: /healthz says why, and it asks SEI
    nothing more until its probe. Before, a relay cycled the backlog at full budget against
    a failing SEI."""
    sei = StandIn(KEY, instances={GUID: "fleet"}, retry_after=None).start()
    try:
        cfg = relay_settings(
            tmp_path, node.url, sei,
            extra="[relay]\nbreaker_failures = 3\nbreaker_pause = 3.0\nin_flight = 1\n",
        )  # fmt: skip
        cfg.write_text(cfg.read_text().replace("backoff_cap = 0.5", "backoff_cap = 0.1"))
        init_streams(load_settings(cfg, {}))
        sei.script.extend(["503", "503", "503"])
        _rows_after(agent_settings(tmp_path, node.url), [payload("api", 1)], steps=1)
        relay, thread = run_relay(cfg)
        wait_for(lambda: sei.requests == 3, 20, "three 503s")
        time.sleep(1.5)
        assert sei.requests == 3  # the breaker is open: SEI is left alone
        assert relay.metrics.value("relay_breaker_opened_total") == 1
        wait_for(lambda: len(sei.store.runs) == 1, 20, "posted once the pause ended")
        sei.script.append("401")
        _rows_after(agent_settings(tmp_path, node.url), [payload("api", 2)], steps=1)
        wait_for(lambda: relay.state.hold is not None, 20, "held on the 401")
        healthy, why = relay.state.health(stopping=False)
        assert not healthy
        assert "401" in why
        before = sei.requests
        time.sleep(1.5)
        assert sei.requests == before
        relay.stop.set()
        thread.join(10)
    finally:
        sei.stop()


def test_publishes_timing_out_while_nats_is_down_leave_one_connection(tmp_path: Path) -> None:
    """Two publishes that time out while NATS is down, then NATS back: the next publish is
    delivered and the server holds one connection from the agent. Before, each timed-out
    publish's connect went on trying and each came back as a connection of its own."""
    import json

    from sei_watch.deliver.jetstream import NatsPublisher

    node = NatsNode("late", tmp_path / "nats")
    settings = load_settings(
        None, {"SEI_WATCH_NATS_SERVERS": node.url, "SEI_WATCH_NATS_PUBLISH_TIMEOUT": "0.5"}
    ).nats
    pub = NatsPublisher(settings)
    body = json.dumps(payload("api", 1)).encode()
    try:
        assert [pub.post_run(body).kind for _ in range(2)] == ["retry", "retry"]
        node.start()
        init_streams(agent_settings(tmp_path, node.url))
        wait_for(lambda: pub.post_run(body).kind == "delivered", 30, "delivered once back")
        time.sleep(2)  # a connect left running would have reconnected by now
        assert node.connections() == 1
    finally:
        pub.close()
        node.stop()


def test_replay_dead_sends_dead_letters_back_once_the_cause_is_fixed(
    tmp_path: Path, node: NatsNode
) -> None:
    """A payload SEI refused (400) is dead; after the fix, `relay --replay-dead` publishes it
    again to its subject and takes it out of the dead stream, and the relay posts it."""
    from sei_watch.daemon import replay_dead

    from .test_fleet import stream_messages

    sei = StandIn(KEY, instances={GUID: "fleet"}).start()
    try:
        cfg = relay_settings(tmp_path, node.url, sei)
        init_streams(load_settings(cfg, {}))
        sei.script.append("400")
        _rows_after(agent_settings(tmp_path, node.url), [payload("api", 3)], steps=1)
        relay, thread = run_relay(cfg)
        wait_for(lambda: len(stream_messages(node.url, "SEI_PAYLOADS_DEAD")) == 1, 30, "dead")
        assert sei.store.runs == {}
        done = replay_dead(load_settings(cfg, {}))
        assert len(done) == 1
        assert "replayed to sei.payloads." in done[0]
        wait_for(lambda: len(sei.store.runs) == 1, 30, "posted after the replay")
        relay.stop.set()
        thread.join(10)
        assert stream_messages(node.url, "SEI_PAYLOADS_DEAD") == []
    finally:
        sei.stop()


def test_the_limiter_is_the_kv_bucket_where_the_server_keeps_cas_exact(
    tmp_path: Path, node: NatsNode
) -> None:
    """`[relay] limiter = "auto"` takes the shared KV token bucket from a server at 2.9.21 or
    newer (nats-server #4320 made older ones admit over the budget) and the even split from
    an older one; "kv" forces the bucket, and the relay still posts every payload."""
    from types import SimpleNamespace

    from sei_watch.deliver import kv_safe

    assert kv_safe(SimpleNamespace(major=2, minor=9, patch=21))
    assert kv_safe(SimpleNamespace(major=2, minor=15, patch=1))
    assert not kv_safe(SimpleNamespace(major=2, minor=9, patch=10))
    sei = StandIn(KEY, instances={GUID: "fleet"}).start()
    try:
        for mode in ("auto", "kv"):
            cfg = relay_settings(tmp_path, node.url, sei, extra=f'[relay]\nlimiter = "{mode}"\n')
            init_streams(load_settings(cfg, {}))
            n = len(sei.store.runs)
            _rows_after(agent_settings(tmp_path, node.url), [payload(mode, 1)], steps=1)
            relay, thread = run_relay(cfg)
            wait_for(lambda n=n: len(sei.store.runs) == n + 1, 30, f"posted with {mode}")
            relay.stop.set()
            thread.join(10)
            version = _server_version(node.url)
            expected = "kv" if mode == "kv" or version >= (2, 9, 21) else "split"
            assert relay.limiter.kind == expected, (mode, version)
    finally:
        sei.stop()


def _server_version(servers: str) -> tuple[int, int, int]:
    async def ask() -> tuple[int, int, int]:
        nc = await connect(load_settings(None, {"SEI_WATCH_NATS_SERVERS": servers}).nats)
        try:
            v = nc.connected_server_version
            return (v.major, v.minor, v.patch)
        finally:
            await nc.close()

    return asyncio.run(ask())


def test_the_dead_stream_is_byte_capped_and_drops_its_oldest(
    tmp_path: Path, node: NatsNode
) -> None:
    """`relay --init` gives the dead-letter stream `[nats] dead_max_bytes` with discard old, so
    junk can never fill the store the agents' payloads need (67 MB of it once did)."""
    init_streams(
        load_settings(
            None, {"SEI_WATCH_NATS_SERVERS": node.url, "SEI_WATCH_NATS_DEAD_MAX_BYTES": "4096"}
        )
    )

    async def ask() -> tuple[int, str]:
        nc = await connect(load_settings(None, {"SEI_WATCH_NATS_SERVERS": node.url}).nats)
        try:
            info = await nc.jetstream().stream_info("SEI_PAYLOADS_DEAD")
            return int(info.config.max_bytes), str(info.config.discard)
        finally:
            await nc.close()

    max_bytes, discard = asyncio.run(ask())
    assert max_bytes == 4096
    assert discard.lower().endswith("old")
