"""The labelling queue: least certain first, one item per story, labelled items left out, the model's guess shown."""
from __future__ import annotations

from datetime import timedelta

import pytest

from collectors.items import RawItem
from nlp.taxonomy import load_taxonomy
from service.labelqueue import labelling_queue
from service.pipeline import load_annotator, process
from retrain_support import FIRST_DAY, copy_models, label_all, store_gold_items


@pytest.fixture
def models(tmp_path):
    return copy_models(tmp_path)


@pytest.fixture
def gold(store, models):
    pairs = store_gold_items(store, 200)
    annotator, versions = load_annotator(models)
    process(store, annotator, versions)
    return pairs


def test_queue_puts_the_least_certain_items_first_with_a_suggestion(store, models, gold):
    queue = labelling_queue(store, models, limit=15)
    assert len(queue) == 15
    margins = [q["margin"] for q in queue]
    assert margins == sorted(margins)
    codes = set(load_taxonomy(models / "taxonomy.toml").codes)
    assert all(q["suggestion"] in codes and q["suggestion"] != q["runner_up"] for q in queue)
    assert all(q["suggestion_name"] and 0 < q["score"] <= 1 for q in queue)
    # the queue's items are less certain than the typical item
    everything = labelling_queue(store, models, limit=200)
    median = sorted(q["margin"] for q in everything)[len(everything) // 2]
    assert max(margins) < median


def test_labelled_items_leave_the_queue(store, models, gold):
    queue = labelling_queue(store, models, limit=10)
    done = [q["item_id"] for q in queue[:5]]
    label_all(store, [(i, "khac") for i in done])
    again = labelling_queue(store, models, limit=10)
    assert not set(done) & {q["item_id"] for q in again}


def test_copies_of_one_story_appear_once(store, models, gold):
    first = labelling_queue(store, models, limit=1)[0]
    item = store.item(first["item_id"])
    copies = [RawItem(text=item["text"], title=item["title"], source=f"copy{k}",
                      published_at=FIRST_DAY + timedelta(hours=1 + k)) for k in range(4)]
    new_ids = store.add_items(copies)
    annotator, versions = load_annotator(models)
    process(store, annotator, versions)
    queue = labelling_queue(store, models, limit=20)
    group = {first["item_id"], *new_ids}
    assert sum(q["item_id"] in group for q in queue) == 1
    streams = [q["stream_id"] for q in queue if q["stream_id"] is not None]
    assert all(streams.count(s) <= 2 for s in streams)
