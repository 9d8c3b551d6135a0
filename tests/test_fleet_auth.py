"""The fleet's authorization scheme on a real nats-server: each agent authenticates with its
own nkey, may publish only its instance's subject and read only its own inbox; the relay may
only work its consumer. Agent A can neither post for B nor read what B publishes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from sei_watch.config import load_settings
from sei_watch.daemon import init_streams
from sei_watch.deliver import connect, make_sender, open_outbox

from .daemonproc import wait_for
from .natsauth import (
    agent_permissions,
    make_client,
    nats_toml,
    relay_permissions,
    server_config,
)
from .natsproc import NatsNode, needs_nats
from .sei_server import StandIn
from .test_fleet import GUID, KEY, payload, run_relay

pytestmark = needs_nats

GUID_B = "2f7a9c1e-5b3d-4e8f-a0c2-9d4b6e1f3a57"


def _agent(tmp: Path, name: str, toml: str) -> Any:
    cfg = tmp / f"{name}.toml"
    cfg.write_text(
        f'[deliver]\ntarget = "nats"\n{toml}publish_timeout = 2.0\n[state]\ndir = "{tmp / name}"\n'
    )
    (tmp / name).mkdir(exist_ok=True)
    return load_settings(cfg, {})


def _deliver(settings: Any, payloads: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Queue and send; each row's (state, last_error) once nothing is left to try."""
    box = open_outbox(settings)
    for p in payloads:
        box.enqueue(p)
    sender = make_sender(settings, box, {})
    try:
        for _ in range(20):
            sender.step()
            rows = box.rows()
            if all(r.state in ("delivered", "dead") for r in rows):
                break
        return [(r.state, r.last_error or "") for r in box.rows()]
    finally:
        sender.client.close()
        box.close()


def _first_try(settings: Any, one: dict[str, Any]) -> Any:
    """The row of `one` after a single send attempt."""
    box = open_outbox(settings)
    box.enqueue(one)
    sender = make_sender(settings, box, {})
    try:
        sender.step()
        (row,) = box.rows()
        return row
    finally:
        sender.client.close()
        box.close()


@pytest.fixture
def secured(tmp_path: Path) -> Any:
    """A server where A, B and the relay have only their own rights, and an admin."""
    a, b = make_client(tmp_path, "agent-a"), make_client(tmp_path, "agent-b")
    relay, admin = make_client(tmp_path, "relay"), make_client(tmp_path, "admin")
    conf = server_config(
        [agent_permissions(a, GUID), agent_permissions(b, GUID_B), relay_permissions(relay)],
        admin,
    )
    node = NatsNode("auth", tmp_path / "nats", config=conf).start()
    yield node, {"a": a, "b": b, "relay": relay, "admin": admin}
    node.stop()


def test_agent_a_can_neither_post_for_b_nor_read_bs_payloads(tmp_path: Path, secured: Any) -> None:
    """With the documented permissions, A's own build is stored; a payload A builds for
    instance B is refused by the server and its row is dead with the server's words (not
    retried for ever); A cannot pull from the relays' consumer nor subscribe to B's subject;
    the relay, with its own narrow rights, posts A's build and B's, nothing else."""
    node, who = secured
    admin_toml = nats_toml(who["admin"], node.url)
    init_streams(_agent(tmp_path, "admin", admin_toml))
    a = _agent(tmp_path, "a", nats_toml(who["a"], node.url) + "")
    b = _agent(tmp_path, "b", nats_toml(who["b"], node.url))
    rows = _deliver(a, [payload("api", 1), {**payload("api", 2), "instance_guid": GUID_B}])
    assert rows[0] == ("delivered", rows[0][1])
    assert rows[1][0] == "dead"
    assert "permissions violation" in rows[1][1].lower()
    assert f"sei.payloads.{GUID_B}" in rows[1][1]
    assert _deliver(b, [{**payload("web", 7), "instance_guid": GUID_B}])[0][0] == "delivered"

    denied: list[str] = []

    async def snoop() -> list[str]:
        nc = await connect(a.nats, on_error=denied.append)
        try:
            js = nc.jetstream()
            await nc.subscribe(f"sei.payloads.{GUID_B}")
            await nc.subscribe("_INBOX_RELAY.>")
            try:
                sub = await js.pull_subscribe_bind("sei-relay", stream="SEI_PAYLOADS")
                got = await sub.fetch(1, timeout=2)
                return [m.data.decode() for m in got]
            except Exception:  # refused: the fetch request may not be published
                return []
        finally:
            await asyncio.sleep(0.5)
            await nc.close()

    assert asyncio.run(snoop()) == []
    text = " ".join(denied).lower()
    assert 'subscription to "sei.payloads.' in text
    assert 'subscription to "_inbox_relay.>"' in text

    sei = StandIn(KEY, instances={GUID: "fleet", GUID_B: "web"}).start()
    try:
        cfg = tmp_path / "relay.toml"
        cfg.write_text(
            f'[sei]\nurl = "{sei.url}"\nmax_per_minute = 600\n'
            + nats_toml(who["relay"], node.url)
            + f'[relay]\nin_flight = 3\n[state]\ndir = "{tmp_path / "relay"}"\n'
        )
        relay, thread = run_relay(cfg)
        wait_for(lambda: len(sei.store.runs) == 2, 30, "A's and B's builds stored")
        relay.stop.set()
        thread.join(10)
        stored = sorted(
            (json.loads(json.dumps(k)) if not isinstance(k, str) else k) for k in sei.store.runs
        )
        assert len(stored) == 2
        assert relay.state.hold is None
    finally:
        sei.stop()


def test_an_agent_with_no_rights_on_the_server_is_not_let_in(tmp_path: Path, secured: Any) -> None:
    """A client whose nkey the server does not know is refused at connect: the queue holds
    for a person (the row kept, no attempt counted towards going dead) with the server's
    words, and the seed never appears in the row's error."""
    node, _ = secured
    stranger = make_client(tmp_path, "stranger")
    row = _first_try(_agent(tmp_path, "stranger", nats_toml(stranger, node.url)), payload("api", 1))
    assert row.state == "pending"
    assert row.attempts == 0
    assert "authorization violation" in (row.last_error or "").lower()
    assert stranger.seed_file.read_text().strip() not in (row.last_error or "")


def _certs(tmp: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, made by openssl."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = {n: tmp / n for n in ("ca.key", "ca.pem", "srv.key", "srv.pem", "cli.key", "cli.pem")}

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d["ca.key"]), "-out",
        str(d["ca.pem"]), "-days", "2", "-subj", "/CN=sei-test-ca")  # fmt: skip
    ext = tmp / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    for who, cn in (("srv", "127.0.0.1"), ("cli", "agent-a")):
        csr = tmp / f"{who}.csr"
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d[f"{who}.key"]), "-out",
            str(csr), "-subj", f"/CN={cn}")  # fmt: skip
        run("x509", "-req", "-in", str(csr), "-CA", str(d["ca.pem"]), "-CAkey",
            str(d["ca.key"]), "-CAcreateserial", "-out", str(d[f"{who}.pem"]), "-days", "2",
            "-extfile", str(ext))  # fmt: skip
    return d


def test_an_agent_reaches_nats_over_mutual_tls(tmp_path: Path) -> None:
    """[nats] tls_ca_file, tls_cert_file and tls_key_file: an agent publishes to a server that
    requires TLS and a client certificate; without its certificate it is refused and holds
    nothing back (the row waits)."""
    c = _certs(tmp_path)
    conf = (
        f'tls {{\n  cert_file: "{c["srv.pem"]}"\n  key_file: "{c["srv.key"]}"\n'
        f'  ca_file: "{c["ca.pem"]}"\n  verify: true\n}}\n'
    )
    node = NatsNode("tls", tmp_path / "nats", config=conf).start()
    try:
        url = node.url.replace("nats://", "tls://")
        tls = f'tls_ca_file = "{c["ca.pem"]}"\n'
        mine = tls + f'tls_cert_file = "{c["cli.pem"]}"\ntls_key_file = "{c["cli.key"]}"\n'
        admin = _agent(tmp_path, "admin", f'[nats]\nservers = "{url}"\n{mine}')
        init_streams(admin)
        a = _agent(tmp_path, "a", f'[nats]\nservers = "{url}"\n{mine}')
        assert _deliver(a, [payload("api", 1)])[0][0] == "delivered"
        bare = _agent(tmp_path, "bare", f'[nats]\nservers = "{url}"\n{tls}')
        assert _first_try(bare, payload("api", 2)).state == "pending"
    finally:
        node.stop()


def test_an_agent_authenticates_with_a_creds_file(tmp_path: Path) -> None:
    """[nats] creds_file (a user JWT and its seed, as `nsc generate creds` writes) against a
    server in operator mode: the agent's build is stored in the stream."""
    from .natsauth import operator_setup

    conf, creds = operator_setup(tmp_path)
    node = NatsNode("jwt", tmp_path / "nats", config=conf).start()
    try:
        toml = f'[nats]\nservers = "{node.url}"\ncreds_file = "{creds}"\n'
        init_streams(_agent(tmp_path, "admin", toml))
        a = _agent(tmp_path, "a", toml)
        assert _deliver(a, [payload("api", 1)])[0][0] == "delivered"
    finally:
        node.stop()


def test_a_relay_refused_by_nats_permissions_holds_with_the_servers_words(
    tmp_path: Path,
) -> None:
    """A relay whose user may not pull from the consumer (a permission left out) holds, with
    the server's words on /healthz's reason, instead of timing out and retrying for ever."""
    relay_user, admin = make_client(tmp_path, "relay"), make_client(tmp_path, "admin")
    narrow = relay_permissions(relay_user).replace(
        '"$JS.API.CONSUMER.MSG.NEXT.SEI_PAYLOADS.sei-relay", ', ""
    )
    node = NatsNode("auth", tmp_path / "nats", config=server_config([narrow], admin)).start()
    sei = StandIn(KEY, instances={GUID: "fleet"}).start()
    try:
        init_streams(_agent(tmp_path, "admin", nats_toml(admin, node.url)))
        cfg = tmp_path / "relay.toml"
        cfg.write_text(
            f'[sei]\nurl = "{sei.url}"\n' + nats_toml(relay_user, node.url)
            + f'[state]\ndir = "{tmp_path / "relay"}"\n'
        )  # fmt: skip
        relay, thread = run_relay(cfg)
        wait_for(lambda: relay.state.hold is not None, 20, "held on the refusal")
        healthy, why = relay.state.health(stopping=False)
        relay.stop.set()
        thread.join(10)
        assert not healthy
        assert "permissions violation" in why.lower()
        assert "msg.next" in why.lower()
    finally:
        sei.stop()
        node.stop()
