"""Stage 4, deliver: a payload reaches SEI exactly once, through a durable outbox.

Enters: a `Report` (or a saved payload) and the settings.
Leaves: a row in the sqlite outbox, then a 202 from SEI, retried with backoff and the rate
limit until it lands or is refused for good.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .client import SeiClient, resolve_base
    from .outbox import Outbox
    from .sender import Sender
    from .wiring import (
        OUTBOX_FILE,
        Submission,
        check_key_file,
        load_api_key,
        make_sender,
        open_outbox,
        submit,
    )
else:
    from sei_watch._lazy import exports

    __getattr__ = exports(
        __name__,
        {
            "SeiClient": "client",
            "resolve_base": "client",
            "Outbox": "outbox",
            "Sender": "sender",
            "OUTBOX_FILE": "wiring",
            "Submission": "wiring",
            "check_key_file": "wiring",
            "load_api_key": "wiring",
            "make_sender": "wiring",
            "open_outbox": "wiring",
            "submit": "wiring",
        },
    )

__all__ = [
    "OUTBOX_FILE",
    "Outbox",
    "SeiClient",
    "Sender",
    "Submission",
    "check_key_file",
    "load_api_key",
    "make_sender",
    "open_outbox",
    "resolve_base",
    "submit",
]
