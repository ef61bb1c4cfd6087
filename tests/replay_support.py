"""Real news texts replayed on chosen days with chosen facts: the detectors' and briefings' input, through the store."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

from collectors.items import RawItem
from conftest import FIXTURES
from service.store import Store

TIMELINE = [json.loads(line) for line in (FIXTURES / "timeline" / "news-2026-02.jsonl").read_text().splitlines()]
DAY0 = date(2026, 3, 1)


class Replay:
    """Real news texts placed on chosen days with chosen facts: the detectors' input, written through the store."""

    def __init__(self, store: Store):
        self.store = store
        self.n = 0
        self.streams: dict[str, int] = {}

    def add(self, day: date, topic: str, count: int, source: str = "vnexpress.net", sentiment: str = "neutral",
            stream: str | None = None, kind: str = "article", org_unit: str | None = None, text: str = "",
            title: str = "") -> list[int]:
        ids = []
        for _ in range(count):
            row = TIMELINE[self.n % len(TIMELINE)]
            self.n += 1
            when = datetime(day.year, day.month, day.day, 3, 0, tzinfo=timezone.utc) + timedelta(seconds=self.n)
            first_use = self.n <= len(TIMELINE)
            if title:   # an item of its own: the given title and text, nothing of the timeline
                item = RawItem(text=text or title, title=f"{title} #{self.n}" if count > 1 else title, url=None,
                               source=source, kind=kind, published_at=when, org_unit=org_unit)
            else:
                item = RawItem(text=f"{text} {row['text']}".strip(), title=row["title"] if first_use else
                               f"{row['title']} #{self.n}", url=row["url"] if first_use else None,
                               source=source, kind=kind, published_at=when, org_unit=org_unit)
            [item_id] = self.store.add_items([item])
            key = stream or f"{topic}-{day}-{self.n}"
            if key not in self.streams:
                self.streams[key] = self.store.create_stream(topic, when.isoformat())
            self.store.place_item(item_id, self.streams[key], item_id, day.isoformat(), topic, sentiment, source,
                                  org_unit, kind)
            ids.append(item_id)
        return ids

    def background(self, days: int, per_topic: dict[str, int], skip: set[int] = frozenset()) -> None:
        for i in range(days):
            if i in skip:
                continue
            for j, (topic, n) in enumerate(per_topic.items()):
                self.add(DAY0 + timedelta(days=i), topic, n, source=["vnexpress.net", "dantri.com.vn"][j % 2])


BACKGROUND = {"tien_luong": 4, "bao_hiem": 3, "viec_lam": 5, "chinh_sach": 6, "xa_hoi_khac": 12}
