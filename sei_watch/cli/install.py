"""`sei-watch install-unit`: the systemd unit and an example config, as shipped in the wheel,
printed or written where systemd and the daemon look for them."""

from __future__ import annotations

import argparse
import os
import re
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from sei_watch.errors import ConfigError, SeiWatchError
from sei_watch.status import ExitStatus

if TYPE_CHECKING:
    from .io import Io

__all__ = ["cmd_install_unit", "shipped", "unit_text", "write_file"]

FILES = {"unit": "sei-watch.service", "config": "config.example.toml"}


def shipped(name: str) -> str:
    """A file shipped with the package (`sei_watch/data/` in the wheel); from a source
    checkout, the repository's `systemd/` folder, which the wheel's copy is made from."""
    packaged = resources.files("sei_watch").joinpath("data", FILES[name])
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    source = Path(__file__).resolve().parents[2] / "systemd" / FILES[name]
    return source.read_text(encoding="utf-8")


def write_file(path: Path, text: str, mode: int) -> None:
    """Write `text` to `path` whole or not at all (a temp file beside it, never through a
    planted link, then renamed), with exactly `mode` whatever the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, mode)  # the umask may have taken bits from the mode asked for
    os.replace(tmp, path)


def _roots(config: Path) -> list[str]:
    """The watch roots of the config the unit will run, if it loads (else none)."""
    from sei_watch.config import load_settings  # noqa: PLC0415  (only when installing)

    if not config.is_file():
        return []
    try:
        return [str(w.root) for w in load_settings(config).watches]
    except SeiWatchError:
        return []


def _exec_warning(exe: str) -> str | None:
    """Why the unit could not run this ExecStart, where that can be told from here."""
    if exe.startswith(("/home/", "/root/", "/run/user/")):
        return f"{exe} lies under a home directory, which the unit hides (ProtectHome=yes)"
    if exe.startswith(("/tmp/", "/var/tmp/")):  # noqa: S108  (a prefix compared, no file made)
        return f"{exe} lies in a temporary directory, which the unit replaces (PrivateTmp=yes)"
    if not os.access(exe, os.X_OK):
        return f"{exe} is not an executable file here"
    return None


def unit_text(exe: str, config: Path) -> str:
    """The unit as it would be written: ExecStart at `exe` with `config`, ReadOnlyPaths= from
    the config's roots, each with `-` so that a root not made yet is no error to systemd."""
    unit = shipped("unit").replace("/opt/sei-watch/bin/sei-watch", exe)
    unit = unit.replace("/etc/sei-watch/config.toml", str(config))
    roots = _roots(config)
    if not roots:
        match = re.search(r"(?m)^ReadOnlyPaths=(.*)$", unit)
        roots = match.group(1).split() if match else []
    paths = " ".join(r if r.startswith("-") else f"-{r}" for r in roots)
    return re.sub(r"(?m)^ReadOnlyPaths=.*$", f"ReadOnlyPaths={paths}", unit)


def cmd_install_unit(args: argparse.Namespace, io: Io) -> ExitStatus:
    """Write the unit (ExecStart pointing at this installation, ReadOnlyPaths= at the config's
    roots) and, where none is, the example config; or print what would be written."""
    # Beside this interpreter, not its real path: a venv's python links out of the venv.
    exe = args.exe or str(Path(sys.executable).parent / "sei-watch")
    if args.show == "config":
        io.stdout.write(shipped("config"))
        return ExitStatus.OK
    unit = unit_text(exe, args.config)
    if args.show == "unit":
        io.stdout.write(unit)
        return ExitStatus.OK
    warning = _exec_warning(exe)
    if warning:
        io.stderr.write(f"sei-watch: warning: {warning}; pass --exec PATH to change it\n")
    try:
        write_file(args.unit_dir / FILES["unit"], unit, 0o644)
        io.stdout.write(f"wrote {args.unit_dir / FILES['unit']} (ExecStart {exe})\n")
        if args.config.exists():
            io.stdout.write(f"kept {args.config}: it exists\n")
        else:
            write_file(args.config, shipped("config"), 0o640)
            io.stdout.write(f"wrote {args.config}: set url, instance_guid and the roots\n")
    except OSError as exc:
        raise ConfigError(f"install-unit: {exc.filename}: {exc.strerror} (root needed?)") from exc
    io.stdout.write(
        "next: `systemctl daemon-reload && systemctl enable --now sei-watch` (after a change of "
        "roots, run install-unit again to update ReadOnlyPaths=)\n"
    )
    return ExitStatus.OK
