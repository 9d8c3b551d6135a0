"""Stage 3, payload: records and facts become one SEI payload, validated.

Enters: a build directory, the parsers and the settings (it runs scan and context).
Leaves: a `Report`: the payload, where each field came from, its problems, and whether SEI
would drop it.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .assemble import Assembly
    from .report import Given, Report, build_report, report_watched, require_instance
    from .trace import build_trace, trace_id_for
else:
    from sei_watch._lazy import exports

    __getattr__ = exports(
        __name__,
        {
            "build_trace": "trace",
            "trace_id_for": "trace",
            "Assembly": "assemble",
            "Given": "report",
            "Report": "report",
            "build_report": "report",
            "report_watched": "report",
            "require_instance": "report",
        },
    )

__all__ = [
    "Assembly",
    "Given",
    "Report",
    "build_report",
    "build_trace",
    "report_watched",
    "require_instance",
    "trace_id_for",
]
