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
