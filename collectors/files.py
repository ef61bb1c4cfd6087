"""File imports: timeline JSONL, and collaborators' reports from CSV, XLSX and DOCX tables.

A row that cannot be read is reported with its number ("row 7: ...") and the others are imported.
Column names are matched in Vietnamese or English, with or without diacritics; dates are read as Vietnamese offices
write them (dd/mm/yyyy), naive times as Vietnam time.
"""
from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from collectors.items import KINDS, RawItem


@dataclass
class FileImport:
    """Items read from a file plus one plain sentence per line or row that could not be used."""

    items: list[RawItem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def parse_datetime(value: str) -> datetime:
    """ISO 8601 (a trailing Z allowed) → aware UTC datetime; a naive time is taken as Vietnam time (+07:00)."""
    value = value.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        from zoneinfo import ZoneInfo

        dt = dt.replace(tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    return dt.astimezone(timezone.utc)


def read_timeline(path: Path, default_source: str = "", default_kind: str = "article") -> FileImport:
    """Read timeline JSONL: one `{"title", "text", "url", "source", "published_at", "kind"}` a line."""
    out = FileImport()
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                out.errors.append(f"line {lineno}: not valid JSON.")
                continue
            if not isinstance(row, dict):
                out.errors.append(f"line {lineno}: expected a JSON object.")
                continue
            text = str(row.get("text") or "").strip()
            title = str(row.get("title") or "").strip()
            if not (text or title):
                out.errors.append(f"line {lineno}: has neither text nor title.")
                continue
            if not row.get("published_at"):
                out.errors.append(f"line {lineno}: has no published_at date.")
                continue
            try:
                published = parse_datetime(str(row["published_at"]))
            except ValueError:
                out.errors.append(f"line {lineno}: published_at {row['published_at']!r} is not an ISO 8601 date.")
                continue
            kind = row.get("kind") or default_kind
            if kind not in KINDS:
                out.errors.append(f"line {lineno}: kind {kind!r} is not one of {', '.join(KINDS)}.")
                continue
            out.items.append(RawItem(text=text, title=title, url=(row.get("url") or None),
                                     source=str(row.get("source") or default_source), kind=kind,
                                     published_at=published, org_unit=row.get("org_unit"),
                                     channel=row.get("channel"), author=row.get("author")))
    return out


# ---- collaborator reports ---------------------------------------------------------------------------------------

# canonical field → accepted column names, compared folded (no diacritics, lower case, single spaces)
COLUMNS: dict[str, tuple[str, ...]] = {
    "text": ("noi dung", "text", "content", "noi dung phan anh", "noi dung y kien", "y kien", "phan anh",
             "tom tat", "mo ta", "chi tiet", "description", "body", "du luan", "tam tu nguyen vong"),
    "title": ("tieu de", "title", "chu de", "subject", "van de", "tieu de bai viet"),
    "date": ("ngay", "date", "thoi gian", "ngay bao cao", "ngay phan anh", "ngay dang", "ngay ghi nhan", "time",
             "published at", "published", "datetime", "ngay thang", "ngay gio"),
    "org_unit": ("don vi", "unit", "org unit", "co so", "cong doan co so", "to chuc", "organization", "cong doan",
                 "doanh nghiep", "co quan"),
    "channel": ("kenh", "channel", "nguon tin", "hinh thuc", "medium", "kenh thong tin", "mang xa hoi"),
    "place": ("dia diem", "place", "location", "dia ban", "noi", "xa phuong", "huyen", "khu vuc", "address",
              "dia chi"),
    "author": ("nguoi bao cao", "cong tac vien", "reporter", "author", "nguoi phan anh", "nguoi gui", "ctv",
               "ho ten", "ho va ten", "nguoi ghi nhan"),
    "source": ("nguon", "source"),
    "url": ("lien ket", "link", "url", "duong dan"),
}
_DATE_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(?:[ ,T]+(\d{1,2})[:hg](\d{2})?(?::(\d{2}))?)?$")
_EXCEL_EPOCH = datetime(1899, 12, 30)


def fold_name(value: object) -> str:
    """'Nội dung ' → 'noi dung': column names compared without diacritics, case or punctuation."""
    text = unicodedata.normalize("NFD", str(value or "").lower().replace("đ", "d"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.findall(r"[a-z0-9]+", text))


def match_columns(header: list[object]) -> dict[str, int]:
    """Canonical field → column index, for a header row; empty unless a text (or title) column is among them."""
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = fold_name(cell)
        for field_name, aliases in COLUMNS.items():
            if field_name not in found and name in aliases:
                found[field_name] = index
                break
    return found if ("text" in found or "title" in found) else {}


def parse_report_date(value: object) -> datetime:
    """A date cell → aware UTC datetime. dd/mm/yyyy [hh:mm], ISO 8601, Excel dates and serial numbers.

    Raises ValueError with the offending value when it cannot be read.
    """
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time())
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and 20000 < value < 80000:
        dt = _EXCEL_EPOCH + timedelta(days=float(value))  # an Excel serial date that was not formatted as a date
    else:
        text = str(value or "").strip()
        if not text:
            raise ValueError("no date")
        text = re.sub(r"^(ngày|ngay)\s+", "", text, flags=re.I)
        m = _DATE_DMY.match(text)
        if m:
            d, mo, y, h, mi, sec = m.groups()
            year = int(y) + (2000 if len(y) == 2 else 0)
            try:
                dt = datetime(year, int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0))
            except ValueError:
                raise ValueError(f"{text!r} is not a real date (day/month/year)") from None
        else:
            try:
                return parse_datetime(text)
            except ValueError:
                raise ValueError(f"{text!r} is not a date in dd/mm/yyyy or ISO form") from None
    if dt.tzinfo is None:
        from zoneinfo import ZoneInfo

        dt = dt.replace(tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    return dt.astimezone(timezone.utc)


def read_observations(path: Path, default_source: str = "") -> FileImport:
    """Collaborator reports → observation items. CSV, XLSX, DOCX (every table) or JSONL, chosen by extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    out = FileImport()
    try:
        if suffix in (".jsonl", ".json", ".ndjson"):
            return read_timeline(path, default_source=default_source, default_kind="observation")
        if suffix in (".xlsx", ".xlsm"):
            tables = _xlsx_tables(path)
        elif suffix == ".docx":
            tables = _docx_tables(path)
        elif suffix in (".csv", ".tsv", ".txt"):
            tables = [("", _csv_rows(path.read_bytes()))]
        else:
            out.errors.append(f"{path.name}: unsupported file type {suffix or '(none)'}; use CSV, XLSX, DOCX or JSONL.")
            return out
    except Exception as exc:  # a corrupt or mislabelled file: say so instead of a traceback
        out.errors.append(f"{path.name}: the file could not be opened as {suffix.lstrip('.').upper()} "
                          f"({type(exc).__name__}).")
        return out
    any_header = False
    for label, rows in tables:
        any_header |= _read_table(rows, label, default_source, out)
    if not any_header:
        names = ", ".join(a[0] for a in (COLUMNS["text"][:2] + COLUMNS["date"][:2]))
        out.errors.append(f"{path.name}: no table with a text column was found (expected columns such as {names}).")
    return out


def _read_table(rows: list[list[object]], label: str, default_source: str, out: FileImport) -> bool:
    """Find the header among the first rows, then read each row below it. Returns whether a header was found."""
    prefix = f"{label} " if label else ""
    for header_index, header in enumerate(rows[:15]):
        columns = match_columns(header)
        if columns:
            break
    else:
        return False
    for index in range(header_index + 1, len(rows)):
        row = rows[index]
        rowno = index + 1  # as the spreadsheet numbers it
        if not any(str(c or "").strip() for c in row):
            continue
        try:
            item = _row_item(row, columns, default_source)
        except ValueError as exc:
            out.errors.append(f"{prefix}row {rowno}: {exc}.")
            continue
        item.extra["row"] = rowno
        out.items.append(item)
    return True


def _row_item(row: list[object], columns: dict[str, int], default_source: str) -> RawItem:
    def cell(name: str) -> object:
        index = columns.get(name)
        return row[index] if index is not None and index < len(row) else None

    def text(name: str) -> str:
        value = cell(name)
        return unicodedata.normalize("NFC", re.sub(r"[ \t\u00a0]+", " ", str(value)).strip()) if value is not None else ""

    body, title = text("text"), text("title")
    if not (body or title):
        raise ValueError("has no text")
    if "date" not in columns:
        raise ValueError("has no date (the file has no date column)")
    published = parse_report_date(cell("date"))
    extra = {"place": text("place")} if text("place") else {}
    return RawItem(text=body or title, title=title if body else "", url=text("url") or None,
                   source=text("source") or default_source, kind="observation", published_at=published,
                   author=text("author") or None, org_unit=text("org_unit") or None,
                   channel=text("channel") or None, extra=extra)


def _csv_rows(data: bytes) -> list[list[object]]:
    for encoding in ("utf-8-sig", "cp1258", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = data.decode("utf-8", errors="replace")
    text = unicodedata.normalize("NFC", text)
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    return [list(r) for r in csv.reader(io.StringIO(text), dialect)]


def _xlsx_tables(path: Path) -> list[tuple[str, list[list[object]]]]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        tables = []
        for sheet in book.worksheets:
            rows = [list(r) for r in sheet.iter_rows(values_only=True)]
            tables.append((f"sheet {sheet.title!r}" if len(book.worksheets) > 1 else "", rows))
        return tables
    finally:
        book.close()


def _docx_tables(path: Path) -> list[tuple[str, list[list[object]]]]:
    import docx

    document = docx.Document(str(path))
    tables = []
    for number, table in enumerate(document.tables, start=1):
        rows = [[c.text for c in r.cells] for r in table.rows]
        tables.append((f"table {number}" if len(document.tables) > 1 else "", rows))
    return tables
