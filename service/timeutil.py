"""Days as the board lives them: local (Asia/Ho_Chi_Minh) dates, stored as UTC instants."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from service.config import LOCAL_TZ

TZ = ZoneInfo(LOCAL_TZ)


def local_day(utc_iso: str) -> str:
    """The local calendar day (YYYY-MM-DD) of a stored UTC timestamp."""
    return datetime.fromisoformat(utc_iso).astimezone(TZ).date().isoformat()


def day_bounds(day: date) -> tuple[str, str]:
    """The UTC instants where a local day starts and where the next one starts."""
    start = datetime.combine(day, time(0), tzinfo=TZ)
    end = start + timedelta(days=1)
    return (start.astimezone(timezone.utc).isoformat(), end.astimezone(timezone.utc).isoformat())


def parse_day(value: str) -> date:
    """A YYYY-MM-DD or dd/mm/yyyy date given by a user; ValueError with a plain message otherwise."""
    value = value.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date (use YYYY-MM-DD or dd/mm/yyyy).")


def today_local() -> date:
    return datetime.now(TZ).date()


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def show(utc_iso: str | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A stored UTC time shown in Vietnam time, the way Vietnamese offices write dates."""
    if not utc_iso:
        return ""
    return datetime.fromisoformat(utc_iso).astimezone(TZ).strftime(fmt)
