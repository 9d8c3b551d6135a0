"""What a person sees: the summary, the timeline (text and HTML) and the JSON dumps, with
every string from a build made safe for a terminal.

Enters: an `Assembly`, a payload or records.
Leaves: text on a stream, or an HTML page.
"""

from typing import TYPE_CHECKING

from sei_watch.termsafe import visible

if TYPE_CHECKING:
    from .summary import dump_json, record_json, write_summary
    from .timeline import render_html, render_text
else:
    from sei_watch._lazy import exports

    __getattr__ = exports(
        __name__,
        {
            "dump_json": "summary",
            "record_json": "summary",
            "write_summary": "summary",
            "render_html": "timeline",
            "render_text": "timeline",
        },
    )

__all__ = [
    "dump_json",
    "record_json",
    "render_html",
    "render_text",
    "visible",
    "write_summary",
]
