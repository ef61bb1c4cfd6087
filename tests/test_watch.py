"""Watch terms that mean what the board typed (service/watch.py), relevance stored by the pipeline and backfilled
(service/relevance.py), and both shown in the web app — on real headlines (tests/fixtures/relevance/)."""
from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from collectors.items import RawItem
from service.app import create_app
from service.config import RelevanceSettings, Settings
from service.pipeline import load_annotator, process
from service.relevance import backfill_relevance
from service.store import Store
from service.timeutil import local_day
from service.watch import TermMatcher, parse_contexts, watch_hits
from web_support import csrf_of, login, make_installation, observation

HEADLINES = Path(__file__).parent / "fixtures" / "relevance" / "headlines.tsv"
FACTORY_REPORT = ("Công nhân Công ty TNHH may mặc ở khu công nghiệp Đề Thám, tỉnh Cao Bằng ngừng việc, đình công vì "
                  "công ty nợ lương ba tháng.")


def headline(key: str) -> str:
    with open(HEADLINES, encoding="utf-8", newline="") as fh:
        return next(r["title"] for r in csv.DictReader(fh, delimiter="\t") if r["key"] == key)


# --- matching ----------------------------------------------------------------------------------------------------------
def test_a_term_typed_with_diacritics_matches_only_those_diacritics():
    m = TermMatcher("đình công")
    assert not m.matches(headline("baomoi-dinh-cong"))          # «Định Công», a place in Hà Nội
    assert m.matches(headline("rss-ronaldo-2"))                  # the word itself (what the item is about is relevance)
    assert m.matches("HÀNG TRĂM CÔNG NHÂN ĐÌNH CÔNG")           # case-insensitive
    assert m.matches("Công nhân đình\u00a0công")                 # any spacing
    assert not m.matches("Công nhân dinh cong")                  # the folded spelling is another word
    assert not m.matches("đìnhcông")                             # word-bounded


def test_a_term_typed_without_diacritics_matches_the_folded_text():
    m = TermMatcher("dinh cong")
    assert m.matches("Công nhân đình công") and m.matches(headline("baomoi-dinh-cong"))
    assert m.matches("cong nhan dinh cong")


def test_decomposed_and_old_style_text_is_matched_as_nfc():
    decomposed = "Công nhân \u0111i\u0300nh co\u0302ng"   # NFD: «đình công» with combining marks
    assert TermMatcher("đình công").matches(decomposed)
    assert TermMatcher("hòa giải").matches("Hoà giải tranh chấp")   # old tone placement «Hoà»


def test_excluded_contexts_void_a_hit():
    assert parse_contexts("Định Công, Al Nassr;  Ronaldo\n,") == ["Định Công", "Al Nassr", "Ronaldo"]
    m = TermMatcher("đình công", "Al Nassr, Ronaldo")
    assert not m.matches(headline("rss-ronaldo-2"))
    assert m.matches(FACTORY_REPORT)


# --- the store and the pipeline ------------------------------------------------------------------------------------------
DAY = datetime(2026, 2, 5, 3, 0, tzinfo=timezone.utc)


def _items() -> list[RawItem]:
    return [
        RawItem(title=headline("rss-ronaldo-2"), text="", source="24h", url="https://example.test/1", published_at=DAY),
        RawItem(title=headline("rss-ronaldo-3"), text="", source="24h", url="https://example.test/2", published_at=DAY),
        RawItem(title=headline("baomoi-dinh-cong"), text="", source="baomoi", url="https://example.test/3",
                published_at=DAY),
        RawItem(title=headline("rss-gold-1"), text="", source="vnexpress", url="https://example.test/4",
                published_at=DAY),
        RawItem(title=headline("baomoi-cb-flood"), text="", source="baomoi", url="https://example.test/5",
                published_at=DAY),
        observation(FACTORY_REPORT, "cb-thanhpho", day=DAY),
    ]


@pytest.fixture(scope="module")
def annotator():
    return load_annotator(Settings().models_dir)


@pytest.fixture
def processed(tmp_path, annotator):
    store = Store(tmp_path / "pulse.db")
    store.migrate()
    ids = store.add_items(_items())
    process(store, *annotator)
    yield store, ids
    store.close()


def test_the_pipeline_stores_every_items_relevance(processed):
    store, ids = processed
    rel = store.relevance_of(ids)
    assert sorted(rel) == sorted(ids)
    ronaldo, _, dinh_cong, gold, flood, report = (rel[i] for i in ids)
    assert ronaldo["excluded"] == "sports" and ronaldo["workers"] < 0.5
    assert gold["excluded"] == "market"
    assert flood["local"] >= 0.9 and flood["workers"] >= 0.5 and flood["places"] == ["Cao Bằng"]
    assert report["workers"] >= 0.8 and report["local"] == 1.0 and "ý kiến cộng tác viên" in report["reasons"]


def test_items_processed_before_relevance_existed_are_backfilled(processed):
    store, ids = processed
    before = store.relevance_of(ids)
    with store.transaction():   # as a store upgraded from before relevance existed: annotated, no relevance
        store.db.execute("DELETE FROM item_relevance")
    assert store.count_lacking_relevance() == len(ids)
    assert backfill_relevance(store, RelevanceSettings()) == len(ids)
    assert store.relevance_of(ids) == before
    assert backfill_relevance(store) == 0                     # idempotent
    with store.transaction():
        store.db.execute("DELETE FROM item_relevance WHERE item_id = ?", [ids[0]])
    annotator_and_versions = load_annotator(Settings().models_dir)
    process(store, *annotator_and_versions)                   # nothing to annotate, but the gap is filled
    assert store.relevance_of(ids) == before


def test_watch_hits_are_exact_and_carry_relevance(processed):
    store, ids = processed
    store.add_watch_term("đình công")
    day = local_day(DAY.isoformat())
    hits = watch_hits(store, day, day)
    by_item = {h.item_id: h for h in hits}
    ronaldo2, ronaldo3, dinh_cong, _, _, report = ids
    assert dinh_cong not in by_item                            # «Định Công» never matches «đình công»
    assert sorted(by_item) == sorted([ronaldo2, ronaldo3, report])
    assert not by_item[ronaldo2].relevant and not by_item[ronaldo3].relevant
    assert by_item[report].relevant
    assert all(h.term == "đình công" and h.day == day and h.stream_id for h in hits)
    # the board excludes the club: the footballer is no longer a hit at all
    term = store.watch_terms()[0]
    assert store.set_watch_term_excluded(term["id"], "Al Nassr")
    assert [h.item_id for h in watch_hits(store, day, day)] == [ronaldo3, report]   # names no club
    assert store.set_watch_term_excluded(term["id"], "Al Nassr, Ronaldo")
    assert [h.item_id for h in watch_hits(store, day, day)] == [report]
    # another day: nothing
    assert watch_hits(store, "2026-03-01", "2026-03-02") == []


def test_a_term_without_diacritics_finds_both_spellings(processed):
    store, ids = processed
    store.add_watch_term("dinh cong")
    day = local_day(DAY.isoformat())
    assert ids[2] in {h.item_id for h in watch_hits(store, day, day)}


# --- the web app -------------------------------------------------------------------------------------------------------
@pytest.fixture
def site(tmp_path, annotator):
    inst = make_installation(tmp_path)
    now = datetime.now(timezone.utc) - timedelta(hours=1)
    items = [RawItem(title=headline("rss-ronaldo-2"), text="", source="24h", url="https://example.test/r",
                     published_at=now),
             RawItem(title=headline("baomoi-dinh-cong"), text="", source="baomoi", url="https://example.test/d",
                     published_at=now),
             observation(FACTORY_REPORT, "caobang", day=now)]
    ids = inst.store.add_items(items)
    process(inst.store, *annotator)
    app = create_app(inst.settings, start_worker=False)
    with TestClient(app, follow_redirects=False) as client:
        assert login(client, "root").status_code == 303
        yield inst, client, ids


def test_the_terms_page_lists_hits_and_saves_excluded_contexts(site):
    inst, client, (ronaldo, dinh_cong, report) = site
    term = next(t for t in inst.store.watch_terms() if t["term"] == "đình công")   # a default term of `pulse init`
    listing = client.get("/admin/terms").text
    assert f'href="/admin/terms/{term["id"]}"' in listing
    assert "2 tin khớp trong 30 ngày, 1 liên quan" in listing
    page = client.get(f"/admin/terms/{term['id']}")
    assert page.status_code == 200
    assert f'href="/items/{ronaldo}"' in page.text and f'href="/items/{report}"' in page.text
    assert f'href="/items/{dinh_cong}"' not in page.text
    assert "Không đưa vào cảnh báo" in page.text and "Liên quan" in page.text
    saved = client.post(f"/admin/terms/{term['id']}/excluded",
                        data={"contexts": "Al Nassr,  Ronaldo", "csrf_token": csrf_of(page.text)})
    assert saved.status_code == 303
    page = client.get(saved.headers["location"]).text
    assert "Đã lưu ngữ cảnh loại trừ." in page and 'value="Al Nassr, Ronaldo"' in page
    assert f'href="/items/{ronaldo}"' not in page and f'href="/items/{report}"' in page
    assert client.get("/admin/terms/999999").status_code == 404


def test_the_flag_page_shows_its_items_relevance(site):
    inst, client, (ronaldo, _, report) = site
    flag_id = inst.store.upsert_flag({
        "key": "test:relevance", "kind": "watch_term", "stream_id": None, "topic": "tien_luong", "score": 6.0,
        "window_start": "2026-01-01T17:00:00+00:00", "window_end": "2026-01-02T17:00:00+00:00", "count": 2,
        "baseline": 0.0, "reason": "Có 2 tin nhắc đến «đình công».", "item_ids": [report, ronaldo],
        "evidence": {"units": {"caobang": 1}, "timeline": [], "representative": [report, ronaldo]}})
    page = client.get(f"/flags/{flag_id}").text
    assert "Liên quan người lao động: cao · Địa phương: thuộc địa bàn tỉnh" in page
    assert "Liên quan người lao động: thấp · Địa phương: không · Tin thể thao" in page


def test_the_item_page_shows_relevance(site):
    inst, client, (ronaldo, _, report) = site
    page = client.get(f"/items/{report}").text
    assert "Liên quan người lao động: cao · Địa phương: thuộc địa bàn tỉnh (khu công nghiệp Đề Thám" in page
    page = client.get(f"/items/{ronaldo}").text
    assert "Liên quan người lao động: thấp · Địa phương: không · Tin thể thao (không tự đưa vào cảnh báo)" in page


# --- settings ----------------------------------------------------------------------------------------------------------
def test_relevance_settings_come_from_the_config_file(tmp_path):
    from service.config import load_settings
    from service.relevance import gazetteer_for, item_relevance

    config = tmp_path / "pulse.toml"
    config.write_text('[relevance]\nlocal_sources = ["bao-tinh"]\nemployers = ["Công ty Than Nà Lũng"]\n'
                      'excluded_news = ["sports"]\n', encoding="utf-8")
    settings = load_settings(config).relevance
    assert "Công ty Than Nà Lũng" in [p.name for p in gazetteer_for(settings).places]
    gold = {"title": headline("rss-gold-1"), "text": "", "kind": "article", "source": "bao-tinh"}
    rel = item_relevance(gold, settings=settings)
    assert rel.excluded is None and rel.local == 1.0      # market news not excluded here; the outlet is local
    config.write_text('[relevance]\nexcluded_news = ["sport"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown kinds in \\[relevance\\] excluded_news: sport"):
        gazetteer_for(load_settings(config).relevance)
