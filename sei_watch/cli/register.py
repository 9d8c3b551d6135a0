"""`sei-watch register`: create the CI/CD instance in SEI, print its GUID, and (with
--write-config) store it with its name in the config, made from the example when there is
none. Usage is checked before SEI is asked: each failed try used to leave an instance behind."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import tomlkit

from sei_watch.config import DEFAULT_CONFIGS, find_config, load_settings
from sei_watch.deliver import SeiClient, load_api_key, remember_instance
from sei_watch.errors import ConfigError, SeiWatchError
from sei_watch.status import ExitStatus

from .install import shipped, write_file

if TYPE_CHECKING:
    from .io import Io

__all__ = ["run_register"]


def _target(args: argparse.Namespace, io: Io) -> Path | None:
    """The config file --write-config writes: --config, $SEI_WATCH_CONFIG, or the system one
    that exists. None: there is no file to write (a usage error, before any request)."""
    if args.config is not None:
        return Path(args.config)
    if io.environ.get("SEI_WATCH_CONFIG"):
        return Path(io.environ["SEI_WATCH_CONFIG"])
    return next((p for p in DEFAULT_CONFIGS if p.is_file()), None)


def write_sei_keys(path: Path, values: dict[str, str]) -> None:
    """Set keys of the [sei] table through a TOML-preserving editor: comments, order and
    spacing stay, and the file keeps its mode (it may hold who may read the key's path). A
    file that does not exist yet is made from the example config, readable by its owner."""
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else shipped("config")
        doc = tomlkit.parse(text)
    except (OSError, tomlkit.exceptions.TOMLKitError) as exc:
        raise ConfigError(f"{path}: cannot update it: {exc}") from exc
    table = doc.get("sei")
    if table is None:
        table = tomlkit.table()
        doc["sei"] = table
    for key, value in values.items():
        table[key] = value
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o600
    try:
        write_file(path, tomlkit.dumps(doc), mode)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write it: {exc.strerror or exc}") from exc


def run_register(args: argparse.Namespace, io: Io) -> ExitStatus:
    """Create the instance GUID, print it, and optionally store it in the config."""
    target = _target(args, io) if args.write_config else None
    if args.write_config and target is None:
        raise ConfigError(
            "--write-config needs --config FILE (made from the example if it does not exist)"
        )
    config = find_config(args.config, io.environ)
    if target is not None and not target.exists():
        config = None  # to be made: SEI_URL and the key come from the environment
    settings = load_settings(config, io.environ)
    if not settings.sei.url:
        raise ConfigError("[sei] url (or SEI_URL) is needed to register")
    client = SeiClient(
        settings.sei.url,
        load_api_key(settings, io.environ),
        connect_timeout=settings.sei.connect_timeout,
        read_timeout=settings.sei.read_timeout,
        ca_bundle=settings.sei.ca_bundle,
    )
    try:
        guid = client.register(name=args.name, integration_id=args.integration_id, type_=args.type)
    finally:
        client.close()
    io.stdout.write(f"{guid}\n")
    remember_instance(settings.state_dir, guid, {"name": args.name})
    if target is None:
        return ExitStatus.OK
    values = {"instance_guid": guid, "instance_name": args.name}
    if not target.exists():
        values = {"url": settings.sei.url, **values}
    try:
        # The instance's name goes with it: payloads then name the instance as SEI does.
        write_sei_keys(target, values)
    except SeiWatchError as exc:
        io.stderr.write(
            f"sei-watch: SEI made the instance {guid}, but {exc}. Keep it (do not register "
            f"again) by adding to the [sei] table of your config:\n"
            f'  instance_guid = "{guid}"\n  instance_name = "{args.name}"\n'
        )
        return ExitStatus.USAGE
    io.stderr.write(f"sei-watch: wrote [sei] instance_guid and instance_name to {target}\n")
    return ExitStatus.OK
