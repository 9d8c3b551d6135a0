"""`parse --post` inside a CI job, where nothing survives the job: a state directory that works
without root, and the payload kept in a file when SEI cannot be reached before the deadline, so
the job can keep it as an artifact and `sei-watch outbox import` can queue it anywhere."""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from sei_watch.config import Settings
from sei_watch.errors import ConfigError
from sei_watch.safeio import read_operator_file
from sei_watch.validation import validate

__all__ = ["load_payloads", "save_payload", "soft_fail_on", "undelivered_path", "usable_state"]

_TRUE = ("1", "true", "yes", "on")
MAX_IMPORT_BYTES = 64 << 20


def soft_fail_on(flag: bool, environ: Mapping[str, str]) -> bool:
    """`--soft-fail`, or SEI_WATCH_SOFT_FAIL=1 in the job's environment."""
    return flag or environ.get("SEI_WATCH_SOFT_FAIL", "").strip().lower() in _TRUE


def _owned_dir(path: Path) -> bool:
    """A directory we may keep state in: ours, not a link, writable (a shared /tmp name could
    be planted by another user)."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = os.lstat(path)
    except OSError:
        return False
    return (
        stat.S_ISDIR(st.st_mode)
        and st.st_uid == os.geteuid()
        and os.access(path, os.W_OK | os.X_OK, effective_ids=True)
    )


def usable_state(settings: Settings, environ: Mapping[str, str]) -> tuple[Settings, str | None]:
    """The settings with a state directory this process can write, and a note when it is not
    the configured one: $XDG_STATE_HOME (or ~/.local/state), then a private temp directory.
    A CI user without root never fails for want of /var/lib/sei-watch."""
    configured = settings.state_dir
    if _owned_dir(configured) or (
        configured.is_dir() and os.access(configured, os.W_OK | os.X_OK, effective_ids=True)
    ):
        return settings, None
    home = environ.get("HOME", "")
    xdg = environ.get("XDG_STATE_HOME") or (str(Path(home) / ".local" / "state") if home else "")
    import tempfile  # noqa: PLC0415  (a one-shot parse without --post never needs it)

    candidates = [Path(xdg) / "sei-watch"] if xdg else []
    candidates.append(Path(tempfile.gettempdir()) / f"sei-watch-{os.geteuid()}")
    usual = candidates[-1]
    if not _owned_dir(usual):
        # Someone else made (or planted) the usual temp name: a fresh private one instead.
        candidates[-1] = Path(tempfile.mkdtemp(prefix=f"sei-watch-{os.geteuid()}-"))
    for place in candidates:
        if _owned_dir(place):
            note = (
                f"state directory {settings.state_dir} is not writable here; using {place} "
                "(set [state] dir or SEI_WATCH_STATE_DIR to choose)"
            )
            return replace(settings, state_dir=place), note
    raise ConfigError(
        f"no writable state directory: {settings.state_dir}, "
        f"{', '.join(map(str, candidates))} all refused"
    )


def undelivered_path(chosen: Path | None, payload: Mapping[str, Any]) -> Path:
    """Where an undelivered payload is kept: the path given, else a file in the working
    directory named after the build."""
    if chosen is not None:
        return chosen
    job = re.sub(r"[^A-Za-z0-9._-]+", "_", str(payload.get("job_full_name", "build")))[:80]
    return Path(f"sei-watch-undelivered-{job}-{payload.get('build_number', 0)}.json")


def save_payload(payload: Mapping[str, Any], path: Path) -> Path:
    """Write the payload for later import, readable by its owner only (it names the build, its
    commits and parameters; it never holds the API key), and return where it went. The temp
    file has a random name and is created exclusively, never through a link someone planted;
    where the directory refuses it (read-only, full), $TMPDIR takes it."""
    import tempfile  # noqa: PLC0415

    text = json.dumps(payload, ensure_ascii=False, indent=1) + "\n"
    try:
        _write_new(path, text)
    except OSError:
        path = Path(tempfile.mkdtemp(prefix="sei-watch-undelivered-")) / path.name
        _write_new(path, text)
    return path


def _write_new(path: Path, text: str) -> None:
    import tempfile  # noqa: PLC0415

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def load_payloads(path: Path) -> list[dict[str, Any]]:
    """Payloads saved by `parse --post` (one object, or a list), each checked against the
    contract before it may be queued."""
    raw = read_operator_file(path, max_bytes=MAX_IMPORT_BYTES, what="saved payload")
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"{path}: not JSON: {exc}") from exc
    except RecursionError as exc:  # `[[[[...` 100k deep: the decoder recurses per level
        raise ConfigError(f"{path}: nested too deeply to be a saved payload") from exc
    items = doc if isinstance(doc, list) else [doc]
    out = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise ConfigError(f"{path}: item {n} is not a payload object")
        problems = validate(item)
        if problems:
            raise ConfigError(f"{path}: item {n} is not a valid payload: {problems[0]}")
        out.append(item)
    return out
