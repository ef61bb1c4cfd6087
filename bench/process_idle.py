"""`pulse process` with nothing to do on a large store (issue 14.6): it must not scan the history.

Builds a store of `--items` processed items quickly (executemany straight into the schema of service/store/:
items, their annotations, stream placements and relevance, an empty processing queue), then times
`service.pipeline.process` with nothing queued, `--repeat` times, with the shipped models' version key (the models
are not loaded: with nothing to do they are never called). Prints the median and the worst call, and the old
full-scan query (`Store.count_unannotated`) for comparison.

    python bench/process_idle.py                      # 1,000,000 items (the acceptance figure: < 50 ms)
    python bench/process_idle.py --items 200000 --db /tmp/idle.db
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.pipeline import process  # noqa: E402
from service.registry import model_version_key  # noqa: E402
from service.store import Store  # noqa: E402

VERSIONS = {"topic": "v1", "news_topic": "v1", "sentiment": "v1", "toxicity": "v1"}
TOPICS = ("tien_luong", "viec_lam", "khac", "xa_hoi_khac", "chinh_sach_phap_luat")
CHUNK = 50_000


class NoModels:
    """Stands where the annotator goes: with nothing to process it must never be asked to annotate."""

    def annotate(self, texts):
        raise AssertionError("pipeline.process annotated something although nothing was queued")


def build(path: Path, n: int) -> float:
    t0 = time.monotonic()
    store = Store(path)
    store.migrate()
    conn = store.db.conn
    key = model_version_key(VERSIONS)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    conn.execute("PRAGMA synchronous = OFF")
    with store.transaction():
        conn.execute("INSERT INTO streams (id, topic, label, first_seen, last_seen, size, status, created_at)"
                     " VALUES (1, 'khac', 'bench', ?, ?, ?, 'closed', ?)",
                     [start.isoformat(), start.isoformat(), n, start.isoformat()])
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        items, annotations, placed, relevance = [], [], [], []
        for i in range(lo + 1, hi + 1):
            at = start + timedelta(minutes=i)
            day = at.date().isoformat()
            topic = TOPICS[i % len(TOPICS)]
            items.append((i, f"https://bench.example/{i}", f"h{i}", "article", f"Tin số {i}", f"Nội dung tin số {i}",
                          "bench", at.isoformat(), day, at.isoformat()))
            annotations.append((i, key, topic, 0.9, "xa_hoi", "neutral", 0.8, 0.0, "[]", at.isoformat()))
            placed.append((i, 1, i, day, topic, "neutral", "bench", "article"))
            relevance.append((i, 0.1, 0.1, None, "[]", "[]"))
        with store.transaction():
            conn.executemany("INSERT INTO items (id, url, content_hash, kind, title, text, source, published_at, day,"
                             " collected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", items)
            conn.executemany("INSERT INTO annotations (item_id, model_version, topic, topic_score, news_topic,"
                             " sentiment, sentiment_score, toxicity, keyphrases, created_at)"
                             " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", annotations)
            conn.executemany("INSERT INTO stream_items (item_id, stream_id, story_id, day, topic, sentiment, source,"
                             " kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", placed)
            conn.executemany("INSERT INTO item_relevance (item_id, workers, local, excluded, places, reasons)"
                             " VALUES (?, ?, ?, ?, ?, ?)", relevance)
            # processed: they leave the queue their insert put them in (as pipeline.process does)
            conn.execute("DELETE FROM process_queue WHERE item_id BETWEEN ? AND ?", [lo + 1, hi])
    conn.execute("ANALYZE")
    store.close()
    return time.monotonic() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--db", type=Path, default=None, help="Store file (default: a temporary one, deleted).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "idle.db"
        if path.exists():
            print(f"reusing {path}")
        else:
            print(f"building a store of {args.items:,} processed items at {path} …", flush=True)
            print(f"built in {build(path, args.items):.1f} s")
        store = Store(path)
        print(f"items: {store.count_items():,}; queued for processing: {store.count_to_process()}")
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            outcome = process(store, NoModels(), VERSIONS)
            times.append((time.perf_counter() - t0) * 1000)
            assert outcome.annotated == 0
        print(f"pipeline.process with nothing to do: median {statistics.median(times):.2f} ms, "
              f"worst {max(times):.2f} ms over {args.repeat} calls (target < 50 ms)")
        t0 = time.perf_counter()
        left = store.count_unannotated(model_version_key(VERSIONS))
        print(f"for comparison, the former full scan (count_unannotated): {(time.perf_counter() - t0) * 1000:.0f} ms "
              f"({left} left)")
        store.close()


if __name__ == "__main__":
    main()
