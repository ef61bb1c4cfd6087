"""Who is told what (issue 16.3): in-app notifications, and the e-mails service/mail.py sends.

Causes, each announced once to each person (a notification's `key` is unique per user):
- `new_flag`: a flag at or above the reader's severity threshold (their choice, else `[alerts] min_severity`), to the
  board's readers (admin, staff, analyst) whose unit sees it; the words are the flag as their scope reads it
  (service/scope.py), so a unit never learns another unit's collaborators' words by e-mail either;
- `escalation`: a flag «báo cáo lên cấp trên», to the readers of the unit above the one who escalated (the province's
  other readers when the province escalates);
- `report_review`: a unit's report sent and waiting, to the readers of the unit above;
- `briefing`: the daily briefing is ready, to every reader;
- `watch_search`: a saved search made a watch query found `watch_threshold` new items, to its owner; the same new
  items also raise one `watch_query` flag in the board's queue, scoped to the owner's unit (raised whether or not the
  owner chose to be told, never twice for the same items: the query's counter moves past them in the same transaction);
- `report_due`: the unit's monthly or annual report not yet sent, `REPORT_DUE_DAYS` days before its due day and on
  the due day itself, to the unit's staff (admin, staff), once per report and reminder.
Each user chooses the kinds, the threshold and whether e-mail is sent on their «Thông báo» page.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlencode

from service.config import Settings
from service.scope import Scope, scoped_flag
from service.store import Store, iso
from service.trends import KIND_NAMES
from service.vnformat import number

log = logging.getLogger("pulse.alerts")

KINDS = {
    "new_flag": "Cảnh báo mới ở mức độ cao",
    "escalation": "Cảnh báo được báo cáo lên đơn vị tôi",
    "report_review": "Báo cáo của đơn vị cấp dưới chờ xem xét",
    "briefing": "Bản tin hằng ngày đã sẵn sàng",
    "watch_search": "Tìm kiếm theo dõi có tin mới",
    "report_due": "Báo cáo tháng, năm của đơn vị sắp đến hạn gửi",
}
READERS = ("admin", "staff", "analyst")   # who reads flags, and so may be told of them
WATCH_SHOWN = 5   # titles of new matches listed in a watch query's alert
WATCH_FLAG_ITEMS = 500   # new matches a watch query's flag keeps as evidence
# a watch query's flag: below the default `[alerts] min_severity` (60), so the owner's own choice is not announced to
# every reader as a serious flag; the queue shows it among the stories of middling weight
WATCH_FLAG_SEVERITY = 50.0
REPORT_DUE_DAYS = 3   # a report not yet sent is recalled this many days before its due day, and on the day
WRITERS = ("admin", "staff")   # who drafts and sends a unit's report


def _day_vn(day: str) -> str:
    return f"{day[8:10]}/{day[5:7]}/{day[:4]}" if len(day) >= 10 else day


def _title(store: Store, flag: dict) -> str:
    """The flag's headline as the reader's scope has it; else the start of its first visible item (collaborators'
    reports have no title), else its kind."""
    if flag.get("title"):
        return flag["title"]
    for item in store.items_by_ids(list(flag.get("item_ids") or [])[:1]):
        text = " ".join((item.get("text") or "").split())
        if text:
            return text if len(text) <= 90 else text[:90].rsplit(" ", 1)[0] + " …"
    return flag.get("stream_label") or KIND_NAMES.get(flag["kind"], "Cảnh báo")


class Recipients:
    """The readers who may be told anything, with their choices and scope (read once per scan)."""

    def __init__(self, store: Store, settings: Settings):
        self.units = {u["code"]: u for u in store.org_units()}
        by_id = {u["id"]: u["code"] for u in self.units.values()}
        self.parent = {code: by_id.get(u["parent_id"]) for code, u in self.units.items()}
        self.root = next((code for code, u in self.units.items() if u["parent_id"] is None), None)
        self.smtp = bool(settings.smtp.host)
        self.people = []
        for r in store.alert_recipients():
            if r["role"] not in READERS or not r["unit"]:
                continue
            r["kinds"] = set(KINDS) if r["kinds"] is None else set(r["kinds"])
            if r["min_severity"] is None:
                r["min_severity"] = settings.alerts.min_severity
            r["by_email"] = True if r["by_email"] is None else bool(r["by_email"])
            r["scope"] = Scope(frozenset(store.unit_subtree(r["unit"])), province=r["unit"] == self.root)
            self.people.append(r)

    def wanting(self, kind: str) -> list[dict]:
        return [p for p in self.people if kind in p["kinds"]]

    def of_unit(self, code: str | None, kind: str) -> list[dict]:
        return [p for p in self.wanting(kind) if p["unit"] == code]

    def above(self, code: str | None) -> str | None:
        """The unit a report or an escalation goes up to: the parent, or the province itself at the top."""
        if not code or code not in self.units:
            return self.root
        return self.parent.get(code) or self.root

    def email(self, person: dict) -> str:
        return (person.get("email") or "") if self.smtp and person["by_email"] else ""


def _note(person: dict, key: str, kind: str, subject: str, body: str, link: str, who: Recipients) -> dict:
    return {"user_id": person["id"], "key": key, "kind": kind, "subject": subject, "body": body, "link": link,
            "email": who.email(person)}


def _fresh(store: Store, candidates: list[tuple[dict, str]]) -> list[tuple[dict, str]]:
    """The (person, key) pairs not yet notified."""
    done = store.notification_keys(sorted({key for _, key in candidates}))
    return [(p, k) for p, k in candidates if (p["id"], k) not in done]


def flag_alerts(store: Store, who: Recipients, since: str) -> list[dict]:
    """A new (or newly serious) flag to each reader whose unit sees it and whose threshold it reaches."""
    people = who.wanting("new_flag")
    if not people:
        return []
    from service.datadir import topic_names

    flags = store.flags_updated_since(since, min(p["min_severity"] for p in people))
    candidates = [(p, f"flag:{f['id']}") for f in flags for p in people
                  if f["severity"] >= p["min_severity"] and p["scope"].sees_flag(f)]
    by_key = {f"flag:{f['id']}": f for f in flags}
    names = topic_names()
    out = []
    for person, key in _fresh(store, candidates):
        flag = scoped_flag(store, person["scope"], by_key[key], names)
        title = _title(store, flag)
        severity = number(float(flag.get("severity") or 0), 1)
        subject = f"[Pulse] Cảnh báo mới, mức độ {severity}: {title}"
        body = "\n".join([f"Cảnh báo: {title}", f"Loại: {KIND_NAMES.get(flag['kind'], flag['kind'])}",
                          f"Mức độ nghiêm trọng: {severity}/100", f"Số tin: {number(flag.get('count') or 0)}",
                          "", flag.get("reason") or ""])
        out.append(_note(person, key, "new_flag", subject, body, f"/flags/{flag['id']}", who))
    return out


def escalation_alerts(store: Store, who: Recipients, since: str) -> list[dict]:
    """An escalation to the readers of the unit above the one who escalated."""
    from service.datadir import topic_names

    out = []
    names = topic_names()
    for event in store.escalations_since(since):
        flag = store.flag(event["flag_id"])
        if flag is None:
            continue
        target = who.above(event["unit"])
        people = [p for p in who.of_unit(target, "escalation") if p["username"] != event["username"]
                  and p["scope"].sees_flag(flag)]
        for person, key in _fresh(store, [(p, f"escalation:{event['id']}") for p in people]):
            seen = scoped_flag(store, person["scope"], flag, names)
            title = _title(store, seen)
            unit = who.units.get(event["unit"] or "", {}).get("name") or "đơn vị cấp dưới"
            subject = f"[Pulse] {unit} báo cáo lên: {title}"
            body = "\n".join([f"{event['username']} ({unit}) đã báo cáo lên cấp trên cảnh báo «{title}».",
                              f"Mức độ nghiêm trọng: {number(float(flag.get('severity') or 0), 1)}/100",
                              *([f"Ghi chú: {event['note']}"] if event["note"] else []), "", seen.get("reason") or ""])
            out.append(_note(person, key, "escalation", subject, body, f"/flags/{flag['id']}", who))
    return out


def report_alerts(store: Store, who: Recipients, since: str) -> list[dict]:
    """A unit's report sent to the unit above, to that unit's readers."""
    out = []
    for report in store.reports_sent_since(since):
        target = who.above(report["org_unit"])
        if target == report["org_unit"]:   # the province's own report goes to nobody above it
            continue
        unit = who.units.get(report["org_unit"], {}).get("name") or report["org_unit"]
        day = report["first_day"]
        period = f"tháng {day[5:7]}/{day[:4]}" if report["period"] == "month" else f"năm {day[:4]}"
        people = who.of_unit(target, "report_review")
        for person, key in _fresh(store, [(p, f"report:{report['id']}") for p in people]):
            subject = f"[Pulse] Báo cáo {period} của {unit} chờ xem xét"
            body = (f"{unit} đã gửi báo cáo {period} (lần {report['revision']}) lúc "
                    f"{_local_time(report['sent_at'])}. Báo cáo đang chờ đơn vị cấp trên xem xét.")
            link = f"/unit-reports/{report['id']}"
            out.append(_note(person, key, "report_review", subject, body, link, who))
    return out


def briefing_alerts(store: Store, who: Recipients, since: str) -> list[dict]:
    out = []
    people = who.wanting("briefing")
    for row in store.briefings_since(since):
        for person, key in _fresh(store, [(p, f"briefing:{row['day']}") for p in people]):
            subject = f"[Pulse] Bản tin ngày {_day_vn(row['day'])} đã sẵn sàng"
            body = f"Bản tin tổng hợp dư luận ngày {_day_vn(row['day'])} đã được lập; mời đồng chí xem trên Pulse."
            out.append(_note(person, key, "briefing", subject, body, f"/briefings/{row['day']}", who))
    return out


def watch_alerts(store: Store, who: Recipients) -> int:
    """Each watch query counts the items stored since it last spoke, in its owner's scope; at its threshold it raises
    a `watch_query` flag with those items in the board's queue, tells its owner (when they chose to be told), listing
    the newest titles, and starts counting again. Returns how many alerts were made."""
    from service.search import SearchError, parse

    people = {p["id"]: p for p in who.people}
    made = 0
    for saved in store.watched_searches():
        person = people.get(saved["user_id"])
        if person is None:
            continue
        params = saved["params"]
        try:
            node = parse(params.get("q", ""))
        except SearchError:
            continue   # refused when saved; a later change of the parser must not stop the other queries
        scope: Scope = person["scope"]
        units = None if scope.province else sorted(scope.units)
        if params.get("unit"):
            units = [u for u in store.unit_subtree(params["unit"]) if scope.province or u in scope.units]
        top = store.max_item_id()
        try:
            total, rows = store.search(
                node, kind=params.get("kind") or None, topic=params.get("topic") or None,
                tone=params.get("tone") or None, source=params.get("source") or None,
                channel=params.get("channel") or None, units=units, include_public=not params.get("unit"),
                since_day=params.get("since") or None, until_day=params.get("until") or None, order="newest",
                limit=WATCH_FLAG_ITEMS, after_id=saved["watch_seen_id"])
        except Exception:   # one broken query never stops the others
            log.exception("watch query %s failed", saved["id"])
            continue
        rows = [r for r in rows if r["id"] <= top and scope.sees_item(r)]   # later items: the next run's
        if total < saved["watch_threshold"] or not rows:
            continue
        subject = f"[Pulse] «{saved['name']}»: {number(total)} tin mới khớp tìm kiếm theo dõi"
        body = "\n".join([f"Tìm kiếm theo dõi «{saved['name']}» có {number(total)} tin mới "
                          f"(ngưỡng báo: {number(saved['watch_threshold'])}). Tin mới nhất:", "",
                          *(f"- {r['title'] or (r['text'] or '')[:120]}" for r in rows[:WATCH_SHOWN])])
        link = "/items?" + urlencode({**params, "order": "newest"})
        note = None
        if "watch_search" in person["kinds"]:
            note = _note(person, f"search:{saved['id']}:{top}", "watch_search", subject, body, link, who)
        store.advance_search_watch(saved["id"], top, note, watch_flag(saved, person, rows, top))
        made += note is not None
    return made


def watch_flag(saved: dict, person: dict, rows: list[dict], top: int) -> dict:
    """The board's flag of a watch query's new matches: keyed by the query and the last item it counted (so the
    same matches never make a second flag), its evidence the items, scoped to the owner's unit."""
    from collections import Counter

    ids = sorted(r["id"] for r in rows)
    stamps = sorted(r["published_at"] for r in rows if r.get("published_at"))
    now = iso(datetime.now(timezone.utc))
    per_day = Counter(r["day"] for r in rows if r.get("day"))
    topics = Counter(r["topic"] for r in rows if r.get("topic"))
    threshold = saved["watch_threshold"]
    return {
        "key": f"watch_query:{saved['id']}:{top}", "kind": "watch_query", "stream_id": None,
        "topic": topics.most_common(1)[0][0] if topics else None, "score": float(len(ids)),
        "window_start": min(stamps[0], now) if stamps else now, "window_end": now, "count": len(ids),
        "baseline": float(threshold), "severity": WATCH_FLAG_SEVERITY, "keyphrases": [], "item_ids": ids,
        "title": f"Tìm kiếm theo dõi «{saved['name']}»: {number(len(ids))} tin mới",
        "reason": (f"Tìm kiếm theo dõi «{saved['name']}» của {person['username']} có {number(len(ids))} tin mới khớp, "
                   f"vượt ngưỡng {number(threshold)} tin."),
        "evidence": {"scope": "watch_query", "search_id": saved["id"], "search": saved["name"],
                     "owner": person["username"], "units": {person["unit"]: len(ids)},
                     "representative": [r["id"] for r in rows[:WATCH_SHOWN]],
                     "timeline": [{"day": d, "count": n} for d, n in sorted(per_day.items())]},
    }


def report_due_alerts(store: Store, who: Recipients, settings: Settings, today: date) -> list[dict]:
    """Each unit's report not yet sent, `REPORT_DUE_DAYS` days before its due day and on the day, to its staff."""
    from service.unitreports import reminders

    people = [p for p in who.wanting("report_due") if p["role"] in WRITERS]
    out = []
    for code in sorted({p["unit"] for p in people}):
        unit = who.units.get(code, {}).get("name") or code
        for r in reminders(store, code, settings, today):
            if r["days_left"] == 0:
                stage, when = "0", f"hôm nay ({r['due_vn']}) là hạn cuối"
            elif 0 < r["days_left"] <= REPORT_DUE_DAYS:
                stage, when = str(REPORT_DUE_DAYS), f"còn {number(r['days_left'])} ngày, hạn cuối {r['due_vn']}"
            else:
                continue
            key = f"report_due:{code}:{r['period']}:{r['first']}:{stage}"
            link = f"/unit-reports/{r['report_id']}" if r["report_id"] else "/unit-reports"
            subject = f"[Pulse] Báo cáo {r['label']} của {unit} chưa gửi: {when}"
            body = (f"{r['name']} {r['label']} của {unit} chưa được gửi lên cấp trên; {when}. "
                    f"Mời đồng chí hoàn thiện {'bản nháp' if r['report_id'] else 'báo cáo'} và gửi trên Pulse.")
            for person, key in _fresh(store, [(p, key) for p in people if p["unit"] == code]):
                out.append(_note(person, key, "report_due", subject, body, link, who))
    return out


def _local_time(value: str | None) -> str:
    from service.timeutil import show

    return show(value) if value else ""


def scan(store: Store, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Make every notification due (and queue its e-mail); returns how many of each kind were made."""
    now = now or datetime.now(timezone.utc)
    since = iso(now - timedelta(hours=settings.alerts.lookback_hours))
    who = Recipients(store, settings)
    counts: dict[str, int] = {}
    for kind, make in (("new_flag", flag_alerts), ("escalation", escalation_alerts), ("report_review", report_alerts),
                       ("briefing", briefing_alerts)):
        try:
            rows = make(store, who, since)
            counts[kind] = len(store.add_notifications(rows, iso(now)))
        except Exception:   # one cause that fails never stops the others
            log.exception("alerts of kind %s failed", kind)
            counts[kind] = 0
    try:
        from service.timeutil import TZ

        rows = report_due_alerts(store, who, settings, now.astimezone(TZ).date())
        counts["report_due"] = len(store.add_notifications(rows, iso(now)))
    except Exception:
        log.exception("alerts of kind report_due failed")
        counts["report_due"] = 0
    counts["watch_search"] = watch_alerts(store, who)
    return counts
