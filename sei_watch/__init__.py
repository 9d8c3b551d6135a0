"""sei-watch: report every CI build to Harness SEI from the build agent.

The names here are the contract that parser plugins import: the records, the Parser
Protocol with its context, and the errors.
"""

from __future__ import annotations

from .errors import ConfigError, ParseError, PayloadError, PluginError, SeiWatchError
from .plugins import ENTRY_POINT_GROUP, ParseContext, Parser
from .records import (
    Artifact,
    BuildFacts,
    CaseFailure,
    Cause,
    ParseProblem,
    Record,
    Stage,
    Step,
    SuiteSummary,
)

# The one place the version is written (pyproject reads it): no metadata lookup at start-up.
__version__ = "0.1.0"

__all__ = [
    "ENTRY_POINT_GROUP",
    "Artifact",
    "BuildFacts",
    "CaseFailure",
    "Cause",
    "ConfigError",
    "ParseContext",
    "ParseError",
    "ParseProblem",
    "Parser",
    "PayloadError",
    "PluginError",
    "Record",
    "SeiWatchError",
    "Stage",
    "Step",
    "SuiteSummary",
    "__version__",
]
