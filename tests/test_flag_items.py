"""A flag's items are link rows (issue 18.1): they come back in their order, find the flags citing an item, leave
with a deleted item, and the migration moves the old JSON lists into them — on either backend."""
from __future__ import annotations

from datetime import datetime, timezone

from collectors.items import RawItem
from service.store import MIGRATIONS, Store


def _flag(key: str, item_ids: list[int], **extra) -> dict:
    return dict(key=key, kind="burst", topic="tien_luong", score=2.0, window_start="2026-01-31T17:00:00+00:00",
                window_end="2026-02-01T17:00:00+00:00", count=len(item_ids), baseline=1.0, reason="x",
                item_ids=item_ids, **extra)


def test_a_flags_items_round_trip_in_order_and_find_the_flags_citing_them(store):
    first = store.upsert_flag(_flag("burst:a", [5, 3, 9]))
    assert store.flag(first)["item_ids"] == [5, 3, 9]
    assert store.upsert_flag(_flag("burst:a", [9, 5, 12, 9])) == first   # re-detected: new order, a repeat dropped
    second, new = store.save_story_flag(_flag("story:1", [12, 2, 7], severity=1.0, title="t"))
    assert new and store.flag(second)["item_ids"] == [12, 2, 7]
    store.save_story_flag(_flag("story:1", [7, 12], severity=1.0, title="t"))
    assert {f["id"]: f["item_ids"] for f in store.flags()} == {first: [9, 5, 12], second: [7, 12]}
    assert store.flag_by_key("story:1")["item_ids"] == [7, 12]
    citing = store.flags_citing([12, 5, 3, 404])
    assert {k: [f["id"] for f in v] for k, v in citing.items()} == {12: [first, second], 5: [first]}
    assert citing[5][0]["kind"] == "burst" and citing[5][0]["status"] == "open"
    store.upsert_flag(_flag("burst:a", []))
    assert store.flag(first)["item_ids"] == [] and 5 not in store.flags_citing([5])


def test_a_deleted_item_leaves_the_flags_lists_which_keep_their_order(store):
    at = datetime(2026, 2, 1, 3, tzinfo=timezone.utc)
    ids = store.add_items([RawItem(text=f"Tin số {n}.", title=f"Tin {n}", url=f"http://127.0.0.1/{n}",
                                   source="test", published_at=at) for n in range(3)])
    flag_id = store.upsert_flag(_flag("burst:b", [ids[2], ids[1], ids[0]]))
    store.delete_items([ids[1]])
    assert store.flag(flag_id)["item_ids"] == [ids[2], ids[0]]
    assert store.flags_citing([ids[1]]) == {}


def test_the_migration_moves_old_json_lists_into_link_rows(tmp_path):
    link = next(n for n, m in enumerate(MIGRATIONS) if "CREATE TABLE flag_items" in m)
    store = Store(tmp_path / "old.db")
    assert store.migrate(MIGRATIONS[:link]) == link
    for key, item_ids in (("a", "[4, 2, 7, 2]"), ("b", "[]"), ("c", "not json"), ("d", '[3, "x", 1.5, 8]')):
        store.db.conn.execute(   # as the code before link rows stored a flag
            "INSERT INTO flags (key, kind, score, window_start, window_end, count, baseline, reason, item_ids,"
            " created_at, updated_at) VALUES (?, 'burst', 1, '2026-01-31T17:00:00+00:00', '2026-02-01T17:00:00+00:00',"
            " 1, 1, 'x', ?, '2026-02-01T17:00:00+00:00', '2026-02-01T17:00:00+00:00')", [key, item_ids])
    assert store.migrate() == len(MIGRATIONS)
    assert {k: store.flag_by_key(k)["item_ids"] for k in "abcd"} == {"a": [4, 2, 7], "b": [], "c": [], "d": [3, 8]}
    columns = [c[0] for c in store.db.execute("SELECT * FROM flags LIMIT 1").description]
    assert "key" in columns and "item_ids" not in columns   # the link rows are the one truth
    store.close()
