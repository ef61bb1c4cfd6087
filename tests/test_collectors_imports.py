"""Imports that never blow up and never half-write: limits on size, rows, text and unpacked XLSX/DOCX (zip bombs
refused from the zip directory), dates in a sane range, control characters stripped, a bad row costing only
itself; property tests on every parser (JSONL, CSV, XLSX, DOCX, dates, feeds) — no exception escapes."""
from __future__ import annotations

import json
import tempfile
import tracemalloc
import unicodedata
import zipfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.feeds import parse_feed
from collectors.files import (EARLIEST, ImportLimits, check_zip, parse_report_date, read_observations,
                              read_timeline)
from collectors.items import strip_controls
from service.config import ImportSettings
from service.pipeline import UserError, import_file

CONTROLS = "".join(map(chr, [*range(0, 9), 11, 12, *range(14, 32), 127, 0x85, 0x9F]))
NOW = datetime.now(timezone.utc)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def jsonl(path: Path, rows: list) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                    encoding="utf-8")
    return path


def assert_clean(item) -> None:
    """What every stored item must be, whatever the file held."""
    for value in (item.text, item.title, item.org_unit or "", item.channel or "", item.author or "", item.source):
        assert isinstance(value, str)
        assert not any(ch in CONTROLS for ch in value), repr(value)
        assert unicodedata.is_normalized("NFC", value)
    assert item.text or item.title
    assert item.published_at is not None and item.published_at.tzinfo is not None
    assert EARLIEST <= item.published_at <= datetime.now(timezone.utc) + timedelta(days=1)


# ---- JSONL ----------------------------------------------------------------------------------------------------------

def test_a_bad_line_costs_only_itself_and_says_its_number(tmp_path):
    path = jsonl(tmp_path / "t.jsonl", [
        {"text": "Dòng tốt một", "published_at": "2026-03-01T08:00:00+07:00"},
        {"text": "Năm số một", "published_at": "0001-01-01"},
        {"text": "Đơn vị là danh sách", "published_at": "2026-03-01", "org_unit": ["cb-yte", "cb-giaoduc"]},
        {"text": "Quá xa", "published_at": "9999-12-31T00:00:00Z"},
        {"text": "Trước 1990", "published_at": "1989-12-31T00:00:00+07:00"},
        {"text": "Ngày mai kia", "published_at": (NOW + timedelta(days=3)).isoformat()},
        {"text": 12345, "published_at": "2026-03-01"},
        "[1, 2, 3]",
        "{not json",
        {"text": "Dòng tốt\x00 hai\x07 có\tký tự\r\nđiều khiển\x1b[31m", "published_at": "2026-03-02T08:00:00Z",
         "org_unit": "cb-yte\x7f", "place": "Hòa\x0bAn"},
    ])
    result = read_timeline(path)
    assert [i.text for i in result.items] == ["Dòng tốt một", "Dòng tốt hai có\tký tự\nđiều khiển[31m"]
    assert result.items[1].org_unit == "cb-yte" and result.items[1].extra["place"] == "HòaAn"
    assert result.errors == [
        "line 2: published_at '0001-01-01' is not an ISO 8601 date.",
        "line 3: org_unit must be a string, not list.",
        "line 4: the date 9999-12-31 is more than a day in the future.",
        "line 5: the date 1989-12-31 is before 1990.",
        f"line 6: the date {(NOW + timedelta(days=3) + timedelta(hours=7)).date().isoformat()} is more than a day in "
        "the future.",   # the day as the file meant it, in Vietnam time (UTC+7): the next day after 17:00 UTC
        "line 7: text must be a string, not int.",
        "line 8: expected a JSON object.",
        "line 9: not valid JSON.",
    ]
    for item in result.items:
        assert_clean(item)


def test_limits_on_lines_and_text_length(tmp_path):
    rows = [{"text": f"Ý kiến số {n}", "published_at": "2026-03-01"} for n in range(5)]
    rows.insert(1, {"text": "x" * 500, "published_at": "2026-03-01"})
    result = read_timeline(jsonl(tmp_path / "t.jsonl", rows), limits=ImportLimits(max_rows=4, max_text_chars=100))
    assert [i.text for i in result.items] == ["Ý kiến số 0", "Ý kiến số 1", "Ý kiến số 2"]
    assert result.errors == ["line 2: the text is 500 characters long, over the limit of 100.",
                             "line 5: the file has more than 4 lines; the rest was not read."]


def test_a_file_over_the_size_limit_is_refused_before_reading_and_nothing_is_stored(tmp_path, store):
    path = jsonl(tmp_path / "big.jsonl", [{"text": "Ý kiến " * 50, "published_at": "2026-03-01"}] * 50)
    with pytest.raises(UserError, match="over the import limit of 1,000 bytes"):
        import_file(store, path, kind="timeline", settings=ImportSettings(max_file_bytes=1000))
    assert store.count_items() == 0


def test_good_rows_of_a_file_are_stored_in_one_store_call(tmp_path, store):
    path = jsonl(tmp_path / "t.jsonl", [{"text": f"Ý kiến {n}", "published_at": "2026-03-01"} for n in range(30)]
                 + [{"text": "Hỏng", "published_at": "0001-01-01"}, {"text": "Hỏng", "org_unit": 7}])
    calls = []
    real = store.add_items

    def counting(items, *args, **kwargs):
        calls.append(len(items))
        return real(items, *args, **kwargs)

    store.add_items = counting
    outcome = import_file(store, path, kind="timeline")
    assert calls == [30] and outcome.new == 30 and len(outcome.errors) == 2
    assert outcome.errors[1].startswith("line 32: ")
    assert store.count_items() == 30


# ---- CSV / XLSX / DOCX ----------------------------------------------------------------------------------------------

def test_csv_bad_rows_and_row_limit(tmp_path):
    path = tmp_path / "bao-cao.csv"
    path.write_text("Ngày,Đơn vị,Nội dung\n"
                    "01/03/2026,CĐCS A,Ý kiến\x01 một\n"
                    "01/01/1900,CĐCS B,Quá cũ\n"
                    f"{(NOW + timedelta(days=5)).strftime('%d/%m/%Y')},CĐCS C,Tương lai\n"
                    "02/03/2026,CĐCS D," + "y" * 300 + "\n"
                    "03/03/2026,CĐCS E,Ý kiến hai\n"
                    "04/03/2026,CĐCS F,Ý kiến ba\n", encoding="utf-8")
    result = read_observations(path, limits=ImportLimits(max_text_chars=200, max_rows=5))
    assert [i.text for i in result.items] == ["Ý kiến một", "Ý kiến hai"]
    assert result.errors == ["row 3: the date 1900-01-01 is before 1990.",
                             f"row 4: the date {(NOW + timedelta(days=5)).date().isoformat()} is more than a day "
                             "in the future.",
                             "row 5: the text is 300 characters long, over the limit of 200.",
                             "row 7: the file has more than 5 rows; the rest was not read."]


def _zip_bomb(path: Path, unpacked: int) -> Path:
    """An XLSX-named zip whose one sheet inflates from about 1/220 of its size to `unpacked` bytes of zeros."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(unpacked >> 20):
                member.write(chunk)
    return path


def test_zip_bomb_xlsx_and_docx_are_refused_from_the_zip_directory(tmp_path, store):
    bomb = _zip_bomb(tmp_path / "bom.xlsx", 64 << 20)
    assert bomb.stat().st_size < 400_000
    limits = ImportLimits(max_unpacked_bytes=32 << 20)
    tracemalloc.start()
    try:
        result = read_observations(bomb, limits=limits)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000  # nothing was inflated (the sheet alone is 64 MB)
    assert result.refused and "would unpack to 67,108,872 bytes" in result.errors[0]
    docx_bomb = _zip_bomb(tmp_path / "bom.docx", 64 << 20)
    assert read_observations(docx_bomb, limits=limits).refused
    with pytest.raises(UserError, match="would unpack"):
        import_file(store, bomb, kind="observations", settings=ImportSettings(max_unpacked_bytes=32 << 20))
    assert store.count_items() == 0


def test_default_limit_refuses_a_bomb_of_about_a_megabyte(tmp_path):
    bomb = _zip_bomb(tmp_path / "bom.xlsx", 256 << 20)
    assert bomb.stat().st_size < 2_000_000
    assert check_zip(bomb, ImportLimits()) is not None


def test_xlsx_row_with_a_date_in_the_unit_column_is_a_row_error(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Ngày", "Đơn vị", "Nội dung"])
    sheet.append([datetime(2026, 3, 1, 9), "CĐCS A", "Ý kiến một"])
    sheet.append([datetime(2026, 3, 1, 9), datetime(2026, 1, 1), "Đơn vị là ngày"])
    sheet.append([datetime(1, 1, 1), "CĐCS B", "Năm một"])
    sheet.append([45717, "CĐCS C", "Số sê-ri Excel"])
    path = tmp_path / "bao-cao.xlsx"
    book.save(path)
    result = read_observations(path)
    assert [i.text for i in result.items] == ["Ý kiến một", "Số sê-ri Excel"]
    assert result.errors[0].startswith("row 3: the org_unit column holds a date")
    assert result.errors[1] == "row 4: the date 0001-01-01 is before 1990."


# ---- property tests: every parser ----------------------------------------------------------------------------------

WILD_TEXT = st.text(alphabet=st.one_of(st.characters(), st.sampled_from(list(CONTROLS + "\n\t\r,;\"'|ăằĐướ̀"))),
                    max_size=60)
JSON_VALUE = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | WILD_TEXT,
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(WILD_TEXT, inner, max_size=3),
                          max_leaves=6)
DATE_TEXT = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)).map(lambda d: d.isoformat()),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                 timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=7)), timezone(-timedelta(hours=12))])
                 ).map(lambda d: d.isoformat()),
    st.dates().map(lambda d: d.strftime("%d/%m/%Y")), WILD_TEXT)
FIELDS = ("text", "title", "url", "source", "kind", "org_unit", "channel", "author", "place", "published_at")


@st.composite
def timeline_line(draw):
    if draw(st.integers(0, 9)) == 0:
        return draw(WILD_TEXT).replace("\n", " ")
    row = {name: draw(st.one_of(JSON_VALUE, WILD_TEXT)) for name in draw(st.lists(st.sampled_from(FIELDS), max_size=6))}
    if draw(st.booleans()):
        row["text"] = draw(WILD_TEXT)
    if draw(st.booleans()):
        row["published_at"] = draw(DATE_TEXT)
    return json.dumps(row, ensure_ascii=draw(st.booleans()))


@FAST
@given(st.lists(timeline_line(), max_size=8))
def test_any_jsonl_gives_clean_items_or_numbered_line_errors(lines):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.jsonl"
        path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
        result = read_timeline(path, limits=ImportLimits(max_text_chars=200))
    for item in result.items:
        assert_clean(item)
    assert all(e.startswith("line ") for e in result.errors), result.errors


@st.composite
def csv_bytes(draw):
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    header = draw(st.sampled_from([["Ngày", "Đơn vị", "Nội dung"], ["date", "unit", "text", "title"], []]))
    rows = [header] + draw(st.lists(st.lists(st.one_of(WILD_TEXT, DATE_TEXT), max_size=5), max_size=8))
    text = "\n".join(delimiter.join(cells) for cells in rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1258", "utf-16"]))
    return text.encode(encoding, errors="replace")


@FAST
@given(csv_bytes())
def test_any_csv_gives_clean_items_or_numbered_row_errors(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bao-cao.csv"
        path.write_bytes(data)
        result = read_observations(path, limits=ImportLimits(max_text_chars=200))
    for item in result.items:
        assert_clean(item)
    assert all(e.startswith("row ") or e.startswith("bao-cao.csv") for e in result.errors), result.errors


XML_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(list("\n\tăĐ")),
                   max_size=40)
CELL = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                 st.floats(allow_nan=False, allow_infinity=False),
                 XML_TEXT, st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9999, 12, 31)),
                 st.dates(min_value=date(1900, 1, 1)))


@SLOW
@given(st.lists(st.lists(CELL, min_size=1, max_size=4), max_size=6),
       st.sampled_from([["Ngày", "Đơn vị", "Nội dung"], ["Thời gian", "Ý kiến"], ["x"]]))
def test_any_xlsx_gives_clean_items_or_numbered_row_errors(rows, header):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bao-cao.xlsx"
        book.save(path)
        result = read_observations(path)
    for item in result.items:
        assert_clean(item)
    assert all(e.startswith("row ") or e.startswith("bao-cao.xlsx") for e in result.errors), result.errors


@SLOW
@given(st.lists(st.lists(st.one_of(XML_TEXT, DATE_TEXT.filter(lambda t: all(c not in CONTROLS for c in t)
                                                                and not any(0xD800 <= ord(c) <= 0xDFFF for c in t))),
                         min_size=3, max_size=3), max_size=5))
def test_any_docx_table_gives_clean_items_or_numbered_row_errors(rows):
    import docx

    document = docx.Document()
    table = document.add_table(rows=len(rows) + 1, cols=3)
    for cell, name in zip(table.rows[0].cells, ["Ngày", "Đơn vị", "Nội dung"]):
        cell.text = name
    for r, row in enumerate(rows, start=1):
        for cell, value in zip(table.rows[r].cells, row):
            cell.text = value
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bao-cao.docx"
        document.save(path)
        result = read_observations(path)
    for item in result.items:
        assert_clean(item)
    assert all(e.startswith("row ") for e in result.errors), result.errors


@FAST
@given(st.one_of(WILD_TEXT, DATE_TEXT, st.integers(), st.floats(), st.booleans(), st.none(),
                 st.datetimes(min_value=datetime(1, 1, 1)), st.dates(),
                 st.datetimes(min_value=datetime(1, 1, 2), timezones=st.just(timezone.utc))))
def test_any_date_cell_is_a_sane_date_or_a_value_error(value):
    try:
        parsed = parse_report_date(value)
    except ValueError:
        return
    assert EARLIEST <= parsed <= datetime.now(timezone.utc) + timedelta(days=1)


@FAST
@given(st.lists(WILD_TEXT, min_size=1, max_size=4),
       st.sampled_from([None, "application/rss+xml", "text/xml; charset=windows-1258", "text/xml; charset=utf-8",
                        "text/xml; charset=nonsense"]),
       st.sampled_from(["utf-8", "cp1258", "utf-16"]))
def test_any_feed_entry_text_comes_out_nfc_without_control_characters(titles, content_type, encoding):
    from xml.sax.saxutils import escape

    entries = "".join(f"<item><title>{escape(t)}</title><link>http://x.vn/{n}</link>"
                      f"<pubDate>Tue, 01 Dec 2026 08:00:00 +0700</pubDate></item>" for n, t in enumerate(titles))
    document = f'<?xml version="1.0"?><rss version="2.0"><channel>{entries}</channel></rss>'
    items, errors = parse_feed(document.encode(encoding, errors="replace"), "s", content_type)
    for item in items:
        item.clean()
        assert item.title == strip_controls(item.title)
        assert unicodedata.is_normalized("NFC", item.title) and unicodedata.is_normalized("NFC", item.text)
    assert all(isinstance(e, str) for e in errors)
