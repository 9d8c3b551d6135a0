"""Per-client NATS credentials and permissions for the fleet tests, as `docs/fleet.md` gives
them: each agent may publish only its own instance's subject (and read its stream's info),
and receives replies only on its own inbox prefix; the relays may use only their consumer, its
acks and the dead subjects; an admin (for `relay --init`) may do everything."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import nkeys


@dataclass(frozen=True)
class Client:
    """One user: its nkey seed file and public key, and its inbox prefix."""

    name: str
    seed_file: Path
    public: str
    inbox: str


def make_client(tmp: Path, name: str) -> Client:
    """A fresh user nkey, its seed in a 0600 file, as `nk -gen user` makes one."""
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    public = nkeys.from_seed(bytearray(seed)).public_key.decode()
    path = tmp / f"{name}.nk"
    path.write_bytes(seed + b"\n")
    path.chmod(0o600)
    return Client(name, path, public, f"_INBOX_{name.upper().replace('-', '_')}")


def agent_permissions(client: Client, guid: str, stream: str = "SEI_PAYLOADS") -> str:
    return (
        f'{{ nkey: "{client.public}", permissions: {{'
        f' publish: {{ allow: ["sei.payloads.{guid}", "$JS.API.STREAM.INFO.{stream}"] }},'
        f' subscribe: {{ allow: ["{client.inbox}.>"] }} }} }}'
    )


def relay_permissions(
    client: Client, stream: str = "SEI_PAYLOADS", durable: str = "sei-relay"
) -> str:
    allow = [
        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}",
        f"$JS.API.CONSUMER.INFO.{stream}.{durable}",
        f"$JS.ACK.{stream}.{durable}.>",
        f"$JS.API.STREAM.INFO.{stream}",
        f"$JS.API.STREAM.INFO.{stream}_DEAD",
        "sei.dead.>",
        # The fleet's KV token bucket (limiter "auto" on a server at 2.9.21 or newer).
        "$KV.SEI_RATE.>",
        "$JS.API.STREAM.INFO.KV_SEI_RATE",
        "$JS.API.DIRECT.GET.KV_SEI_RATE.>",
        "$JS.API.STREAM.MSG.GET.KV_SEI_RATE",
    ]
    listed = ", ".join(f'"{a}"' for a in allow)
    return (
        f'{{ nkey: "{client.public}", permissions: {{ publish: {{ allow: [{listed}] }},'
        f' subscribe: {{ allow: ["{client.inbox}.>"] }} }} }}'
    )


def server_config(users: list[str], admin: Client) -> str:
    """The `authorization` block of nats-server's config: these users and an all-powerful
    admin (the one that runs `relay --init`)."""
    lines = ",\n    ".join([*users, f'{{ nkey: "{admin.public}" }}'])
    return f"authorization {{\n  users = [\n    {lines}\n  ]\n}}\n"


def nats_toml(client: Client, servers: str) -> str:
    return (
        f'[nats]\nservers = "{servers}"\nnkey_file = "{client.seed_file}"\n'
        f'inbox_prefix = "{client.inbox}"\n'
    )


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _jwt(claims: dict[str, object], signer: object) -> str:
    """A NATS JWT (ed25519-nkey), as nsc writes one."""
    import base64
    import hashlib
    import json
    import time

    claims = {"iat": int(time.time()), **claims}
    digest = hashlib.sha256(json.dumps(claims, sort_keys=True).encode()).digest()
    claims["jti"] = base64.b32encode(digest).decode().rstrip("=")
    head = _b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    body = _b64(json.dumps(claims).encode())
    sig = signer.sign(f"{head}.{body}".encode())  # type: ignore[attr-defined]
    return f"{head}.{body}.{_b64(sig)}"


def _pair(prefix: int) -> object:
    seed = nkeys.encode_seed(os.urandom(32), prefix)
    return nkeys.from_seed(bytearray(seed)), seed


def operator_setup(tmp: Path) -> tuple[str, Path]:
    """Decentralized (JWT) auth as `nsc` sets it up: an operator, an account with JetStream,
    a user; the server's config block, and the user's `.creds` file."""
    op, _ = _pair(nkeys.PREFIX_BYTE_OPERATOR)
    acc, _ = _pair(nkeys.PREFIX_BYTE_ACCOUNT)
    user, user_seed = _pair(nkeys.PREFIX_BYTE_USER)
    op_pub = op.public_key.decode()  # type: ignore[attr-defined]
    acc_pub = acc.public_key.decode()  # type: ignore[attr-defined]
    user_pub = user.public_key.decode()  # type: ignore[attr-defined]
    op_jwt = _jwt(
        {"iss": op_pub, "sub": op_pub, "name": "op", "nats": {"type": "operator", "version": 2}},
        op,
    )
    limits = {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
              "wildcards": True, "conn": -1, "leaf": -1, "mem_storage": -1,
              "disk_storage": -1, "streams": -1, "consumer": -1}  # fmt: skip
    acc_jwt = _jwt(
        {"iss": op_pub, "sub": acc_pub, "name": "SEI",
         "nats": {"limits": limits, "type": "account", "version": 2}},
        op,
    )  # fmt: skip
    user_jwt = _jwt(
        {"iss": acc_pub, "sub": user_pub, "name": "agent",
         "nats": {"pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1,
                  "type": "user", "version": 2}},
        acc,
    )  # fmt: skip
    sys_acc, _ = _pair(nkeys.PREFIX_BYTE_ACCOUNT)
    sys_pub = sys_acc.public_key.decode()  # type: ignore[attr-defined]
    sys_jwt = _jwt(
        {"iss": op_pub, "sub": sys_pub, "name": "SYS",
         "nats": {"limits": {"subs": -1, "conn": -1, "data": -1, "payload": -1},
                  "type": "account", "version": 2}},
        op,
    )  # fmt: skip
    conf = (
        f'operator: "{op_jwt}"\nsystem_account: {sys_pub}\nresolver: MEMORY\n'
        f'resolver_preload: {{\n  {acc_pub}: "{acc_jwt}"\n  {sys_pub}: "{sys_jwt}"\n}}\n'
    )
    creds = tmp / "agent.creds"
    creds.write_text(
        "-----BEGIN NATS USER JWT-----\n"
        f"{user_jwt}\n"
        "------END NATS USER JWT------\n\n"
        "************************* IMPORTANT *************************\n"
        "NKEY Seed printed below can be used to sign and prove identity.\n\n"
        "-----BEGIN USER NKEY SEED-----\n"
        f"{user_seed.decode()}\n"
        "------END USER NKEY SEED------\n"
    )
    creds.chmod(0o600)
    return conf, creds
