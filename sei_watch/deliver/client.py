"""The SEI HTTP client: one POST per payload, and what its answer means for the outbox.

requests/urllib3 errors stop here: callers see an `Outcome` or a `DeliveryError`.
"""

from __future__ import annotations

import email.utils
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

import requests
from requests.adapters import HTTPAdapter

from sei_watch.errors import DeliveryError

from .destination import PRESETS, resolve_base
from .multipart import Attachment, Streamed, multipart_body
from .transport import POOL_CLASSES, Answer, forget, read_capped, shut

__all__ = ["PRESETS", "Outcome", "SeiClient", "parse_retry_after", "resolve_base"]

USER_AGENT = "sei-watch"
_MAX_MESSAGE = 500

Kind = Literal["delivered", "retry", "dead", "hold"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What one POST came to. `hold` stops the whole queue (a configuration problem)."""

    kind: Kind
    status: int | None
    message: str
    retry_after: float | None = None


MULTIPART_PATH = "/v1/generic-requests/multipart"


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def _message(resp: Answer) -> str:
    body = resp.content
    try:
        doc = json.loads(body)
    except ValueError:
        return " ".join(body.decode("utf-8", "replace").split())[:_MAX_MESSAGE]
    if isinstance(doc, dict):
        for key in ("payload", "message", "error"):
            if key in doc:
                return str(doc[key])[:_MAX_MESSAGE]
    return str(doc)[:_MAX_MESSAGE]


class SeiClient:
    """Posts to one SEI base with pooled connections. Use one per sending thread."""

    def __init__(
        self,
        base: str,
        api_key: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        ca_bundle: str | None = None,
        deadline: float | None = None,
    ) -> None:
        self.base = resolve_base(base)
        # The whole request, answer included, ends by then, whatever the server does.
        self.deadline = deadline if deadline is not None else connect_timeout + 2 * read_timeout
        self._key = api_key
        self._timeout = (connect_timeout, read_timeout)
        # verify=True lets REQUESTS_CA_BUNDLE (or CURL_CA_BUNDLE) replace the CA store, as
        # requests documents; [sei] ca_bundle, passed per request, wins over both. `doctor`
        # says which is in force.
        self._verify: bool | str = ca_bundle or True
        self._session = requests.Session()
        self._session.headers.update({"User-Agent": USER_AGENT})
        adapter = HTTPAdapter()
        adapter.poolmanager.pool_classes_by_scheme = dict(POOL_CLASSES)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def __repr__(self) -> str:  # never show the key
        return f"SeiClient({self.base!r})"

    def close(self) -> None:
        self._session.close()

    def _post(
        self, path: str, body: bytes | Streamed, *, content_type: str = "application/json"
    ) -> Answer:
        return self._request("POST", path, body, content_type=content_type)

    def _request(
        self,
        method: str,
        path: str,
        body: bytes | Streamed | None = None,
        *,
        content_type: str = "",
    ) -> Answer:
        headers = {"Authorization": f"ApiKey {self._key}"}
        if content_type:
            headers["Content-Type"] = content_type
        me, fired = threading.get_ident(), threading.Event()
        timer = threading.Timer(self.deadline, shut, args=(me, fired))
        timer.daemon = True
        timer.start()
        try:
            resp = self._session.request(
                method,
                f"{self.base}{path}",
                data=body,
                headers=headers,
                timeout=self._timeout,
                verify=self._verify,
                allow_redirects=False,  # a redirect would carry the key to another host
                stream=True,  # the body is read by us, up to a cap
            )
            return Answer(
                status_code=resp.status_code,
                reason=resp.reason or "",
                headers=resp.headers,
                content=read_capped(resp),
            )
        except requests.exceptions.SSLError as exc:
            raise DeliveryError(f"TLS failed for {self.base}: {type(exc).__name__}") from exc
        except requests.RequestException as exc:
            if fired.is_set():
                raise DeliveryError(
                    f"no complete answer from {self.base}{path} within the {self.deadline:g} s "
                    "deadline"
                ) from exc
            raise DeliveryError(f"{type(exc).__name__} on {method} {self.base}{path}") from exc
        finally:
            timer.cancel()
            timer.join()  # gone before the answer is used: a one-shot exits with no thread left
            forget(me)

    def post_multipart(self, body: bytes, attachment: Attachment | None) -> Outcome:
        """The SEI Jenkins plugin's path: `POST /v1/generic-requests/multipart` with a `json`
        part `{request_type: JenkinsPluginJobRunComplete, payload: <the payload as text>}` and
        a `file` part, the zip of the JUnit reports, from which SEI fills its test tables. The
        zip is streamed from where it lies (the outbox file), never copied whole."""
        data, content_type = multipart_body(body, attachment)
        return self.post_run(data, path=MULTIPART_PATH, content_type=content_type)

    def post_run(
        self,
        body: bytes | Streamed,
        *,
        path: str = "/v1/custom-cicd",
        content_type: str = "application/json",
    ) -> Outcome:
        """POST one payload (to /v1/custom-cicd unless told) and classify the answer."""
        try:
            resp = self._post(path, body, content_type=content_type)
        except DeliveryError as exc:
            kind: Kind = "hold" if "TLS failed" in str(exc) else "retry"
            return Outcome(kind=kind, status=None, message=str(exc))
        status = resp.status_code
        msg = _message(resp)
        if status in (200, 201, 202):
            return Outcome(kind="delivered", status=status, message=msg)
        if status == 401:
            return Outcome(
                kind="hold",
                status=status,
                message=f"SEI refused the API key (401: wrong or revoked key): {msg}",
            )
        if status == 403:
            return Outcome(
                kind="hold",
                status=status,
                message=f"SEI refused the API key (403: the key lacks the scope or role for "
                f"this endpoint and instance): {msg}",
            )
        if 300 <= status < 400:
            where = resp.headers.get("Location", "?")
            return Outcome(
                kind="hold",
                status=status,
                message=f"SEI answered a redirect to {where}: check [sei] url",
            )
        if status == 413:
            return Outcome(
                kind="dead",
                status=status,
                message=f"payload of {len(body)} bytes is too large for SEI: {msg}",
            )
        if status == 429 or status >= 500:
            return Outcome(
                kind="retry",
                status=status,
                message=msg or resp.reason,
                retry_after=parse_retry_after(resp.headers.get("Retry-After")),
            )
        return Outcome(kind="dead", status=status, message=msg or resp.reason)

    def register(self, *, name: str, integration_id: str, type_: str = "jenkins") -> str:
        """Create a CI/CD instance (`POST /v1/cicd/instances`) and return its GUID."""
        body = json.dumps({"name": name, "integration_id": integration_id, "type": type_})
        resp = self._post("/v1/cicd/instances", body.encode())
        doc = _json(resp)
        if resp.status_code in (200, 201, 202) and isinstance(doc.get("id"), str):
            return str(doc["id"])
        if resp.status_code in (401, 403):
            raise DeliveryError(f"SEI refused the API key ({resp.status_code})")
        raise DeliveryError(
            f"SEI did not create the instance ({resp.status_code}): {_message(resp)}"
        )

    def instance(self, guid: str) -> dict[str, Any] | None:
        """SEI's record of the CI/CD instance `guid` (name, url, integration_id); `{}` when
        SEI says it has none (404); None when SEI could not be asked (down, refusing)."""
        try:
            resp = self._request("GET", f"/v1/cicd/instances/{guid}")
        except DeliveryError:
            return None
        if resp.status_code == 404:
            return {}
        return _json(resp) if resp.status_code == 200 else None

    def probe_instance(self, guid: str) -> tuple[int | None, dict[str, Any]]:
        """`GET /v1/cicd/instances/{guid}`: SEI's status (None: no answer) and its record."""
        try:
            resp = self._request("GET", f"/v1/cicd/instances/{guid}")
        except DeliveryError:
            return None, {}
        return resp.status_code, _json(resp) if resp.status_code == 200 else {}

    def probe_multipart(self) -> int | None:
        """An empty form to the multipart endpoint: SEI checks the key's role before it reads
        a part, so 403 means no Admin role, and an empty form stores nothing (None: no
        answer)."""
        boundary = f"sei-watch-probe-{secrets.token_hex(6)}"
        try:
            resp = self._post(
                MULTIPART_PATH,
                f"--{boundary}--\r\n".encode(),
                content_type=f"multipart/form-data; boundary={boundary}",
            )
        except DeliveryError:
            return None
        return resp.status_code

    def instance_known(self, guid: str) -> bool | None:
        """Whether SEI has the CI/CD instance `guid` (`GET /v1/cicd/instances/{id}`): True,
        False, or None where the answer cannot tell (no permission, another error)."""
        resp = self._request("GET", f"/v1/cicd/instances/{guid}")
        if resp.status_code == 200:
            return True
        if resp.status_code == 404:
            return False
        return None


def _json(resp: Answer) -> dict[str, Any]:
    try:
        doc = json.loads(resp.content)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}
