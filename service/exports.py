"""Search results as a spreadsheet: CSV (UTF-8 with a BOM, so a spreadsheet shows Vietnamese) and XLSX.

Every text cell starting with = + - @ is neutralised (service.labels.safe_cell): an item's text is the outside world's.
"""
from __future__ import annotations

import csv
import io
from typing import Iterable

from service.labels import safe_cells
from service.timeutil import show

MAX_CELL_CHARS = 32_000   # a spreadsheet cell holds 32,767 characters
COLUMNS = ("Mã", "Thời gian", "Nguồn", "Kênh", "Đơn vị", "Loại", "Chủ đề", "Sắc thái", "Tiêu đề", "Nội dung",
           "Đường dẫn")


def result_rows(rows: Iterable[dict], topic_names: dict[str, str], unit_names: dict[str, str],
                kind_names: dict[str, str], tone_names: dict[str, str]) -> list[list]:
    """The header and one row per item, in the page's order and words."""
    out: list[list] = [list(COLUMNS)]
    for r in rows:
        out.append([r["id"], show(r["published_at"]), r["source"] or "", r.get("channel") or "",
                    unit_names.get(r["org_unit"], r["org_unit"]) if r.get("org_unit") else "",
                    kind_names.get(r["kind"], r["kind"]),
                    topic_names.get(r["topic"], r["topic"]) if r.get("topic") else "",
                    tone_names.get(r["sentiment"], r["sentiment"]) if r.get("sentiment") else "",
                    (r["title"] or "")[:MAX_CELL_CHARS], (r["text"] or "")[:MAX_CELL_CHARS], r["url"] or ""])
    return out


def csv_bytes(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(safe_cells(r) for r in rows)
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_bytes(rows: list[list], sheet: str = "Kết quả tìm kiếm") -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet)
    for row in rows:   # control characters XML cannot hold are dropped, not a failed export
        ws.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in safe_cells(row)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
