"""The instance's name and URL as SEI has them, for a payload that was not told them.

SEI upserts the CI/CD instance from every post: its name and URL are overwritten, a missing
URL nulls it. A payload whose `instance_name` was defaulted (to the host name) would rename
the registered instance after whichever runner posted last. So such a payload takes the name
and URL SEI already holds (`GET /v1/cicd/instances/{id}`, remembered per GUID in the state
directory), and is refused where SEI does not say (never renamed by accident).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

from sei_watch.logs import get_logger

__all__ = ["INSTANCES_FILE", "Lookup", "remember_instance", "resolve_instance"]

log = get_logger("sei_watch.instance")

INSTANCES_FILE = "instances.json"
Lookup = Callable[[str], "dict[str, Any] | None"]


def _cache(state_dir: Path) -> dict[str, dict[str, str]]:
    try:
        doc = json.loads((state_dir / INSTANCES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return doc if isinstance(doc, dict) else {}


def remember_instance(state_dir: Path, guid: str, record: dict[str, str]) -> None:
    """Cache SEI's record of an instance (its name) in the state directory."""
    doc = _cache(state_dir)
    doc[guid] = record
    try:
        fd, tmp = tempfile.mkstemp(prefix=".instances.", dir=state_dir)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh)
        os.replace(tmp, state_dir / INSTANCES_FILE)
    except OSError:
        pass  # a cache: the next post asks SEI again


def resolve_instance(
    payload: MutableMapping[str, Any],
    sources: MutableMapping[str, str],
    *,
    defaulted: bool,
    state_dir: Path,
    lookup: Lookup | None,
) -> str | None:
    """Fill a defaulted `instance_name` (and a missing `instance_url`) from SEI's record.
    Returns why the payload must not be posted, or None."""
    if not defaulted:
        return None
    guid = str(payload.get("instance_guid") or "")
    record = _cache(state_dir).get(guid)
    if record is None and lookup is not None:
        found = lookup(guid)
        if found is None:
            # SEI could not be asked (down, a refused key): the payload is queued or saved as
            # it is, so that a build is never lost for its instance's name.
            sources["instance_name"] += " (SEI not reachable to read the instance's name)"
            log.warning("instance.unverified", guid=guid, name=payload.get("instance_name"))
            return None
        if found.get("name"):
            record = {"name": str(found["name"]), "url": str(found.get("url") or "")}
            remember_instance(state_dir, guid, record)
    if not record or not record.get("name"):
        return (
            f"instance_name is not set and SEI did not say the name of instance {guid}: "
            "posting would rename it after this host (SEI overwrites an instance's name and "
            "URL from every post). Set [sei] instance_name or SEI_INSTANCE_NAME"
        )
    payload["instance_name"] = record["name"]
    sources["instance_name"] = "SEI's record of the instance (GET /v1/cicd/instances/{id})"
    if not payload.get("instance_url") and record.get("url"):
        payload["instance_url"] = record["url"]
        sources["instance_url"] = sources["instance_name"]
    log.debug("instance.resolved", guid=guid, name=record["name"])
    return None
