"""TOML configuration into frozen settings. Every error names the file, the key and the problem."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sei_watch.errors import ConfigError
from sei_watch.plugins import DEFAULT_MAX_BYTES, ParserSettings
from sei_watch.schema import FIELD_TYPES

from .fleet import FLEET_SCALARS, TARGETS, NatsSettings, RelaySettings
from .model import DEFAULT_EXCLUDE, DaemonSettings, OutboxSettings, SeiSettings, Settings
from .otel import OTEL_SCALARS, otel_settings
from .watches import check_roots, parse_watches

__all__ = [
    "DEFAULT_CONFIGS",
    "check_trusted",
    "coerce_field",
    "find_config",
    "load_settings",
    "settings_from",
]

# Never a file in the working directory: in CI that is the checkout, written by whoever opened
# the pull request, and a config there could send the build elsewhere with the job's key.
DEFAULT_CONFIGS = (Path("/etc/sei-watch/config.toml"),)
SECTIONS = {
    "payload",
    "assemble",
    "parsers",
    "scan",
    "sei",
    "state",
    "outbox",
    "watch",
    "daemon",
    "timeline",
    "log",
    "metrics",
    "deliver",
    "nats",
    "relay",
    "otel",
}
IDENTITY_MODES = ("per-branch", "plain")  # [assemble] identity: see context/identity.py
_KEYS = {
    "assemble": {"tests_stage", "identity"},
    "scan": {"exclude", "max_file_bytes"},
    "parser": {"enabled", "globs", "options"},
}
# Scalar sections: key -> type. SEI_WATCH_<SECTION>_<KEY> overrides each in the environment.
SCALARS: dict[str, dict[str, type]] = {
    "sei": {
        "url": str,
        "api_key_file": str,
        "instance_guid": str,
        "instance_name": str,
        "instance_url": str,
        "connect_timeout": float,
        "read_timeout": float,
        "ca_bundle": str,
        "backoff_cap": float,
        "max_age": float,
        "max_per_minute": int,
        "transport": str,
    },
    "state": {"dir": str},
    "outbox": {"max_rows": int, "max_bytes": int, "prune_days": float},
    "daemon": {"workers": int, "rescan": float, "queue_size": int, "events": bool},
    "timeline": {"keep": int},
    "log": {"level": str},
    "metrics": {"listen": str, "stale_after": float},
    **FLEET_SCALARS,
    **OTEL_SCALARS,
}


def find_config(explicit: Path | None, environ: Mapping[str, str]) -> Path | None:
    """The config to read: --config, else $SEI_WATCH_CONFIG, else /etc/sei-watch/config.toml."""
    if explicit is not None:
        return explicit
    if environ.get("SEI_WATCH_CONFIG"):
        return Path(environ["SEI_WATCH_CONFIG"])
    return next((p for p in DEFAULT_CONFIGS if p.is_file()), None)


def _scalars(
    data: Mapping[str, Any], section: str, where: str, environ: Mapping[str, str]
) -> dict[str, Any]:
    table = dict(_table(data, section, where))
    known = SCALARS[section]
    for key in table:
        if key not in known:
            raise _unknown(f"{where}: [{section}]", key, set(known))
    for key in known:
        env = f"SEI_WATCH_{section.upper()}_{key.upper()}"
        if env in environ:
            table[key] = environ[env]
    out: dict[str, Any] = {}
    for key, value in table.items():
        typ = known[key]
        try:
            if typ is str:
                if not isinstance(value, str):
                    raise TypeError
                out[key] = value
            elif typ is list:  # a list of strings, or the same as one comma-separated string
                if isinstance(value, list) and all(isinstance(v, str) for v in value):
                    out[key] = ",".join(value)
                elif isinstance(value, str):
                    out[key] = value
                else:
                    raise TypeError
            elif typ is bool:
                if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
                    out[key] = value.lower() in ("true", "1")
                elif isinstance(value, bool):
                    out[key] = value
                else:
                    raise TypeError
            elif isinstance(value, bool):
                raise TypeError
            else:
                out[key] = typ(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{where}: [{section}] {key} must be a "
                f"{'list of strings' if typ is list else typ.__name__}, not {value!r}"
            ) from None
    return out


def _unknown(where: str, key: str, known: set[str]) -> ConfigError:
    import difflib  # noqa: PLC0415  (only for a mistyped key)

    close = difflib.get_close_matches(key, sorted(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(known))}"
    return ConfigError(f"{where}: unknown key {key!r}{hint}")


def coerce_field(key: str, value: Any, where: str) -> Any:
    """Check or convert a payload field's value to the type SEI expects."""
    if key not in FIELD_TYPES:
        raise _unknown(where, key, set(FIELD_TYPES) | {"param.NAME"})
    typ = FIELD_TYPES[key]
    if isinstance(value, str) and typ is not str:
        if typ is int:
            try:
                return int(value)
            except ValueError:
                raise ConfigError(f"{where}: {key} must be a whole number, not {value!r}") from None
        if typ is bool:
            low = value.lower()
            if low not in {"true", "false", "1", "0", "yes", "no"}:
                raise ConfigError(f"{where}: {key} must be true or false, not {value!r}")
            return low in {"true", "1", "yes"}
        if typ is list and key == "scm_commit_ids":
            return [v for v in value.replace(";", ",").replace(" ", ",").split(",") if v]
        if typ is list and key == "themes":
            return [v.strip() for v in value.split(",") if v.strip()]
        raise ConfigError(f"{where}: {key} takes a {typ.__name__}; set it in the config file")
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: {key} must be a {typ.__name__}, not {value!r}")
    return value


def _table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: [{key}] must be a table")
    return value


def _parser_settings(name: str, raw: Any, where: str) -> ParserSettings:
    here = f"{where}: [parsers.{name}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{here} must be a table")
    for key in raw:
        if key not in _KEYS["parser"]:
            raise _unknown(here, key, _KEYS["parser"])
    enabled = raw.get("enabled", True)
    globs = raw.get("globs", [])
    options = raw.get("options", {})
    if not isinstance(enabled, bool):
        raise ConfigError(f"{here} enabled must be true or false")
    if not isinstance(globs, list) or not all(isinstance(g, str) for g in globs):
        raise ConfigError(f"{here} globs must be a list of strings")
    if not isinstance(options, Mapping):
        raise ConfigError(f"{here} options must be a table")
    return ParserSettings(enabled=enabled, globs=tuple(globs), options=dict(options))


LOG_LEVELS = ("debug", "info", "warning", "error")
TRANSPORTS = ("custom-cicd", "multipart")
LIMITERS = ("auto", "kv", "split")


def _log_level(value: str, where: str) -> str:
    if value.lower() not in LOG_LEVELS:
        raise ConfigError(f"{where}: [log] level {value!r}: one of {', '.join(LOG_LEVELS)}")
    return value.lower()


def check_trusted(path: Path, st: os.stat_result, *, what: str) -> None:
    """Refuse a file someone other than its reader or root could change, as sshd's StrictModes
    does: the file owned by root or this user and writable by no one else, and every directory
    above it likewise (a world-writable directory only with the sticky bit, as /tmp has).
    Whoever could write the config could point [sei] url at their own server."""
    me = os.geteuid()
    why = ""
    if st.st_uid not in (0, me):
        why = f"{path} is owned by uid {st.st_uid}, neither root nor this user (uid {me})"
    elif st.st_mode & 0o022:
        who, fix = ("any user", "o-w") if st.st_mode & 0o002 else ("its group", "g-w")
        why = f"{path} is writable by {who}: chmod {fix} {path}"
    else:
        for parent in Path(os.path.abspath(path)).parents:
            try:
                pst = os.stat(parent)
            except OSError:
                break
            sticky = bool(pst.st_mode & stat.S_ISVTX)
            if pst.st_uid not in (0, me):
                why = f"{parent}, above {path}, is owned by uid {pst.st_uid}"
            elif pst.st_mode & 0o022 and not sticky:
                why = f"{parent}, above {path}, is writable by others: chmod go-w {parent}"
            if why:
                break
    if why:
        raise ConfigError(
            f"{what} {why}; whoever can change it could send the builds and the API key elsewhere"
        )


def load_settings(path: Path | None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate a config file (`None`: defaults), then the environment overrides."""
    environ = {} if environ is None else environ
    data: Mapping[str, Any] = {}
    where = "(no config file)"
    if path is not None:
        import tomllib  # noqa: PLC0415  (only with a config file)

        where = str(path)
        try:
            with path.open("rb") as fh:
                check_trusted(path, os.fstat(fh.fileno()), what="config")
                data = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{where}: not valid TOML: {exc}") from exc
    return settings_from(data, where, environ)


def settings_from(data: Mapping[str, Any], where: str, environ: Mapping[str, str]) -> Settings:
    """Settings from a parsed document (the whole file, or one part of it that
    `check-config` validates on its own to find every mistake in one pass)."""
    for key in data:
        if key not in SECTIONS:
            raise _unknown(where, key, SECTIONS)
    payload = dict(_table(data, "payload", where))
    raw_params = payload.pop("params", {})
    if not isinstance(raw_params, Mapping):
        raise ConfigError(f"{where}: [payload.params] must be a table")
    params = {str(k): str(v) for k, v in raw_params.items()}
    fields = {k: coerce_field(k, v, f"{where}: [payload]") for k, v in payload.items()}
    assemble = _table(data, "assemble", where)
    scan = _table(data, "scan", where)
    for sect, table in (("assemble", assemble), ("scan", scan)):
        for key in table:
            if key not in _KEYS[sect]:
                raise _unknown(f"{where}: [{sect}]", key, _KEYS[sect])
    tests_stage = assemble.get("tests_stage", "Tests")
    if not isinstance(tests_stage, str) or not tests_stage.strip():
        raise ConfigError(f"{where}: [assemble] tests_stage must be a non-empty string")
    identity = assemble.get("identity", IDENTITY_MODES[0])
    if identity not in IDENTITY_MODES:
        raise ConfigError(
            f'{where}: [assemble] identity must be "per-branch" (one SEI job per branch and '
            f'matrix leg, one run per attempt) or "plain" (the CI\'s own names), not {identity!r}'
        )
    exclude = scan.get("exclude", list(DEFAULT_EXCLUDE))
    if not isinstance(exclude, list) or not all(isinstance(g, str) for g in exclude):
        raise ConfigError(f"{where}: [scan] exclude must be a list of strings")
    max_bytes = scan.get("max_file_bytes", DEFAULT_MAX_BYTES)
    if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes <= 0:
        raise ConfigError(f"{where}: [scan] max_file_bytes must be a positive whole number")
    parsers = {
        name: _parser_settings(name, raw, where)
        for name, raw in _table(data, "parsers", where).items()
    }
    sei = _scalars(data, "sei", where, environ)
    if sei.get("transport", "custom-cicd") not in TRANSPORTS:
        raise ConfigError(
            f"{where}: [sei] transport {sei['transport']!r}: one of {', '.join(TRANSPORTS)}"
        )
    if environ.get("SEI_URL"):
        sei["url"] = environ["SEI_URL"]
    field_sources = dict.fromkeys(fields, f"config {where} [payload]")
    for key in ("instance_guid", "instance_name", "instance_url"):
        if sei.get(key) and key not in fields:
            fields[key] = sei[key]
            env = f"SEI_WATCH_SEI_{key.upper()}"
            field_sources[key] = f"env:{env}" if env in environ else f"config {where} [sei]"
    state = _scalars(data, "state", where, environ)
    state_dir = Path(
        state.get("dir") or environ.get("STATE_DIRECTORY", "").split(":")[0] or "/var/lib/sei-watch"
    )
    watches = parse_watches(data.get("watch"), where)
    check_roots(watches, state_dir, where)
    target = _scalars(data, "deliver", where, environ).get("target", "sei")
    if target not in TARGETS:
        raise ConfigError(f"{where}: [deliver] target {target!r}: one of {', '.join(TARGETS)}")
    if target == "nats" and sei.get("transport", "custom-cicd") != "custom-cicd":
        raise ConfigError(f"{where}: [sei] transport multipart is not carried over NATS")
    relay = _scalars(data, "relay", where, environ)
    if relay.get("limiter", "auto") not in LIMITERS:
        raise ConfigError(
            f"{where}: [relay] limiter {relay['limiter']!r}: one of {', '.join(LIMITERS)}"
        )
    return Settings(
        target=target,
        nats=NatsSettings(**_scalars(data, "nats", where, environ)),
        relay=RelaySettings(**relay),
        otel=otel_settings(_scalars(data, "otel", where, environ), environ),
        sei=SeiSettings(**sei),
        state_dir=state_dir,
        outbox=OutboxSettings(**_scalars(data, "outbox", where, environ)),
        daemon=DaemonSettings(**_scalars(data, "daemon", where, environ)),
        timeline_keep=int(_scalars(data, "timeline", where, environ).get("keep", 50)),
        metrics_listen=_scalars(data, "metrics", where, environ).get("listen"),
        metrics_stale_after=float(
            _scalars(data, "metrics", where, environ).get("stale_after", 3600.0)
        ),
        log_level=_log_level(_scalars(data, "log", where, environ).get("level", "info"), where),
        watches=watches,
        fields=fields,
        field_sources=field_sources,
        params=params,
        tests_stage=tests_stage,
        identity=identity,
        parsers=parsers,
        exclude=tuple(exclude),
        max_file_bytes=max_bytes,
        source=where,
    )
