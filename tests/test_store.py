"""The store keeps each item once, migrates forward, and finds words without regard to diacritics."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from collectors.items import RawItem
from service.store import MIGRATIONS, Store


def _item(title="Công nhân bị nợ lương ba tháng", url="http://127.0.0.1/a", text="Hơn 200 công nhân chưa nhận lương."):
    return RawItem(text=text, title=title, url=url, source="test", published_at=datetime(2026, 2, 1, 3, tzinfo=timezone.utc))


def test_migrate_creates_schema_and_is_repeatable(tmp_path):
    store = Store(tmp_path / "p.db")
    assert store.schema_version() == 0
    assert store.migrate() == len(MIGRATIONS)
    assert store.migrate() == len(MIGRATIONS)
    assert store.is_initialised
    tables = set(store.db.table_names())
    for name in ("sources", "items", "annotations", "streams", "stream_items", "flags", "flag_events", "labels",
                 "users", "org_units", "api_tokens", "watch_terms", "briefings", "model_versions", "runs",
                 "items_fts", "schema_version"):
        assert name in tables, name


@pytest.mark.sqlite_only("write-ahead logging is SQLite's journal mode; PostgreSQL has its own WAL, always on")
def test_a_new_sqlite_store_uses_write_ahead_logging(tmp_path):
    store = Store(tmp_path / "p.db")
    store.migrate()
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_same_item_twice_is_stored_once(store):
    assert len(store.add_items([_item()])) == 1
    assert store.add_items([_item()]) == []
    assert store.count_items() == 1


def test_same_url_with_other_text_is_not_stored_again(store):
    store.add_items([_item()])
    assert store.add_items([_item(text="Bản sửa của cùng bài báo.")]) == []
    assert store.count_items() == 1


def test_same_text_at_another_url_is_not_stored_again(store):
    store.add_items([_item()])
    assert store.add_items([_item(url="http://127.0.0.1/copy")]) == []
    assert store.add_items([_item(url=None, title="  CÔNG NHÂN bị nợ lương  ba tháng")]) == []
    assert store.count_items() == 1


def test_items_without_url_are_kept_apart_by_content(store):
    ids = store.add_items([_item(url=None), _item(url=None, title="Đề xuất tăng lương tối thiểu vùng")])
    assert len(ids) == 2


def test_search_ignores_diacritics(store):
    store.add_items([_item(), _item(title="Giá vàng hôm nay", url="http://127.0.0.1/b", text="Vàng tăng giá.")])
    found = store.search_items("luong")
    assert [r["title"] for r in found] == ["Công nhân bị nợ lương ba tháng"]
    assert store.search_items("NỢ LƯƠNG")[0]["title"] == "Công nhân bị nợ lương ba tháng"
    assert store.search_items("   ") == []


def test_sql_looking_text_is_stored_as_text(store):
    evil = "'; DROP TABLE items; --"
    store.add_items([_item(title=evil, url="http://127.0.0.1/x")])
    assert store.count_items() == 1
    assert store.items_by_ids([1])[0]["title"] == evil


def test_flags_are_upserted_by_key(store):
    flag = dict(key="burst:tien_luong:2026-02-01", kind="burst", topic="tien_luong", score=2.0,
                window_start="2026-01-31T17:00:00+00:00", window_end="2026-02-01T17:00:00+00:00", count=5,
                baseline=1.0, reason="x", item_ids=[1, 2])
    first = store.upsert_flag(flag)
    second = store.upsert_flag({**flag, "count": 6})
    assert first == second
    assert store.count_flags() == 1
    assert store.flags()[0]["count"] == 6


def test_the_same_article_on_another_site_is_another_item(store):
    store.add_items([_item()])
    copy = _item(url="http://127.0.0.1/elsewhere")
    copy.source = "other-site"
    assert len(store.add_items([copy])) == 1
    assert store.count_items() == 2


def test_a_sources_retry_after_is_kept_in_its_config_and_forgotten_without_touching_the_rest(store):
    store.upsert_source("a.vn", "rss", "http://127.0.0.1/a.rss", config={"selector": "article"})
    store.set_source_retry_after("a.vn", "2026-02-01T04:00:00+00:00")
    assert store.source("a.vn")["config"] == {"selector": "article", "retry_after": "2026-02-01T04:00:00+00:00"}
    store.set_source_retry_after("a.vn", None)
    store.set_source_retry_after("a.vn", None)
    store.set_source_retry_after("nowhere", "2026-02-01T04:00:00+00:00")   # an unknown source: nothing written
    assert store.source("a.vn")["config"] == {"selector": "article"} and store.source("nowhere") is None
