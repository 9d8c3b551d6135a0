"""The `file` part of a multipart post, shaped so that SEI's processor stores the test rows.

SEI reads test rows only from a zip named `levelops_junit_reports.zip` at the root of the zip
it is sent, and only from that inner zip's top-level files, each mapped onto ONE `<testsuite>`
whose `time` values must parse as a Java `Float` and whose `name` must be set. So every suite
of every JUnit report becomes its own flat, uniquely named file: a `<testsuites>` file is
split, times are rewritten as plain decimals (Surefire's `1,503.2` would lose the whole file),
a nameless suite takes its file's name, and a report that does not parse to its end is left
out with a reason. Output, properties and long messages are not sent (they are not stored, and
a body over 500,000 characters may be sent only once every 10 s). The user's files are read,
never changed.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from lxml import etree

from sei_watch.durations import parse_time
from sei_watch.errors import SeiWatchError
from sei_watch.records import ParseProblem, SuiteSummary
from sei_watch.safeio import read_under
from sei_watch.xmlfeed import Feeder, UnendingTag

__all__ = ["NESTED", "junit_zip", "report_suites"]

NESTED = "levelops_junit_reports.zip"
_OUTCOMES = ("failure", "error", "skipped")  # the order the mapper ranks them in
_RANK = {kind: at for at, kind in enumerate(_OUTCOMES)}
_KINDS = {"failed": "failure", "error": "error", "skipped": "skipped"}
_MESSAGE_MAX = 1000
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
# A terminal's colour escapes, whole, and what else XML 1.0 cannot hold (lxml refuses it):
# a reader's message may carry any of it (Mocha's JSON keeps its colours).
_NOT_XML = re.compile(
    "\x1b\\[[0-9;?]*[A-Za-z]|[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
_SLICE = 1 << 16


_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]+)?")
# What libxml2 escapes when it writes an attribute value, and text: the file must be what the
# lxml tree writer gave (tests/test_testzip_bytes.py holds it to that writer).
_ATTR = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)
_MARKUP = re.compile('[&<>"\n\r\t]')
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>\n"


def _seconds(raw: str | None) -> float | None:
    if raw is None:
        return None
    if _PLAIN.fullmatch(raw):
        return float(raw)  # what parse_time gives a plain decimal, without its checks
    if not raw.strip():
        return None
    t = parse_time(raw)
    return None if t.bad or t.negative else t.seconds


def _attr(value: str) -> str:
    return value.translate(_ATTR) if _MARKUP.search(value) else value


def _suite(elem: etree._Element, fallback: str) -> bytes:
    """One `<testsuite>` holding `elem`'s own test cases, as the mapper reads it, written as
    text: building it as an lxml tree was half the time of a `parse --post`."""
    name = elem.get("name") or fallback
    owner = _attr(name)
    rows: list[str] = []
    counts = [0, 0, 0]
    total = 0.0
    cases = elem.findall("testcase")
    for case in cases:
        get = case.get
        classname = get("classname")
        row = (
            f'<testcase classname="{_attr(classname) if classname else owner}" '
            f'name="{_attr(get("name") or "")}"'
        )
        seconds = _seconds(get("time"))
        if seconds is not None:
            row += f' time="{seconds:.3f}"'
            total += seconds
        outcome = _outcome(case, counts) if len(case) else ""
        rows.append(f"{row}>{outcome}</testcase>" if outcome else f"{row}/>")
    stated = _seconds(elem.get("time"))
    failures, errors, skipped = counts
    head = (
        f'{_DECLARATION}<testsuite name="{owner}" tests="{len(cases)}" failures="{failures}" '
        f'errors="{errors}" skipped="{skipped}" '
        f'time="{stated if stated is not None else total:.3f}"'
    )
    if not rows:
        return f"{head}/>".encode()
    return f"{head}>{''.join(rows)}</testsuite>".encode()


def _outcome(case: etree._Element, counts: list[int]) -> str:
    """The case's first failure, else its first error, else its first skip, as its row's one
    child (counted in `counts`); "" for a case that passed."""
    found, rank = None, len(_OUTCOMES)
    for child in case:
        at = _RANK.get(child.tag)  # a PI's tag is a function: no rank
        if at is not None and at < rank:
            found, rank = child, at
            if not at:
                break
    if found is None:
        return ""
    counts[rank] += 1
    kind = _OUTCOMES[rank]
    attrs = "".join(
        f' {attr}="{_attr(value[:_MESSAGE_MAX])}"'
        for attr in ("message", "type")
        if (value := found.get(attr))
    )
    text = (found.text or "")[:_MESSAGE_MAX]
    return f"<{kind}{attrs}>{text.translate(_TEXT)}</{kind}>" if text else f"<{kind}{attrs}/>"


def _ended(parser: etree.XMLPullParser, fallback: str) -> list[bytes]:
    """The suites that ended since the last look, written out; their cases then dropped, so
    memory stays bounded by one suite."""
    out = []
    for _, elem in parser.read_events():
        if not isinstance(elem, etree._Element):
            continue
        if elem.find("testcase") is not None:
            out.append(_suite(elem, fallback))
        for case in elem.findall("testcase"):
            elem.remove(case)
    return out


def _suites(data: bytes, fallback: str) -> Iterator[bytes]:
    """Every suite of a report that holds test cases; a report that does not parse to its
    end raises ValueError (a partial file would send a partial run's rows for good)."""
    parser = etree.XMLPullParser(
        events=("end",),
        tag="testsuite",
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
    )
    feeder = Feeder(parser)  # a tag that never ends is refused before libxml2 holds it
    found: list[bytes] = []
    try:
        for at in range(0, len(data), _SLICE):
            feeder.feed(data[at : at + _SLICE])
            found += _ended(parser, fallback)
        parser.close()
        found += _ended(parser, fallback)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"does not parse to its end ({exc.msg})") from exc
    except UnendingTag as exc:
        raise ValueError(exc.reason) from exc
    yield from found


def _native(summary: SuiteSummary) -> bytes:
    """A native reader's suite (TRX, NUnit, go test -json...) as the `<testsuite>` file SEI's
    mapper reads, written by the same rules as a JUnit suite's."""
    suite = _NOT_XML.sub("", summary.name)
    elem = etree.Element("testsuite", name=suite)
    for case in summary.cases:
        row = etree.SubElement(
            elem, "testcase", classname=suite, name=_NOT_XML.sub("", case.name),
            time=f"{case.seconds:.3f}",
        )  # fmt: skip
        kind = _KINDS.get(case.status)
        if kind is not None:
            etree.SubElement(row, kind, message=_NOT_XML.sub("", case.message))
    return _suite(elem, suite)


def report_suites(root: Path, rel: str, cap: int) -> list[bytes] | str | None:
    """The files for SEI's test table from one report: one per suite holding cases; or why
    the report is left out; or None for a file that is no JUnit report (CTest, Robot, a log's
    tests) or cannot be read."""
    try:
        data = read_under(root, root / rel, max_bytes=cap)
    except SeiWatchError:
        return None
    if b"<testsuite" not in data[:4096]:
        return None
    try:
        return list(_suites(data, Path(rel).stem))
    except ValueError as exc:
        return str(exc)


def junit_zip(
    root: Path,
    sources: Sequence[str],
    *,
    cap: int,
    native: Sequence[SuiteSummary] = (),
    prebuilt: Mapping[str, list[bytes] | str | None] | None = None,
) -> tuple[bytes | None, list[ParseProblem]]:
    """The outer zip (holding the nested one) and the reports left out, each with why: the
    JUnit reports at `sources`, read again (unless `prebuilt` holds what `report_suites`
    gave for one), and the `native` readers' suites from their rows."""
    prebuilt = prebuilt or {}
    inner = io.BytesIO()
    problems: list[ParseProblem] = []
    used, left_out = 0, 0
    names: set[str] = set()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as zf:
        for summary in native:
            xml = _native(summary)
            if used + len(xml) > cap:
                left_out += 1
                continue
            stem = _SAFE_NAME.sub("_", Path(summary.source).stem)[:80] or "report"
            name = f"{stem}_{len(names)}.xml"
            names.add(name)
            zf.writestr(name, xml)
            used += len(xml)
            if "rows_cut" in summary.flags:
                problems.append(
                    ParseProblem(
                        path=summary.source,
                        reason=f"suite {summary.name!r}: only its first cases' rows are sent "
                        "to SEI's test table (the counts are whole)",
                        parser="multipart",
                    )
                )
        for rel in sources:
            suites = prebuilt[rel] if rel in prebuilt else report_suites(root, rel, cap)
            if suites is None:
                continue
            if isinstance(suites, str):
                problems.append(
                    ParseProblem(
                        path=rel,
                        reason=f"not sent to SEI's test table: {suites}",
                        parser="multipart",
                    )
                )
                continue
            stem = _SAFE_NAME.sub("_", Path(rel).stem)[:80] or "report"
            for xml in suites:
                if used + len(xml) > cap:
                    left_out += 1
                    continue
                name = f"{stem}_{len(names)}.xml"
                names.add(name)
                zf.writestr(name, xml)
                used += len(xml)
    if left_out:
        problems.append(
            ParseProblem(
                path=".",
                reason=f"{left_out} test suites over the {cap}-byte cap not sent to SEI's "
                "test table",
                parser="multipart",
            )
        )
    if not used:
        return None, problems
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(NESTED, inner.getvalue())
    return outer.getvalue(), problems
