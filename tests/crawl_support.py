"""The real crawl of ../shared/datasets/news-rss-crawl-2026 (RSS + 24h, 2026-01/02) as a timeline JSONL, the way a
user would import it (see that folder's SOURCE.txt)."""
from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path

from conftest import SHARED

CRAWL = SHARED / "datasets" / "news-rss-crawl-2026"


def write_crawl_timeline(path: Path) -> tuple[date, date]:
    """Write every crawled item with a title and a time as one timeline line; returns its first and last UTC days."""
    first = last = None
    with open(path, "w", encoding="utf-8") as out:
        for name in ("rss_feed_articles_backup.csv", "24h_html_categories_vi.csv"):
            with open(CRAWL / name, encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    if not row.get("title") or not row.get("published_at"):
                        continue
                    host = row["url"].split("/")[2] if row.get("url", "").count("/") >= 2 else "crawl"
                    out.write(json.dumps({"title": row["title"], "text": row.get("content.text") or row["title"],
                                          "url": row.get("url") or None, "source": host,
                                          "published_at": row["published_at"]}, ensure_ascii=False) + "\n")
                    day = datetime.fromisoformat(row["published_at"].replace("Z", "+00:00")).date()
                    first, last = min(first or day, day), max(last or day, day)
    return first, last
