"""sei-watch: report every CI build to Harness SEI from the build agent.

The package is laid out as the journey of a build (see the README): `scan` → `context` →
parsers → `payload` → `deliver`, driven by `daemon` and `cli`, shown by `show`. A parser plugin
needs two modules and nothing else: `sei_watch.records` (what a parser returns) and
`sei_watch.plugins` (the `Parser` protocol, its `ParseContext`, and `ParseError`).
"""

# The one place the version is written (pyproject reads it): no metadata lookup at start-up.
__version__ = "0.1.0"

__all__ = ["__version__"]
