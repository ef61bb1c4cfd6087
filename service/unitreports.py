"""The monthly and annual report workflow of every union level: drafted → edited → sent to the parent unit → received.

A unit's report of a period is a list of revisions. The newest revision is either a draft (its staff edit its
narrative parts; the computed parts come from `briefing.period_report` over the unit's subtree: press, collaborators,
dialogues) or a sent one. A sent revision is frozen (the store's trigger refuses a change of its words): editing it
again makes a new draft revision, which is sent in its turn. The parent unit sees the sent revisions of its units,
which are late (deadlines from `[reports]`), and marks each received. Every write is one transaction.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from nlp.normalize import clean_text
from service import briefing
from service.config import Settings
from service.store import Store
from service.timeutil import TZ

log = logging.getLogger("pulse.reports")

STATUS_NAMES = briefing.REPORT_STATUS
PERIOD_NAMES = {"month": "Báo cáo tháng", "year": "Báo cáo năm"}
NARRATIVE_PARTS = briefing.NARRATIVE_PARTS
NARRATIVE_LIMIT = 20_000   # characters of one narrative part


class ReportError(ValueError):
    """A step that cannot be taken (sending a report that was already sent, …), said in Vietnamese for the page."""


def period_first(period: str, ref: date) -> date:
    if period == "month":
        return ref.replace(day=1)
    if period == "year":
        return date(ref.year, 1, 1)
    raise ReportError("Kỳ báo cáo phải là tháng hoặc năm.")


def period_label(period: str, first: date) -> str:
    return f"tháng {first.month:02d}/{first.year}" if period == "month" else f"năm {first.year}"


def due_date(period: str, first: date, settings: Settings) -> date:
    """The last day on which the report is on time: the `monthly_due_day` of the next month; the day before
    `annual_due` («before 02/12») of the year."""
    if period == "month":
        following = (first + timedelta(days=32)).replace(day=1)
        return following + timedelta(days=settings.reports.monthly_due_day - 1)
    day, month = (int(x) for x in settings.reports.annual_due.split("/"))
    return date(first.year, month, day) - timedelta(days=1)


def current_periods(today: date, settings: Settings) -> list[tuple[str, date]]:
    """The periods a unit reports on now: the month before (drafted on `draft_day`), and the year from
    `annual_remind_days` before its due day to the end of the year."""
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    periods = [("month", last_month)] if today.day >= settings.reports.draft_day else []
    year = date(today.year, 1, 1)
    if today >= due_date("year", year, settings) - timedelta(days=settings.reports.annual_remind_days):
        periods.append(("year", year))
    return periods


def compose(store: Store, unit_code: str, period: str, first: date, settings: Settings, today: date) -> dict:
    """The computed part of a unit's report: `briefing.period_report` and its units' reports (for a parent)."""
    data = briefing.period_report(store, unit_code, period, first, settings)
    data["children"] = children_status(store, unit_code, period, first, settings, today)
    return data


def children_status(store: Store, unit_code: str, period: str, first: date, settings: Settings,
                    today: date) -> list[dict]:
    """The units directly under a unit with their report of the period as the parent may see it: the newest sent
    revision (never a draft), whether it was received, and whether the unit is late."""
    units = store.org_units()
    me = next((u for u in units if u["code"] == unit_code), None)
    if me is None:
        return []
    children = [u for u in units if u["parent_id"] == me["id"]]
    due = due_date(period, first, settings)
    revisions = store.unit_reports_of_period(period, first.isoformat(), [u["code"] for u in children])
    out = []
    for child in children:
        sent = next((r for r in revisions if r["org_unit"] == child["code"] and r["status"] != "draft"), None)
        out.append({
            "unit": child["code"], "unit_name": child["name"], "report_id": sent["id"] if sent else None,
            "status": sent["status"] if sent else None,
            "status_name": STATUS_NAMES[sent["status"]] if sent else "Chưa gửi",
            "revision": sent["revision"] if sent else 0,
            "sent_at": sent["sent_at"] if sent else None, "sent_by": sent["sent_by"] if sent else None,
            "sent_on": _vn_day(sent["sent_at"]) if sent else "",
            "received_at": sent["received_at"] if sent else None, "received_by": sent["received_by"] if sent else None,
            "late": sent is None and today > due, "due_vn": due.strftime("%d/%m/%Y"),
        })
    return out


def _vn_day(stamp: str | None) -> str:
    return datetime.fromisoformat(stamp).astimezone(TZ).strftime("%d/%m/%Y") if stamp else ""


def open_draft(store: Store, unit_code: str, period: str, first: date, settings: Settings, username: str,
               today: date) -> int:
    """The report's draft of the period holding `first` to edit: the newest revision when it is a draft, else a
    new draft revision (computed now, the narrative carried over from the revision before). Returns its id."""
    if store.org_unit(unit_code) is None:
        raise ReportError("Không có đơn vị này.")
    first = period_first(period, first)   # any day of the period names it
    data = compose(store, unit_code, period, first, settings, today)   # computed before the write lock
    with store.transaction():
        revisions = store.unit_report_revisions(unit_code, period, first.isoformat())
        if revisions and revisions[0]["status"] == "draft":
            return revisions[0]["id"]
        narrative = revisions[0]["narrative"] if revisions else {}
        return store.add_unit_report(unit_code, period, first.isoformat(), data, narrative, username)


def clean_narrative(values: dict[str, str]) -> dict[str, str]:
    """The narrative parts from a form: known parts only, trimmed, bounded."""
    out = {}
    for key, _ in NARRATIVE_PARTS:
        out[key] = clean_text(values.get(key), NARRATIVE_LIMIT)
    return out


def save(store: Store, report_id: int, narrative: dict[str, str], username: str, settings: Settings,
         today: date, refresh: bool = False) -> int:
    """Save the staff's words. A draft is changed in place (its computed part made again with `refresh`); a report
    that was sent stays as it was sent and the words go into a new draft revision. Returns the draft's id."""
    report = store.unit_report(report_id)
    if report is None:
        raise ReportError("Không tìm thấy báo cáo.")
    first = date.fromisoformat(report["first_day"])
    narrative = clean_narrative(narrative)
    fresh = report["status"] != "draft" or refresh
    data = compose(store, report["org_unit"], report["period"], first, settings, today) if fresh else None
    with store.transaction():
        latest = store.unit_report_revisions(report["org_unit"], report["period"], report["first_day"])[0]
        if latest["status"] == "draft":
            store.update_unit_report_draft(latest["id"], narrative, username, data)
            return latest["id"]
        return store.add_unit_report(report["org_unit"], report["period"], report["first_day"],
                                     data or latest["data"], narrative, username)


def send(store: Store, report_id: int, username: str, settings: Settings, today: date) -> dict:
    """Send a draft to the parent unit: its units' statuses are written into it as they are now, then it is frozen."""
    report = store.unit_report(report_id)
    if report is None:
        raise ReportError("Không tìm thấy báo cáo.")
    if report["status"] != "draft":
        raise ReportError("Báo cáo này đã được gửi; muốn sửa, hãy lưu nội dung mới để tạo bản sửa đổi.")
    first = date.fromisoformat(report["first_day"])
    children = children_status(store, report["org_unit"], report["period"], first, settings, today)
    with store.transaction():
        latest = store.unit_report_revisions(report["org_unit"], report["period"], report["first_day"])[0]
        if latest["id"] != report_id:
            raise ReportError("Đã có bản sửa đổi mới hơn của báo cáo này; hãy gửi bản mới nhất.")
        store.update_unit_report_draft(report_id, report["narrative"], username,
                                       {**report["data"], "children": children})
        if not store.mark_unit_report(report_id, "sent", username):
            raise ReportError("Báo cáo này đã được gửi.")
    return store.unit_report(report_id)


def receive(store: Store, report_id: int, username: str) -> dict:
    """The parent unit marks a sent report received."""
    with store.transaction():
        if not store.mark_unit_report(report_id, "received", username):
            raise ReportError("Chỉ báo cáo đã gửi và chưa được nhận mới có thể đánh dấu đã nhận.")
    return store.unit_report(report_id)


def document(report: dict) -> dict:
    """The report as `briefing.to_html` / `to_docx` draw it: its computed part with its staff's words."""
    data = dict(report["data"])
    data["narrative"] = report["narrative"]
    data["status_name"] = STATUS_NAMES.get(report["status"], report["status"])
    return data


def draft_due(store: Store, settings: Settings, today: date, username: str = "pulse") -> int:
    """The scheduler's step: every unit's report of the current periods that has no revision yet is drafted (on
    the 1st for the month before; ahead of the annual report's due day). Returns how many were drafted; one unit
    that fails does not stop the others."""
    made = 0
    units = store.org_units()
    for period, first in current_periods(today, settings):
        have = {r["org_unit"] for r in store.unit_reports_of_period(period, first.isoformat(),
                                                                      [u["code"] for u in units])}
        for unit in units:
            if unit["code"] in have:
                continue
            try:
                open_draft(store, unit["code"], period, first, settings, username, today)
                made += 1
            except Exception:   # logged; tried again at the next morning's run
                log.exception("drafting %s %s %s failed", unit["code"], period, first)
    return made


def reminders(store: Store, unit_code: str, settings: Settings, today: date) -> list[dict]:
    """What the unit still has to send: each current period's report not yet sent, with its due day and how many
    days are left (negative: late)."""
    out = []
    for period, first in current_periods(today, settings):
        revisions = store.unit_reports_of_period(period, first.isoformat(), [unit_code])
        if any(r["status"] != "draft" for r in revisions):
            continue
        due = due_date(period, first, settings)
        out.append({"period": period, "first": first.isoformat(), "label": period_label(period, first),
                    "name": PERIOD_NAMES[period], "due_vn": due.strftime("%d/%m/%Y"), "days_left": (due - today).days,
                    "report_id": revisions[0]["id"] if revisions else None})
    return out
