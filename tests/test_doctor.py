"""`pulse doctor` finds and mends, on databases damaged on purpose, what earlier versions left behind."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from collectors.files import read_timeline
from collectors.items import RawItem
from conftest import FIXTURES
from nlp.annotate import Annotation
from service import streams
from service.doctor import doctor
from service.store import Store

TIMELINE = FIXTURES / "timeline" / "news-2026-02.jsonl"


def _annotation(topic: str = "khac") -> Annotation:
    return Annotation(topic=topic, topic_score=0.9, news_topic=None, sentiment="neutral", sentiment_score=0.8,
                      toxicity=None, keyphrases=["lương"])


def _annotate(store: Store, rows: list[dict], place: bool) -> None:
    store.add_annotations([{**_annotation().to_dict(), "item_id": r["id"], "model_version": "test"} for r in rows])
    if place:
        streams.assign(store, [(r, _annotation()) for r in rows])


@pytest.fixture
def timeline_store(cli, db_path):
    assert cli("init").exit_code == 0
    store = Store(db_path)
    store.add_items(read_timeline(TIMELINE).items)
    yield store
    store.close()


def _items(store: Store) -> list[dict]:
    return next(store.unannotated_items("test", batch_size=1000), [])


def _unplaced(store: Store) -> int:
    return store.count_annotated_unplaced()


def test_annotated_but_unplaced_items_are_placed(timeline_store, cli):
    store = timeline_store
    rows = _items(store)
    _annotate(store, rows[:40], place=True)
    _annotate(store, rows[40:], place=False)   # what a `pulse process` killed between its two commits left
    assert _unplaced(store) == 0   # still queued: the next processing run places them, doctor does not
    assert "annotated items waiting in the processing queue: %d" % (len(rows) - 40) in cli("doctor", "--check").output
    # before the processing queue, such items were out of any queue: stranded
    store.db.execute("DELETE FROM process_queue WHERE item_id >= ?", [rows[40]["id"]])
    assert _unplaced(store) == len(rows) - 40

    checked = cli("doctor", "--check")
    assert checked.exit_code == 1
    assert f"annotated but unplaced items: {len(rows) - 40} found" in checked.output
    assert _unplaced(store) == len(rows) - 40   # --check changes nothing

    mended = cli("doctor")
    assert mended.exit_code == 0, mended.output
    assert f"annotated but unplaced items: {len(rows) - 40} mended" in mended.output
    assert _unplaced(store) == 0
    assert store.placed_count() == len(rows)
    # placed with their stored annotation, into streams the detectors count
    facts = store.item_facts([r["id"] for r in rows[40:]])
    assert {f["topic"] for f in facts} == {"khac"} and all(f["stream_id"] for f in facts)
    assert store.streams_with_wrong_size() == []
    again = cli("doctor", "--check")
    assert again.exit_code == 0 and "annotated but unplaced items: 0 found" in again.output


def test_items_missing_their_search_row_are_indexed_again(timeline_store, cli):
    store = timeline_store
    victim = next(r for r in _items(store) if "Epstein" in r["title"])
    store.db.execute("DELETE FROM items_fts WHERE rowid = ?", [victim["id"]])   # what a killed import left
    store.db.execute("INSERT INTO items_fts (rowid, folded) VALUES (99999, 'mot dong lac')")
    assert victim["id"] not in [r["id"] for r in store.search_items("Epstein")]

    report = doctor(store, check=True)
    assert (report.missing_search_rows, report.stray_search_rows) == (1, 1)
    result = cli("doctor")
    assert result.exit_code == 0, result.output
    assert "items missing their search row: 1 mended" in result.output
    assert "search rows without an item: 1 mended" in result.output
    assert victim["id"] in [r["id"] for r in store.search_items("epstein")]
    assert store.items_missing_search_rows() == [] and store.stray_search_rows() == []
    assert store.db.execute("SELECT COUNT(*) FROM items_fts").fetchone()[0] == store.count_items()


def test_orphan_observation_items_are_removed_and_the_rest_kept(timeline_store, cli):
    store = timeline_store
    store.add_org_unit("u", "Unit", "caobang")
    user_id = store.add_user("ctv", "x", "collaborator", "u")
    when = datetime(2026, 2, 1, 5, tzinfo=timezone.utc)

    def observation(text: str) -> RawItem:
        return RawItem(text=text, source="Cộng tác viên", kind="observation", published_at=when, author="ctv",
                       org_unit="u", extra={"observed_on": "2026-02-01", "people": 4})

    kept, _ = store.add_submission(user_id, "key-000001", observation("Công nhân phản ánh bị nợ lương hai tháng."))
    # what ten concurrent resends of one key left under the old code: items whose submission insert failed
    orphans = store.add_items([observation(f"Công nhân phản ánh bị nợ lương hai tháng, bản sửa {n}.")
                               for n in range(3)])
    imported = store.add_items([RawItem(text="Báo cáo của công đoàn cơ sở về việc làm thêm giờ.", kind="observation",
                                        source="baocao", published_at=when, org_unit="u", extra={"place": "KCN"})])
    pending = _items(store)
    _annotate(store, pending, place=True)
    stream_id = store.stream_of_item(orphans[0])
    store.upsert_flag({"key": "k", "kind": "burst", "score": 1.0, "window_start": "2026-02-01",
                       "window_end": "2026-02-01", "count": 2, "baseline": 0.0, "reason": "r",
                       "item_ids": [orphans[0], imported[0]]})

    assert sorted(store.orphan_submission_items()) == sorted(orphans)
    result = cli("doctor")
    assert result.exit_code == 0, result.output
    assert "observation items without their submission: 3 removed" in result.output
    assert store.items_by_ids(orphans) == []
    assert len(store.items_by_ids([imported[0]])) == 1          # imported reports have no submission by design
    assert store.count_submissions() == 1 and store.submissions()[0]["id"] == kept
    assert store.flags()[0]["item_ids"] == [imported[0]]
    assert store.streams_with_wrong_size() == []
    assert stream_id is not None and all(store.stream_of_item(i) is None for i in orphans)
    assert store.stray_search_rows() == [] and store.integrity_check() == ["ok"]
    assert store.foreign_key_violations() == []


def test_stream_sizes_that_disagree_with_their_items_are_recounted(timeline_store):
    store = timeline_store
    _annotate(store, _items(store), place=True)
    sid = store.db.execute("SELECT stream_id FROM stream_items LIMIT 1").fetchone()[0]
    store.db.execute("UPDATE streams SET size = size + 5 WHERE id = ?", [sid])
    assert doctor(store, check=True).stream_sizes == 1
    assert doctor(store).stream_sizes == 1
    assert store.streams_with_wrong_size() == []
    assert doctor(store, check=True).problems == 0


def test_init_runs_the_repair(timeline_store, cli):
    store = timeline_store
    rows = _items(store)
    _annotate(store, rows[:10], place=False)
    store.db.execute("DELETE FROM process_queue WHERE item_id <= ?", [rows[9]["id"]])   # stranded, as before the queue
    store.db.execute("DELETE FROM items_fts WHERE rowid = ?", [rows[20]["id"]])
    result = cli("init")
    assert result.exit_code == 0, result.output
    assert "repair: annotated but unplaced items: 10 mended" in result.output
    assert "repair: items missing their search row: 1 mended" in result.output
    assert doctor(store, check=True).problems == 0
    assert "repair:" not in cli("init").output   # a sound store: nothing to say


def test_doctor_on_a_sound_store_changes_nothing(timeline_store, cli):
    store = timeline_store
    _annotate(store, _items(store), place=True)
    before = store.db.execute("SELECT COUNT(*), SUM(size) FROM streams").fetchone()
    result = cli("doctor")
    assert result.exit_code == 0 and "integrity check: ok" in result.output
    assert store.db.execute("SELECT COUNT(*), SUM(size) FROM streams").fetchone() == before


def test_foreign_key_violations_are_listed_on_either_backend(tmp_path):
    """What a copy with its constraints held off (or SQLite with foreign keys off) may leave: a row citing no item."""
    store = Store(tmp_path / "p.db")
    store.migrate()
    assert store.foreign_key_violations() == []
    held_off = ("PRAGMA foreign_keys = OFF", "PRAGMA foreign_keys = ON") if store.backend == "sqlite" else (
        "SET session_replication_role = replica", "SET session_replication_role = DEFAULT")
    store.db.execute(held_off[0])
    store.db.execute("INSERT INTO annotations (item_id, model_version, topic, topic_score, sentiment, sentiment_score,"
                     " keyphrases, created_at) VALUES (999, 'v', 't', 1.0, 'neutral', 1.0, '[]',"
                     " '2026-01-01T00:00:00+00:00')")
    store.db.execute(held_off[1])
    assert [(table, parent) for table, _, parent in store.foreign_key_violations()] == [("annotations", "items")]
    store.close()
