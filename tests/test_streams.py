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


def test_the_counts_a_stream_keeps_match_its_items_across_runs(tmp_path):
    """Size, topic counts and keyphrase counts are kept with each stream and grown item by item (placing never
    re-reads a stream's items); after several runs they equal what the stream's items say."""
    from collections import Counter

    store = Store(tmp_path / "c.db")
    store.migrate()
    store.add_items(read_timeline(TIMELINE).items)
    topics = ["tien_luong", "viec_lam", "khac"]

    def annotation(row) -> Annotation:
        words = [w.lower() for w in row["title"].split() if len(w) > 3]
        return Annotation(topic=topics[row["id"] % 3], topic_score=1.0, news_topic=None, sentiment="neutral",
                          sentiment_score=1.0, toxicity=None, keyphrases=words[:4])

    given = {}
    for run in range(3):          # three runs, each with its own placer reading what the last one kept
        if run == 1:              # as a database made before the counts were kept: read from the items once
            with store.transaction():
                store.db.execute("UPDATE streams SET topic_counts = NULL, phrase_counts = NULL")
            legacy = {r[0] for r in store.db.execute("SELECT id FROM streams")}
        placer = streams.StreamPlacer(store)
        for batch in store.unannotated_items("test", batch_size=7):
            if run < 2 and batch[0]["id"] % 3 != run:
                continue
            pairs = [(row, annotation(row)) for row in batch]
            store.add_annotations([{**ann.to_dict(), "item_id": row["id"], "model_version": "test"}
                                   for row, ann in pairs])    # annotated, then placed, as pipeline.process does
            placer.assign(pairs)
            given.update((row["id"], ann) for row, ann in pairs)
    assert len(given) == store.db.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    checked, recounted = 0, 0
    for row in store.db.query("SELECT * FROM streams WHERE status != 'merged'"):
        if row["topic_counts"] is None:      # a legacy stream that no later item touched keeps unknown counts
            assert row["id"] in legacy
            continue
        recounted += row["id"] in legacy
        ids = [r[0] for r in store.db.execute("SELECT item_id FROM stream_items WHERE stream_id = ?", [row["id"]])]
        assert row["size"] == len(ids)
        assert json.loads(row["topic_counts"]) == dict(Counter(given[i].topic for i in ids))
        phrases = Counter()
        for i in ids:
            phrases.update(set(given[i].keyphrases))
        kept = json.loads(row["phrase_counts"])
        assert all(phrases[p] == n for p, n in kept.items())
        assert sorted(kept.values(), reverse=True) == [n for _, n in phrases.most_common(len(kept))]
        checked += 1
    assert checked > 20 and recounted > 3
    assert store.streams_with_wrong_size() == []
    store.close()


def test_a_merged_stream_brings_its_counts_and_unknown_counts_stay_unknown():
    from collections import Counter

    kept = streams._Stream(1, "khac", "2026-02-01", "2026-02-02", {"a": 1.0}, size=3,
                           topics=Counter(tien_luong=2, khac=1), phrases=Counter({"nợ lương": 3}))
    other = streams._Stream(2, "khac", "2026-02-02", "2026-02-03", {"b": 1.0}, size=2,
                            topics=Counter(tien_luong=2), phrases=Counter({"nợ lương": 1, "tết": 2}))
    kept.absorb(other)
    assert (kept.size, kept.topics, kept.phrases) == (5, Counter(tien_luong=4, khac=1),
                                                      Counter({"nợ lương": 4, "tết": 2}))
    legacy = streams._Stream(3, "khac", "2026-02-01", "2026-02-01", {"c": 1.0}, size=4, topics=None, phrases=None)
    kept.absorb(legacy)     # counts not known for one side: read from the items when next saved
    assert (kept.size, kept.topics, kept.phrases) == (9, None, None)


def test_a_placer_resumes_only_while_nothing_else_wrote_streams(tmp_path):
    """`pulse process` in a long-lived worker keeps its streams in memory from one run to the next (no reload of
    every active stream and signature per cycle) — but only while no one else has written streams, their items or
    signatures since its last batch; and a resumed placer places exactly as a fresh one does."""
    rows = [json.loads(line) for line in TIMELINE.read_text(encoding="utf-8").splitlines()]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    facts = []
    for resume in (False, True):
        store = Store(tmp_path / f"r{resume}.db")
        store.migrate()
        store.add_items(read_timeline(path).items)
        placers = []
        for batch in store.unannotated_items("test", batch_size=10):
            placer = streams.StreamPlacer.resume(store) if resume else streams.StreamPlacer(store)
            placers.append(placer)
            placer.assign([(row, _annotation()) for row in batch])
            store.add_annotations([{**_annotation().to_dict(), "item_id": row["id"], "model_version": "test"}
                                   for row in batch])
        if resume:
            assert len(placers) > 2 and all(p is placers[0] for p in placers), "each run went on with the same placer"
            with Store(tmp_path / f"r{resume}.db") as other:     # another connection, as another process would be
                assert streams.StreamPlacer.resume(other) is placers[0]
                some = other.db.execute("SELECT item_id FROM stream_items LIMIT 1").fetchone()[0]
                other.update_item_facts([("viec_lam", "negative", some)])   # a promotion's re-annotation
                assert streams.StreamPlacer.resume(other) is not placers[0]
        facts.append({r["item_id"]: (r["stream_id"], r["story_id"])
                      for r in store.db.query("SELECT item_id, stream_id, story_id FROM stream_items")})
        store.close()
    assert facts[0] == facts[1] and len(facts[0]) == len(rows)
