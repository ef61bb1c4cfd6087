"""Dates as Vietnamese offices write them, turned into aware UTC datetimes — and refused when out of a sane range.

Accepted: datetime/date cells, Excel serial numbers, dd/mm/yyyy [hh:mm], ISO 8601, the administrative line
«ngày 7 tháng 11 năm 2026», a month «tháng 11/2026» (its first day), and a day without a year «7/11» (the year of the
report's date, or the latest such day that is not in the future). Naive times are Vietnam time. A date before 1990
or more than a day in the future is refused (ValueError saying which).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)
FUTURE_SLACK = timedelta(days=1)
_EXCEL_EPOCH = datetime(1899, 12, 30)

_TIME = r"(?:[ ,T]+(?:luc\s+)?(\d{1,2})\s*[:hg]\s*(\d{2})?(?::(\d{2}))?(?:\s*(?:phut|p))?)?"
_DMY = re.compile(r"^(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{2}|\d{4})" + _TIME + "$")
_ADMIN = re.compile(r"ngay\s*(\d{1,2})\s*thang\s*(\d{1,2})\s*nam\s*(\d{4})")
_MONTH = re.compile(r"^(?:thang\s*)?(\d{1,2})\s*(?:[/.\-]|\s*nam\s*)\s*(\d{4})$")
_DAY_MONTH = re.compile(r"^(\d{1,2})\s*[/.\-]\s*(\d{1,2})$")
_NUMBER = re.compile(r"^\d{5}(?:\.\d+)?$")


def fold_date_text(value: str) -> str:
    """'Ngày 7 Tháng 11' → 'ngay 7 thang 11': lower case, no diacritics, single spaces."""
    text = unicodedata.normalize("NFD", value.lower().replace("đ", "d").replace("Đ", "d"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.split())


def sane_date(dt: datetime, now: datetime | None = None) -> datetime:
    """`dt` when it is a plausible date for an item (1990 up to a day ahead); ValueError saying why otherwise."""
    now = now or datetime.now(timezone.utc)
    if dt < EARLIEST:
        raise ValueError(f"the date {_local_day(dt)} is before 1990")
    if dt > now + FUTURE_SLACK:
        raise ValueError(f"the date {_local_day(dt)} is more than a day in the future")
    return dt


def parse_datetime(value: str) -> datetime:
    """ISO 8601 (a trailing Z allowed) → aware UTC datetime; a naive time is taken as Vietnam time (+07:00).

    Raises ValueError for anything else, including dates that cannot be moved to UTC (year 1 and the like).
    """
    value = value.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    return _to_utc(datetime.fromisoformat(value))


def parse_report_date(value: object, now: datetime | None = None, reference: datetime | None = None) -> datetime:
    """A date cell → aware UTC datetime, in a sane range. `reference` (the report's own date) gives the year of a
    day written without one. Raises ValueError with the offending value when it cannot be read."""
    return sane_date(_report_datetime(value, now or datetime.now(timezone.utc), reference), now)


def find_report_date(lines: Iterable[object]) -> datetime | None:
    """The first «ngày … tháng … năm …» among a document's lines (its place-and-date line), as UTC; or None."""
    for line in lines:
        if not isinstance(line, str) or "th" not in line.lower():
            continue
        match = _ADMIN.search(fold_date_text(line))
        if match:
            d, mo, y = (int(g) for g in match.groups())
            try:
                return sane_date(_to_utc(datetime(y, mo, d)))
            except ValueError:
                continue
    return None


def _report_datetime(value: object, now: datetime, reference: datetime | None) -> datetime:
    if isinstance(value, datetime):
        return _to_utc(value)
    if isinstance(value, date):
        return _to_utc(datetime.combine(value, time()))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 20000 < value < 80000:  # an Excel serial date that was not formatted as a date
            return _to_utc(_EXCEL_EPOCH + timedelta(days=float(value)))
        raise ValueError(f"{value!r} is not a date")
    raw = str(value if value is not None else "").strip()
    if not raw:
        raise ValueError("no date")
    text = fold_date_text(raw)
    if _NUMBER.match(text) and 20000 < float(text) < 80000:
        return _to_utc(_EXCEL_EPOCH + timedelta(days=float(text)))
    match = _ADMIN.search(text)
    if match:
        d, mo, y = match.groups()
        return _to_utc(_real_date(raw, int(y), int(mo), int(d)))
    text = re.sub(r"^(?:ngay|ngay bao cao|thoi gian)\s*:?\s*", "", text)
    match = _DMY.match(text)
    if match:
        d, mo, y, h, mi, sec = match.groups()
        year = int(y) + (2000 if len(y) == 2 else 0)
        return _to_utc(_real_date(raw, year, int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0)))
    match = _MONTH.match(text)
    if match:
        mo, y = match.groups()
        return _to_utc(_real_date(raw, int(y), int(mo), 1))
    match = _DAY_MONTH.match(text)
    if match:
        return _day_without_year(raw, int(match.group(1)), int(match.group(2)), now, reference)
    try:
        return parse_datetime(raw)
    except ValueError:
        raise ValueError(f"{raw[:60]!r} is not a date in dd/mm/yyyy, «ngày … tháng … năm …» or ISO form") from None


def _day_without_year(raw: str, day: int, month: int, now: datetime, reference: datetime | None) -> datetime:
    if reference is not None:
        return _to_utc(_real_date(raw, reference.astimezone(VIETNAM).year, month, day))
    year = now.astimezone(VIETNAM).year
    dt = _to_utc(_real_date(raw, year, month, day))
    if dt > now + FUTURE_SLACK:  # «20/12» read in January is last December
        dt = _to_utc(_real_date(raw, year - 1, month, day))
    return dt


def _real_date(raw: str, *parts: int) -> datetime:
    try:
        return datetime(*parts)
    except ValueError:
        raise ValueError(f"{raw[:60]!r} is not a real date (day/month/year)") from None


def _to_utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=VIETNAM)
    try:
        return dt.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        when = "before 1990" if dt.year < 1990 else "outside the dates Pulse can store"
        raise ValueError(f"the date {dt.date().isoformat()} is {when}") from None


def _local_day(dt: datetime) -> str:
    """The day as the file meant it (Vietnam time), or the UTC day at the ends of the calendar."""
    try:
        return dt.astimezone(VIETNAM).date().isoformat()
    except (OverflowError, ValueError):
        return dt.date().isoformat()
