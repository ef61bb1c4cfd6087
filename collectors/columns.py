"""Which column of an office file is which: headers matched by meaning, and rows that are not data.

Headers are compared folded (no diacritics, case or punctuation): an exact alias wins, then a header that contains
an alias as whole words («Ý kiến, kiến nghị của đoàn viên, NLĐ» holds «ý kiến»); an alias at the start of the header
counts more, since a Vietnamese heading puts its head noun first. `--map COL=FIELD` names a column outright.
Letterheads above the header, the column-number row under it («(1) (2) (3)»), section headings, repeated headers
and total rows («Tổng cộng») are not data and are skipped.
"""
from __future__ import annotations

import re
import unicodedata

FIELDS = ("text", "title", "date", "org_unit", "channel", "place", "author", "source", "url")

# canonical field → accepted column names, compared folded (no diacritics, lower case, single spaces)
COLUMNS: dict[str, tuple[str, ...]] = {
    "text": ("noi dung", "text", "content", "noi dung phan anh", "noi dung y kien", "y kien", "phan anh",
             "tom tat", "mo ta", "chi tiet", "description", "body", "du luan", "tam tu nguyen vong", "kien nghi",
             "y kien kien nghi", "tam tu", "nguyen vong", "dien bien", "thong tin", "tinh hinh du luan"),
    "title": ("tieu de", "title", "chu de", "subject", "van de", "tieu de bai viet"),
    "date": ("ngay", "date", "thoi gian", "ngay bao cao", "ngay phan anh", "ngay dang", "ngay ghi nhan", "time",
             "published at", "published", "datetime", "ngay thang", "ngay gio", "ngay thang nam", "thoi diem",
             "ngay nam bat"),
    "org_unit": ("don vi", "unit", "org unit", "co so", "cong doan co so", "to chuc", "organization", "cong doan",
                 "doanh nghiep", "co quan", "ten don vi", "don vi bao cao", "cdcs", "cd co so", "cong doan nganh"),
    "channel": ("kenh", "channel", "nguon tin", "hinh thuc", "medium", "kenh thong tin", "mang xa hoi",
                "hinh thuc nam bat"),
    "place": ("dia diem", "place", "location", "dia ban", "noi", "xa phuong", "huyen", "khu vuc", "address",
              "dia chi", "dia phuong", "noi xay ra"),
    "author": ("nguoi bao cao", "cong tac vien", "reporter", "author", "nguoi phan anh", "nguoi gui", "ctv",
               "ho ten", "ho va ten", "nguoi ghi nhan", "ho ten ctv", "nguoi nam bat", "nguoi cung cap"),
    "source": ("nguon", "source"),
    "url": ("lien ket", "link", "url", "duong dan"),
}
# too short or too common to be looked for inside a longer heading
_EXACT_ONLY = frozenset({"noi", "nguon", "source", "time", "date", "body", "link", "url", "unit", "text", "title",
                         "place", "co so", "thong tin", "ngay"})
# how a heading that is only a word we know shows in the error message
EXPECTED = {"text": "Nội dung / Ý kiến / Phản ánh / Kiến nghị", "date": "Ngày / Thời gian",
            "org_unit": "Đơn vị / Tên đơn vị", "author": "Họ tên CTV / Người báo cáo", "channel": "Kênh / Hình thức",
            "place": "Địa điểm / Địa bàn", "title": "Tiêu đề / Vấn đề"}
_TOTAL = re.compile(r"^(?:tong cong(?! ty)|tong so|total|sum)\b|^(?:tong|cong)(?: \d.*)?$")
_HEADING_NUMBER = re.compile(r"^(?:[ivx]{1,4}|[a-e])$")  # «I», «II», «A»: section headings, not row numbers
_NUMBERING = re.compile(r"^\(?(?:\d{1,2}|[ivx]{1,4}|[a-e])\)?\.?$")


def fold_name(value: object) -> str:
    """'Nội dung ' → 'noi dung': column names compared without diacritics, case or punctuation."""
    text = unicodedata.normalize("NFD", str(value if value is not None else "").lower().replace("đ", "d"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.findall(r"[a-z0-9]+", text))


def parse_mapping(pairs: list[str] | None) -> dict[str, str]:
    """`["Ý kiến=text", "Thời gian=date"]` → {folded column name: field}; ValueError naming what is wrong."""
    mapping: dict[str, str] = {}
    for pair in pairs or []:
        column, sep, field = pair.rpartition("=")
        field = field.strip().lower()
        if not sep or not column.strip():
            raise ValueError(f"--map {pair!r} is not COLUMN=FIELD")
        if field not in FIELDS:
            raise ValueError(f"--map {pair!r}: {field!r} is not one of {', '.join(FIELDS)}")
        mapping[fold_name(column)] = field
    return mapping


def _score(name: str, alias: str) -> float:
    if name == alias:
        return 3.0
    if alias in _EXACT_ONLY or not name:
        return 0.0
    padded = f" {name} "
    if f" {alias} " not in padded:
        return 0.0
    return 2.0 + (0.5 if name.startswith(alias + " ") else 0.0) + len(alias) / 100


def match_columns(header: list[object], mapping: dict[str, str] | None = None) -> dict[str, int]:
    """Canonical field → column index for a header row; empty unless a text (or title) column is among them.

    `mapping` (folded column name → field, from `parse_mapping`) is applied first; the row must then hold every
    mapped column to be the header.
    """
    names = [fold_name(cell) for cell in header]
    found: dict[str, int] = {}
    used: set[int] = set()
    for column, field in (mapping or {}).items():
        index = next((i for i, n in enumerate(names) if n == column), None)
        if index is None:
            index = next((i for i, n in enumerate(names) if column and f" {column} " in f" {n} "), None)
        if index is None:
            return {}
        found[field] = index
        used.add(index)
    candidates = sorted(((max(_score(name, alias) for alias in aliases), -order, field, index)
                         for index, name in enumerate(names) if name and len(name) <= 120
                         for order, (field, aliases) in enumerate(COLUMNS.items())), reverse=True)
    exact = 0
    for score, _order, field, index in candidates:
        if score > 0 and field not in found and index not in used:
            found[field] = index
            used.add(index)
            exact += score == 3.0
    if len(found) == 1 and not exact and not mapping:
        return {}  # one heading that merely mentions «dư luận» is a title line, not a header row
    return found if ("text" in found or "title" in found) else {}


def headers_seen(rows: list[list[object]]) -> list[str]:
    """The likeliest header row among the first rows (the one with most short non-empty cells), for a message."""
    best: list[str] = []
    for row in rows[:15]:
        cells = [" ".join(str(c).split()) for c in row if c is not None and str(c).strip() and len(str(c)) <= 80]
        if len(cells) > len(best):
            best = cells
    return best


def skip_row(row: list[object], columns: dict[str, int], header: list[object]) -> bool:
    """Whether a row below the header is not data: column numbers, a repeated header, a total or a heading."""
    cells = [(i, str(c).strip()) for i, c in enumerate(row) if c is not None and str(c).strip()]
    if not cells:
        return True
    folded = [fold_name(v) for _, v in cells]
    if all(_NUMBERING.match(f) for f in folded):
        return True  # «(1) (2) (3)» under the header, or a lone row number
    if [fold_name(c) for c in row] == [fold_name(c) for c in header]:
        return True  # the header repeated on a new page
    text_columns = {columns.get("text"), columns.get("title")} - {None}
    if any(_TOTAL.match(f) for (i, _), f in zip(cells, folded) if i not in text_columns):
        return True  # «Tổng cộng | | 25 ý kiến» — a total line, whatever its text cell says
    if len(set(folded)) == 1 and len(cells) > 1:
        return True  # a merged title row: the same text in every cell (python-docx repeats merged cells)
    if len(cells) == 1 and cells[0][0] not in text_columns:
        return True  # a section heading («I. Khối doanh nghiệp») in the number or unit column
    if len(cells) == 2 and not any(i in text_columns for i, _ in cells) and _HEADING_NUMBER.match(folded[0]):
        return True  # «I | KHỐI TRƯỜNG HỌC»: a numbered heading beside an empty text cell
    return False


# ---- unit names as typed → unit codes ------------------------------------------------------------------------------

_ABBREVIATIONS = {"cdcs": "cong doan co so", "cdn": "cong doan nganh", "cd": "cong doan", "ldld": "lien doan lao dong",
                  "tp": "thanh pho", "gd": "giao duc", "yt": "y te", "vc": "vien chuc", "cb": "cao bang"}
_GENERIC = frozenset({"cong", "doan", "nganh", "lien", "lao", "dong", "tinh", "cao", "bang", "co", "so"})


def _unit_words(value: str) -> list[str]:
    words = []
    for word in fold_name(value).split():
        words.extend(_ABBREVIATIONS.get(word, word).split())
    return words


def match_unit(typed: str, units: list[tuple[str, str]]) -> str | None:
    """The code of the unit `typed` names — by code, by name (folded, abbreviations such as CĐCS/CĐN/LĐLĐ
    expanded), or by the words that tell units apart («Công đoàn Giáo dục» is «Công đoàn ngành Giáo dục tỉnh»);
    None when no unit, or more than one, fits."""
    if not typed or not typed.strip():
        return None
    by_code = {code.lower(): code for code, _ in units}
    if typed.strip().lower() in by_code:
        return by_code[typed.strip().lower()]
    words = _unit_words(typed)
    for code, name in units:
        if _unit_words(name) == words:
            return code
    distinctive = set(words) - _GENERIC
    if not distinctive:
        return None
    fits = [code for code, name in units if (set(_unit_words(name)) - _GENERIC) >= distinctive
            and set(_unit_words(name)) - _GENERIC]
    return fits[0] if len(fits) == 1 else None
