"""Days as the board lives them: local dates (the `timezone` setting, Asia/Ho_Chi_Minh by default), stored as UTC
instants. Every day boundary of Pulse goes through here: the day of an item at insert, the detectors' days, the
briefing's day, the SQL that groups runs by day (`sql_day_modifier`)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from service.config import LOCAL_TZ


class _LocalZone(tzinfo):
    """The installation's time zone, set once a process has read its settings (`use_timezone`). Modules keep the
    one object `TZ`; it answers as the zone in use."""

    def __init__(self, name: str):
        self.zone = ZoneInfo(name)

    def utcoffset(self, dt):
        return self.zone.utcoffset(_as(dt, self.zone))

    def dst(self, dt):
        return self.zone.dst(_as(dt, self.zone))

    def tzname(self, dt):
        return self.zone.tzname(_as(dt, self.zone))

    def fromutc(self, dt):
        return self.zone.fromutc(dt.replace(tzinfo=self.zone)).replace(tzinfo=self)

    def __repr__(self) -> str:
        return f"LocalZone({self.zone.key!r})"


def _as(dt, zone):
    return dt.replace(tzinfo=zone) if dt is not None else None


TZ = _LocalZone(LOCAL_TZ)


def use_timezone(name: str) -> None:
    """Make `name` (e.g. Asia/Ho_Chi_Minh) the local zone of every day boundary in this process."""
    try:
        TZ.zone = ZoneInfo(name)
    except (ValueError, KeyError) as exc:   # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"unknown timezone {name!r} (use a name like Asia/Ho_Chi_Minh)") from exc


def sql_day_modifier(at_utc_iso: str) -> str:
    """The SQLite date() modifier that turns a stored UTC time near `at_utc_iso` into local time ('+420 minutes')."""
    offset = datetime.fromisoformat(at_utc_iso).astimezone(TZ).utcoffset() or timedelta(0)
    return f"{int(offset.total_seconds() // 60):+d} minutes"


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
