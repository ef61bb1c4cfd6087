"""Office files uploaded on the web by a unit's staff: read, shown row by row with the columns as understood, then
imported — the same readers as `pulse import` (collectors/files.py), messages in plain Vietnamese.

A row names its unit (as typed, abbreviations understood) or belongs to the uploader's unit; a row of a unit outside
the uploader's subtree is refused. Rows already stored (by content and unit, whatever the file's name) and rows
repeated within the file are shown as such and stored once.
"""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from collectors.columns import COLUMNS, match_columns, match_unit, parse_mapping
from collectors.dates import parse_report_date
from collectors.files import ImportLimits, ReadOptions, header_rows, read_observations
from collectors.items import RawItem
from service.config import ImportSettings
from service.pipeline import OBSERVATIONS_SOURCE
from service.store import Store, item_hash
from service.timeutil import TZ

SUFFIXES = (".xlsx", ".docx", ".csv")
FIELD_NAMES = {"text": "Nội dung ý kiến", "title": "Tiêu đề, vấn đề", "date": "Ngày", "org_unit": "Đơn vị",
               "channel": "Kênh, hình thức", "place": "Địa điểm, địa bàn", "author": "Người báo cáo (CTV)",
               "source": "Nguồn", "url": "Liên kết"}
STATES = {"new": "Sẽ nhập", "stored": "Đã có trong hệ thống", "repeated": "Trùng với dòng trên",
          "outside": "Đơn vị ngoài phạm vi"}


class UploadError(ValueError):
    """An upload refused as a whole, said in Vietnamese."""


@dataclass
class Preview:
    filename: str
    headers: list[list[str]] = field(default_factory=list)          # each table's header cells
    understood: dict[str, str] = field(default_factory=dict)        # header as written → field it is read as
    rows: list[dict] = field(default_factory=list)                  # what each data row became
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    items: list[RawItem] = field(default_factory=list)              # the rows that would be stored

    def count(self, state: str) -> int:
        return sum(1 for r in self.rows if r["state"] == state)


def check_upload(filename: str, content: bytes, settings: ImportSettings) -> str:
    """The file's name, kept plain; UploadError when its type or size cannot be taken."""
    name = Path(filename or "").name.strip() or "tep"
    if Path(name).suffix.lower() not in SUFFIXES:
        raise UploadError("Chỉ nhận tệp Excel (.xlsx), Word (.docx) hoặc CSV (.csv).")
    if not content:
        raise UploadError("Tệp rỗng.")
    if len(content) > settings.max_file_bytes:
        raise UploadError("Tệp quá lớn.")
    return name[:200]


def mapping_pairs(values: list[str]) -> list[str]:
    """The page's column choices («Thời gian=date»), those naming a known field."""
    return [v for v in values if "=" in v and v.rpartition("=")[2] in COLUMNS and v.rpartition("=")[0].strip()]


def read(store: Store, upload: dict, units: list[str], home_unit: str | None, choices: list[str],
         default_date: str, settings: ImportSettings) -> Preview:
    """What the upload holds, as it would be imported for a reader of `units` (their subtree) with the columns
    `choices` names and `default_date` (dd/mm/yyyy or yyyy-mm-dd) for rows with no date."""
    preview = Preview(upload["filename"])
    limits = ImportLimits(max_file_bytes=settings.max_file_bytes, max_rows=settings.max_rows,
                          max_text_chars=settings.max_text_chars, max_unpacked_bytes=settings.max_unpacked_bytes)
    try:
        mapping = parse_mapping(mapping_pairs(choices))
    except ValueError:
        mapping = {}
    fallback = None
    if default_date.strip():
        try:
            fallback = parse_report_date(default_date.strip())
        except ValueError:
            preview.errors.append(f"«{default_date.strip()}» không phải là ngày (viết dạng ngày/tháng/năm).")
    with tempfile.TemporaryDirectory(prefix="pulse-upload-") as folder:
        path = Path(folder) / ("tep" + Path(upload["filename"]).suffix.lower())
        path.write_bytes(upload["content"])
        preview.headers = header_rows(path, limits, mapping)
        result = read_observations(path, OBSERVATIONS_SOURCE, limits,
                                   ReadOptions(mapping=mapping, default_date=fallback))
    for header in preview.headers:
        columns = match_columns(header, mapping)
        for f, index in columns.items():
            preview.understood[header[index]] = f
    preview.errors += [vietnamese_error(e, preview.headers) for e in result.errors]
    if result.refused:
        return preview
    _place(store, preview, result.items, units, home_unit)
    return preview


def _place(store: Store, preview: Preview, items: list[RawItem], units: list[str], home_unit: str | None) -> None:
    """Each row's unit, scope and whether it is already stored."""
    all_units = [(u["code"], u["name"]) for u in store.org_units()]
    names = dict(all_units)
    unknown: dict[str, list[str]] = {}
    for item in items:
        item.extra["file"] = preview.filename
        typed = item.org_unit
        code = match_unit(typed, all_units) if typed else home_unit
        if typed and code is None:
            unknown.setdefault(typed, []).append(str(item.extra.get("row", "")))
            code = home_unit
        if typed and typed != code:
            item.extra["unit_as_written"] = typed
        item.org_unit = code
    for name, rows in unknown.items():
        where = ", ".join(r for r in rows[:10] if r)
        preview.warnings.append(f"Đơn vị «{name}» (dòng {where}) chưa có trong hệ thống: các dòng này được ghi cho "
                                f"{names.get(home_unit, 'đơn vị của bạn')}, tên như trong tệp được giữ lại.")
    hashes = [item_hash(i) for i in items]
    stored = store.hashes_stored(hashes)
    seen: set[str] = set()
    for item, digest in zip(items, hashes):
        if item.org_unit and item.org_unit not in units:
            state = "outside"
        elif digest in stored:
            state = "stored"
        elif digest in seen:
            state = "repeated"
        else:
            state = "new"
            preview.items.append(item)
        seen.add(digest)
        published = item.published_at.astimezone(TZ) if item.published_at else None
        preview.rows.append({"row": item.extra.get("row"), "date": published.strftime("%d/%m/%Y") if published else "",
                             "unit": names.get(item.org_unit or "", item.org_unit or ""),
                             "as_written": item.extra.get("unit_as_written", ""), "author": item.author or "",
                             "text": item.text, "state": state, "state_name": STATES[state]})
    outside = [str(r["row"]) for r in preview.rows if r["state"] == "outside"]
    if outside:
        preview.errors.append(f"Dòng {', '.join(outside[:20])}: đơn vị không thuộc phạm vi của bạn; các dòng này "
                              "không được nhập.")


def commit(store: Store, preview: Preview, upload_id: int) -> int:
    """Store the preview's new rows and forget the upload, in one transaction. Returns how many were stored."""
    with store.transaction():
        new_ids = store.add_items(preview.items) if preview.items else []
        store.delete_pending_import(upload_id)
    return len(new_ids)


_ROW = re.compile(r"^(?:(?:sheet '(?P<sheet>.*)'|table (?P<table>\d+)) )?row (?P<row>\d+): (?P<why>.*?)\.?$", re.S)
_REASONS = [
    (re.compile(r"^has no text$"), lambda m: "không có nội dung"),
    (re.compile(r"^has no date \(the file has no date column"),
     lambda m: "không có ngày (tệp không có cột ngày: hãy điền «Ngày cho các dòng không ghi ngày»)"),
    (re.compile(r"^has no date"), lambda m: "không ghi ngày (hãy điền «Ngày cho các dòng không ghi ngày»)"),
    (re.compile(r"^'(.*)' is not a date"), lambda m: f"«{m.group(1)}» không phải là ngày (viết dạng ngày/tháng/năm "
                                                      "hoặc «ngày … tháng … năm …»)"),
    (re.compile(r"^'(.*)' is not a real date"), lambda m: f"«{m.group(1)}» không phải là một ngày có thật"),
    (re.compile(r"^the date (\d{4})-(\d\d)-(\d\d) is before 1990"),
     lambda m: f"ngày {m.group(3)}/{m.group(2)}/{m.group(1)} trước năm 1990"),
    (re.compile(r"^the date (\d{4})-(\d\d)-(\d\d) is"), lambda m: f"ngày {m.group(3)}/{m.group(2)}/{m.group(1)} "
                                                                   "chưa đến"),
    (re.compile(r"^the text is"), lambda m: "nội dung dài quá giới hạn cho một ý kiến"),
    (re.compile(r"^the (\w+) column holds a date"), lambda m: f"cột «{FIELD_NAMES.get(m.group(1), m.group(1))}» "
                                                               "chứa ngày tháng thay vì chữ"),
    (re.compile(r"^the file has more than"), lambda m: "tệp có quá nhiều dòng; phần còn lại không được đọc"),
]


def vietnamese_error(message: str, headers: list[list[str]]) -> str:
    """A reader's English message as a plain Vietnamese sentence for the page."""
    found = _ROW.match(message)
    if found:
        where = (f"Trang tính «{found['sheet']}», " if found["sheet"] else
                 f"Bảng {found['table']}, " if found["table"] else "")
        why = next((say(m) for pattern, say in _REASONS if (m := pattern.match(found["why"]))),
                   "không đọc được dòng này")
        return f"{where}{'dòng' if where else 'Dòng'} {found['row']}: {why}."
    if "no header row" in message:
        seen = ", ".join(f"«{h}»" for h in (headers[0] if headers else [])[:12]) or "không có"
        expected = "; ".join(f"{FIELD_NAMES[f]}: {', '.join(_aliases(f))}" for f in ("text", "date", "org_unit"))
        return (f"Không tìm thấy dòng tiêu đề có cột nội dung. Các tiêu đề đọc được: {seen}. Tên cột cần có, ví dụ — "
                f"{expected}. Hãy chọn cột nào là nội dung ở bảng «Cột trong tệp» rồi đọc lại.")
    if "could not be opened" in message:
        return "Không mở được tệp: tệp bị hỏng hoặc không đúng định dạng Excel, Word, CSV."
    if "unsupported file type" in message:
        return "Chỉ nhận tệp Excel (.xlsx), Word (.docx) hoặc CSV (.csv)."
    if "too big" in message or "larger than" in message or "unpacked" in message:
        return "Tệp quá lớn."
    return "Không đọc được tệp."


def _aliases(field_name: str) -> list[str]:
    return {"text": ["Nội dung", "Ý kiến, kiến nghị", "Phản ánh"], "date": ["Ngày", "Thời gian"],
            "org_unit": ["Đơn vị", "Tên đơn vị"]}[field_name]
