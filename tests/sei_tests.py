"""SEI's test tables, fed as its processor feeds them from a multipart post's `file` part.

From the server's public code (the JenkinsMonitoringPluginJobRunComplete processor, the JUnit
test report model, the run-test database service):
- the `file` part is a zip; at its root must sit a zip named `levelops_junit_reports.zip`;
  that inner zip is unpacked and only its top-level files are read (`listFiles()`, not
  recursive);
- each file is mapped by Jackson's XML mapper onto ONE `<testsuite>`: the root element's name is
  not checked, so a `<testsuites>` root maps no `testcase` and gives no row; `time` (of the suite
  and of each case) is a Java `Float`, and a value `Float.parseFloat` refuses loses the whole
  file; a suite without `name` fails its insert (`test_suite` is NOT NULL);
- a file that fails is logged and skipped, never the whole post;
- rows are unique per (run, `classname.name`): the first write wins, a re-post adds only new
  tests and never updates one.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from lxml import etree

__all__ = ["NESTED", "TestRow", "read_junit_zip"]

NESTED = "levelops_junit_reports.zip"
# java.lang.Float.parseFloat after trim(): decimal or hex, optional exponent and f/d suffix.
_JAVA_FLOAT = re.compile(
    r"[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
    r"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?\d+)[fFdD]?\Z"
)
_PARSER = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)


@dataclass(frozen=True)
class TestRow:
    """A row of the test table."""

    suite: str
    classname: str
    name: str
    status: str
    time_s: float

    @property
    def key(self) -> str:
        return f"{self.classname}.{self.name}"


def _float(value: str | None, where: str) -> float:
    if value is None or not value.strip():
        return 0.0
    text = value.strip()
    if not _JAVA_FLOAT.match(text):
        raise ValueError(f'{where}: For input string: "{text}"')
    return float(text.rstrip("fFdD")) if "x" not in text.lower() else float.fromhex(text)


def _rows(data: bytes, filename: str) -> list[TestRow]:
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"{filename}: not XML: {exc}") from exc
    cases = root.findall("testcase")  # a <testsuites> root: its suites are unknown properties
    _float(root.get("time"), f"{filename} time")
    name = root.get("name")
    if not name:
        raise ValueError(f"{filename}: null value in column test_suite violates not-null")
    rows = []
    for case in cases:
        status = "PASSED"
        if case.find("failure") is not None:
            status = "FAILED"
        elif case.find("error") is not None:
            status = "ERROR"
        elif case.find("skipped") is not None:
            status = "SKIPPED"
        rows.append(
            TestRow(
                suite=name,
                classname=case.get("classname") or "",
                name=case.get("name") or "",
                status=status,
                time_s=_float(case.get("time"), f"{filename} testcase time"),
            )
        )
    return rows


def read_junit_zip(data: bytes) -> tuple[list[TestRow], list[str]]:
    """The rows the processor stores from a `file` part, and what it skipped (and why)."""
    skipped: list[str] = []
    try:
        outer = zipfile.ZipFile(io.BytesIO(data))
        inner_bytes = outer.read(NESTED)
    except (zipfile.BadZipFile, KeyError) as exc:
        return [], [f"no {NESTED} at the zip's root ({type(exc).__name__})"]
    try:
        inner = zipfile.ZipFile(io.BytesIO(inner_bytes))
    except zipfile.BadZipFile as exc:
        return [], [f"{NESTED} is not a zip: {exc}"]
    rows: list[TestRow] = []
    for info in inner.infolist():
        top = info.filename.strip("/")
        if info.is_dir() or "/" in top:
            if "/" not in top:
                skipped.append(f"{top}: a directory, not a report")
            continue  # inside a directory: listFiles() never sees it
        if info.file_size > 64 << 20:
            skipped.append(f"{top}: too large")
            continue
        try:
            rows.extend(_rows(inner.read(info), top))
        except ValueError as exc:
            skipped.append(str(exc))
    return rows, skipped
