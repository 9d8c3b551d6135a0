"""`sei-watch doctor`: every precondition of a working install, one line each, with the fix."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import requests

from .client import SeiClient, resolve_base
from .config import Settings, find_config, load_settings
from .delivery import OUTBOX_FILE, check_key_file, load_api_key
from .errors import SeiWatchError
from .gitinfo import Git
from .outbox import Outbox

__all__ = ["Check", "run_checks"]

MIN_FREE = 100 << 20
MAX_PENDING_AGE = 3600.0
UNIT = Path("/etc/systemd/system/sei-watch.service")


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


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


def _guid(s: Settings, env: Mapping[str, str]) -> Check:
    guid = str(s.fields.get("instance_guid") or "")
    fix = "sei-watch register --integration-id ID --name NAME --write-config"
    try:
        uuid.UUID(guid)
    except ValueError:
        return Check(
            "instance guid",
            False,
            f"{guid or '(not set)'} is not a UUID; SEI accepts the post with 202 and then drops it",
            fix,
        )
    try:
        client = SeiClient(
            s.sei.url or "",
            load_api_key(s, env),
            connect_timeout=s.sei.connect_timeout,
            read_timeout=10,
            ca_bundle=s.sei.ca_bundle,
        )
        try:
            known = client.instance_known(guid)
        finally:
            client.close()
    except SeiWatchError as exc:
        return Check("instance guid", True, f"{guid}; SEI could not be asked ({exc})", _FLAG)
    if known is False:
        return Check(
            "instance guid",
            False,
            f"{guid} is not registered in SEI: every run would be accepted (202) and dropped",
            fix,
        )
    if known is None:
        return Check(
            "instance guid",
            True,
            f"{guid}; SEI did not say whether it is registered (the key may not read "
            "instances): check it in SEI's CI/CD settings",
            _FLAG,
        )
    return Check("instance guid", True, f"{guid} is registered in SEI", _FLAG)


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


def _roots(s: Settings) -> Iterator[Check]:
    for w in s.watches:
        ok = w.root.is_dir() and os.access(w.root, os.R_OK | os.X_OK)
        yield Check(
            f"watch root {w.name}",
            ok,
            f"{w.root} {'is readable' if ok else 'is missing or unreadable'}",
            ""
            if ok
            else f"create {w.root} or give the service user read access "
            "(and list it in the unit's ReadOnlyPaths=)",
        )


def _count_dirs(root: Path, cap: int = 2_000_000) -> int:
    n = 0
    for _, dirs, _ in os.walk(root):
        n += len(dirs)
        if n > cap:
            break
    return n + 1


def _inotify(s: Settings) -> Check:
    limit_file = Path("/proc/sys/fs/inotify/max_user_watches")
    if not s.daemon.events or not limit_file.exists():
        return Check("inotify limit", True, "not used (events off, or not Linux)")
    limit = int(limit_file.read_text())
    needed = sum(_count_dirs(w.root) for w in s.watches if w.root.is_dir() and not w.force_polling)
    ok = needed < limit * 0.8
    return Check(
        "inotify limit",
        ok,
        f"{needed} directories to watch, limit {limit}",
        ""
        if ok
        else f"sysctl -w fs.inotify.max_user_watches={max(needed * 2, 524288)}"
        " (persist it in /etc/sysctl.d/)",
    )


def _state(s: Settings) -> Check:
    d = s.state_dir
    probe = d if d.exists() else d.parent
    if not (probe.exists() and os.access(probe, os.W_OK | os.X_OK)):
        return Check(
            "state dir",
            False,
            f"{d} is not writable",
            "create it for the service user (systemd: StateDirectory=sei-watch does)",
        )
    st = os.statvfs(probe)
    free = st.f_bavail * st.f_frsize
    ok = free >= MIN_FREE
    return Check(
        "state dir",
        ok,
        f"{d} writable, {free >> 20} MiB free",
        "" if ok else "free some space: the outbox needs room to keep builds",
    )


def _outbox(s: Settings) -> Check:
    path = s.state_dir / OUTBOX_FILE
    if not path.exists():
        return Check("outbox", True, "empty (no outbox yet)")
    try:
        st = Outbox(path).stats()
    except SeiWatchError as exc:
        return Check("outbox", False, str(exc), "see `sei-watch outbox stats`")
    age = st["oldest_pending_age_s"] or 0.0
    ok = st["dead"] == 0 and age < MAX_PENDING_AGE
    return Check(
        "outbox",
        ok,
        f"{st['pending']} pending (oldest {age:.0f}s), {st['dead']} dead",
        ""
        if ok
        else "`sei-watch outbox list --state dead` shows why; fix, then "
        "`sei-watch outbox retry --all-dead`; an old pending row means SEI is "
        "unreachable or refusing the key",
    )


def _git(s: Settings) -> Iterator[Check]:
    if shutil.which("git") is None:
        yield Check(
            "git",
            False,
            "git is not installed",
            "install git: commits, branch and repo URL come from it",
        )
        return
    yield Check("git", True, shutil.which("git") or "git")
    for w in s.watches:
        if w.repo is None:
            continue
        try:
            head = Git(w.repo).head()
        except SeiWatchError as exc:
            yield Check(
                f"git repo {w.name}",
                False,
                str(exc)[:200],
                "check the path and that the service user can read it",
            )
        else:
            yield Check(f"git repo {w.name}", True, f"{w.repo} at {head[:12]}")


def _unit(unit: Path) -> Check:
    tool = shutil.which("systemd-analyze")
    if tool is None or not unit.exists():
        return Check("systemd unit", True, "not checked (no systemd-analyze or no installed unit)")
    out = subprocess.run(
        [tool, "security", "--offline=true", str(unit)], capture_output=True, text=True, check=False
    ).stdout
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out)
    score = float(m.group(1)) if m else 10.0
    ok = score <= 1.5
    return Check(
        "systemd unit",
        ok,
        f"{unit}: exposure {score}",
        "" if ok else "start from systemd/sei-watch.service: it scores 1.3",
    )


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
        lambda: _roots(settings),
        lambda: _inotify(settings),
        lambda: _state(settings),
        lambda: _outbox(settings),
        lambda: _git(settings),
        lambda: _unit(unit),
    ]
    out = [first]
    for step in steps:
        got = step()
        out.extend([got] if isinstance(got, Check) else list(got))
    return out
