"""Issue 12's acceptance on real data: the crawl of news-rss-crawl-2026 (1,620 real items: football «đình công»,
gold prices, crime, world news) and three collaborators' reports of unpaid wages at one Cao Bằng factory, all through
the product's own path (import, the shipped models, streams, events, detectors, severity). The factory comes first."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crawl_support import CRAWL, write_crawl_timeline
from service import pipeline, trends
from service.config import load_settings
from web_support import observation

REPORTS = [   # three units' collaborators, each in their own words
    ("cb-giaoduc", "Công ty TNHH may Hưng Phát ở Khu công nghiệp Đề Thám (Cao Bằng) nợ lương công nhân hai tháng, "
                   "nhiều người phải vay tiền sinh hoạt."),
    ("cb-yte", "Công nhân may Hưng Phát, Cao Bằng phản ánh công ty nợ lương tháng 12 và tháng 1, chưa đóng bảo hiểm "
               "xã hội cho người lao động."),
    ("cb-thanhpho", "Người lao động Công ty may Hưng Phát (Cao Bằng) bức xúc vì bị nợ lương hai tháng trước Tết, "
                    "đề nghị công đoàn can thiệp."),
]


@pytest.mark.shared_data(CRAWL, "news-rss-crawl-2026")
def test_three_units_reports_of_a_local_factory_lead_the_queue_over_the_real_crawl(tmp_path):
    from service.setup import init
    from service.store import Store

    first, last = write_crawl_timeline(tmp_path / "crawl.jsonl")
    settings = load_settings(db_path=tmp_path / "pulse.db")
    store = Store(settings.db_path)
    store.migrate()
    init(store)
    outcome = pipeline.import_file(store, tmp_path / "crawl.jsonl", kind="timeline")
    assert outcome.new > 1500
    when = datetime(last.year, last.month, last.day, 3, tzinfo=timezone.utc)
    report_ids = store.add_items([observation(text, unit, day=when + timedelta(hours=i))
                                  for i, (unit, text) in enumerate(REPORTS)])
    annotator, versions = pipeline.load_annotator(settings.models_dir)
    pipeline.process(store, annotator, versions)
    trends.detect(store, first - timedelta(days=1), last + timedelta(days=1), settings.trends)
    queue = store.flags(status="open")
    assert queue, "the queue must not be empty"
    top = queue[0]
    assert set(report_ids) <= set(top["item_ids"]), (
        f"first in the queue: {top['title']!r} ({top['kind']}, severity {top['severity']})")
    football = [f for f in queue if "Ronaldo" in (f["title"] or "") or "Al Nassr" in (f["title"] or "")]
    gold = [f for f in queue if "giá vàng" in (f["title"] or "").lower()]
    assert not football and not gold, "sports and gold prices raise no flag"
    store.close()
