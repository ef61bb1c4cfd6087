"""What is left to process is a queue, not a scan (issue 14.6); late items reach their own day's flags (14.5); the
timezone setting moves every day boundary.

- `pipeline.process` takes the items queued when they were stored; a promotion re-annotates exactly its window and
  the next run re-annotates nothing else.
- A scheduler cycle detects again every local day its new items fall on; the briefing job detects its day once
  more before it writes.
"""
from __future__ import annotations

import json
import shutil
from datetime import date, datetime, time, timedelta, timezone

import pytest

from collectors.items import RawItem
from retrain_support import copy_models, store_gold_items
from service import briefing, registry, retrain, scheduler
from service.config import LOCAL_TZ, Settings
from service.datadir import use
from service.logs import setup_logging
from service.pipeline import load_annotator, process
from service.registry import active_versions, model_version_key
from service.setup import init
from service.store import Store
from service.timeutil import TZ, day_bounds, today_local, use_timezone

REPORTS = [("cb-giaoduc", "Công nhân Công ty may Hưng Phát (Cao Bằng) phản ánh bị nợ lương hai tháng."),
           ("cb-yte", "Công ty may Hưng Phát ở Cao Bằng nợ lương công nhân tháng 5 và tháng 6."),
           ("cb-thanhpho", "Người lao động may Hưng Phát bức xúc vì công ty nợ lương hai tháng.")]


@pytest.fixture
def models(tmp_path):
    return copy_models(tmp_path)


def test_a_promotion_reannotates_exactly_its_window_and_the_next_run_nothing_more(store, models):
    gold = store_gold_items(store, 120)            # ten days from 2026-02-01, one item every two hours
    ids = [i for i, _ in gold]
    annotator, versions = load_annotator(models)
    assert store.count_to_process() == len(ids)
    assert process(store, annotator, versions).annotated == len(ids)
    assert store.count_to_process() == 0
    assert process(store, annotator, versions).annotated == 0          # nothing queued: nothing done

    shutil.copytree(models / "topic" / "v1", models / "topic" / "v2")   # another version of the topic model
    registry.register(models, "topic", "v2")
    outcome = retrain.promote(store, models, "topic", "v2", "hoa", force=True, since_day="2026-02-06")
    window = [r["id"] for r in store.items_since_day("2026-02-06")]
    assert 0 < len(window) < len(ids) and outcome.reannotated == len(window)
    new_key = model_version_key(active_versions(models))
    assert sorted(store.annotations_for(ids, new_key)) == sorted(window)

    again = process(store, *load_annotator(models))                    # the next cycle, with the new models
    assert again.annotated == 0 and again.model_version == new_key
    assert sorted(store.annotations_for(ids, new_key)) == sorted(window)  # the rest of history untouched

    late = store.add_items([RawItem(text="Công nhân phản ánh bị nợ lương hai tháng liền.", source="gold",
                                    published_at=datetime(2026, 2, 3, 5, tzinfo=timezone.utc))])
    done = process(store, *load_annotator(models))
    assert done.annotated == 1 and done.days == ["2026-02-03"] and store.is_placed(late[0])


def _installation(tmp_path) -> tuple[Settings, Store]:
    settings = Settings(db_path=tmp_path / "pulse.db")
    store = Store(settings.db_path)
    init(store)
    for source in store.sources():       # no network: the cycle collects nothing, it processes what was stored
        store.set_source_enabled(source["name"], False)
    return settings, store


def _reports(day: date) -> list[RawItem]:
    at = datetime.combine(day, time(10), tzinfo=TZ).astimezone(timezone.utc)
    return [RawItem(text=text, source="Cộng tác viên", kind="observation", org_unit=unit, channel="truc-tiep",
                    published_at=at + timedelta(minutes=k), extra={"place": "", "observed_on": "", "people": 1})
            for k, (unit, text) in enumerate(REPORTS)]


def _ends_on(flags: list[dict], day: date) -> list[dict]:
    return [f for f in flags if f["window_end"] == day_bounds(day)[1]]


def test_a_cycle_detects_again_the_day_its_late_items_fall_on(tmp_path):
    settings, store = _installation(tmp_path)
    log_file = setup_logging(tmp_path, "json")
    yesterday = today_local() - timedelta(days=1)
    scheduler.collection_cycle(settings)             # an ordinary cycle: today detected, nothing on yesterday
    assert not _ends_on(store.flags(), yesterday)
    store.add_items(_reports(yesterday))             # collaborators' reports of yesterday, stored after its last cycle
    scheduler.collection_cycle(settings)
    assert _ends_on(store.flags(), yesterday), "the late reports must raise yesterday's flag"
    records = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    detected = [r["day"] for r in records if r.get("step") == "detection" and r.get("event") == "end"]
    assert yesterday.isoformat() in detected and today_local().isoformat() in detected
    cycles = [r for r in records if r.get("step") == "collection cycle" and r.get("event") == "end"]
    assert len(cycles) == 2 and cycles[-1]["annotated"] == len(REPORTS) and cycles[-1]["days_detected"] == 2
    store.close()


def test_the_briefing_job_detects_its_day_once_more_before_writing(tmp_path):
    settings, store = _installation(tmp_path)
    yesterday = today_local() - timedelta(days=1)
    store.add_items(_reports(yesterday))
    process(store, *load_annotator(settings.models_dir))       # processed, never detected (no cycle ran after)
    assert not store.flags()
    now = datetime.combine(today_local(), time(8), tzinfo=TZ)
    assert yesterday in briefing.run_due(store, settings, now=now)
    flagged = _ends_on(store.flags(), yesterday)
    assert flagged
    written = store.briefing(yesterday.isoformat())
    assert written and any(f["title"] and f["title"] in written["html"] for f in flagged)
    store.close()


def test_the_timezone_setting_moves_every_day_boundary(tmp_path):
    store = Store(tmp_path / "pulse.db")
    store.migrate()
    instant = datetime(2026, 11, 30, 16, 30, tzinfo=timezone.utc)   # 23:30 in Hà Nội, 01:30 the next day in Tokyo
    use(Settings(db_path=tmp_path / "pulse.db", timezone="Asia/Tokyo"))
    tokyo = store.add_items([RawItem(text="Tin một", source="s", published_at=instant)])
    assert store.items_by_ids(tokyo)[0]["day"] == "2026-12-01"
    assert day_bounds(date(2026, 12, 1))[0] == "2026-11-30T15:00:00+00:00"
    store.record_run("s", instant.isoformat(), instant.isoformat(), ok=True, found=1, new=1, not_modified=False,
                     errors=[], duration=0.1)
    assert store.source_daily_new("s", "2026-11-01T00:00:00+00:00") == {"2026-12-01": 1}
    assert store.source_outages("2026-11-01T00:00:00+00:00", "2026-12-31T00:00:00+00:00")[0]["day"] == "2026-12-01"

    use_timezone(LOCAL_TZ)
    hanoi = store.add_items([RawItem(text="Tin hai", source="s", published_at=instant)])
    assert store.items_by_ids(hanoi)[0]["day"] == "2026-11-30"
    assert day_bounds(date(2026, 12, 1))[0] == "2026-11-30T17:00:00+00:00"
    assert store.source_daily_new("s", "2026-11-01T00:00:00+00:00") == {"2026-11-30": 1}
    with pytest.raises(ValueError, match="unknown timezone"):
        use_timezone("Asia/Hà_Nội")
    store.close()
