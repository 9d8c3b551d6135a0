"""The SEI client against a real HTTP server on loopback: the request and each answer's meaning."""

from __future__ import annotations

import json
import time
from email.utils import formatdate

import pytest

from sei_watch.deliver.client import PRESETS, SeiClient, parse_retry_after, resolve_base
from sei_watch.errors import DeliveryError

from .conftest_sei import API_KEY, GUID
from .sei_server import StandIn

PAYLOAD = {
    "pipeline": "app",
    "job_full_name": "app",
    "qualified_name": "app",
    "instance_name": "agent",
    "instance_guid": GUID,
    "result": "SUCCESS",
    "start_time": 1_750_000_000_000,
    "duration": 5,
    "build_number": 1,
}


def client(sei: StandIn, key: str = API_KEY, read_timeout: float = 1.0) -> SeiClient:
    return SeiClient(sei.url, key, read_timeout=read_timeout)


def body(**over: object) -> bytes:
    return json.dumps({**PAYLOAD, **over}).encode()


def test_request_shape(sei: StandIn) -> None:
    """POST /v1/custom-cicd with ApiKey auth, JSON content type, and the payload as the body."""
    out = client(sei).post_run(body())
    assert (out.kind, out.status) == ("delivered", 202)
    headers = sei.seen_headers[0]
    assert headers["Authorization"] == f"ApiKey {API_KEY}"
    assert headers["Content-Type"] == "application/json"
    assert sei.accepted == [PAYLOAD]


@pytest.mark.parametrize(
    "field",
    ["pipeline", "instance_name", "instance_guid", "job_full_name", "qualified_name", "result"],
)
def test_400_is_dead_with_the_servers_reason(sei: StandIn, field: str) -> None:
    """A missing required field is a permanent refusal carrying SEI's message."""
    out = client(sei).post_run(body(**{field: ""}))
    assert (out.kind, out.status) == ("dead", 400)
    assert "field is missing" in out.message


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_hold(sei: StandIn, status: int) -> None:
    """401/403 hold the queue: a configuration error, never a dropped payload."""
    sei.script.append(str(status))
    out = client(sei).post_run(body())
    assert (out.kind, out.status) == ("hold", status)
    assert API_KEY not in out.message


def test_wrong_key_is_hold(sei: StandIn) -> None:
    """A key SEI does not know answers 401 and holds."""
    assert client(sei, key="wrong").post_run(body()).kind == "hold"


def test_413_is_dead_and_names_the_size(sei: StandIn) -> None:
    """413 is permanent, and the message names how big the payload was."""
    sei.script.append("413")
    data = body()
    out = client(sei).post_run(data)
    assert out.kind == "dead"
    assert f"{len(data)} bytes" in out.message


@pytest.mark.parametrize("status", ["429", "500", "502", "503"])
def test_429_and_5xx_retry_with_retry_after(sei: StandIn, status: str) -> None:
    """429 and 5xx are retried, with the Retry-After the server sent."""
    sei.script.append(status)
    out = client(sei).post_run(body())
    assert out.kind == "retry"
    assert out.status == int(status)
    if status in ("429", "503"):
        assert out.retry_after == 1.0


def test_reset_and_timeout_retry(sei: StandIn) -> None:
    """A reset connection and a read timeout are retried, not lost."""
    sei.script.append("reset")
    assert client(sei).post_run(body()).kind == "retry"
    sei.slow_seconds = 1.5
    sei.script.append("slow")
    out = client(sei, read_timeout=0.3).post_run(body())
    assert out.kind == "retry"
    assert "Timeout" in out.message


def test_unreachable_server_is_retry() -> None:
    """Nothing listening: a retry with the reason, and the key appears nowhere."""
    c = SeiClient("http://127.0.0.1:9", API_KEY, connect_timeout=0.5)
    out = c.post_run(body())
    assert out.kind == "retry"
    assert API_KEY not in out.message
    assert API_KEY not in repr(c)


def test_presets_and_urls() -> None:
    """Preset names map to the documented bases; bad URLs are refused."""
    assert resolve_base("prod2") == "https://app.harness.io/gratis/sei/api"
    assert resolve_base("EU1") == "https://accounts.eu.harness.io/sei/api"
    assert resolve_base("https://sei.example.com/sei/api/") == "https://sei.example.com/sei/api"
    assert set(PRESETS) == {"prod0", "prod1", "prod2", "prod3", "prod4", "prod6", "eu1"}
    with pytest.raises(DeliveryError, match="neither a preset"):
        resolve_base("ftp://x")


def test_retry_after_forms() -> None:
    """Retry-After is read as seconds or as an HTTP date."""
    now = time.time()
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(formatdate(now + 60, usegmt=True), now=now) == pytest.approx(60, abs=1)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_register_falls_back_to_the_working_call(sei: StandIn) -> None:
    """The documented call answers 400; register then uses /v1/cicd/instances for the GUID."""
    guid = client(sei).register(name="agents", integration_id="4711")
    assert guid in sei.instances
    assert sei.instances[guid] == {"name": "agents", "integration_id": "4711", "type": "jenkins"}
