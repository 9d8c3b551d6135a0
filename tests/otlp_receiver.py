"""An OTLP/HTTP trace receiver on loopback that decodes every request with the real
OpenTelemetry protobuf definitions (`opentelemetry-proto`), strictly: an unknown field is an
error, and OTLP/JSON's hex trace and span ids must be 16 and 8 bytes (protobuf's own JSON
reader would take them as base64). It can be down, or answer 400 or 503 with Retry-After."""

from __future__ import annotations

import base64
import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

_IDS = {"traceId": 16, "spanId": 8, "parentSpanId": 8}


def _hex_ids_to_base64(node: Any, errors: list[str]) -> Any:
    """OTLP/JSON ids are hex; the protobuf JSON mapping wants base64 for bytes."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in _IDS and isinstance(value, str):
                try:
                    raw = bytes.fromhex(value)
                except ValueError:
                    errors.append(f"{key} {value!r} is not hex")
                    raw = b""
                if len(raw) != _IDS[key] or value != value.lower():
                    errors.append(f"{key} {value!r} is not {_IDS[key]} bytes of lowercase hex")
                out[key] = base64.b64encode(raw).decode()
            else:
                out[key] = _hex_ids_to_base64(value, errors)
        return out
    if isinstance(node, list):
        return [_hex_ids_to_base64(v, errors) for v in node]
    return node


def decode(body: bytes) -> ExportTraceServiceRequest:
    """One request as the Collector's OTLP receiver reads it; ValueError when it would not."""
    errors: list[str] = []
    doc = _hex_ids_to_base64(json.loads(body), errors)
    if errors:
        raise ValueError("; ".join(errors))
    msg = ExportTraceServiceRequest()
    json_format.ParseDict(doc, msg, ignore_unknown_fields=False)
    return msg


class Receiver(ThreadingHTTPServer):
    """Collects decoded requests in `requests`; `script` forces the next answers."""

    daemon_threads = True

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.requests: list[ExportTraceServiceRequest] = []
        self.headers_seen: list[dict[str, str]] = []
        self.rejected: list[str] = []
        self.script: deque[str] = deque()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> Receiver:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def spans(self) -> list[Any]:
        with self.lock:
            return [
                span
                for req in self.requests
                for rs in req.resource_spans
                for ss in rs.scope_spans
                for span in ss.spans
            ]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, *_args: Any) -> None:
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        srv = self.server
        forced = srv.script.popleft() if srv.script else None
        if forced == "503":
            self._answer(503, b"{}", {"Retry-After": "2"})
            return
        if forced == "400":
            self._answer(400, b'{"message": "bad"}')
            return
        if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/json":
            srv.rejected.append(f"{self.path} {self.headers.get('Content-Type')}")
            self._answer(404, b"{}")
            return
        try:
            msg = decode(body)
        except (ValueError, json_format.ParseError) as exc:
            srv.rejected.append(str(exc))
            self._answer(400, json.dumps({"message": str(exc)}).encode())
            return
        with srv.lock:
            srv.requests.append(msg)
            srv.headers_seen.append(dict(self.headers))
        self._answer(200, b"{}")

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
