"""The labelling queue: the items a label teaches the model most, first.

Active learning by margin: among recent unlabelled items, those where the active topic model hesitates most between its
two best topics (smallest margin) come first, kept diverse — one item per story (syndicated copies and near-duplicates
count as one) and a few per stream — with the model's guess shown as a suggestion.

Two halves, so the web server never loads a model: `score_pool` (the job worker, a `label_pool` job) scores the newest
unlabelled items with the active topic model; `queue_from_scores` (the page) orders the viewer's unlabelled items by
those scores, diverse. `labelling_queue` does both at once.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

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


def score_pool(store: Store, models_dir: Path, since_day: str | None = None, pool: int = POOL,
               units: list[str] | None = None) -> dict:
    """The active topic model's two best topics, best score and margin for the `pool` newest unlabelled items:
    {"version", "items": {item id: [best, runner-up, score, margin]}} (ids as strings: it is kept as JSON)."""
    from nlp.classify import TextClassifier   # scikit-learn and the model: in the worker, not in the web server

    version = registry.active_versions(models_dir)["topic"]
    rows = [r for r in store.unlabelled_items("topic", since_day, pool, units=units)
            if (r["title"] or r["text"]).strip()]
    if not rows:
        return {"version": version, "items": {}}
    model = TextClassifier.load(Path(models_dir) / "topic" / version / "model.skops")
    proba = model.predict_proba([item_text(r) for r in rows])
    margin = margins(proba)
    items = {}
    for k, row in enumerate(rows):
        ranked = np.argsort(-proba[k])
        best = str(model.classes_[ranked[0]])
        second = str(model.classes_[ranked[1]]) if len(ranked) > 1 else best
        items[str(row["id"])] = [best, second, float(proba[k, ranked[0]]), float(margin[k])]
    return {"version": version, "items": items}


def queue_from_scores(store: Store, scores: dict, limit: int = 20, since_day: str | None = None, pool: int = POOL,
                      units: list[str] | None = None, taxonomy_file: Path | None = None,
                      models_dir: Path | None = None) -> list[dict]:
    """Up to `limit` of the viewer's unlabelled items that `scores` holds, least certain first, diverse; each with
    the model's suggestion. Items labelled since are left out; items stored since wait for the next scoring."""
    known = scores.get("items") or {}
    rows = [r for r in store.unlabelled_items("topic", since_day, pool, units=units)
            if (r["title"] or r["text"]).strip() and str(r["id"]) in known]
    if not rows:
        return []
    order = sorted(range(len(rows)), key=lambda k: (known[str(rows[k]["id"])][3], -rows[k]["id"]))
    taxonomy = load_taxonomy(taxonomy_file or taxonomy_path(models_dir))
    out = []
    for k in diverse(order, rows, limit):
        best, second, score, margin = known[str(rows[k]["id"])]
        out.append({"item_id": rows[k]["id"], "title": rows[k]["title"], "text": rows[k]["text"][:400],
                    "day": rows[k]["day"], "source": rows[k]["source"], "stream_id": rows[k]["stream_id"],
                    "suggestion": best, "suggestion_name": taxonomy.name(best), "score": round(score, 3),
                    "runner_up": second, "runner_up_name": taxonomy.name(second),
                    "margin": round(margin, 3), "model_version": scores.get("version")})
    return out


def labelling_queue(store: Store, models_dir: Path, limit: int = 20, since_day: str | None = None,
                    pool: int = POOL, units: list[str] | None = None, taxonomy_file: Path | None = None) -> list[dict]:
    """Up to `limit` unlabelled items, least certain first, diverse; each with the model's suggestion. With
    `units`, only public items and those of these units (an analyst's scope). Topic names come from `taxonomy_file`
    (default: the one in `models_dir`)."""
    scores = score_pool(store, models_dir, since_day, pool, units=units)
    return queue_from_scores(store, scores, limit, since_day, pool, units, taxonomy_file, models_dir)


# --- the scores kept between the worker and the page (a JSON file in the data folder's cache) ---------------------
RESCORE_MINUTES = 10   # the page asks the worker for fresh scores once they are this old (or the model changed)
WORKER_POOL = 5 * POOL   # the worker scores more than one viewer's pool: each unit's analysts find theirs in it


def pool_file(settings) -> Path:
    from service.datadir import data_dir

    return data_dir(settings) / "cache" / "label-pool.json"


def write_pool(settings, scores: dict) -> Path:
    """Keep the scores (written whole, then renamed: a page never reads half a file)."""
    import json
    import os
    from datetime import datetime, timezone

    path = pool_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({**scores, "scored_at": datetime.now(timezone.utc).timestamp()}), encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_pool(settings) -> dict | None:
    """The kept scores, or None when there are none (or they cannot be read)."""
    import json

    try:
        return json.loads(pool_file(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def pool_is_fresh(scores: dict | None, active_version: str) -> bool:
    import time

    return bool(scores and scores.get("version") == active_version
                and time.time() - float(scores.get("scored_at") or 0) < RESCORE_MINUTES * 60)

