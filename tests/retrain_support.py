"""Real items and real labels for the retraining tests: the hand-labelled gold news (tests/fixtures/nlp_topic_gold.tsv)
stored as items, with their labels given as the board would give them; and a models folder copied to tmp."""
from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

from collectors.items import RawItem
from nlp.train import read_topic_gold

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_MODELS = ROOT / "classifier_models"
FIRST_DAY = datetime(2026, 2, 1, 1, 0, tzinfo=timezone.utc)


def copy_models(tmp: Path) -> Path:
    """A private copy of classifier_models/ (the shipped one is never written by a test): the shipped ACTIVE version
    of each task, as `v1`, the only version in the copy's registry (so the tests' next version is always `v2`)."""
    import json

    dest = tmp / "classifier_models"
    dest.mkdir(parents=True)
    registry = json.loads((SHIPPED_MODELS / "registry.json").read_text(encoding="utf-8"))
    for task, entry in registry.items():
        shutil.copytree(SHIPPED_MODELS / task / entry["active"], dest / task / "v1")
    shutil.copy2(SHIPPED_MODELS / "taxonomy.toml", dest / "taxonomy.toml")
    (dest / "registry.json").write_text(json.dumps(
        {task: {"active": "v1", "versions": ["v1"]} for task in registry}, indent=2), encoding="utf-8")
    return dest


def store_gold_items(store, limit: int | None = None) -> list[tuple[int, str]]:
    """Store the gold news as items (one every 2 hours from 2026-02-01); returns (item id, gold label) pairs."""
    texts, labels = read_topic_gold()
    texts, labels = texts[:limit], labels[:limit]
    items = [RawItem(text=t, source="gold", published_at=FIRST_DAY + timedelta(hours=2 * i))
             for i, t in enumerate(texts)]
    ids = store.add_items(items)
    assert len(ids) == len(items), "gold texts are distinct"
    return list(zip(ids, labels))


def label_all(store, pairs, username: str = "analyst") -> None:
    store.add_labels([(i, "topic", y, username, "2026-11-27T00:00:00+00:00") for i, y in pairs])


SEED_SAMPLE = 5000                     # a small real subset of the seed news, enough for the tests
SEED_CACHE = ROOT / "tests" / "artifacts" / "seed-cache"   # kept between runs (tests/artifacts is ignored by git)


def seed_cache() -> Path:
    """The cached seed sample, made once (reading the news corpus takes a few seconds)."""
    from nlp.seedsample import seed_leads

    seed_leads(SEED_CACHE, SEED_SAMPLE)
    return SEED_CACHE


def snapshot(store, item_ids):
    """Each item's placed (topic, sentiment)."""
    return {r["item_id"]: (r["topic"], r["sentiment"]) for r in store.item_facts(item_ids)}
