"""Opinion streams: where each annotated item belongs.

This first version keeps one stream per (topic, local day); ids are stable because a stream is found by its key.
"""
from __future__ import annotations

from typing import Any, Iterable

from service.store import Store
from service.timeutil import local_day


def stream_key(topic: str, day: str) -> str:
    return f"{topic}/{day}"


def assign(store: Store, annotated: Iterable[tuple[dict[str, Any], Any]]) -> list[int]:
    """Place each (item row, annotation) in its stream; returns the stream ids used."""
    used = []
    for item, ann in annotated:
        day = local_day(item["published_at"])
        stream_id = store.stream_for_key(stream_key(ann.topic, day), ann.topic, day, item["published_at"])
        store.add_to_stream(stream_id, item["id"], item["published_at"])
        used.append(stream_id)
    return used
