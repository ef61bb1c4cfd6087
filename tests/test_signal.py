"""What the board sees first (issue 12): events from one outlet, one living flag per story, severity order.

Real headlines (tests/fixtures/signal, see its SOURCE.md) on synthetic days, over a background of real news
(tests/fixtures/timeline) that repeats day after day, so its words make the baseline.
"""
from __future__ import annotations

from datetime import timedelta

from conftest import FIXTURES
from replay_support import DAY0, Replay
from service import trends

DISASTER = (FIXTURES / "signal" / "disaster_headlines.txt").read_text(encoding="utf-8").splitlines()
NOISE = (FIXTURES / "signal" / "noise_headlines.txt").read_text(encoding="utf-8").splitlines()
FOOTBALL, GOLD = NOISE[:6], NOISE[6:]
BACKGROUND = {"xa_hoi_khac": 4, "khac": 3, "chinh_sach_phap_luat": 1}


def _background(replay: Replay, days: int = 20) -> None:
    replay.background(days, BACKGROUND)


def _story(flags, ids):
    """The flag holding most of the given items."""
    ids = set(ids)
    best = max(flags, key=lambda f: len(ids & set(f.item_ids)), default=None)
    return best if best is not None and ids & set(best.item_ids) else None


def test_a_disaster_told_by_one_outlet_in_many_wordings_is_an_event_flag(store):
    replay = Replay(store)
    _background(replay)
    day = DAY0 + timedelta(days=20)
    ids = [replay.add(day, "thien_tai", 1, source="tuoitre.vn", title=h)[0] for h in DISASTER]
    flags = trends.detect(store, day, day)
    events = [f for f in flags if f.kind == "event"]
    assert events, "a rise of disaster headlines from one outlet must raise an event"
    covered = set().union(*(set(f.item_ids) for f in events)) & set(ids)
    assert len(covered) >= 8
    for f in events:
        assert set(f.item_ids) <= set(ids), "an event holds its own headlines, not the background"
        assert f.title in DISASTER and f.evidence["sources"] == {"tuoitre.vn": len(f.item_ids)}
        assert f.event_id is not None and store.event(f.event_id)["title"] == f.title
        assert "Sự kiện «" in f.reason and set(f.severity_parts) == {"workers", "local", "growth", "negative",
                                                                    "corroboration"}
    # the event links to its streams and each stream back to its event
    ev = events[0]
    streams = store.event_streams(ev.event_id)
    assert streams and all(any(e["id"] == ev.event_id for e in store.stream_events(s["stream_id"])) for s in streams)


def test_a_story_keeps_one_living_flag_across_days(store):
    replay = Replay(store)
    _background(replay)
    day1, day2, day3 = (DAY0 + timedelta(days=20 + i) for i in range(3))
    first = [replay.add(day1, "thien_tai", 1, source="tuoitre.vn", title=h)[0] for h in DISASTER[:6]]
    flag1 = _story(trends.detect(store, day1, day1), first)
    assert flag1 is not None and flag1.kind == "event"
    more = [replay.add(day2, "thien_tai", 1, source="tuoitre.vn", title=f"{h} (tiếp)")[0] for h in DISASTER[:6]]
    flag2 = _story(trends.detect(store, day2, day2), more)
    assert flag2 is not None and flag2.id == flag1.id, "the same story updates its flag"
    assert flag2.count > flag1.count and flag2.days_active == 2
    assert flag2.last_seen == day2.isoformat() and flag2.trend == "đang tăng"
    # detecting again changes nothing
    n = store.count_flags()
    trends.detect(store, day1, day2)
    assert store.count_flags() == n
    # the queue shows the story once
    assert [f["id"] for f in store.flags(status="open")].count(flag1.id) == 1
    replay.add(day3, "thien_tai", 1, source="tuoitre.vn", title=DISASTER[0] + " (kết thúc)")
    flag3 = _story(trends.detect(store, day3, day3), first)
    assert flag3 is None or flag3.id == flag1.id


def test_a_dismissed_story_returns_only_when_it_grows_past_its_dismissed_size(store):
    replay = Replay(store)
    _background(replay)
    day = DAY0 + timedelta(days=20)
    first = [replay.add(day, "thien_tai", 1, source="tuoitre.vn", title=h)[0] for h in DISASTER[:6]]
    flag = _story(trends.detect(store, day, day), first)
    store.add_flag_event(flag.id, "canbo", "dismiss", "Không liên quan địa bàn", new_status="dismissed")
    size = store.flag(flag.id)["count"]
    day2 = day + timedelta(days=1)
    replay.add(day2, "thien_tai", 1, source="tuoitre.vn", title=DISASTER[0] + " (tiếp)")
    trends.detect(store, day2, day2)
    assert store.flag(flag.id)["status"] == "dismissed"
    day3 = day + timedelta(days=2)
    for h in DISASTER:
        replay.add(day3, "thien_tai", 1, source="tuoitre.vn", title=f"{h} (ngày 3)")
    trends.detect(store, day3, day3)
    row = store.flag(flag.id)
    assert row["count"] >= 1.5 * size and row["status"] == "open"
    assert store.flag_events(flag.id)[-1]["action"] == "reopen"


def test_collaborators_reports_of_a_local_factory_rank_above_press_and_sports_raise_nothing(store):
    replay = Replay(store)
    _background(replay)
    day = DAY0 + timedelta(days=20)
    for unit in ("cb-giaoduc", "cb-yte", "cb-thanhpho"):
        replay.add(day, "tien_luong", 1, kind="observation", org_unit=unit, source="ctv", stream="factory",
                   sentiment="negative", title="Công ty may Cao Bằng nợ lương công nhân hai tháng",
                   text=f"Công nhân phản ánh với {unit}: công ty chưa trả lương tháng 10 và tháng 11.")
    press = [replay.add(day, "tien_luong", 1, source="vnexpress.net", stream="press-wages",
                        title=f"Đề xuất tăng lương tối thiểu vùng từ năm sau ({i})",
                        text="Hội đồng Tiền lương quốc gia đề xuất tăng lương tối thiểu vùng.")[0] for i in range(5)]
    football = [replay.add(day, "khac", 1, source="24h.com.vn", stream="football", title=h)[0] for h in FOOTBALL]
    gold = [replay.add(day, "khac", 1, source="vnexpress.net", stream="gold", title=h)[0] for h in GOLD]
    flags = trends.detect(store, day, day)
    queue = store.flags(status="open")
    assert queue, "the collaborators' story must be in the queue"
    top = queue[0]
    assert top["stream_id"] == replay.streams["factory"] and top["kind"] == "spread"
    assert top["title"] == "Công ty may Cao Bằng nợ lương công nhân hai tháng"
    assert not any(set(f.item_ids) & set(football + gold) for f in flags), "sports and gold prices raise no flag"
    press_flag = _story(flags, press)
    if press_flag is not None:
        assert press_flag.severity < top["severity"]
    parts = top["evidence"]["severity_parts"]
    assert parts["local"] == 1.0 and parts["corroboration"] == 1.0


def test_reasons_write_numbers_the_vietnamese_way(store):
    replay = Replay(store)
    replay.background(29, {"tien_luong": 3, "xa_hoi_khac": 10})
    day = DAY0 + timedelta(days=29)
    replay.add(day, "xa_hoi_khac", 10)
    replay.add(day, "tien_luong", 14)
    burst = next(f for f in trends.detect(store, day, day) if f.kind == "burst" and f.topic == "tien_luong")
    assert "khoảng 3 tin" in burst.reason and "58%" in burst.reason
    assert "." not in burst.reason.split("khoảng ")[1].split(" tin")[0]


def test_the_queue_and_the_flag_page_show_the_story_headline_and_its_severity(tmp_path):
    import re

    from fastapi.testclient import TestClient

    from service.app import create_app
    from web_support import login, make_installation

    inst = make_installation(tmp_path)
    replay = Replay(inst.store)
    _background(replay)
    day = DAY0 + timedelta(days=20)
    for h in DISASTER:
        replay.add(day, "thien_tai", 1, source="tuoitre.vn", title=h)
    for unit in ("cb-giaoduc", "cb-yte", "cb-thanhpho"):
        replay.add(day, "tien_luong", 1, kind="observation", org_unit=unit, source="ctv", stream="factory",
                   sentiment="negative", title="Công ty may Cao Bằng nợ lương công nhân hai tháng",
                   text="Công nhân phản ánh: công ty chưa trả lương tháng 10 và tháng 11.")
    flags = trends.detect(inst.store, day, day)
    event = next(f for f in flags if f.kind == "event")
    client = TestClient(create_app(inst.settings, start_worker=False), follow_redirects=False)
    assert login(client, "root").status_code == 303    # an admin of the province sees every unit
    queue = client.get("/").text
    titles = re.findall(r'<a href="/flags/(\d+)">([^<]+)</a>', queue)
    assert titles[0][1] == "Công ty may Cao Bằng nợ lương công nhân hai tháng", "the collaborators' story leads"
    assert event.title in [t for _, t in titles]
    assert "Mức độ" in queue and "Sự kiện nổi bật" in queue
    page = client.get(f"/flags/{event.id}").text
    assert event.title in page and "Mức độ nghiêm trọng" in page
    for part in ("Liên quan người lao động", "Gắn với địa phương", "Mức tăng", "Sắc thái tiêu cực",
                 "Nhiều nguồn xác nhận"):
        assert part in page
    assert "Sự kiện gồm các luồng" in page
