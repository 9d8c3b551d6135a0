"""A stand-in for SEI on 127.0.0.1: validates bodies as the real server does, records what it
accepted, stores what the real server would store (`sei_store`), and can misbehave on purpose
(status sequences, resets, slow answers, accept-and-drop).

Read endpoints of its own, for tests and the demo: `GET /_standin/runs` (what SEI stored) and
`GET /_standin/dropped` (what it accepted with 202 and then dropped, and why).

Run alone for the demo or a benchmark: `python -m tests.sei_server --port 0` prints its URL.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import struct
import threading
import time
import uuid
from collections import Counter, deque
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .sei_store import SeiStore

REQUIRED = (  # (field, alias, the real server's message)
    ("pipeline", "job_name", "job_name/pipeline field is missing"),
    ("instance_name", "jenkins_instance_name", "instance_name field is missing in request"),
    ("instance_guid", "jenkins_instance_guid", "instance_guid field is missing in request"),
    ("job_full_name", None, "job_full_name field is missing in request"),
    ("qualified_name", "job_normalized_full_name", "qualified_name field is missing in request"),
    ("result", None, "result field is missing in request"),
)
ACCEPTED = {"response_type": "JenkinsPluginJobRunCompleteResponse", "payload": '{"run_ids":[]}'}


class StandIn(ThreadingHTTPServer):
    """The server; its attributes are the test's view of what happened."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        api_key: str = "test-key",
        *,
        fault_rate: float = 0.0,
        faults: tuple[str, ...] = ("503", "429", "reset", "slow"),
        seed: int = 1,
        slow_seconds: float = 2.0,
        retry_after: str | None = "1",
        instances: dict[str, str] | None = None,
        limit: int = 0,
        limit_window: float = 60.0,
        admin: bool = True,
        large_every: float = 10.0,
        latency: float = 0.0,
        answer_first: bool = False,
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        # The multipart endpoint needs a key with the ADMIN role; /v1/custom-cicd does not.
        self.admin = admin
        # Harness' platform limit: a request over 500,000 characters at most once per 10 s.
        self.large_every, self.last_large = large_every, -1e9
        # Harness: `limit` requests per key per window (a minute there); past it a 429 with no
        # Retry-After, counted in `over_limit`.
        self.limit, self.limit_window, self.over_limit = limit, limit_window, 0
        self.api_key = api_key
        self.latency = latency  # seconds before every answer: SEI is not a 1 ms loopback
        # SEI answers 202 to a valid request and stores it later (bench/injob.py times a
        # client's wait as SEI makes it); tests read the store after the answer, so the
        # default stores first.
        self.answer_first = answer_first
        self.in_flight = self.max_in_flight = 0  # requests being answered at once
        self.script: deque[str] = deque()  # forced answers for the next requests
        self.fault_rate = fault_rate
        self.fault_kinds = faults
        self.slow_seconds = slow_seconds
        self.retry_after = retry_after
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.accepted: list[dict[str, Any]] = []
        self.keys: Counter[tuple[str, str, int]] = Counter()
        self.first_seen: dict[tuple[str, str, int], float] = {}
        self.requests = 0
        self.post_times: list[float] = []
        self.seen_headers: list[dict[str, str]] = []
        self.raw_log: list[bytes] = []
        self.store = SeiStore()
        for guid, name in (instances or {}).items():  # registered beforehand, as an admin does
            self.store.register(guid, {"name": name, "integration_id": "1", "type": "custom"})
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def instances(self) -> dict[str, dict[str, Any]]:
        return self.store.instances

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.keys.values() if n > 1)

    def start(self) -> StandIn:
        self._thread = threading.Thread(
            target=self.serve_forever, args=(0.05,), name="sei-stand-in", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def next_fault(self) -> str | None:
        with self.lock:
            if self.script:
                return self.script.popleft()
            if self.fault_rate and self.rng.random() < self.fault_rate:
                return self.rng.choice(self.fault_kinds)
        return None


LARGE_BODY = 500_000


def _multipart(content_type: str, raw: bytes) -> tuple[bytes, bytes | None]:
    """The SEI Jenkins plugin's multipart post, as the server reads it: the `json` part holds
    `{request_type, payload}` (the payload as text); the `file` part, the zip whose nested
    `levelops_junit_reports.zip` feeds the test tables (`sei_tests.py`). Returns (the payload,
    the file part)."""
    msg = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    if not msg.is_multipart():
        raise ValueError("not multipart/form-data")
    parts = {
        part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
        for part in msg.iter_parts()
    }
    generic = json.loads(parts.get("json") or b"{}")
    if generic.get("request_type") != "JenkinsPluginJobRunComplete":
        raise ValueError("request_type is not JenkinsPluginJobRunComplete")
    return str(generic.get("payload", "")).encode(), parts.get("file") or None


class _Handler(BaseHTTPRequestHandler):
    server: StandIn
    protocol_version = "HTTP/1.1"
    # One buffered write per answer: headers and body in separate segments meet the peer's
    # delayed ACK and cost 40 ms each on loopback.
    wbufsize = -1
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, doc: Any, headers: dict[str, str] | None = None) -> None:
        if self.server.latency:  # counted on arrival (as a gateway's limit is), answered later
            time.sleep(self.server.latency)
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _reset(self) -> None:
        # SO_LINGER 0: close with RST, as a crashing load balancer does.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def do_POST(self) -> None:
        srv = self.server
        with srv.lock:
            srv.in_flight += 1
            srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
        try:
            self._post()
        finally:
            with srv.lock:
                srv.in_flight -= 1

    def _post(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        srv = self.server
        with srv.lock:
            srv.requests += 1
            srv.post_times.append(time.monotonic())
            srv.seen_headers.append(dict(self.headers))
            srv.raw_log.append(raw)
        if self.headers.get("Authorization") != f"ApiKey {srv.api_key}":
            self._send(401, {"message": "Unauthorized"})
            return
        if srv.limit:
            with srv.lock:
                since = srv.post_times[-1] - srv.limit_window
                over = sum(1 for at in srv.post_times[-srv.limit - 1 :] if at > since) > srv.limit
                srv.over_limit += over
            if over:
                self._send(429, {"message": "Too Many Requests"})
                return
        fault = srv.next_fault()
        if fault == "reset":
            self._reset()
            return
        if fault == "slow":
            time.sleep(srv.slow_seconds)
            # The client gave up: a real server that notices the closed socket does not commit.
            try:
                self.connection.setblocking(False)
                gone = self.connection.recv(1, socket.MSG_PEEK) == b""
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            finally:
                self.connection.setblocking(True)
            if gone:
                self.close_connection = True
                return
        if fault and fault.isdigit():
            status = int(fault)
            headers = (
                {"Retry-After": srv.retry_after}
                if status in (429, 503) and srv.retry_after is not None
                else {}
            )
            self._send(status, {"message": f"injected {status}"}, headers)
            return
        if self.path == "/v1/cicd/instances":
            self._instances(raw)
            return
        if len(raw) > LARGE_BODY:
            with srv.lock:
                too_soon = time.monotonic() - srv.last_large < srv.large_every
                if not too_soon:
                    srv.last_large = time.monotonic()
                srv.over_limit += too_soon
            if too_soon:
                self._send(429, {"message": "Too Many Requests"})
                return
        file_part: bytes | None = None
        multipart = self.path == "/v1/generic-requests/multipart"
        if multipart and not srv.admin:
            self._send(403, {"message": "Forbidden: ADMIN or SUPER_ADMIN required"})
            return
        if multipart:
            try:
                raw, file_part = _multipart(self.headers.get("Content-Type", ""), raw)
            except ValueError as exc:
                self._send(400, {"response_type": "error", "payload": str(exc)})
                return
        elif self.path != "/v1/custom-cicd":
            self._send(404, {"message": "not found"})
            return
        try:
            doc = json.loads(raw)
        except ValueError:
            self._send(400, {"response_type": "error", "payload": "malformed JSON"})
            return
        for field, alias, message in REQUIRED:
            if not (doc.get(field) or (alias and doc.get(alias))):
                self._send(400, {"response_type": "error", "payload": message})
                return
        key = (doc["instance_guid"], doc["job_full_name"], int(doc.get("build_number", 0)))
        early = srv.answer_first and fault is None
        if early:
            self._send(202, ACCEPTED)
            self.wfile.flush()  # out now, not when the handler returns
        with srv.lock:
            srv.accepted.append(doc)
            srv.keys[key] += 1
            srv.first_seen.setdefault(key, time.time())
            srv.store.ingest(doc)
            if multipart:
                srv.store.add_tests(doc, file_part)
        if fault == "drop":  # accepted, then the answer is lost
            self._reset()
            return
        if not early:
            self._send(202, ACCEPTED)

    def _instances(self, raw: bytes) -> None:
        doc = json.loads(raw or b"{}")
        if not (doc.get("name") and doc.get("integration_id") and doc.get("type")):
            self._send(400, {"message": "name, integration_id and type are required"})
            return
        guid = str(uuid.uuid4())
        with self.server.lock:
            self.server.store.register(guid, doc)
        self._send(201, {"id": guid})

    def do_GET(self) -> None:
        srv = self.server
        with srv.lock:
            srv.requests += 1
        if self.path.startswith("/_standin/"):
            with srv.lock:
                if self.path == "/_standin/runs":
                    self._send(200, [run.to_json() for run in srv.store.runs.values()])
                elif self.path == "/_standin/dropped":
                    self._send(200, [{"run": r, "why": w} for r, w in srv.store.dropped])
                else:
                    self._send(404, {"message": "not found"})
            return
        if self.headers.get("Authorization") != f"ApiKey {srv.api_key}":
            self._send(401, {"message": "Unauthorized"})
            return
        prefix = "/v1/cicd/instances/"
        if self.path.startswith(prefix):
            guid = self.path.removeprefix(prefix)
            doc = srv.store.instances.get(guid)
            if doc is None:
                self._send(404, {"message": f"instance {guid} not found"})
            else:
                self._send(200, {"id": guid, **doc})
            return
        self._send(404, {"message": "not found"})


def main(argv: list[str] | None = None) -> None:
    """`python -m tests.sei_server --key K --instance GUID=NAME`: the stand-in on loopback,
    its URL on the first line; what it stored at GET /_standin/runs (and /_standin/dropped)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--key", default="demo-key", help="the API key it accepts")
    ap.add_argument(
        "--instance",
        action="append",
        default=[],
        metavar="GUID=NAME",
        help="a registered CI/CD instance (runs of any other GUID are dropped, as SEI does)",
    )
    ap.add_argument("--no-admin", action="store_true", help="refuse multipart with 403")
    args = ap.parse_args(argv)
    instances = dict(item.split("=", 1) for item in args.instance)
    srv = StandIn(args.key, instances=instances, admin=not args.no_admin)
    print(srv.url, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
