"""Replay benchmark of the trend detectors (issue 5), and their speed on a large store.

Part 1 — replay. Real labelled news (baomoi-tc201805: title + lead, 29 topics) is spread over simulated days as
background (each topic at its own daily rate, quieter at weekends, five outlets with unequal shares). Into it are
injected, on known days: bursts of real items of one topic at 2×, 3× and 5× its rate; brand-new themes (real
multi-outlet stories from news-rss-crawl-2026); one-day outages of the biggest outlet (its runs recorded as failed,
no real change); and one busy news day (every topic ×2). Items go through the real streams (clustering,
near-duplicates) and the real detectors. Printed: recall of injected bursts by factor, detection delay, flags per
1,000 items that match nothing injected, the outage days' flags — beside the foundation's naive detector (count ≥ 3 ×
median of previous days) measured on the same replay.

Part 2 — speed. Detection over 90 days on stores of 10,000, 100,000 and 1,000,000 placed items.

Run: `python bench/trends.py [--quick]` (also from `make bench`). Needs ../shared/datasets.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collectors.items import RawItem  # noqa: E402
from service import streams, trends  # noqa: E402
from service.config import StreamSettings, TrendSettings  # noqa: E402
from service.store import Store  # noqa: E402
from service.timeutil import day_bounds  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"
OUTLETS = [("vnexpress.net", 0.30), ("dantri.com.vn", 0.25), ("tuoitre.vn", 0.20), ("thanhnien.vn", 0.15),
           ("nld.com.vn", 0.10)]
TOPICS = ["chinh tri va phap luat", "kinh doanh va cong nghiep", "suc khoe", "giao duc va viec lam - giao duc",
          "bat dong san", "du lich", "the thao - the thao dong doi - bong da", "tai chinh", "khoa hoc",
          "con nguoi va xa hoi"]
START = date(2026, 1, 1)
UNITS = ["cb-giaoduc", "cb-yte", "cb-vienchuc", "cb-thanhpho"]   # the default org units below the province


def load_baomoi() -> dict[str, list[str]]:
    by_label: dict[str, list[str]] = defaultdict(list)
    seen = set()
    with gzip.open(DATASETS / "baomoi-tc201805" / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            text = row["text"].strip()
            if row["label"] in TOPICS and text and text not in seen:
                seen.add(text)
                by_label[row["label"]].append(text)
    return by_label


def load_real_stories() -> list[list[dict]]:
    """Real stories carried by several outlets in news-rss-crawl-2026 (brand-new themes to inject)."""
    with open(DATASETS / "news-rss-crawl-2026" / "rss_feed_articles_backup.csv", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["title"]]
    stories = []
    for keys in (["Epstein", "ấu dâm"], ["trụ sở Cơ quan Chủ tịch nước", "Trụ sở làm việc Cơ quan Chủ tịch nước"],
                 ["Hồ Con Rùa", "chợ Bến Thành"]):
        hits = [r for r in rows if any(k.lower() in r["title"].lower() for k in keys)]
        hosts = {r["url"].split("/")[2] for r in hits}
        if len(hits) >= 3 and len(hosts) >= 2:
            stories.append([{"title": r["title"], "text": r["content.text"], "source": r["url"].split("/")[2]}
                            for r in hits])
    return stories


def pick_source(rng: random.Random, skip: str | None = None) -> str:
    choices = [(s, w) for s, w in OUTLETS if s != skip]
    return rng.choices([s for s, _ in choices], weights=[w for _, w in choices])[0]


def build_replay(days: int, seed: int = 1):
    rng = random.Random(seed)
    corpus = load_baomoi()
    pools = {t: rng.sample(texts, len(texts)) for t, texts in corpus.items()}
    cursor = Counter()

    def take(topic: str) -> str:
        text = pools[topic][cursor[topic] % len(pools[topic])]
        cursor[topic] += 1
        return text

    rates = {t: rng.choice([4, 6, 8, 12, 16, 24, 30]) for t in TOPICS}
    warmup = 28
    eval_days = list(range(warmup, days))
    stories = load_real_stories()
    special = rng.sample(eval_days, len(stories) + 3)   # days of new themes, two outages and one busy day
    events = [("new_theme", i, special[i], 0) for i in range(len(stories))]   # (kind, topic/story, day, factor)
    outage_days, busy_day = special[len(stories):len(stories) + 2], special[-1]
    burst_days = [d for d in eval_days if d not in special]
    used = defaultdict(list)
    for factor in (2, 3, 5):
        for _ in range(6):
            while True:
                topic, d = rng.choice(TOPICS), rng.choice(burst_days)
                if all(abs(d - u) > 6 for u in used[topic]):
                    break
            used[topic].append(d)
            events.append(("burst", topic, d, factor))

    items = []   # (day index, topic, title/text, source)
    for d in range(days):
        weekday = (START + timedelta(days=d)).weekday()
        scale = 0.7 if weekday >= 5 else 1.0
        if d == busy_day:
            scale *= 2
        for topic in TOPICS:
            n = max(0, round(rng.gauss(rates[topic] * scale, (rates[topic] * scale) ** 0.5)))
            extra = sum(round((f - 1) * rates[topic] * scale) for k, t, dd, f in events
                        if k == "burst" and t == topic and dd == d)
            for _ in range(n + extra):
                skip = OUTLETS[0][0] if d in outage_days else None
                items.append((d, topic, take(topic), pick_source(rng, skip)))
        for k, idx, dd, _ in events:
            if k == "new_theme" and dd == d:
                for story_item in stories[idx]:
                    items.append((d, "new_theme", f"{story_item['title']}\n{story_item['text']}", story_item["source"]))
    return items, events, outage_days, busy_day, rates


def load_store(store: Store, items) -> dict[int, tuple]:
    """Store the replay's items and place them through the real streams; returns item id → replay row."""
    rng = random.Random(7)
    raw, rows = [], []
    for n, (d, topic, text, source) in enumerate(items):
        title, _, body = text.partition("\n")
        when = datetime.combine(START + timedelta(days=d), datetime.min.time(), tzinfo=timezone.utc) + timedelta(
            hours=rng.uniform(0, 16))  # 07:00–23:00 local
        raw.append(RawItem(text=body or title, title=title, url=f"http://bench.invalid/{n}", source=source,
                           published_at=when))
        rows.append((d, topic, text, source))
    by_id = {}
    for i in range(0, len(raw), 2000):
        ids = store.add_items(raw[i:i + 2000])
        by_id.update(zip(ids, rows[i:i + 2000]))
    for batch in store.unannotated_items("bench", batch_size=500):
        streams.assign(store, [(r, SimpleNamespace(topic=by_id[r["id"]][1], sentiment="neutral")) for r in batch],
                       StreamSettings())
    return by_id


def record_outages(store: Store, outage_days: list[int], days: int) -> None:
    for d in range(days):
        day = START + timedelta(days=d)
        start, _ = day_bounds(day)
        for source, _ in OUTLETS:
            failed = d in outage_days and source == OUTLETS[0][0]
            store.record_run(source, start, start, ok=not failed, found=0, new=0, not_modified=False,
                             errors=["HTTP 503"] if failed else [], duration=0.1)


def naive_flags(store: Store, days: int) -> list[tuple[str, int]]:
    """The foundation's detector: a topic's count ≥ 3 × the median of its previous days' counts, and ≥ 3."""
    counts = defaultdict(dict)
    for r in store.topic_day_counts(START.isoformat(), (START + timedelta(days=days)).isoformat()):
        counts[r["topic"]][r["day"]] = r["n"]
    out = []
    for topic, per_day in counts.items():
        for d in range(28, days):
            day = (START + timedelta(days=d)).isoformat()
            prev = [per_day.get((START + timedelta(days=k)).isoformat(), 0) for k in range(d - 28, d)]
            n = per_day.get(day, 0)
            if n >= 3 and n >= 3 * max(statistics.median(prev), 1):
                out.append((topic, d))
    return out


def replay(days: int) -> None:
    t0 = time.monotonic()
    items, events, outage_days, busy_day, rates = build_replay(days)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "replay.db")
        store.migrate()
        by_id = load_store(store, items)
        record_outages(store, outage_days, days)
        t_load = time.monotonic() - t0
        t1 = time.monotonic()
        flags = trends.detect(store, START + timedelta(days=28), START + timedelta(days=days - 1), TrendSettings())
        t_detect = time.monotonic() - t1
        naive = naive_flags(store, days)
        evaluate(flags, naive, events, outage_days, busy_day, by_id, days, len(items))
        print(f"\nreplay: {len(items)} items over {days} days; load + streams {t_load:.1f} s, "
              f"detection {t_detect:.2f} s")


def _day_index(flag) -> int:
    end = datetime.fromisoformat(flag.window_end).astimezone(timezone(timedelta(hours=7))).date()
    return (end - START).days - 1


def evaluate(flags, naive, events, outage_days, busy_day, by_id, days, n_items) -> None:
    eval_items = sum(1 for d, *_ in by_id.values() if d >= 28)
    matched_flags = set()
    rows = []
    for factor in (2, 3, 5):
        bursts = [e for e in events if e[0] == "burst" and e[3] == factor]
        hits, delays, naive_hits = 0, [], 0
        for _, topic, d, _ in bursts:
            found = [f for f in flags if f.kind == "burst" and f.topic == topic and d <= _day_index(f) <= d + 1]
            if found:
                hits += 1
                delays.append(min(_day_index(f) for f in found) - d)
                matched_flags.update(id(f) for f in found)
            naive_hits += any(t == topic and d <= nd <= d + 1 for t, nd in naive)
        rows.append((f"burst {factor}×", len(bursts), hits, naive_hits, delays))
    themes = [e for e in events if e[0] == "new_theme"]
    theme_hits, theme_delays = 0, []
    for _, idx, d, _ in themes:
        ids = {i for i, row in by_id.items() if row[1] == "new_theme" and row[0] == d}
        found = [f for f in flags if f.kind in ("new_stream", "burst") and d <= _day_index(f) <= d + 1
                 and len(ids & set(f.item_ids)) * 2 >= len(ids)]
        if found:
            theme_hits += 1
            theme_delays.append(min(_day_index(f) for f in found) - d)
            matched_flags.update(id(f) for f in found)
    naive_theme = sum(any(t == "new_theme" and d <= nd <= d + 1 for t, nd in naive) for _, _, d, _ in themes)
    rows.append(("new theme", len(themes), theme_hits, naive_theme, theme_delays))

    print(f"{'event':<12} {'injected':>8} {'Pulse recall':>13} {'naive recall':>13} {'Pulse delay (days)':>19}")
    for name, n, hits, nh, delays in rows:
        delay = f"{statistics.mean(delays):.2f}" if delays else "–"
        print(f"{name:<12} {n:>8} {hits / n if n else 0:>13.2f} {nh / n if n else 0:>13.2f} {delay:>19}")

    burst_events = {(t, d) for k, t, d, _ in events if k == "burst"} | {("new_theme", d) for k, _, d, _ in events
                                                                       if k == "new_theme"}
    unmatched = [f for f in flags if id(f) not in matched_flags and f.kind != "watch_term"]
    naive_unmatched = [(t, d) for t, d in naive if not any(t == et and ed <= d <= ed + 1 for et, ed in burst_events)]
    by_kind = Counter(f.kind for f in unmatched)
    print(f"\nflags matching nothing injected, per 1,000 items (evaluation days, {eval_items} items):")
    print(f"  Pulse: {1000 * len(unmatched) / eval_items:.2f}  ({dict(by_kind)})")
    print(f"  naive: {1000 * len(naive_unmatched) / eval_items:.2f}")
    for d in outage_days:
        on_day = [f for f in flags if _day_index(f) == d and f.kind == "burst"]
        naive_on = [x for x in naive if x[1] == d]
        print(f"outage day {d}: Pulse burst flags {len(on_day)} (all flags that day marked degraded: "
              f"{all(f.degraded for f in flags if _day_index(f) == d)}); naive flags {len(naive_on)}")
    busy = [f for f in flags if _day_index(f) == busy_day and f.kind == "burst"]
    print(f"busy news day {busy_day} (every topic ×2): Pulse burst flags {len(busy)}; "
          f"naive flags {len([x for x in naive if x[1] == busy_day])}")


def build_store(path: Path, size: int, days: int = 90) -> Store:
    """A store of `size` placed items over `days` days (texts from baomoi, 200 streams, five outlets)."""
    corpus = load_baomoi()
    texts = [t for pool in corpus.values() for t in pool[:3000]]
    rng = random.Random(3)
    store = Store(path)
    store.migrate()
    per_day = size // days
    stream_ids = [store.create_stream(t, "2026-01-01T00:00:00+00:00") for t in TOPICS for _ in range(20)]
    n = 0
    for d in range(days):
        day = START + timedelta(days=d)
        when = datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=3)
        batch = []
        for _ in range(per_day):
            n += 1
            observed = n % 20 == 0   # one item in twenty is a collaborator's report from one of the units
            batch.append(RawItem(text=texts[n % len(texts)], title=f"{n}", url=f"http://bench.invalid/{n}",
                                 source="ctv" if observed else OUTLETS[n % 5][0], published_at=when,
                                 kind="observation" if observed else "article",
                                 org_unit=UNITS[n % len(UNITS)] if observed else None))
        ids = store.add_items(batch)
        rows = []
        for item_id, item in zip(ids, batch):
            sid = rng.choice(stream_ids)
            rows.append((item_id, sid, item_id, day.isoformat(), TOPICS[sid % len(TOPICS)],
                         rng.choice(["neutral", "neutral", "negative", "positive"]), item.source,
                         item.org_unit, item.kind))
        store.place_items(rows)
    store.add_watch_term("nợ lương")
    return store


def speed(sizes: list[int]) -> None:
    """Detection over 90 days on stores of growing size (items placed directly, texts from baomoi)."""
    print(f"\n{'items':>10} {'load s':>8} {'detect 90 days s':>17}")
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.monotonic()
            store = build_store(Path(tmp) / "speed.db", size)
            load = time.monotonic() - t0
            t1 = time.monotonic()
            trends.detect(store, START, START + timedelta(days=89), TrendSettings())
            print(f"{size:>10} {load:>8.1f} {time.monotonic() - t1:>17.2f}", flush=True)
            store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="shorter replay, speed up to 100,000 items only")
    args = parser.parse_args()
    if not (DATASETS / "baomoi-tc201805").exists():
        print("../shared/datasets is missing: nothing to replay.")
        return
    print("Part 1: replay of real items with injected events")
    replay(60 if args.quick else 90)
    print("\nPart 2: detection time over 90 days")
    speed([10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000])


if __name__ == "__main__":
    main()
