"""Trend detection: which topics are bursting, with the evidence a board can check.

This first detector compares a topic's count on a local day with the median of its counts on the previous days
that had any items at all (a day with nothing collected is missing data, not a quiet day).
"""
from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from service.config import TrendSettings
from service.store import Store
from service.timeutil import day_bounds, days_between


@dataclass
class Flag:
    """One thing the board should look at, in the JSON form of the command-line contract."""

    kind: str
    stream_id: int | None
    topic: str | None
    score: float
    window_start: str
    window_end: str
    count: int
    baseline: float
    reason: str
    keyphrases: list[str] = field(default_factory=list)
    item_ids: list[int] = field(default_factory=list)
    id: int | None = None

    @property
    def key(self) -> str:
        """What makes a flag the same flag when detection runs again over the same days."""
        return f"{self.kind}:{self.topic}:{self.window_start}"

    def to_json(self) -> dict:
        data = asdict(self)
        return {k: data[k] for k in ("id", "kind", "stream_id", "topic", "score", "window_start", "window_end",
                                     "keyphrases", "count", "baseline", "reason", "item_ids")}


def topic_names() -> dict[str, str]:
    """Topic code → Vietnamese name from the shipped taxonomy (codes are shown when it cannot be read)."""
    try:
        from nlp.taxonomy import load_taxonomy

        return {t.code: t.name for t in load_taxonomy().topics}
    except Exception:
        return {}


def detect(store: Store, since: date, until: date, settings: TrendSettings | None = None) -> list[Flag]:
    """Run the detectors over the local days since..until (inclusive), store the flags, return them."""
    settings = settings or TrendSettings()
    first = since - timedelta(days=settings.baseline_days)
    counts: dict[tuple[str, str], dict] = {}
    for row in store.topic_day_counts(first.isoformat(), until.isoformat()):
        counts[(row["topic"], row["day"])] = row
    totals = store.day_totals(first.isoformat(), until.isoformat())
    names = topic_names()
    flags = []
    for day in days_between(since, until):
        history = [d for d in days_between(day - timedelta(days=settings.baseline_days), day - timedelta(days=1))
                   if totals.get(d.isoformat())]
        for (topic, row_day), row in sorted(counts.items()):
            if row_day != day.isoformat() or topic in settings.ignore_topics:
                continue
            flag = _burst(store, topic, day, row, history, counts, settings, names.get(topic, topic))
            if flag is not None:
                flag.id = store.upsert_flag({**flag.to_json(), "key": flag.key})
                flags.append(flag)
    flags.sort(key=lambda f: (-f.score, f.window_start))
    return flags


def _burst(store: Store, topic: str, day: date, row: dict, history: list[date],
           counts: dict[tuple[str, str], dict], settings: TrendSettings, topic_name: str) -> Flag | None:
    count = row["size"]
    past = [counts[(topic, d.isoformat())]["size"] if (topic, d.isoformat()) in counts else 0 for d in history]
    baseline = float(statistics.median(past)) if past else 0.0
    floor = max(baseline, 1.0)
    if count < settings.min_count or count < settings.burst_ratio * floor:
        return None
    item_ids = store.stream_item_ids(row["stream_id"])
    start, end = day_bounds(day)
    when = day.strftime("%d/%m/%Y")
    if past:
        reason = (f"Chủ đề «{topic_name}» có {count} tin ngày {when}, gấp {count / floor:.1f} lần mức thường ngày "
                  f"(trung vị {baseline:g} tin/ngày trong {len(past)} ngày trước).")
    else:
        reason = f"Chủ đề «{topic_name}» có {count} tin ngày {when}; chưa có dữ liệu những ngày trước để so sánh."
    return Flag(kind="burst", stream_id=row["stream_id"], topic=topic, score=round((count - baseline) / floor, 3),
                window_start=start, window_end=end, count=count, baseline=baseline, reason=reason,
                keyphrases=_top_keyphrases(store, item_ids), item_ids=item_ids)


def _top_keyphrases(store: Store, item_ids: list[int], k: int = 8) -> list[str]:
    counter: Counter[str] = Counter()
    for rows in store.item_keyphrases_any(item_ids):
        counter.update(rows)
    return [phrase for phrase, _ in counter.most_common(k)]
