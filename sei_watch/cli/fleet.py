"""`sei-watch relay`: the fleet relay, and `relay --init` for its streams."""

from __future__ import annotations

import argparse
import signal

from sei_watch.daemon import Relay, init_streams, replay_dead
from sei_watch.logs import LEVELS, configure_logging
from sei_watch.status import ExitStatus

from .io import Io, settings_for

__all__ = ["cmd_relay"]


def cmd_relay(args: argparse.Namespace, io: Io) -> ExitStatus:
    """Post what the agents publish until SIGTERM or SIGINT; with --init, set up the streams."""
    settings = settings_for(args, io)
    if args.init or args.replay_dead:
        for line in (init_streams if args.init else replay_dead)(settings):
            io.stdout.write(f"sei-watch: {line}\n")
        return ExitStatus.OK
    level = args.log_level or settings.log_level
    configure_logging(stream=io.stdout, level=LEVELS[level.lower()])
    relay = Relay(settings, io.environ)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: relay.stop.set())
    return ExitStatus(relay.run())
