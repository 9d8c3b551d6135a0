"""SEI's test zip written as text is the zip lxml's tree writer gave, byte for byte: on every
XML report the tests know and on generated suites with every character XML allows."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from sei_watch.durations import parse_time
from sei_watch.payload import testzip
from sei_watch.payload.testzip import junit_zip

from .paths import DATA, ROOT, corpus_dir

_OUTCOMES = ("failure", "error", "skipped")


def _reference_suite(elem: etree._Element, fallback: str) -> bytes:
    """The writer before #31, built as an lxml tree and serialised by libxml2: the oracle."""
    name = elem.get("name") or fallback
    out = etree.Element("testsuite", name=name)
    counts = dict.fromkeys(_OUTCOMES, 0)
    total = 0.0
    cases = elem.findall("testcase")
    for case in cases:
        row = etree.SubElement(
            out, "testcase", classname=case.get("classname") or name, name=case.get("name") or ""
        )
        raw = case.get("time")
        seconds = None if raw is None else _parse_seconds(raw)
        if seconds is not None:
            row.set("time", f"{seconds:.3f}")
            total += seconds
        for kind in _OUTCOMES:
            found = case.find(kind)
            if found is None:
                continue
            counts[kind] += 1
            child = etree.SubElement(row, kind)
            for attr in ("message", "type"):
                if found.get(attr):
                    child.set(attr, (found.get(attr) or "")[:1000])
            child.text = (found.text or "")[:1000] or None
            break
    raw = elem.get("time")
    stated = None if raw is None else _parse_seconds(raw)
    out.set("tests", str(len(cases)))
    out.set("failures", str(counts["failure"]))
    out.set("errors", str(counts["error"]))
    out.set("skipped", str(counts["skipped"]))
    out.set("time", f"{stated if stated is not None else total:.3f}")
    return bytes(etree.tostring(out, xml_declaration=True, encoding="UTF-8"))


def _parse_seconds(raw: str) -> float | None:
    if not raw.strip():
        return None
    t = parse_time(raw)
    return None if t.bad or t.negative else t.seconds


def _reports() -> list[Path]:
    """Every XML file under the corpus, the examples and the test data that opens a suite."""
    found = []
    for base in (corpus_dir(), ROOT / "examples", DATA):
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                path = Path(dirpath, name)
                if name.lower().endswith(".xml") and path.stat().st_size < 64 << 20:
                    with path.open("rb") as fh:
                        if b"<testsuite" in fh.read(4096):
                            found.append(path)
    return sorted(found)


REPORTS = _reports()


def test_the_corpus_holds_enough_reports_to_compare() -> None:
    """The comparison below runs over a real spread of producers, not a handful of files."""
    assert len(REPORTS) >= 40


@pytest.mark.parametrize("chunk", [0, 1, 2, 3])
def test_the_text_writer_gives_lxmls_bytes_on_every_known_report(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """junit_zip over every known JUnit report (a quarter per run) is byte for byte the zip
    the lxml tree writer gave, its problems included."""
    part = REPORTS[chunk::4]
    by_root: dict[Path, list[str]] = {}
    for path in part:
        by_root.setdefault(path.parent, []).append(path.name)
    for root, names in by_root.items():
        new = junit_zip(root, names, cap=8 << 20)
        with monkeypatch.context() as m:
            m.setattr(testzip, "_suite", _reference_suite)
            old = junit_zip(root, names, cap=8 << 20)
        assert _entries(new[0]) == _entries(old[0]), root
        assert new[1] == old[1], root


def _entries(outer: bytes | None) -> dict[str, bytes]:
    """The inner zip's files by name (a zip's own bytes hold the clock's time)."""
    if outer is None:
        return {}
    with zipfile.ZipFile(io.BytesIO(outer)) as zf:
        inner = zf.read(testzip.NESTED)
    with zipfile.ZipFile(io.BytesIO(inner)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


_XML_CHAR = st.characters(
    codec="utf-8",
    exclude_categories=("Cs",),
    exclude_characters="".join(map(chr, [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]))
    + "\ufffe\uffff",
)
_TEXT = st.text(_XML_CHAR, max_size=30) | st.sampled_from(
    ["", " ", "1.5", "0,250", "1,250", "2,503.1", "-1", "nan", "1e3", "01:02:03.5", "\uff17", "1_0"]
)


@st.composite
def _suites(draw: st.DrawFn) -> etree._Element:
    suite = etree.Element("testsuite")
    for attr in ("name", "time"):
        if draw(st.booleans()):
            suite.set(attr, draw(_TEXT))
    for _ in range(draw(st.integers(0, 4))):
        case = etree.SubElement(suite, "testcase")
        for attr in ("classname", "name", "time"):
            if draw(st.booleans()):
                case.set(attr, draw(_TEXT))
        for kind in draw(st.lists(st.sampled_from([*_OUTCOMES, "system-out"]), max_size=3)):
            child = etree.SubElement(case, kind)
            for attr in ("message", "type"):
                if draw(st.booleans()):
                    child.set(attr, draw(_TEXT | st.text(_XML_CHAR, min_size=990, max_size=1010)))
            if draw(st.booleans()):
                child.text = draw(_TEXT | st.text(_XML_CHAR, min_size=990, max_size=1010))
    return suite


@settings(max_examples=300, deadline=None)
@given(suite=_suites(), fallback=_TEXT.filter(bool))
def test_the_text_writer_gives_lxmls_bytes_on_any_suite(
    suite: etree._Element, fallback: str
) -> None:
    """Any suite lxml can hold, with markup, line ends, astral and odd times in every value,
    is written exactly as the lxml tree writer wrote it."""
    assert testzip._suite(suite, fallback) == _reference_suite(suite, fallback)
