"""The detectors: bursts against a share-of-day baseline, outages, new streams, negativity, spread, watch terms."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from replay_support import BACKGROUND, DAY0, Replay
from service import trends
from service.config import TrendSettings

def kinds(flags, kind):
    return [f for f in flags if f.kind == kind]


def test_empty_store_one_item_and_empty_day_give_no_flag(store):
    assert trends.detect(store, DAY0, DAY0 + timedelta(days=30)) == []
    Replay(store).add(DAY0, "tien_luong", 1)
    assert trends.detect(store, DAY0, DAY0) == []
    assert trends.detect(store, DAY0 + timedelta(days=3), DAY0 + timedelta(days=3)) == []
    assert store.count_flags() == 0


def test_a_threefold_topic_burst_is_flagged_with_its_evidence(store):
    replay = Replay(store)
    replay.background(29, BACKGROUND)
    day = DAY0 + timedelta(days=29)
    for topic, n in BACKGROUND.items():
        if topic != "tien_luong":
            replay.add(day, topic, n)
    burst_ids = replay.add(day, "tien_luong", 12)
    flags = trends.detect(store, day, day)
    bursts = [f for f in kinds(flags, "burst") if f.topic == "tien_luong"]
    assert len(bursts) == 1
    flag = bursts[0]
    assert flag.count == 12 and flag.baseline == 4.0
    assert set(burst_ids) <= set(flag.item_ids)
    assert "Tiền lương" in flag.reason and "12 tin" in flag.reason
    assert flag.evidence["timeline"][-1] == {"day": day.isoformat(), "count": 12, "total": 12 + 26}
    assert all(f.topic != "xa_hoi_khac" for f in kinds(flags, "burst"))


def test_a_busy_news_day_is_not_a_burst(store):
    replay = Replay(store)
    replay.background(29, BACKGROUND)
    day = DAY0 + timedelta(days=29)
    for topic, n in BACKGROUND.items():
        replay.add(day, topic, n * 3)
    assert kinds(trends.detect(store, day, day), "burst") == []


def test_a_collector_outage_day_gives_no_burst_and_is_marked(store):
    replay = Replay(store)
    replay.background(29, BACKGROUND)
    day = DAY0 + timedelta(days=29)
    for j, (topic, n) in enumerate(BACKGROUND.items()):
        if j % 2 == 0:  # dantri is down: only vnexpress' share of the day arrives
            replay.add(day, topic, n, source="vnexpress.net")
    run_at = datetime(day.year, day.month, day.day, 2, tzinfo=timezone.utc).isoformat()
    store.record_run("dantri.com.vn", run_at, run_at, ok=False, found=0, new=0, not_modified=False,
                     errors=["dantri.com.vn answered HTTP 503."], duration=1.0)
    store.add_watch_term("nợ lương")
    replay.add(day, "tien_luong", 1, text="Công nhân bị nợ lương hai tháng.")
    flags = trends.detect(store, day, day)
    assert kinds(flags, "burst") == []
    watched = kinds(flags, "watch_term")
    assert watched, "the day still has a flag to mark"
    assert all(f.degraded and "dantri.com.vn" in f.reason for f in flags)
    assert watched[0].evidence["sources_down"] == ["dantri.com.vn"]


def test_rerunning_detection_makes_no_duplicate_flags(store):
    replay = Replay(store)
    replay.background(29, BACKGROUND)
    day = DAY0 + timedelta(days=29)
    replay.add(day, "tien_luong", 15)
    first = trends.detect(store, DAY0, day)
    count = store.count_flags()
    second = trends.detect(store, DAY0, day)
    assert count > 0
    assert store.count_flags() == count
    assert sorted(f.id for f in first) == sorted(f.id for f in second)


def test_a_new_stream_from_one_source_is_flagged_and_more_sources_rank_it_higher(store):
    replay = Replay(store)
    replay.background(10, BACKGROUND)
    day = DAY0 + timedelta(days=10)
    replay.add(day, "quan_he_lao_dong", 3, source="laodong.vn", stream="too-small")
    replay.add(day, "quan_he_lao_dong", 5, source="laodong.vn", stream="one-source")
    replay.add(day, "quan_he_lao_dong", 2, source="tuoitre.vn", stream="three-sources")
    replay.add(day, "quan_he_lao_dong", 2, source="nld.com.vn", stream="three-sources")
    replay.add(day, "quan_he_lao_dong", 1, source="laodong.vn", stream="three-sources")
    flags = trends.detect(store, day, day)
    new = {f.stream_id: f for f in kinds(flags, "new_stream")}
    assert replay.streams["too-small"] not in new
    one, three = new[replay.streams["one-source"]], new[replay.streams["three-sources"]]
    assert "Luồng mới" in one.reason and "5 tin từ 1 nguồn" in one.reason
    assert three.evidence["independent_sources"] == ["laodong.vn", "nld.com.vn", "tuoitre.vn"]
    assert three.severity_parts["corroboration"] > one.severity_parts["corroboration"]


def test_negativity_shift_is_flagged(store):
    replay = Replay(store)
    for i in range(20):
        d = DAY0 + timedelta(days=i)
        replay.add(d, "bao_hiem", 8, sentiment="neutral")
        replay.add(d, "bao_hiem", 2, sentiment="negative")
        replay.add(d, "xa_hoi_khac", 10)
    day = DAY0 + timedelta(days=20)
    replay.add(day, "bao_hiem", 3, sentiment="neutral")
    replay.add(day, "bao_hiem", 7, sentiment="negative")
    replay.add(day, "xa_hoi_khac", 10)
    neg = [f for f in kinds(trends.detect(store, day, day), "negativity") if f.topic == "bao_hiem"]
    assert len(neg) == 1
    assert "70%" in neg[0].reason and "20%" in neg[0].reason


def test_spread_across_collaborators_units(store):
    replay = Replay(store)
    day = DAY0 + timedelta(days=2)
    for unit in ("cb-giaoduc", "cb-yte"):
        replay.add(day, "tien_luong", 1, kind="observation", org_unit=unit, source="ctv", stream="s")
    assert kinds(trends.detect(store, day, day), "spread") == []
    replay.add(day, "tien_luong", 1, kind="observation", org_unit="cb-thanhpho", source="ctv", stream="s")
    spread = kinds(trends.detect(store, day, day), "spread")
    assert len(spread) == 1 and sorted(spread[0].evidence["units"]) == ["cb-giaoduc", "cb-thanhpho", "cb-yte"]


def test_a_watch_term_raises_a_flag_only_on_an_item_about_workers(store):
    store.add_watch_term("no luong")    # typed without diacritics: matches the folded text
    replay = Replay(store)
    hit = replay.add(DAY0, "tien_luong", 1, title="Công nhân Công ty may Việt Thắng bị nợ lương 3 tháng",
                     text="Hơn 200 công nhân kêu cứu công đoàn vì công ty chậm trả lương, chưa đóng bảo hiểm xã hội.")
    replay.add(DAY0, "khac", 1, title="CLB Thanh Hóa nợ lương cầu thủ, HLV bị sa thải",
               text="Câu lạc bộ bóng đá nợ lương cầu thủ nhiều tháng trước vòng đấu V-League.")
    replay.add(DAY0, "xa_hoi_khac", 3)
    watch = kinds(trends.detect(store, DAY0, DAY0), "watch_term")
    assert len(watch) == 1 and watch[0].item_ids == hit
    assert "«no luong»" in watch[0].reason
    assert trends.detect(store, DAY0, DAY0)[0].id == watch[0].id


def test_thresholds_come_from_settings(store):
    replay = Replay(store)
    replay.background(29, BACKGROUND)
    day = DAY0 + timedelta(days=29)
    replay.add(day, "tien_luong", 15)
    assert kinds(trends.detect(store, day, day, TrendSettings(min_count=50)), "burst") == []
