"""Relevance of stored items to the board (nlp/relevance.py), computed with the installation's settings.

`relevance_rows` scores a batch the pipeline has just annotated; `backfill_relevance` scores the items processed
before relevance existed (called by `pipeline.process`, and by `pulse doctor`).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable

from nlp.gazetteer import Gazetteer, load_gazetteer
from nlp.relevance import EXCLUDED_KINDS, Relevance, score
from service.config import RelevanceSettings
from service.store import Store


@lru_cache(maxsize=8)
def _gazetteer(path: str, industrial_zones: tuple[str, ...], employers: tuple[str, ...]) -> Gazetteer:
    return load_gazetteer(path).extended(industrial_zones=industrial_zones, employers=employers)


def gazetteer_for(settings: RelevanceSettings | None = None) -> Gazetteer:
    """The settings' gazetteer with their industrial zones and employers (read once per process)."""
    settings = settings or RelevanceSettings()
    unknown = set(settings.excluded_news) - set(EXCLUDED_KINDS)
    if unknown:
        raise ValueError(f"unknown kinds in [relevance] excluded_news: {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(EXCLUDED_KINDS)})")
    return _gazetteer(str(settings.gazetteer), tuple(settings.industrial_zones), tuple(settings.employers))


def item_relevance(item: dict, topic: str | None = None, news_topic: str | None = None,
                   settings: RelevanceSettings | None = None) -> Relevance:
    """One stored item's relevance (item: a row with title, text, kind, source, org_unit)."""
    settings = settings or RelevanceSettings()
    return score(item.get("title") or "", item.get("text") or "", kind=item.get("kind") or "article",
                 source=item.get("source") or "", org_unit=item.get("org_unit"), topic=topic, news_topic=news_topic,
                 gazetteer=gazetteer_for(settings), local_sources=frozenset(settings.local_sources),
                 excluded_kinds=tuple(settings.excluded_news))


def relevance_rows(items: Iterable[dict], annotations: Iterable[Any],
                   settings: RelevanceSettings | None = None) -> list[dict]:
    """Rows for `Store.add_relevance` from items and their annotations (nlp Annotation objects or dicts)."""
    rows = []
    for item, ann in zip(items, annotations):
        get = ann.get if isinstance(ann, dict) else (lambda k, a=ann: getattr(a, k, None))
        rel = item_relevance(item, get("topic"), get("news_topic"), settings)
        rows.append(_row(item["id"], rel))
    return rows


def backfill_relevance(store: Store, settings: RelevanceSettings | None = None, batch_size: int = 500) -> int:
    """Score every annotated item that has no relevance yet; returns how many were scored. Idempotent."""
    done, last_id = 0, 0
    while True:
        batch = store.items_lacking_relevance(after_id=last_id, limit=batch_size)
        if not batch:
            return done
        rows = [_row(item["id"], item_relevance(item, item.get("topic"), item.get("news_topic"), settings))
                for item in batch]
        store.add_relevance(rows)
        done += len(rows)
        last_id = batch[-1]["id"]


def _row(item_id: int, rel: Relevance) -> dict:
    return {"item_id": item_id, "workers": rel.workers, "local": rel.local, "excluded": rel.excluded,
            "places": rel.places, "reasons": rel.reasons}
