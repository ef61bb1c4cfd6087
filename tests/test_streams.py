"""Streams from real news: what belongs together is grouped, what does not is kept apart, ids stay stable."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from conftest import FIXTURES
from collectors.files import read_timeline
from nlp.annotate import Annotation
from service import streams
from service.store import Store

TIMELINE = FIXTURES / "timeline" / "news-2026-02.jsonl"
STORIES = {
    "office": ["khánh thành trụ sở", "Trụ sở làm việc Cơ quan Chủ tịch nước", "dự khánh thành trụ sở"],
    "wages": ["trả đủ lương thưởng trước Tết", "chi trả đủ lương, thưởng Tết"],
    "epstein": ["Epstein", "ấu dâm"],
}


def _annotation(topic: str = "khac") -> Annotation:
    return Annotation(topic=topic, topic_score=1.0, news_topic=None, sentiment="neutral", sentiment_score=1.0,
                      toxicity=None, keyphrases=[])


def _place(store: Store, batch_size: int = 256) -> None:
    for batch in store.unannotated_items("test", batch_size=batch_size):
        streams.assign(store, [(row, _annotation()) for row in batch])


def _stream_of_titles(store: Store, needles: list[str]) -> dict[str, int]:
    rows = store.db.query("SELECT i.title, si.stream_id FROM items i JOIN stream_items si ON si.item_id = i.id")
    return {r["title"]: store.resolve_stream(r["stream_id"]) for r in rows
            if any(n.lower() in r["title"].lower() for n in needles)}


def test_real_stories_are_grouped_and_kept_apart(store):
    store.add_items(read_timeline(TIMELINE).items)
    _place(store)
    groups = {name: _stream_of_titles(store, needles) for name, needles in STORIES.items()}
    assert len(groups["office"]) == 4 and len(set(groups["office"].values())) == 1
    assert len(groups["wages"]) == 2 and len(set(groups["wages"].values())) == 1
    epstein = list(groups["epstein"].values())
    main = max(set(epstein), key=epstein.count)
    assert epstein.count(main) >= 5, "most Epstein-files stories from four outlets share one stream"
    ids = {name: max(set(v.values()), key=list(v.values()).count) for name, v in groups.items()}
    assert len(set(ids.values())) == 3, "three different stories are three streams"
    every = {title: sid for title, sid in _stream_of_titles(store, [""]).items()}
    others = [t for t, sid in every.items() if sid in ids.values()
              and not any(t in g for g in groups.values())]
    assert others == [], f"unrelated items joined a story's stream: {others}"
    office = store.stream(ids["office"])
    assert office["size"] == 4 and "trụ sở" in office["label"]


def test_stream_ids_are_stable_as_items_arrive(tmp_path):
    rows = [json.loads(line) for line in TIMELINE.read_text(encoding="utf-8").splitlines()]
    rows.sort(key=lambda r: r["published_at"])
    half = len(rows) // 2
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows[:half]), encoding="utf-8")
    second.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows[half:]), encoding="utf-8")
    store = Store(tmp_path / "p.db")
    store.migrate()
    store.add_items(read_timeline(first).items)
    _place(store, batch_size=7)
    before = {r["item_id"]: r["stream_id"] for r in store.db.query("SELECT item_id, stream_id FROM stream_items")}
    store.add_items(read_timeline(second).items)
    _place(store, batch_size=7)
    after = {r["item_id"]: store.resolve_stream(r["stream_id"])
             for r in store.db.query("SELECT item_id, stream_id FROM stream_items")}
    assert all(after[i] == store.resolve_stream(s) for i, s in before.items())
    moved = [i for i, s in before.items() if after[i] != s]
    for item_id in moved:  # an item moves only when its stream merged into an older one, which keeps its id
        assert store.stream(before[item_id])["merged_into"] is not None
    assert len(after) == len(rows)


def test_syndicated_copies_are_one_story_with_several_sources(store):
    rows = [json.loads(line) for line in TIMELINE.read_text(encoding="utf-8").splitlines()]
    original = next(r for r in rows if "Khánh thành trụ sở" in r["title"])
    copies = []
    for n, host in enumerate(["baocaobang.vn", "laodong.vn", "nld.com.vn"]):
        when = datetime.fromisoformat(original["published_at"]) + timedelta(hours=n + 1)
        copies.append({**original, "url": f"https://{host}/copy-{n}", "source": host,
                       "title": original["title"] + (" (ảnh)" if n == 1 else ""), "published_at": when.isoformat()})
    path = store.path.parent / "copies.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [original, *copies]), encoding="utf-8")
    store.add_items(read_timeline(path).items)
    _place(store)
    facts = list(store.db.query("SELECT item_id, story_id, stream_id, source FROM stream_items ORDER BY item_id"))
    assert len({f["story_id"] for f in facts}) == 1
    assert len({f["stream_id"] for f in facts}) == 1
    assert sorted(f["source"] for f in facts) == ["baocaobang.vn", "laodong.vn", "nld.com.vn", "vnexpress.net"]


def test_placing_again_changes_nothing(store):
    store.add_items(read_timeline(TIMELINE).items)
    _place(store)
    before = list(store.db.query("SELECT * FROM stream_items ORDER BY item_id"))
    for batch in store.unannotated_items("test", batch_size=64):
        streams.assign(store, [(row, _annotation("tien_luong")) for row in batch])
    assert list(store.db.query("SELECT * FROM stream_items ORDER BY item_id")) == before


def test_a_run_that_keeps_streams_in_memory_places_like_batch_by_batch_reads(tmp_path):
    """`StreamPlacer` (what `pulse process` uses) keeps the active streams and recent signatures between batches;
    it must place every item exactly as reading them from the store for each batch does."""
    rows = [json.loads(line) for line in TIMELINE.read_text(encoding="utf-8").splitlines()]
    copies = [{**r, "url": None, "source": "baocaobang.vn", "title": r["title"] + " (ảnh)"} for r in rows[::5]]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows + copies), encoding="utf-8")
    placements = []
    for keep_in_memory in (False, True):
        store = Store(tmp_path / f"{keep_in_memory}.db")
        store.migrate()
        store.add_items(read_timeline(path).items)
        placer = streams.StreamPlacer(store)
        returned = {}
        for batch in store.unannotated_items("test", batch_size=9):
            pairs = [(row, _annotation()) for row in batch]
            ids = placer.assign(pairs) if keep_in_memory else streams.assign(store, pairs)
            returned.update(zip([row["id"] for row in batch], ids))
            store.add_annotations([{**_annotation().to_dict(), "item_id": row["id"], "model_version": "test"}
                                   for row in batch])
        facts = {r["item_id"]: (r["stream_id"], r["story_id"])
                 for r in store.db.query("SELECT item_id, stream_id, story_id FROM stream_items")}
        assert all(returned[i] == store.resolve_stream(s) for i, (s, _) in facts.items())
        placements.append(facts)
        store.close()
    assert placements[0] == placements[1]
    assert len(placements[1]) == len(rows) + len(copies)
    assert len({story for _, story in placements[1].values()}) < len(placements[1]), "copies joined their story"
