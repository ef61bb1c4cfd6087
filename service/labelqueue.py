"""The labelling queue: the items a label teaches the model most, first.

Active learning by margin: among recent unlabelled items, those where the active topic model hesitates most between its
two best topics (smallest margin) come first, kept diverse — one item per story (syndicated copies and near-duplicates
count as one) and a few per stream — with the model's guess shown as a suggestion.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from nlp.classify import TextClassifier
from nlp.dedupe import hamming, simhash
from nlp.taxonomy import load_taxonomy
from service import registry
from service.labels import item_text, taxonomy_path
from service.store import Store

POOL = 400          # recent unlabelled items the model looks at
PER_STREAM = 2      # at most this many items of one stream in a queue
NEAR_BITS = 8       # items whose SimHash differ by this many bits or fewer are one story


def margins(proba: np.ndarray) -> np.ndarray:
    """Best minus second-best probability of each row (0 = the model cannot choose)."""
    if proba.shape[1] < 2:
        return np.ones(proba.shape[0])
    top2 = np.sort(proba, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def diverse(order: list[int], rows: list[dict], limit: int) -> list[int]:
    """Indices of `order`, in order, skipping items of a story already taken or of a stream already taken enough."""
    chosen: list[int] = []
    stories: set[int] = set()
    signatures: list[int] = []
    per_stream: dict[int, int] = {}
    for k in order:
        row = rows[k]
        story, stream = row.get("story_id"), row.get("stream_id")
        if story is not None and story in stories:
            continue
        if stream is not None and per_stream.get(stream, 0) >= PER_STREAM:
            continue
        sig = int(row["simhash"], 16) if row.get("simhash") else simhash(item_text(row))
        if any(hamming(sig, s) <= NEAR_BITS for s in signatures):
            continue
        chosen.append(k)
        signatures.append(sig)
        if story is not None:
            stories.add(story)
        if stream is not None:
            per_stream[stream] = per_stream.get(stream, 0) + 1
        if len(chosen) >= limit:
            break
    return chosen


def labelling_queue(store: Store, models_dir: Path, limit: int = 20, since_day: str | None = None,
                    pool: int = POOL, units: list[str] | None = None, taxonomy_file: Path | None = None) -> list[dict]:
    """Up to `limit` unlabelled items, least certain first, diverse; each with the model's suggestion. With
    `units`, only public items and those of these units (an analyst's scope). Topic names come from `taxonomy_file`
    (default: the one in `models_dir`)."""
    rows = [r for r in store.unlabelled_items("topic", since_day, pool, units=units)
            if (r["title"] or r["text"]).strip()]
    if not rows:
        return []
    version = registry.active_versions(models_dir)["topic"]
    model = TextClassifier.load(Path(models_dir) / "topic" / version / "model.skops")
    proba = model.predict_proba([item_text(r) for r in rows])
    margin = margins(proba)
    order = sorted(range(len(rows)), key=lambda k: (margin[k], -rows[k]["id"]))
    taxonomy = load_taxonomy(taxonomy_file or taxonomy_path(models_dir))
    out = []
    for k in diverse(order, rows, limit):
        ranked = np.argsort(-proba[k])
        best, second = (str(model.classes_[j]) for j in ranked[:2])
        out.append({"item_id": rows[k]["id"], "title": rows[k]["title"], "text": rows[k]["text"][:400],
                    "day": rows[k]["day"], "source": rows[k]["source"], "stream_id": rows[k]["stream_id"],
                    "suggestion": best, "suggestion_name": taxonomy.name(best), "score": round(float(proba[k, ranked[0]]), 3),
                    "runner_up": second, "runner_up_name": taxonomy.name(second),
                    "margin": round(float(margin[k]), 3), "model_version": version})
    return out
