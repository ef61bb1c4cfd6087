"""Quotes that read well: outlets' boilerplate (save-article notices, datelines, photo credits, bylines) taken out,
from a shipped list and from what each source repeats, learned in the store as items arrive. On the real article
pages and feeds (../shared/fixtures) and the real 24h.com.vn and RSS crawl (../shared/datasets)."""
from __future__ import annotations

import csv
import re
from datetime import datetime, timezone

from collectors.articles import extract_article
from collectors.feeds import parse_feed
from collectors.items import RawItem
from collectors_support import ARTICLES, HTML_FIXTURES, RSS_FIXTURES, reference_lines, shared_file
from conftest import SHARED, require_data
from service import boilerplate, briefing
from service.boilerplate import Learned, clean

CRAWL = SHARED / "datasets" / "news-rss-crawl-2026"
NOTICE = "Lưu bài viết thành công Bạn có thể xem lại bài viết đã lưu ở trangTin bài đã lưu"
DATELINE = re.compile(r"^\([^()]{2,24}\)\s*[-–—]+\s*")


def only_removes(original: str, cleaned: str) -> bool:
    """Cleaning takes words out and never adds or reorders one: the cleaned words are a subsequence."""
    words = iter(re.split(r"[\s()]+", original))   # «Hạnh(Ảnh:Reuters)»: a credit glued to a word
    return all(any(w == o for o in words) for w in re.split(r"[\s()]+", cleaned))


def crawl_rows(name: str) -> list[dict]:
    csv.field_size_limit(10**9)
    with open(require_data(CRAWL / name, "news-rss-crawl-2026"), encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_article_pages_lose_their_dateline_and_byline_and_keep_every_paragraph():
    changed = {}
    for outlet, page in ARTICLES.items():
        raw = extract_article(shared_file(HTML_FIXTURES / page))["text"]
        cleaned = clean(raw)
        assert only_removes(raw, cleaned), outlet
        lost = [r for r in reference_lines(outlet) if r in raw and r not in cleaned]
        for line in lost:   # only the boilerplate of a kept paragraph, or a closing byline
            assert DATELINE.sub("", line) in cleaned or (line == reference_lines(outlet)[-1] and len(line.split()) <= 6), \
                (outlet, line)
        changed[outlet] = lost
        assert not DATELINE.match(cleaned), outlet
    assert changed["nld"] and changed["nld"][0].startswith("(NLĐO)-")
    assert changed["dantri"] and changed["dantri"][0].startswith("(Dân trí) -")
    assert changed["baochinhphu"] and changed["baochinhphu"][0].startswith("(Chinhphu.vn) -")
    assert changed["vnexpress"] == ["Hà Thu (tổng hợp)"], "the closing byline goes"
    assert changed["tuoitre"] == [] and changed["cafef_batdongsan"] == [], "clean pages stay as they are"


def test_feed_descriptions_are_only_ever_shortened():
    files = sorted(RSS_FIXTURES.glob("*.rss.xml"))
    items = [i for f in files for i in parse_feed(shared_file(f), source="vnexpress")[0]]
    assert len(items) >= 100
    for item in items:
        cleaned = clean(item.text)
        assert cleaned and only_removes(item.text, cleaned)


def test_the_24h_notice_is_learned_from_the_source_and_taken_out(store):
    rows = [r for r in crawl_rows("24h_html_categories_vi.csv") if r["content.text"]]
    items = [{"kind": "article", "source": "24h", "text": r["content.text"]} for r in rows]
    assert sum(i["text"].startswith(NOTICE) for i in items) > 0.9 * len(items), "the crawl is as SOURCE.txt says"
    assert boilerplate.learn(store, items[:200]) == 200
    learned = store.source_boilerplate("24h", boilerplate.MIN_ITEMS, boilerplate.MIN_SHARE)
    assert NOTICE in learned["head"], "the notice is learned without the shipped list"
    assert not any(len(h.split()) > len(NOTICE.split()) for h in learned["head"]), "no article words in it"
    # learned alone (no shipped pattern) takes it out of items it has never seen
    only_learned = Learned(heads=set(learned["head"]), tails=set(learned.get("tail", ())))
    rest = items[200:]
    assert all(not boilerplate._strip_head(i["text"], only_learned).startswith("Lưu bài viết") for i in rest)
    # … and a repeated closing credit the shipped list does not know
    tails = [i for i in rest if i["text"].rstrip().endswith("[Link nguồn]")]
    cleaner = boilerplate.QuoteCleaner(store)
    assert tails and all(not cleaner(i["text"], "24h").endswith("[Link nguồn]") for i in tails)
    for item in rest:
        cleaned = cleaner(item["text"], "24h")
        assert cleaned and not cleaned.startswith("Lưu bài viết") and only_removes(item["text"], cleaned)


def test_rss_crawl_loses_datelines_and_photo_captions():
    rows = [r for r in crawl_rows("rss_feed_articles_backup.csv") if r.get("content.text")]
    texts = [r["content.text"] for r in rows]
    with_dateline = [t for t in texts if DATELINE.match(t)]
    with_caption = [t for t in texts if "(Ảnh:" in t or "(Ảnh minh họa:" in t]
    assert with_dateline and with_caption
    for text in with_dateline + with_caption:
        cleaned = clean(text)
        assert not DATELINE.match(cleaned) and "(Ảnh" not in cleaned[:300], text[:200]
        assert only_removes(text, cleaned) and len(cleaned) > 0.3 * len(text)
    kept = [clean(t) == " ".join(t.split()) for t in texts if t not in with_dateline + with_caption]
    assert sum(kept) > 0.8 * len(kept), "texts without boilerplate are left as they are"


def test_collaborators_repeating_each_other_teach_nothing(store):
    same = "Công nhân phản ánh bị nợ lương hai tháng."
    items = [{"kind": "observation", "source": "ctv", "text": same} for _ in range(10)]
    assert boilerplate.learn(store, items) == 0
    assert store.source_boilerplate("ctv", 1, 0) == {}
    assert clean(same, Learned(lines={same})) == same, "a cleaning that would empty the text is not done"


def test_segments_counted_at_collection_and_import_make_briefing_quotes_clean(store):
    when = datetime(2026, 11, 30, 3, tzinfo=timezone.utc)
    texts = ["Công nhân Khu công nghiệp Đề Thám bị nợ lương hai tháng, công đoàn đã vào cuộc.",
             "Người lao động ở Hòa An phản ánh tiền thưởng Tết chậm chi trả.",
             "Doanh nghiệp may ở Cao Bằng tuyển thêm 300 lao động cho quý I.",
             "Giá điện tăng khiến chi phí sinh hoạt của công nhân thuê trọ tăng theo."]
    raw = [RawItem(text=f"CAO BẰNG - {t}\nTheo dõi Báo Cao Bằng trên mạng xã hội\nBáo Cao Bằng", title=t[:40],
                   source="baocaobang", kind="article", published_at=when) for t in texts]
    store.upsert_source("baocaobang", "rss", "https://baocaobang.vn/rss", title="Báo Cao Bằng")
    ids = store.add_items(raw)
    boilerplate.learn_new(store, ids)     # what pipeline.collect and pipeline.import_file call after storing
    learned = store.source_boilerplate("baocaobang", boilerplate.MIN_ITEMS, boilerplate.MIN_SHARE)
    assert "Theo dõi Báo Cao Bằng trên mạng xã hội" in learned["line"]
    quote = briefing._Quoter(store)(store.items_by_ids(ids[:1])[0])
    assert quote["text"] == texts[0] and quote["source"] == "Báo Cao Bằng"
    boilerplate.learn_new(store, ids)     # the same items again add to the counts but never fail


def test_an_imported_timeline_teaches_its_source(tmp_path, store):
    import json

    from service.pipeline import import_file

    rows = [r for r in crawl_rows("24h_html_categories_vi.csv") if r["content.text"]][:12]
    path = tmp_path / "24h.jsonl"
    path.write_text("".join(json.dumps({"text": r["content.text"], "title": r["title"], "url": r["url"],
                                        "published_at": r["published_at"]}, ensure_ascii=False) + "\n"
                            for r in rows), encoding="utf-8")
    outcome = import_file(store, path, kind="timeline", source="24h")
    assert outcome.new == 12
    assert NOTICE in store.source_boilerplate("24h", boilerplate.MIN_ITEMS, boilerplate.MIN_SHARE)["head"]
