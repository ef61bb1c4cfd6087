"""The home page's dashboard (issue 16.2): the flags that matter first in severity order, compact and paged; the
overview counted over the reader's units only (unit B's observations, name and flags never reach unit A's reader);
Vietnamese numbers; the banner when a source's last run failed."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from collectors.items import RawItem
from service.app import create_app
from service.timeutil import today_local
from web_support import OTHER, OWN, login, make_installation, observation

NAME_B = "Công đoàn ngành Giáo dục tỉnh"
MARK_B = "xqzbếta"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    inst = make_installation(tmp_path_factory.mktemp("dash"))
    store = inst.store
    now = datetime.now(timezone.utc) - timedelta(hours=1)
    day = today_local().isoformat()
    ids = {"A": [], "B": [], "P": []}
    for n in range(3):
        sid, _ = store.add_submission(inst.users["collab1"], uuid.uuid4().hex,
                                      observation(f"Công nhân bệnh viện phản ánh nợ lương lần {n}.", OWN, day=now))
        ids["A"].append(store.submissions(ids=[sid])[0]["item_id"])
    # many of unit B's: a count of unit A's reader must not carry them
    ids["B"] = store.add_items([observation(f"Giáo viên {MARK_B} phản ánh số {n}.", OTHER, day=now) for n in range(1200)])
    for n in range(2):
        ids["P"] += store.add_items([RawItem(title=f"Báo đưa tin nợ lương {n}", text="Doanh nghiệp chậm lương.",
                                             url=f"https://baocaobang.vn/{n}.html", source="baocaobang.vn",
                                             published_at=now)])
    stream = store.create_stream("tien_luong", now.isoformat())
    store.place_items([(item_id, stream, item_id, day, "tien_luong", "negative" if group != "P" else "neutral",
                        "Cộng tác viên" if unit else "baocaobang.vn", unit, "observation" if unit else "article")
                       for group, items in ids.items() for unit in [{"A": OWN, "B": OTHER, "P": None}[group]]
                       for item_id in items])
    start, end = (now - timedelta(days=1)).isoformat(), now.isoformat()
    for n, (severity, units, items, title) in enumerate([
            (45.0, {OWN: 3}, ids["A"], "Bệnh viện nợ lương ca đêm"),
            (88.0, {OTHER: 5}, ids["B"][:5], f"Trường {MARK_B} nợ lương giáo viên"),
            (71.5, {}, ids["P"], "Doanh nghiệp chậm trả lương"),
            *[(30.0 + i, {OWN: 1}, ids["A"][:1], f"Chuyện nhỏ số {i}") for i in range(10)]]):
        store.save_story_flag({
            "key": f"story:{n}", "kind": "new_stream", "stream_id": None, "topic": "tien_luong", "score": 1.0,
            "window_start": start, "window_end": end, "count": len(items), "baseline": 0.0,
            "reason": f"Lý do {title}.", "keyphrases": [], "item_ids": items, "severity": severity, "title": title,
            "evidence": {"units": units, "timeline": [{"day": day, "count": len(items)}]}})
    source = store.sources()[0]
    store.record_run(source["name"], now.isoformat(), now.isoformat(), False, 0, 0, False, ["timeout"], 1.0)
    return inst, create_app(inst.settings, start_worker=False), source


def _client(app, name: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    assert login(client, name).status_code == 303
    return client


def test_the_flags_that_matter_come_first_compact_and_paged(site):
    inst, app, _ = site
    page = _client(app, "staff1").get("/").text
    titles = re.findall(r'<a href="/flags/\d+">([^<]+)</a>', page)
    assert titles[:3] == ["Doanh nghiệp chậm trả lương", "Bệnh viện nợ lương ca đêm", "Chuyện nhỏ số 9"]
    assert len(titles) == 10 and "12 cảnh báo đang mở" in page and "Trang 1/2" in page
    assert "Mức độ <strong>72</strong>/100" in page   # 71,5 rounded, the Vietnamese way
    assert 'class="spark"' in page and "Xem hàng chờ đầy đủ" in page
    second = _client(app, "staff1").get("/?page=2").text
    assert re.findall(r'<a href="/flags/\d+">([^<]+)</a>', second) == ["Chuyện nhỏ số 1", "Chuyện nhỏ số 0"]


def test_the_overview_counts_only_the_readers_units(site):
    inst, app, source = site
    page = _client(app, "staff1").get("/").text
    for part in ("Số tin mỗi ngày theo kênh", "Sắc thái theo ngày", "Chủ đề tuần này so với tuần trước",
                 "Hoạt động của các đơn vị", "Tình trạng nguồn tin", "<svg", "<rect", "<polyline"):
        assert part in page, part
    assert "<strong>5</strong> tin, ý kiến" in page   # 3 of unit A and 2 of the press; none of unit B's 1.200
    assert "Cộng tác viên: 3" in page and "Báo chí, mạng: 2" in page
    assert "Công đoàn ngành Y tế tỉnh" in page
    assert NAME_B not in page and MARK_B not in page.lower() and "1.200" not in page
    province = _client(app, "root").get("/").text
    assert "<strong>1.205</strong> tin, ý kiến" in province and NAME_B in province
    assert f"Trường {MARK_B} nợ lương giáo viên" in province


def test_a_failing_source_raises_the_banner(site):
    inst, app, source = site
    page = _client(app, "staff1").get("/").text
    banner = re.search(r'<p class="banner failing" role="alert">(.*?)</p>', page, re.S).group(1)
    assert "nguồn tin đang lỗi" in banner and (source["title"] or source["name"]) in banner
    assert "Đang lỗi" in page
    assert _client(app, "collab1").get("/").headers["location"] == "/submit"


def test_the_daily_counts_follow_items_added_moved_and_deleted(tmp_path):
    """The dashboard reads counts kept by triggers: they must equal a count over the items themselves."""
    from service.store import Store

    store = Store(tmp_path / "p.db")
    store.migrate()
    now = datetime.now(timezone.utc)
    day = today_local().isoformat()
    ids = store.add_items([observation(f"Ý kiến số {n}.", OWN, day=now) for n in range(3)]
                         + [RawItem(title="Tin báo", text="Nội dung.", url="https://baocaobang.vn/a.html",
                                    source="baocaobang.vn", published_at=now)])
    stream = store.create_stream("tien_luong", now.isoformat())
    store.place_items([(i, stream, i, day, "tien_luong", "negative", "x", OWN if i != ids[3] else None,
                        "observation" if i != ids[3] else "article") for i in ids])
    assert {r["grp"]: r["n"] for r in store.items_per_day_by_channel(day, day, None)} == {"collaborators": 3, "press": 1}
    assert store.topic_counts(day, day, [OTHER]) == {"tien_luong": 1}   # the press only
    store.update_item_facts([("viec_lam", "positive", ids[0])])   # a re-annotation moves the item's counts
    assert store.topic_counts(day, day, None) == {"tien_luong": 3, "viec_lam": 1}
    assert {r["sentiment"]: r["n"] for r in store.tone_per_day(day, day, [OWN])} == {"negative": 3, "positive": 1}
    store.delete_items([ids[1], ids[3]])
    assert {r["grp"]: r["n"] for r in store.items_per_day_by_channel(day, day, None)} == {"collaborators": 2, "press": 0}
    assert store.observations_per_unit(day, None) == {OWN: 2}
    assert store.topic_counts(day, day, None) == {"tien_luong": 1, "viec_lam": 1}


def test_a_units_report_coming_due_is_recalled_on_its_staffs_dashboard_only(tmp_path):
    import time_machine

    inst = make_installation(tmp_path)
    store = inst.store
    with store.transaction():
        draft = store.add_unit_report(OWN, "month", "2026-11-01", {}, {}, "staff1")
    # 2 December 2026, 10:00 in Vietnam: November's report is due 05/12; the annual report was due 01/12
    with time_machine.travel(datetime(2026, 12, 2, 3, tzinfo=timezone.utc), tick=True):
        app = create_app(inst.settings, start_worker=False)
        mine = _client(app, "staff1").get("/").text
        theirs = _client(app, "staff2").get("/").text
        reminders = re.findall(r'<p class="(?:warning|error) reminder" role="status">(.*?)</p>', mine, re.S)
        assert [" ".join(re.sub(r"<[^>]+>", " ", r).split()) for r in reminders] == [
            "Báo cáo tháng 11/2026 của đơn vị chưa gửi — hạn cuối 05/12/2026, còn 3 ngày. Mở bản nháp",
            "Báo cáo năm 2026 của đơn vị chưa gửi — đã quá hạn (01/12/2026). Lập báo cáo"]
        assert f'href="/unit-reports/{draft}"' in mine
        assert f"/unit-reports/{draft}" not in theirs, "another unit's draft is not linked on unit B's dashboard"
        assert "Báo cáo tháng 11/2026 của đơn vị chưa gửi" in theirs   # unit B's own report, still to send
        with store.transaction():
            store.mark_unit_report(draft, "sent", "staff1")
        after = _client(app, "staff1").get("/").text
        assert "Báo cáo tháng 11/2026 của đơn vị chưa gửi" not in after and "Báo cáo năm 2026" in after
        assert "Báo cáo tháng 11/2026 của đơn vị chưa gửi" in _client(app, "staff2").get("/").text


def test_an_account_of_no_unit_reads_an_overview_titled_in_words_not_none(tmp_path):
    """An analyst added without a unit (`pulse users add … --role analyst`): the overview's heading says what they
    read in Vietnamese, never «None và đơn vị trực thuộc»."""
    inst = make_installation(tmp_path, users={"nounit": ("analyst", None), "staff1": ("staff", OWN)})
    app = create_app(inst.settings, start_worker=False)
    html = _client(app, "nounit").get("/").text
    heading = re.search(r"<h2 class=\"section\">Tổng quan [^<]*</h2>", html).group(0)
    assert "None" not in heading and "tài khoản chưa thuộc đơn vị nào" in heading
    own = re.search(r"<h2 class=\"section\">Tổng quan [^<]*</h2>", _client(app, "staff1").get("/").text).group(0)
    assert "Công đoàn ngành Y tế tỉnh và đơn vị trực thuộc" in own
    inst.store.close()
