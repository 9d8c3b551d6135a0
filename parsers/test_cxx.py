"""C++ test frameworks' own XML: QTestLib's `-o file,xml` (`<TestCase>`) and Boost.Test's
report (`--report_format=XML`, `<TestResult>`).

QTestLib writes one `Incident` per result of a test function (per data row): `pass`, `fail`,
`skip`, `xpass` (an expected failure that passed: a failure, as QTest's totals count it),
`xfail` (the expected failure itself: informational, the function's own result follows), and
the blacklisted `bpass`/`bfail`/`bxpass`/`bxfail`, whose results do not count (skipped). A
file may hold several documents in a row (one per test executable). Boost.Test's report
states each `TestCase`'s result; its log (`<TestLog>`, often not well-formed) is not read, so
a build with both files is counted once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any

from lxml import etree

from sei_watch.plugins import ParseContext, ParseError
from sei_watch.records import Record

from ._tally import ERROR, FAIL, PASS, SKIP, Suites
from ._xml import XMLSyntaxError, root_tag, tree_parser

__all__ = ["BoostTestReport", "QTestLib"]

MAX_BYTES = 64 << 20
_QT = {"pass": PASS, "fail": FAIL, "xpass": FAIL, "skip": SKIP,
       "bpass": SKIP, "bfail": SKIP, "bxpass": SKIP, "bxfail": SKIP}  # fmt: skip
_BOOST = {"passed": PASS, "failed": FAIL, "aborted": ERROR, "skipped": SKIP}
_DECL = re.compile(rb"<\?xml[^>]*\?>")


def _documents(data: bytes) -> list[bytes]:
    """The XML documents of a file that may hold several in a row, each with its own
    declaration."""
    starts = [m.start() for m in _DECL.finditer(data)] or [0]
    if starts[0] != 0 and data[: starts[0]].strip():
        starts.insert(0, 0)
    ends = [*starts[1:], len(data)]
    return [data[a:b] for a, b in zip(starts, ends, strict=True) if data[a:b].strip()]


def _parse(doc: bytes) -> Any:
    try:
        return etree.fromstring(doc, tree_parser())
    except XMLSyntaxError as exc:
        raise ParseError(f"not well-formed XML: {exc.msg}", line=exc.lineno) from exc


def _msecs(text: str | None) -> float:
    """QTest writes durations in the locale's format: `1,567` under a comma locale."""
    try:
        return float((text or "0").replace(",", "."))
    except ValueError:
        return 0.0


class QTestLib:
    """QTestLib `<TestCase>`: a suite per test case (executable), a case per incident."""

    name = "qtestlib"
    sniff_suffixes = (".xml", ".txt")

    def matches(self, path: PurePath) -> bool:
        return False

    def sniff(self, head: bytes) -> bool:
        root = root_tag(head)
        return root is not None and root[0] == "TestCase" and b"<TestFunction" in head

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        suites = Suites()
        for doc in _documents(ctx.read_bytes(path, limit=MAX_BYTES)):
            root = _parse(doc)
            if root.tag != "TestCase":
                raise ParseError(f"a document whose root is <{root.tag}>, not <TestCase>")
            suite = root.get("name") or "QTest"
            for function in root.iter("TestFunction"):
                name = function.get("name") or "(unnamed)"
                duration = function.find("Duration")
                secs = _msecs(duration.get("msecs")) / 1000 if duration is not None else 0.0
                for incident in function.iter("Incident"):
                    outcome = _QT.get(incident.get("type") or "")
                    if outcome is None:
                        continue  # xfail: the function's own result follows
                    tag = (incident.findtext("DataTag") or "").strip()
                    suites.add(
                        suite,
                        f"{name}({tag})" if tag else name,
                        outcome,
                        secs,
                        message=incident.findtext("Description") or "",
                    )
                    secs = 0.0  # the function's time once, on its first result
        if not suites.total:
            raise ParseError("a QTestLib <TestCase> with no test incidents")
        yield from suites.summaries(ctx.rel(path))


class BoostTestReport:
    """Boost.Test's XML report: a case per `TestCase`, in the suite that holds it."""

    name = "boost-test"
    sniff_suffixes = (".xml",)

    def matches(self, path: PurePath) -> bool:
        return False

    def sniff(self, head: bytes) -> bool:
        root = root_tag(head)
        return root is not None and root[0] == "TestResult" and b"<TestSuite" in head

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        root = _parse(ctx.read_bytes(path, limit=MAX_BYTES))
        if root.tag != "TestResult":
            raise ParseError("not a Boost.Test XML report (<TestResult>)")
        suites = Suites()
        for case in root.iter("TestCase"):
            parent = case.getparent()
            suite = parent.get("name") if parent is not None else None
            result = case.get("result") or ""
            failed = int(case.get("assertions_failed") or 0)
            suites.add(
                suite or "Boost.Test",
                case.get("name") or "(unnamed)",
                _BOOST.get(result, FAIL),
                message=f"{failed} assertions failed" if failed else "",
            )
        if not suites.total:
            raise ParseError("a Boost.Test report with no test case")
        yield from suites.summaries(ctx.rel(path))
