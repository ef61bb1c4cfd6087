"""File imports: timeline JSONL, and collaborators' reports from CSV, XLSX and DOCX tables.

A row that cannot be read is reported with its number ("row 7: ...") and the others are imported; nothing a file
holds can raise out of these readers. Column names are matched in Vietnamese or English, with or without diacritics;
dates are read as Vietnamese offices write them (dd/mm/yyyy), naive times as Vietnam time, and refused when they fall
before 1990 or more than a day in the future. Limits (`ImportLimits`) bound the file size, the rows read, one row's
text and the unpacked size of an XLSX/DOCX, which is checked from the zip's own directory before any XML is opened
(zip bombs). Control characters are stripped from every field (`RawItem.clean`).
"""
from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from collectors.columns import COLUMNS, EXPECTED, fold_name, headers_seen, match_columns, parse_mapping, skip_row
from collectors.dates import EARLIEST, find_report_date, parse_datetime, parse_report_date, sane_date
from collectors.items import KINDS, RawItem

__all__ = ["COLUMNS", "EARLIEST", "FileImport", "ImportLimits", "check_zip", "fold_name", "match_columns",
           "parse_datetime", "parse_mapping", "parse_report_date", "read_observations", "read_timeline", "sane_date"]


@dataclass
class FileImport:
    """Items read from a file plus one plain sentence per line or row that could not be used.

    `refused` is set when the whole file was refused (too big, a zip bomb, not openable): `errors` says why.
    """

    items: list[RawItem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refused: bool = False
    skipped: int = 0  # rows that are not data: totals, headings, column numbers, repeated headers


@dataclass
class ImportLimits:
    """What one imported file may hold; the service's [imports] settings fill it."""

    max_file_bytes: int = 50_000_000
    max_rows: int = 100_000
    max_text_chars: int = 20_000
    max_unpacked_bytes: int = 200_000_000
    max_zip_entries: int = 5_000


_TEXT_FIELDS = ("title", "text", "url", "source", "kind", "org_unit", "channel", "author", "place")


def check_size(path: Path, limits: ImportLimits) -> str | None:
    """Why a file is refused before reading (too big, or a zip whose declared unpacked size is too big)."""
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        return (f"{path.name} is {size:,} bytes, over the import limit of {limits.max_file_bytes:,} bytes; "
                "split it into smaller files.")
    if path.suffix.lower() in (".xlsx", ".xlsm", ".docx"):
        return check_zip(path, limits)
    return None


def check_zip(path: Path, limits: ImportLimits) -> str | None:
    """Read an XLSX/DOCX's zip directory (no decompression) and refuse it when it would unpack too large.

    zipfile never inflates a member past the size its directory declares (and fails on a CRC mismatch), so
    the declared sizes bound what openpyxl / python-docx can be made to decompress.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        return f"{path.name}: the file could not be opened as {path.suffix.lstrip('.').upper()} ({type(exc).__name__})."
    if len(members) > limits.max_zip_entries:
        return f"{path.name} holds {len(members):,} parts, more than an office file has; refused."
    unpacked = sum(max(0, m.file_size) for m in members)
    if unpacked > limits.max_unpacked_bytes:
        return (f"{path.name} would unpack to {unpacked:,} bytes, over the limit of {limits.max_unpacked_bytes:,}; "
                "refused (a file that small cannot hold that much real data).")
    return None


def _refused(message: str) -> FileImport:
    return FileImport(errors=[message], refused=True)


def _string_fields(row: dict) -> dict[str, str | None]:
    """The text fields of a JSON object; ValueError naming the first that is neither a string nor absent."""
    out: dict[str, str | None] = {}
    for name in _TEXT_FIELDS:
        value = row.get(name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} must be a string, not {type(value).__name__}")
        out[name] = value.strip() if isinstance(value, str) else None
    return out


def read_timeline(path: Path, default_source: str = "", default_kind: str = "article",
                  limits: ImportLimits | None = None) -> FileImport:
    """Read timeline JSONL: one `{"title", "text", "url", "source", "published_at", "kind"}` a line."""
    limits = limits or ImportLimits()
    path = Path(path)
    refusal = check_size(path, limits)
    if refusal:
        return _refused(refusal)
    out = FileImport()
    now = datetime.now(timezone.utc)
    read = 0
    with open(path, encoding="utf-8-sig", errors="replace", newline="\n") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            read += 1
            if read > limits.max_rows:
                out.errors.append(f"line {lineno}: the file has more than {limits.max_rows:,} lines; "
                                  "the rest was not read.")
                break
            try:
                out.items.append(_timeline_item(line, default_source, default_kind, limits, now))
            except ValueError as exc:
                out.errors.append(f"line {lineno}: {exc}.")
            except Exception as exc:  # whatever a line holds, it costs that line only
                out.errors.append(f"line {lineno}: could not be read ({type(exc).__name__}).")
    return out


def _timeline_item(line: str, default_source: str, default_kind: str, limits: ImportLimits,
                   now: datetime) -> RawItem:
    if len(line) > limits.max_text_chars * 4 + 10_000:
        raise ValueError(f"the line is {len(line):,} characters long, over the limit for one item")
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        raise ValueError("not valid JSON") from None
    if not isinstance(row, dict):
        raise ValueError("expected a JSON object")
    fields = _string_fields(row)
    text, title = fields["text"] or "", fields["title"] or ""
    if not (text or title):
        raise ValueError("has neither text nor title")
    _check_length(text, limits)
    raw_date = row.get("published_at")
    if not raw_date:
        raise ValueError("has no published_at date")
    if not isinstance(raw_date, str):
        raise ValueError(f"published_at {raw_date!r} is not an ISO 8601 date")
    try:
        published = parse_datetime(raw_date)
    except ValueError:
        raise ValueError(f"published_at {raw_date[:60]!r} is not an ISO 8601 date") from None
    sane_date(published, now)
    kind = fields["kind"] or default_kind
    if kind not in KINDS:
        raise ValueError(f"kind {kind[:40]!r} is not one of {', '.join(KINDS)}")
    extra = {"place": fields["place"]} if fields["place"] else {}
    return RawItem(text=text, title=title, url=fields["url"] or None, source=fields["source"] or default_source,
                   kind=kind, published_at=published, org_unit=fields["org_unit"] or None,
                   channel=fields["channel"] or None, author=fields["author"] or None, extra=extra)


def _check_length(text: str, limits: ImportLimits) -> None:
    if len(text) > limits.max_text_chars:
        raise ValueError(f"the text is {len(text):,} characters long, over the limit of {limits.max_text_chars:,}")


# ---- collaborator reports ---------------------------------------------------------------------------------------

@dataclass
class ReadOptions:
    """How a report file is read: explicit columns (`--map`), a date for rows without one (`--date`)."""

    mapping: dict[str, str] = field(default_factory=dict)  # folded column name → field (collectors.columns)
    default_date: datetime | None = None


def read_observations(path: Path, default_source: str = "", limits: ImportLimits | None = None,
                      options: ReadOptions | None = None) -> FileImport:
    """Collaborator reports → observation items. CSV, XLSX, DOCX (every table) or JSONL, chosen by extension.

    A row without a date takes `options.default_date`, else the report's own «ngày … tháng … năm …» line.
    """
    limits = limits or ImportLimits()
    options = options or ReadOptions()
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return read_timeline(path, default_source=default_source, default_kind="observation", limits=limits)
    if suffix not in (".xlsx", ".xlsm", ".docx", ".csv", ".tsv", ".txt"):
        return _refused(f"{path.name}: unsupported file type {suffix or '(none)'}; use CSV, XLSX, DOCX or JSONL.")
    refusal = check_size(path, limits)
    if refusal:
        return _refused(refusal)
    out = FileImport()
    lines: list[str] = []  # the document's paragraphs, where its date line is
    try:
        if suffix in (".xlsx", ".xlsm"):
            tables = _xlsx_tables(path, limits)
        elif suffix == ".docx":
            tables = _docx_tables(path, limits, lines)
        else:
            tables = [("", _csv_rows(path.read_bytes(), limits, out))]
    except Exception as exc:  # a corrupt or mislabelled file: say so instead of a traceback
        return _refused(f"{path.name}: the file could not be opened as {suffix.lstrip('.').upper()} "
                        f"({type(exc).__name__}).")
    report_date = find_report_date(lines)
    any_header = False
    budget = [limits.max_rows]
    for label, rows in tables:
        any_header |= _read_table(rows, label, default_source, out, limits, budget, options, report_date)
    if not any_header:
        seen = headers_seen(tables[0][1]) if tables else []
        found = ", ".join(f"«{h}»" for h in seen[:12]) or "none"
        expected = "; ".join(f"{field}: {names}" for field, names in EXPECTED.items())
        out.errors.append(f"{path.name}: no header row with a text column was found. Headers found: {found}. "
                          f"Expected columns named like — {expected}. Name the columns yourself with "
                          f"--map \"COLUMN=text\" (fields: {', '.join(COLUMNS)}).")
    return out


def _read_table(rows: list[list[object]], label: str, default_source: str, out: FileImport,
                limits: ImportLimits | None = None, budget: list[int] | None = None,
                options: ReadOptions | None = None, report_date: datetime | None = None) -> bool:
    """Find the header among the first rows, then read each row below it. Returns whether a header was found.

    `budget` holds how many more rows the file may give (shared by its tables); a row that cannot be read costs
    that row only; rows that are not data (totals, headings, column numbers) are skipped without an error.
    """
    limits = limits or ImportLimits()
    options = options or ReadOptions()
    budget = budget if budget is not None else [limits.max_rows]
    prefix = f"{label} " if label else ""
    now = datetime.now(timezone.utc)
    for header_index, header in enumerate(rows[:30]):
        columns = match_columns(header, options.mapping)
        if columns:
            break
    else:
        return False
    # the letterhead above the header often holds the report's date line («Cao Bằng, ngày 7 tháng 11 năm 2026»)
    report_date = report_date or find_report_date(str(c) for r in rows[:header_index] for c in r if c)
    fallback = options.default_date or report_date
    for index in range(header_index + 1, len(rows)):
        row = rows[index]
        rowno = index + 1  # as the spreadsheet numbers it
        if skip_row(row, columns, header):
            if any(str(c if c is not None else "").strip() for c in row):
                out.skipped += 1
            continue
        if budget[0] <= 0:
            out.errors.append(f"{prefix}row {rowno}: the file has more than {limits.max_rows:,} rows; "
                              "the rest was not read.")
            break
        budget[0] -= 1
        try:
            item = _row_item(row, columns, default_source, limits, now, fallback, report_date)
        except ValueError as exc:
            out.errors.append(f"{prefix}row {rowno}: {exc}.")
            continue
        except Exception as exc:  # whatever a cell holds, it costs that row only
            out.errors.append(f"{prefix}row {rowno}: could not be read ({type(exc).__name__}).")
            continue
        item.extra["row"] = rowno
        out.items.append(item)
    return True


def _row_item(row: list[object], columns: dict[str, int], default_source: str,
              limits: ImportLimits | None = None, now: datetime | None = None,
              fallback: datetime | None = None, report_date: datetime | None = None) -> RawItem:
    limits = limits or ImportLimits()

    def cell(name: str) -> object:
        index = columns.get(name)
        return row[index] if index is not None and index < len(row) else None

    def text(name: str) -> str:
        value = cell(name)
        if value is None:
            return ""
        if isinstance(value, (datetime, date, time)) and name != "date":
            raise ValueError(f"the {name} column holds a date ({value}), not text")
        return unicodedata.normalize("NFC", re.sub(r"[ \t\u00a0]+", " ", str(value)).strip())

    body, title = text("text"), text("title")
    if not (body or title):
        raise ValueError("has no text")
    _check_length(body, limits)
    raw_date = cell("date")
    if raw_date is not None and str(raw_date).strip():
        published = parse_report_date(raw_date, now, reference=report_date)
    elif fallback is not None:
        published = fallback
    elif "date" not in columns:
        raise ValueError("has no date (the file has no date column; give one with --date)")
    else:
        raise ValueError("has no date (give a date for such rows with --date)")
    extra = {"place": text("place")} if text("place") else {}
    return RawItem(text=body or title, title=title if body else "", url=text("url") or None,
                   source=text("source") or default_source, kind="observation", published_at=published,
                   author=text("author") or None, org_unit=text("org_unit") or None,
                   channel=text("channel") or None, extra=extra)


def _csv_rows(data: bytes, limits: ImportLimits | None = None, out: FileImport | None = None) -> list[list[object]]:
    """CSV bytes → rows; a row the csv module cannot read is an empty row here and an error in `out`."""
    limits = limits or ImportLimits()
    for encoding in ("utf-8-sig", "cp1258", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = data.decode("utf-8", errors="replace")
    text = unicodedata.normalize("NFC", text.replace("\x00", ""))
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text[:8192]))
    rows: list[list[object]] = []
    while len(rows) <= limits.max_rows + 30:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if out is not None:
                out.errors.append(f"row {len(rows) + 1}: could not be read as CSV ({exc}).")
            rows.append([])
            continue
        rows.append(list(row))
    return rows


def _delimiter(sample: str) -> str:
    """The separator of a CSV: the candidate found on most lines, then most often (csv.Sniffer trips on letterheads
    and on Vietnamese text full of commas)."""
    lines = [line for line in sample.splitlines()[:30] if line.strip()]

    def weight(candidate: str) -> tuple[int, int]:
        return sum(candidate in line for line in lines), sum(line.count(candidate) for line in lines)

    best = max(",;\t|", key=weight)
    return best if weight(best)[0] else ","


def csv_header_fields(path: Path) -> set[str] | None:
    """The fields a CSV's header row names (read from its first 64 KB); empty when no header row is found,
    None when the file cannot be read."""
    try:
        with open(path, "rb") as fh:
            rows = _csv_rows(fh.read(65536), ImportLimits(max_rows=30))
    except OSError:
        return None
    for row in rows[:30]:
        columns = match_columns(row)
        if columns:
            return set(columns)
    return set()


def _xlsx_tables(path: Path, limits: ImportLimits | None = None) -> list[tuple[str, list[list[object]]]]:
    import openpyxl

    limits = limits or ImportLimits()
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        tables = []
        for sheet in book.worksheets:
            rows = []
            for number, values in enumerate(sheet.iter_rows(values_only=True)):
                if number > limits.max_rows + 30:
                    break
                rows.append(list(values))
            tables.append((f"sheet {sheet.title!r}" if len(book.worksheets) > 1 else "", rows))
        return tables
    finally:
        book.close()


def _docx_tables(path: Path, limits: ImportLimits | None = None,
                 lines: list[str] | None = None) -> list[tuple[str, list[list[object]]]]:
    """Every table of a DOCX as rows of cell texts; its paragraphs (outside tables) go to `lines`."""
    import docx

    limits = limits or ImportLimits()
    document = docx.Document(str(path))
    if lines is not None:
        lines.extend(p.text for p in document.paragraphs[:200])
    tables = []
    for number, table in enumerate(document.tables, start=1):
        rows = []
        for index, r in enumerate(table.rows):
            if index > limits.max_rows + 30:
                break
            rows.append([c.text for c in r.cells])
        tables.append((f"table {number}" if len(document.tables) > 1 else "", rows))
    return tables


def header_rows(path: Path, limits: ImportLimits | None = None,
                mapping: dict[str, str] | None = None) -> list[list[str]]:
    """The header row of each table of a report file, for a step that lets a person name its columns: the row whose
    columns are recognised (with `mapping`), else the likeliest header row; [] when the file cannot be opened."""
    limits = limits or ImportLimits()
    path = Path(path)
    suffix = path.suffix.lower()
    if check_size(path, limits):
        return []
    try:
        if suffix in (".xlsx", ".xlsm"):
            tables = _xlsx_tables(path, limits)
        elif suffix == ".docx":
            tables = _docx_tables(path, limits)
        elif suffix in (".csv", ".tsv", ".txt"):
            tables = [("", _csv_rows(path.read_bytes(), limits))]
        else:
            return []
    except Exception:  # a corrupt file: read_observations says why
        return []
    out = []
    for _, rows in tables:
        header = next((row for row in rows[:30] if match_columns(row, mapping)), None)
        cells = [" ".join(str(c).split()) for c in header if c is not None] if header else headers_seen(rows)
        out.append([c for c in cells if c])
    return out
