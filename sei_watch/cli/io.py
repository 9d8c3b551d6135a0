"""What every CLI command shares: its injectable I/O, and the config and parsers it reads."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from sei_watch.config import Settings
    from sei_watch.plugins import Registry

__all__ = ["Io", "registry_for", "settings_for", "use_color"]


@dataclass(slots=True, kw_only=True)
class Io:
    """Everything a command touches outside the process, so that tests can replace it."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    hostname: Callable[[], str] = field(default_factory=lambda: _hostname)
    now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000


def settings_for(args: argparse.Namespace, io: Io) -> Settings:
    """The config the command names, else $SEI_WATCH_CONFIG, else /etc/sei-watch/config.toml."""
    from sei_watch.config import find_config, load_settings  # noqa: PLC0415  (lazy: see cli.py)

    return load_settings(find_config(args.config, io.environ), io.environ)


def registry_for(settings: Settings, io: Io) -> Registry:
    """The parsers in use; plugins that failed to load are warned about on stderr."""
    from sei_watch.plugins import load_parsers  # noqa: PLC0415  (lazy: see cli.py)

    registry = load_parsers(settings.parsers)
    for failure in registry.failures:
        io.stderr.write(f"sei-watch: warning: {failure}\n")
    return registry


def use_color(args: argparse.Namespace, io: Io, stream: TextIO) -> bool:
    """--color always|never, else colour only on a terminal and only without NO_COLOR."""
    mode = getattr(args, "color", "auto")
    if mode != "auto":
        return bool(mode == "always")
    return stream.isatty() and not io.environ.get("NO_COLOR")


def _hostname() -> str:
    """The host's name: uname's, as gethostname reads it, without importing `socket`."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket  # noqa: PLC0415  (no uname: Windows)

    return socket.gethostname()
