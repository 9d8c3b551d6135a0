"""`sei-watch install-unit`: the systemd unit and an example config, as shipped in the wheel,
printed or written where systemd and the daemon look for them."""

from __future__ import annotations

import argparse
import os
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from sei_watch.errors import ConfigError
from sei_watch.status import ExitStatus

if TYPE_CHECKING:
    from .io import Io

__all__ = ["cmd_install_unit", "shipped"]

FILES = {"unit": "sei-watch.service", "config": "config.example.toml"}


def shipped(name: str) -> str:
    """A file shipped with the package (`sei_watch/data/` in the wheel); from a source
    checkout, the repository's `systemd/` folder, which the wheel's copy is made from."""
    packaged = resources.files("sei_watch").joinpath("data", FILES[name])
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    source = Path(__file__).resolve().parents[2] / "systemd" / FILES[name]
    return source.read_text(encoding="utf-8")


def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def cmd_install_unit(args: argparse.Namespace, io: Io) -> ExitStatus:
    """Write the unit (ExecStart pointing at this installation) and, where none is, the
    example config; or print one of them."""
    if args.show:
        io.stdout.write(shipped(args.show))
        return ExitStatus.OK
    # Beside this interpreter, not its real path: a venv's python links out of the venv.
    exe = args.exe or str(Path(sys.executable).parent / "sei-watch")
    unit = shipped("unit").replace("/opt/sei-watch/bin/sei-watch", exe)
    unit = unit.replace("/etc/sei-watch/config.toml", str(args.config))
    try:
        _write(args.unit_dir / FILES["unit"], unit, 0o644)
        io.stdout.write(f"wrote {args.unit_dir / FILES['unit']} (ExecStart {exe})\n")
        if args.config.exists():
            io.stdout.write(f"kept {args.config}: it exists\n")
        else:
            _write(args.config, shipped("config"), 0o640)
            io.stdout.write(f"wrote {args.config}: set url, instance_guid and the roots\n")
    except OSError as exc:
        raise ConfigError(f"install-unit: {exc.filename}: {exc.strerror} (root needed?)") from exc
    io.stdout.write(
        "next: set ReadOnlyPaths= to your roots, then `systemctl daemon-reload && systemctl "
        "enable --now sei-watch`\n"
    )
    return ExitStatus.OK
