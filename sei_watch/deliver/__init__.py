"""Stage 4, deliver: a payload reaches SEI exactly once, through a durable outbox.

Enters: a `Report` (or a saved payload) and the settings.
Leaves: a row in the sqlite outbox, then a 202 from SEI, retried with backoff and the rate
limit until it lands or is refused for good; or, with `[deliver] target = "nats"`, a message
stored in the fleet's JetStream, which a relay posts.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .client import SeiClient
    from .destination import Destination, Scope, resolve_base
    from .instance import Lookup, remember_instance
    from .jetstream import NatsPublisher, consumer_drift, ensure_consumer, ensure_streams
    from .kvlimit import RATE_BUCKET, KvTokenBucket, ensure_rate_bucket, kv_safe, server_version
    from .natsconn import connect, redact_text
    from .otlp import TRACES_FILE, TraceBox, TraceSender, queue_trace, run_traces, send_queued
    from .outbox import Outbox
    from .sender import Backoff, Sender
    from .wiring import (
        OUTBOX_FILE,
        Submission,
        check_key_file,
        destination_for,
        key_sources,
        load_api_key,
        make_sender,
        open_outbox,
        sei_client,
        submit,
    )
else:
    from sei_watch._lazy import exports

    __getattr__ = exports(
        __name__,
        {
            "KvTokenBucket": "kvlimit",
            "RATE_BUCKET": "kvlimit",
            "ensure_rate_bucket": "kvlimit",
            "kv_safe": "kvlimit",
            "server_version": "kvlimit",
            "consumer_drift": "jetstream",
            "TraceSender": "otlp",
            "queue_trace": "otlp",
            "run_traces": "otlp",
            "send_queued": "otlp",
            "TraceBox": "otlp",
            "TRACES_FILE": "otlp",
            "SeiClient": "client",
            "resolve_base": "destination",
            "Destination": "destination",
            "Scope": "destination",
            "Lookup": "instance",
            "remember_instance": "instance",
            "NatsPublisher": "jetstream",
            "connect": "natsconn",
            "redact_text": "natsconn",
            "ensure_consumer": "jetstream",
            "ensure_streams": "jetstream",
            "Outbox": "outbox",
            "Backoff": "sender",
            "Sender": "sender",
            "OUTBOX_FILE": "wiring",
            "Submission": "wiring",
            "check_key_file": "wiring",
            "destination_for": "wiring",
            "key_sources": "wiring",
            "load_api_key": "wiring",
            "make_sender": "wiring",
            "open_outbox": "wiring",
            "sei_client": "wiring",
            "submit": "wiring",
        },
    )

__all__ = [
    "OUTBOX_FILE",
    "RATE_BUCKET",
    "TRACES_FILE",
    "Backoff",
    "Destination",
    "KvTokenBucket",
    "Lookup",
    "NatsPublisher",
    "Outbox",
    "Scope",
    "SeiClient",
    "Sender",
    "Submission",
    "TraceBox",
    "TraceSender",
    "check_key_file",
    "connect",
    "consumer_drift",
    "destination_for",
    "ensure_consumer",
    "ensure_rate_bucket",
    "ensure_streams",
    "key_sources",
    "kv_safe",
    "load_api_key",
    "make_sender",
    "open_outbox",
    "queue_trace",
    "redact_text",
    "remember_instance",
    "resolve_base",
    "run_traces",
    "sei_client",
    "send_queued",
    "server_version",
    "submit",
]
