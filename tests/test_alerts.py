"""Alerts (issue 16.3) against a real SMTP server on 127.0.0.1 (aiosmtpd): a new serious flag reaches the readers whose
unit sees it, in the bell and by e-mail, once, in Vietnamese, in the words their scope may read; an escalation, a
unit's report and the daily briefing reach the right people; a failing mail server loses nothing and the admin sees
it; a saved search made a watch query tells its owner when enough new items match."""
from __future__ import annotations

import email
import email.policy
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from collectors.items import RawItem
from service import alerts, jobs
from service.app import create_app
from service.mail import send_due
from service.store import Store
from web_support import OTHER, OWN, csrf_of, free_port, login, make_installation, observation

MARK_A, MARK_B = "xqzalphá", "xqzbếta"


class Inbox:
    """What the loopback SMTP server received: (envelope recipients, parsed message)."""

    def __init__(self):
        self.received: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.original_content or envelope.content,
                                                       policy=email.policy.default)))
        return "250 Message accepted"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for rcpt, m in self.received if address in rcpt]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), ready_timeout=10)
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


@pytest.fixture
def inst(tmp_path):
    # the reports' reminders (report_due) fall on days of the calendar: every test runs on 15 June 2026, when no
    # report is coming due, so what it counts does not depend on the day the suite runs (the reminders' own test
    # gives its days to the scan)
    with time_machine.travel(datetime(2026, 6, 15, 3, tzinfo=timezone.utc), tick=True):
        yield make_installation(tmp_path)


def _configure(inst, port: int) -> None:
    inst.settings.smtp.host = "127.0.0.1"
    inst.settings.smtp.port = port
    inst.settings.smtp.sender = "pulse@ldld.example"
    inst.settings.alerts.base_url = "http://pulse.example"
    for name in ("staff1", "staff2", "root", "analyst1"):
        inst.store.set_alert_prefs(inst.users[name], f"{name}@ldld.example", list(alerts.KINDS), 50, True)


def _item(store, user: str, text: str, unit: str) -> int:
    sid, _ = store.add_submission(store.user(user)["id"], uuid.uuid4().hex, observation(text, unit, user))
    return store.submissions(ids=[sid])[0]["item_id"]


def _flag(store, key: str, items: list[int], units: dict, severity: float, title: str, reason: str) -> int:
    now = datetime.now(timezone.utc)
    flag_id, _ = store.save_story_flag({
        "key": key, "kind": "new_stream", "stream_id": None, "topic": "tien_luong", "score": 5.0,
        "window_start": (now - timedelta(days=1)).isoformat(), "window_end": now.isoformat(), "count": len(items),
        "baseline": 0.0, "reason": reason, "keyphrases": [], "item_ids": items, "severity": severity, "title": title,
        "evidence": {"units": units, "timeline": [{"day": "2026-01-01", "count": len(items)}],
                     "representative": items}})
    return flag_id


def _run_alerts_job(inst) -> dict:
    """As the job worker does: take the queued `alerts` job and run the work registered for it."""
    jobs.enqueue(inst.store, "alerts", {}, requested_by="scheduler")
    job = jobs.claim_next(inst.store, ["alerts"])
    return jobs.run_claimed(inst.store, job, settings=inst.settings)


def test_a_serious_flag_reaches_each_reader_once_by_bell_and_email_in_their_scope(inst, smtp):
    controller, inbox = smtp
    _configure(inst, controller.port)
    store = inst.store
    own = _item(store, "collab1", f"Công nhân bệnh viện {MARK_A} phản ánh nợ lương ca đêm.", OWN)
    other = _item(store, "collab2", f"Giáo viên trường {MARK_B} phản ánh nợ lương.", OTHER)
    serious = _flag(store, "story:1", [other, own], {OTHER: 1, OWN: 1}, 82.4, f"Giáo viên trường {MARK_B} bị nợ lương",
                    f"Luồng «{MARK_B} · nợ lương» được cộng tác viên của {OTHER}, {OWN} phản ánh.")
    _flag(store, "story:2", [own], {OWN: 1}, 31.0, "Chuyện nhỏ", "Một tin.")   # below everyone's threshold

    job = _run_alerts_job(inst)
    assert job["status"] == "done", job["error"]
    # every reader whose unit sees it (both units' and the province's): six; e-mail to the four who gave an address
    assert job["counts"]["new_flag"] == 6 and job["counts"]["sent"] == 4

    [mine] = inbox.to("staff1@ldld.example")
    subject = mine["Subject"]
    assert subject.startswith("[Pulse] Cảnh báo mới, mức độ 82,4: ")
    body = mine.get_content()
    assert f"http://pulse.example/flags/{serious}" in body and "Mức độ nghiêm trọng: 82,4/100" in body
    assert MARK_A in subject + body, "the reader's own unit's words are there"
    assert MARK_B not in subject + body and OTHER not in body, "another unit's words never reach unit A by e-mail"
    assert "đơn vị khác" in body
    [provinces] = inbox.to("root@ldld.example")
    assert MARK_B in provinces["Subject"], "the province reads every unit"
    assert "Chuyện nhỏ" not in "".join(m["Subject"] for _, m in inbox.received)

    # the bell: one unread notification, on every page; reading it opens the flag and clears the count
    client = TestClient(create_app(inst.settings, start_worker=False), follow_redirects=False)
    assert login(client, "staff1").status_code == 303
    page = client.get("/alerts").text
    assert 'id="bell-count">1<' in page and "Cảnh báo mới, mức độ 82,4" in page and MARK_B not in page
    note = store.notifications(inst.users["staff1"])[0]
    opened = client.post(f"/alerts/{note['id']}/read", data={"csrf_token": csrf_of(page)})
    assert opened.headers["location"] == f"/flags/{serious}"
    assert 'id="bell-count"' not in client.get("/alerts").text
    assert client.get("/alerts/unread.json").json() == {"unread": 0}

    # once: the next cycle (and a flag that only changed a little) sends nothing more
    _flag(store, "story:1", [other, own], {OTHER: 1, OWN: 1}, 83.0, f"Giáo viên trường {MARK_B} bị nợ lương", "Lại.")
    again = _run_alerts_job(inst)
    assert again["status"] == "done" and again["counts"]["new_flag"] == 0 and again["counts"]["sent"] == 0
    assert len(inbox.received) == 4


def test_a_failing_mail_server_loses_nothing_and_the_admin_sees_it(inst):
    port = free_port()   # nothing listens there yet
    _configure(inst, port)
    store = inst.store
    own = _item(store, "collab1", "Công nhân phản ánh nợ lương.", OWN)
    _flag(store, "story:9", [own], {OWN: 1}, 90.0, "Công ty may nợ lương công nhân", "Bốn tin trong ngày.")
    job = _run_alerts_job(inst)
    assert job["status"] == "failed" and "not sent" in job["error"]
    assert job["error"].count("ConnectionRefusedError") >= 1
    waiting = store.outbox()
    assert {r["username"] for r in waiting} == {"staff1", "analyst1", "root"}
    assert all(r["status"] == "pending" and r["attempts"] == 1 and r["last_error"] for r in waiting)
    client = TestClient(create_app(inst.settings, start_worker=False), follow_redirects=False)
    assert login(client, "root").status_code == 303
    page = client.get("/admin/alerts").text
    assert "Chờ gửi lại" in page and "ConnectionRefusedError" in page and "Công ty may nợ lương công nhân" in page
    # not before its next attempt …
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    try:
        assert send_due(store, inst.settings) == {"sent": 0, "failed": 0}
        later = datetime.now(timezone.utc) + timedelta(minutes=2)
        assert send_due(store, inst.settings, now=later) == {"sent": 3, "failed": 0}
        assert send_due(store, inst.settings, now=later + timedelta(hours=2)) == {"sent": 0, "failed": 0}
    finally:
        controller.stop()
    assert sorted(r[0][0] for r in inbox.received) == ["analyst1@ldld.example", "root@ldld.example",
                                                       "staff1@ldld.example"]
    assert inbox.received[0][1]["Subject"] == "[Pulse] Cảnh báo mới, mức độ 90: Công ty may nợ lương công nhân"
    assert store.outbox() == [] and store.outbox_counts() == {"sent": 3}


def test_an_email_given_up_is_shown_failed_and_sent_again_on_the_admins_request(inst, smtp):
    controller, inbox = smtp
    _configure(inst, free_port())
    inst.settings.alerts.max_attempts = 2
    store = inst.store
    _flag(store, "story:3", [_item(store, "collab1", "Nợ lương.", OWN)], {OWN: 1}, 70.0, "Nợ lương", "Lý do.")
    _run_alerts_job(inst)
    with pytest.raises(Exception):
        send_due(store, inst.settings, now=datetime.now(timezone.utc) + timedelta(minutes=5))
    assert {r["status"] for r in store.outbox()} == {"failed"}
    inst.settings.smtp.port = controller.port
    assert send_due(store, inst.settings, now=datetime.now(timezone.utc) + timedelta(days=1))["sent"] == 0
    client = TestClient(create_app(inst.settings, start_worker=False), follow_redirects=False)
    assert login(client, "root").status_code == 303
    page = client.get("/admin/alerts").text
    assert "Gửi không được" in page
    assert client.post("/admin/alerts/retry", data={"csrf_token": csrf_of(page)}).status_code == 303
    assert send_due(store, inst.settings)["sent"] == 3 and len(inbox.received) == 3


def test_escalation_and_briefing_reach_the_unit_above_and_every_reader(inst, smtp):
    controller, inbox = smtp
    _configure(inst, controller.port)
    store = inst.store
    own = _item(store, "collab1", "Công nhân phản ánh nợ lương.", OWN)
    flag_id = _flag(store, "story:5", [own], {OWN: 1}, 20.0, "Bệnh viện chậm trả lương", "Hai tin.")   # not serious
    store.add_flag_event(flag_id, "staff1", "escalate", "Đề nghị Ban chỉ đạo.", new_status="escalated")
    store.save_briefing(datetime.now(timezone.utc).date().isoformat(), "<p>Bản tin</p>", {})
    counts = alerts.scan(store, inst.settings)
    # the province is above cb-yte: its two admins (root, and admin made by init); the briefing: every reader
    assert counts["escalation"] == 2 and counts["briefing"] == 6 and counts["new_flag"] == 0
    kinds = {n["kind"]: n for n in store.notifications(inst.users["root"])}
    assert kinds["escalation"]["subject"] == "[Pulse] Công đoàn ngành Y tế tỉnh báo cáo lên: Bệnh viện chậm trả lương"
    assert "Ghi chú: Đề nghị Ban chỉ đạo." in kinds["escalation"]["body"]
    assert kinds["briefing"]["subject"].endswith("đã sẵn sàng")
    assert {n["kind"] for n in store.notifications(inst.users["staff1"])} == {"briefing"}
    assert alerts.scan(store, inst.settings) == {k: 0 for k in counts}   # each said once
    assert send_due(store, inst.settings)["sent"] == 5   # root: both; the briefing to the three others with e-mail
    assert any("báo cáo lên" in m["Subject"] for m in inbox.to("root@ldld.example"))


@pytest.mark.skipif(not hasattr(Store, "add_unit_report"),
                    reason="the units' reports workflow (service/unitreports.py) has not landed in this checkout")
def test_a_units_report_sent_is_told_to_the_unit_above(inst):
    store = inst.store
    with store.transaction():
        report = store.add_unit_report(OWN, "month", "2026-11-01", {}, {}, "staff1")
        store.mark_unit_report(report, "sent", "staff1")
    assert alerts.scan(store, inst.settings)["report_review"] == 2   # root and admin, at the province above cb-yte
    [note] = [n for n in store.notifications(inst.users["root"]) if n["kind"] == "report_review"]
    assert note["subject"] == "[Pulse] Báo cáo tháng 11/2026 của Công đoàn ngành Y tế tỉnh chờ xem xét"
    assert note["link"] == f"/unit-reports/{report}"
    assert store.notifications(inst.users["staff1"]) == []
    assert alerts.scan(store, inst.settings)["report_review"] == 0


def test_each_user_chooses_what_to_be_told(inst):
    store = inst.store
    client = TestClient(create_app(inst.settings, start_worker=False), follow_redirects=False)
    assert login(client, "staff1").status_code == 303
    csrf = csrf_of(client.get("/alerts").text)
    bad = client.post("/alerts/settings", data={"csrf_token": csrf, "email": "không phải thư", "min_severity": "50"})
    assert bad.status_code == 400 and "Địa chỉ thư điện tử không hợp lệ." in bad.text
    assert client.post("/alerts/settings", data={"csrf_token": csrf, "min_severity": "150"}).status_code == 400
    done = client.post("/alerts/settings", data={"csrf_token": csrf, "kinds": ["briefing"], "min_severity": "75,5",
                                                 "email": "staff1@ldld.example", "by_email": "1"})
    assert done.headers["location"] == "/alerts?saved=1"
    prefs = store.alert_prefs(inst.users["staff1"])
    assert prefs["kinds"] == ["briefing"] and prefs["min_severity"] == 75.5 and prefs["by_email"] == 1
    assert 'value="75,5"' in client.get("/alerts").text
    _flag(store, "story:7", [_item(store, "collab1", "Nợ lương.", OWN)], {OWN: 1}, 95.0, "Rất nặng", "Lý do.")
    alerts.scan(store, inst.settings)
    assert store.notifications(inst.users["staff1"]) == []          # chose briefings only
    assert len(store.notifications(inst.users["analyst1"])) == 1    # never chose: the defaults
    assert store.outbox() == []                                     # no mail server configured: in the app only


def test_a_watch_query_tells_its_owner_when_enough_new_items_match(inst):
    store = inst.store
    owner = inst.users["staff1"]
    search = store.save_search(owner, "nợ lương y tế", {"q": '"nợ lương"'})
    client = TestClient(create_app(inst.settings, start_worker=False), follow_redirects=False)
    assert login(client, "staff1").status_code == 303
    csrf = csrf_of(client.get("/alerts").text)
    _item(store, "collab1", "Nợ lương từ trước khi theo dõi.", OWN)   # stored before: never counted
    answer = client.post(f"/items/saved/{search}/watch", data={"csrf_token": csrf, "watch": "1", "threshold": "2"})
    assert answer.status_code == 303
    assert "đang theo dõi, báo khi có 2 tin mới" in client.get("/alerts").text
    _item(store, "collab2", f"Giáo viên {MARK_B} bị nợ lương.", OTHER)   # another unit's: not the owner's to see
    _item(store, "collab1", "Điều dưỡng bị nợ lương ca trực.", OWN)
    assert alerts.scan(store, inst.settings)["watch_search"] == 0        # one new match of two
    store.add_items([RawItem(title="Doanh nghiệp nợ lương công nhân", text="Báo đưa tin nợ lương.", source="baocb",
                             url="https://baocaobang.vn/no-luong.html", published_at=datetime.now(timezone.utc))])
    store.add_items([RawItem(title="Giá lúa tăng", text="Không liên quan.", source="baocb",
                             url="https://baocaobang.vn/lua.html", published_at=datetime.now(timezone.utc))])
    assert alerts.scan(store, inst.settings)["watch_search"] == 1
    [note] = store.notifications(owner)
    assert note["subject"] == "[Pulse] «nợ lương y tế»: 2 tin mới khớp tìm kiếm theo dõi"
    assert "Doanh nghiệp nợ lương công nhân" in note["body"] and "Điều dưỡng bị nợ lương" in note["body"]
    assert MARK_B not in note["body"] and "Giá lúa" not in note["body"]
    assert note["link"].startswith("/items?q=")
    assert alerts.scan(store, inst.settings)["watch_search"] == 0        # counting starts again
    assert client.get(note["link"]).status_code == 200
    other = TestClient(create_app(inst.settings, start_worker=False), follow_redirects=False)
    assert login(other, "staff2").status_code == 303
    csrf2 = csrf_of(other.get("/alerts").text)
    assert other.post(f"/items/saved/{search}/watch", data={"csrf_token": csrf2, "watch": "0"}).status_code == 404


def test_a_watch_query_raises_one_flag_in_the_queue_scoped_to_its_owners_unit(inst):
    store = inst.store
    owner = inst.users["staff1"]
    search = store.save_search(owner, "nợ lương bệnh viện", {"q": '"nợ lương"'})
    assert store.set_search_watch(owner, search, True, 2)
    store.set_alert_prefs(owner, "", ["briefing"], 60, False)   # not told: the board's flag is raised all the same
    new = [_item(store, "collab1", f"Điều dưỡng khoa {n} bị nợ lương ca trực.", OWN) for n in range(3)]
    _item(store, "collab1", "Bệnh viện tổ chức hội thao.", OWN)   # no match
    _item(store, "collab2", f"Giáo viên {MARK_B} bị nợ lương.", OTHER)   # not the owner's to see
    counts = alerts.scan(store, inst.settings)
    assert counts["watch_search"] == 0 and store.notifications(owner) == []
    [flag] = [f for f in store.flags() if f["kind"] == "watch_query"]
    assert sorted(flag["item_ids"]) == sorted(new) and flag["count"] == 3 and flag["status"] == "open"
    assert flag["title"] == "Tìm kiếm theo dõi «nợ lương bệnh viện»: 3 tin mới"
    assert "vượt ngưỡng 2 tin" in flag["reason"] and flag["evidence"]["units"] == {OWN: 3}
    assert alerts.scan(store, inst.settings)["watch_search"] == 0
    again = [f["id"] for f in store.flags() if f["kind"] == "watch_query"]
    assert again == [flag["id"]], "the same matches raise no second flag"

    app = create_app(inst.settings, start_worker=False)
    mine = TestClient(app, follow_redirects=False)
    assert login(mine, "staff1").status_code == 303
    assert "Tìm kiếm theo dõi «nợ lương bệnh viện»" in mine.get("/queue").text
    page = mine.get(f"/flags/{flag['id']}").text
    assert "Điều dưỡng khoa 0 bị nợ lương" in page and MARK_B not in page
    theirs = TestClient(app, follow_redirects=False)
    assert login(theirs, "staff2").status_code == 303
    assert "nợ lương bệnh viện" not in theirs.get("/queue").text
    assert theirs.get(f"/flags/{flag['id']}").status_code == 404


def test_a_report_coming_due_is_recalled_to_the_units_staff_once_by_email(inst, smtp):
    controller, inbox = smtp
    _configure(inst, controller.port)
    store = inst.store
    store.set_alert_prefs(inst.users["staff2"], "staff2@ldld.example", ["briefing"], 50, True)   # switched it off
    with store.transaction():
        draft = store.add_unit_report(OWN, "month", "2026-11-01", {}, {}, "staff1")
    three_days = datetime(2026, 12, 2, 3, tzinfo=timezone.utc)   # 10:00 in Vietnam; the November report is due 05/12
    counts = alerts.scan(store, inst.settings, now=three_days)
    # the staff of each unit with readers: cb-yte's admin1 and staff1, the province's root and admin (not analyst1)
    assert counts["report_due"] == 4
    assert alerts.scan(store, inst.settings, now=three_days + timedelta(hours=5))["report_due"] == 0
    assert send_due(store, inst.settings, now=three_days)["sent"] == 2   # staff1 and root gave an address
    [mail] = inbox.to("staff1@ldld.example")
    assert mail["Subject"] == ("[Pulse] Báo cáo tháng 11/2026 của Công đoàn ngành Y tế tỉnh chưa gửi: "
                               "còn 3 ngày, hạn cuối 05/12/2026")
    assert f"http://pulse.example/unit-reports/{draft}" in mail.get_content()
    assert inbox.to("staff2@ldld.example") == [] and inbox.to("analyst1@ldld.example") == []
    assert [n["kind"] for n in store.notifications(inst.users["analyst1"])] == []

    with store.transaction():
        store.mark_unit_report(draft, "sent", "staff1")
    due_day = datetime(2026, 12, 5, 3, tzinfo=timezone.utc)
    assert alerts.scan(store, inst.settings, now=due_day)["report_due"] == 2   # the province's only: cb-yte sent
    assert [n["subject"] for n in store.notifications(inst.users["root"]) if n["kind"] == "report_due"][0].endswith(
        "chưa gửi: hôm nay (05/12/2026) là hạn cuối")
    assert len(inbox.to("staff1@ldld.example")) == 1
