"""`sei-watch doctor`: every precondition of a working install, one line each, with the fix."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import requests

from sei_watch.config import Settings, find_config, load_settings
from sei_watch.deliver import (
    SeiClient,
    check_key_file,
    load_api_key,
    resolve_base,
)
from sei_watch.errors import SeiWatchError

from .doctor_fleet import fleet_checks
from .doctor_host import UNIT, Check, host_checks, skipped, unknown, warning

__all__ = ["Check", "run_checks"]

HTTP_OK, HTTP_UNAUTHORIZED, HTTP_FORBIDDEN, HTTP_NOT_FOUND = 200, 401, 403, 404


def _config(path: Path | None, environ: Mapping[str, str]) -> tuple[Check, Settings | None]:
    try:
        settings = load_settings(path, environ)
    except SeiWatchError as exc:
        return Check(
            "config",
            False,
            str(exc),
            "correct it; `sei-watch check-config` validates without running",
        ), None
    return Check("config", True, f"{settings.source} is valid"), settings


def _api_key(s: Settings, env: Mapping[str, str]) -> Check:
    try:
        load_api_key(s, env)
        warning = check_key_file(Path(s.sei.api_key_file)) if s.sei.api_key_file else None
        if warning:
            return Check("api key", False, warning, warning.rsplit(": ", 1)[-1])
    except SeiWatchError as exc:
        return Check(
            "api key",
            False,
            str(exc),
            "put the key in a file readable only by the "
            "service user and set [sei] api_key_file, or LoadCredential=api-key:FILE",
        )
    return Check("api key", True, "present and readable")


def _sei(s: Settings, env: Mapping[str, str]) -> Check:
    if not s.sei.url:
        return Check(
            "sei reachable",
            False,
            "[sei] url is not set",
            "set [sei] url to a preset (prod1, prod2, prod3, eu1, ...) or the base URL",
        )
    try:
        base = resolve_base(s.sei.url)
        resp = requests.head(
            base,
            timeout=(s.sei.connect_timeout, 10),
            verify=s.sei.ca_bundle or True,
            allow_redirects=False,
        )
    except (SeiWatchError, requests.RequestException) as exc:
        proxy = env.get("HTTPS_PROXY") or env.get("https_proxy") or "none"
        return Check(
            "sei reachable",
            False,
            f"{s.sei.url}: {type(exc).__name__}: {str(exc)[:160]} (proxy: {proxy})",
            "check DNS, the firewall, HTTPS_PROXY/NO_PROXY and [sei] ca_bundle",
        )
    return Check(
        "sei reachable", True, f"{base} answered HTTP {resp.status_code} (HEAD, no payload sent)"
    )


_FLAG = (
    "if SEI answers 202 and still shows nothing, ask Harness to enable the account's "
    "SEI_ENABLE_CUSTOM_CICD feature flag"
)


_GUID_FIX = "sei-watch register --integration-id ID --name NAME --write-config"


def _guid_form(s: Settings) -> Check:
    guid = str(s.fields.get("instance_guid") or "")
    try:
        uuid.UUID(guid)
    except ValueError:
        return Check(
            "instance guid",
            False,
            f"{guid or '(not set)'} is not a UUID; SEI accepts the post with 202 and then drops it",
            _GUID_FIX,
        )
    return Check("instance guid", True, f"{guid} (the relays' SEI knows whether it is registered)")


def _client(s: Settings, env: Mapping[str, str]) -> SeiClient | None:
    try:
        key = load_api_key(s, env)
    except SeiWatchError:
        return None
    return SeiClient(
        s.sei.url or "",
        key,
        connect_timeout=s.sei.connect_timeout,
        read_timeout=10,
        ca_bundle=s.sei.ca_bundle,
    )


def _guid(s: Settings, env: Mapping[str, str]) -> Check:
    """The instance as SEI holds it, asked with the configured key: a 401 is the key's fault,
    a 404 or a missing integration drops every run, no answer is no pass."""
    name, guid = "instance guid", str(s.fields.get("instance_guid") or "")
    form = _guid_form(s)
    if not form.ok:
        return form
    client = _client(s, env)
    if client is None:
        return skipped(name, "no API key to ask SEI with (see above)")
    try:
        status, doc = client.probe_instance(guid)
    except SeiWatchError as exc:
        return unknown(name, f"{guid}: cannot tell, SEI could not be asked ({exc})")
    finally:
        client.close()
    if status is None:
        return unknown(name, f"{guid}: cannot tell, SEI did not answer", "see sei reachable")
    if status == HTTP_UNAUTHORIZED:
        return Check(
            name, False, f"{guid}: SEI refused the API key (401: wrong or revoked key)",
            "use the key SEI issued (Account settings > API keys) in [sei] api_key_file",
        )  # fmt: skip
    if status == HTTP_FORBIDDEN:
        return unknown(
            name, f"{guid}: cannot tell, the key may not read CI/CD instances (403)",
            "check the instance in SEI's CI/CD settings, or use a key that may read it",
        )  # fmt: skip
    if status == HTTP_NOT_FOUND:
        return Check(
            name, False,
            f"{guid} is not registered in SEI: every run would be accepted (202) and dropped",
            _GUID_FIX,
        )  # fmt: skip
    if status != HTTP_OK:
        return unknown(name, f"{guid}: cannot tell, SEI answered {status}")
    if not doc.get("integration_id"):
        return Check(
            name, False,
            f"{guid} ({doc.get('name', '?')}) has no integration_id: SEI drops its runs",
            "link the instance to a custom CI/CD integration in SEI, or register a new one: "
            + _GUID_FIX,
        )  # fmt: skip
    return Check(name, True, f"{guid} ({doc.get('name', '?')}) is registered in SEI", _FLAG)


def _transport(s: Settings, env: Mapping[str, str]) -> Check:
    """The multipart endpoint needs a key with the Admin role (runs do not)."""
    name = "transport"
    if s.sei.transport != "multipart":
        return Check(name, True, "custom-cicd: runs without test rows (SEI's webhook)")
    client = _client(s, env)
    if client is None:
        return skipped(name, "no API key to probe with (see above)")
    try:
        status = client.probe_multipart()
    finally:
        client.close()
    if status is None:
        return unknown(name, "multipart: cannot tell, SEI did not answer")
    if status == HTTP_FORBIDDEN:
        return Check(
            name, False,
            "multipart: SEI refused the key (403): runs would go to /v1/custom-cicd without "
            "their test rows",
            'use an API key with the Admin role, or set [sei] transport = "custom-cicd"',
        )  # fmt: skip
    if status == HTTP_UNAUTHORIZED:
        return Check(name, False, "multipart: SEI refused the key (401: wrong or revoked key)")
    return Check(name, True, f"multipart: the key may post test reports (probe: {status})")


def _identity(s: Settings) -> Check:
    if s.identity == "plain":
        return warning(
            "identity",
            "plain: every branch (and matrix leg) of a job is one SEI job, relabelled by each "
            "post, and a re-run attempt shares its run",
            '[assemble] identity = "per-branch" (the default) unless SEI must keep old names',
        )
    return Check("identity", True, "per-branch: one SEI job per branch and leg, a run per try")


def _ca_bundle(s: Settings, env: Mapping[str, str]) -> Check:
    """Which CA store TLS to SEI trusts: [sei] ca_bundle, else REQUESTS_CA_BUNDLE or
    CURL_CA_BUNDLE (requests lets either replace its store), else certifi's bundle."""
    if s.sei.ca_bundle:
        where, path = "[sei] ca_bundle", s.sei.ca_bundle
    elif env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE"):
        name = "REQUESTS_CA_BUNDLE" if env.get("REQUESTS_CA_BUNDLE") else "CURL_CA_BUNDLE"
        where, path = f"{name}={env[name]}", env[name]
    else:
        where, path = "certifi (requests' default)", requests.utils.DEFAULT_CA_BUNDLE_PATH
    ok = os.path.exists(path)
    detail = f"{where}: {path}" + ("" if ok else " does not exist")
    return Check("tls ca bundle", ok, detail, "" if ok else "point it at a PEM bundle that exists")


def run_checks(
    config: Path | None, environ: Mapping[str, str], *, unit: Path = UNIT
) -> list[Check]:
    """Every check, in the order a person would fix them."""
    first, settings = _config(find_config(config, environ), environ)
    if settings is None:
        return [first]
    steps: list[Callable[[], Check | Iterator[Check]]] = [
        lambda: _api_key(settings, environ),
        lambda: _ca_bundle(settings, environ),
        lambda: _sei(settings, environ),
        lambda: _guid(settings, environ),
        lambda: _transport(settings, environ),
        lambda: _identity(settings),
        lambda: host_checks(settings, unit),
    ]
    if settings.target == "nats":  # SEI is the relays' to reach, with their key
        steps[:5] = [lambda: fleet_checks(settings, environ), lambda: _guid_form(settings)]
    out = [first]
    for step in steps:
        got = step()
        out.extend([got] if isinstance(got, Check) else list(got))
    return out
