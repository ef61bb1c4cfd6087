"""Replay benchmark of the whole signal chain (issue 12): does the board see the stories that matter, early?

Real headlines and leads from baomoi-tc201805 (29 categories, ~2018) are given synthetic dates over a 90-day period,
from three outlets with unequal shares and quieter weekends; the real crawls of news-rss-crawl-2026 (RSS + 24h, with
their football «đình công», gold prices and crime) are added on their own times of day within days 60–65. Into this
real noise are injected events made of real headlines of ONE kind, chosen by words, from ONE outlet, worded as the press
worded them: a disaster (floods, landslides, storms), a strike wave, wage and insurance arrears, and a new rule on pay —
each kind at its usual daily rate all along, and for three days at 2×, 3× and 5× that rate.

Everything goes through the product's own path, as the command line runs it: `pipeline.import_file` (a timeline
JSONL), `pipeline.process` with the shipped models (normalisation, classifiers, relevance, streams) and
`trends.detect` day by day (events, detectors, living flags, severity). No true label is handed to any of it.

Printed, beside the detectors as they stood before issue 12 (git cd8a5f7's service/trends.py, run on a copy of the
same processed store):
- recall of the injected events at each factor, found within 1 day of their rise, and the delay in days;
- new flags a day; flags per 1,000 items that hold no injected item;
- the share of the day's top-10 queue (open flags seen in the last 3 days, in the product's order) that a board would
  act on, judged against the relevance list in bench/signal_relevance.md, written by reading before any tuning.

Run: `python bench/signal_replay.py [--days 90] [--per-day 150] [--seed 1]` (also from `make bench`). Needs ../shared/datasets.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import importlib.util
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service import pipeline, trends  # noqa: E402
from service.config import TrendSettings, load_settings  # noqa: E402
from service.store import Store  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"
START = date(2026, 6, 1)
OUTLETS = [("vnexpress.net", 0.40), ("dantri.com.vn", 0.35), ("tuoitre.vn", 0.25)]
INJECT_OUTLET = "tuoitre.vn"
BASELINE_COMMIT = "cd8a5f7"
KINDS = {   # kind → (words that choose its real headlines, usual items a day)
    "disaster": (r"mưa lũ|lũ quét|sạt lở|ngập lụt|lũ lụt|bão số|áp thấp nhiệt đới|lũ ống|ngập sâu|vỡ đê", 3.0),
    "strike": (r"đình công|ngừng việc|lãn công|tranh chấp lao động|công nhân (?:phản đối|tập trung|bức xúc)", 1.0),
    "arrears": (r"nợ lương|chậm trả lương|chậm lương|nợ bảo hiểm|trốn đóng|nợ đọng|chậm đóng bảo hiểm|nợ BHXH", 1.0),
    # a kind's usual flow cycles through its usual pool (another outlet carries an old headline again); an injected
    # event never reuses a headline
    "pay_rule": (r"lương tối thiểu|lương cơ sở|cải cách tiền lương|tăng lương|bảng lương", 1.5),
}
FACTORS = (2, 3, 5)
EVENT_DAYS = 3
# Board relevance of baomoi's categories, read before tuning (bench/signal_relevance.md): 1 act on, 0.5 it depends, 0 not
CATEGORY_RELEVANCE = {"giao duc va viec lam - viec lam": 1.0, "chinh tri va phap luat": 0.5, "con nguoi va xa hoi": 0.5,
                      "suc khoe": 0.5, "giao duc va viec lam - giao duc": 0.5, "kinh doanh va cong nghiep": 0.5,
                      "khoa hoc - sinh thai va moi truong": 0.5, "bat dong san": 0.5, "tai chinh": 0.5}
CRAWL_NOT_RELEVANT = {"bong-da", "the-thao", "phim", "thoi-trang", "hi-tech", "ban-tre-cuoc-song"}


def load_baomoi(rng: random.Random) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Background texts by category, and each kind's pool of matching headlines (kept out of the background)."""
    by_label: dict[str, list[str]] = defaultdict(list)
    pools: dict[str, list[str]] = defaultdict(list)
    seen = set()
    patterns = {k: re.compile(p, re.I) for k, (p, _) in KINDS.items()}
    with gzip.open(DATASETS / "baomoi-tc201805" / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            text = row["text"].strip()
            title = text.split("\n")[0].strip().lower()
            if not text or title in seen:
                continue
            seen.add(title)
            kind = next((k for k, p in patterns.items() if p.search(text.split("\n")[0])), None)
            if kind:
                pools[kind].append(text)
            else:
                by_label[row["label"]].append(text)
    for texts in list(by_label.values()) + list(pools.values()):
        rng.shuffle(texts)
    return by_label, pools


def load_crawl() -> list[dict]:
    """The real crawled items of news-rss-crawl-2026 with their time of day and (24h) section."""
    out = []
    base = DATASETS / "news-rss-crawl-2026"
    for name in ("rss_feed_articles_backup.csv", "24h_html_categories_vi.csv"):
        with open(base / name, encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                if not r.get("title") or not r.get("published_at"):
                    continue
                try:
                    when = datetime.fromisoformat(r["published_at"].replace("Z", "+00:00"))
                except ValueError:
                    continue
                host = r["url"].split("/")[2] if r.get("url", "").count("/") >= 2 else name
                out.append({"title": r["title"], "text": r.get("content.text") or "", "source": host, "when": when,
                            "section": r.get("category.primary") or ""})
    return out


def build(days: int, per_day: int, seed: int) -> tuple[list[dict], list[dict]]:
    """The replay's items (with their truth) and the injected events."""
    rng = random.Random(seed)
    by_label, pools = load_baomoi(rng)
    labels = sorted(by_label)
    cursor = Counter()

    def take(pool: list[str], key: str) -> str | None:
        if cursor[key] >= len(pool):
            return None
        cursor[key] += 1
        return pool[cursor[key] - 1]

    # each kind's pool: the first part is its usual flow, the rest is kept for its injected events
    usual_pool = {k: pools[k][: int(len(pools[k]) * 0.55)] for k in KINDS}
    event_pool = {k: pools[k][int(len(pools[k]) * 0.55):] for k in KINDS}
    rates = {k: rate for k, (_, rate) in KINDS.items()}
    usual_used = Counter()

    def usual(kind: str) -> tuple[str, str]:
        pool = usual_pool[kind]
        n = usual_used[kind]
        usual_used[kind] += 1
        outlets = [o for o, _ in OUTLETS]
        return pool[n % len(pool)], outlets[(n // len(pool)) % len(outlets)] if n >= len(pool) else rng.choices(
            outlets, weights=[w for _, w in OUTLETS])[0]
    injections = []
    for i, factor in enumerate(FACTORS):
        for j, kind in enumerate(KINDS):
            injections.append({"kind": kind, "factor": factor, "start": 32 + i * 19 + j * 4, "items": []})
    items = []

    def when_on(d: int) -> datetime:
        return datetime.combine(START + timedelta(days=d), datetime.min.time(), tzinfo=timezone.utc) + timedelta(
            hours=rng.uniform(0, 16))

    for d in range(days):
        scale = 0.7 if (START + timedelta(days=d)).weekday() >= 5 else 1.0
        for _ in range(max(0, round(rng.gauss(per_day * scale, (per_day * scale) ** 0.5)))):
            label = rng.choice(labels)
            text = take(by_label[label], label)
            if text:
                source = rng.choices([o for o, _ in OUTLETS], weights=[w for _, w in OUTLETS])[0]
                items.append({"text": text, "source": source, "when": when_on(d), "truth": CATEGORY_RELEVANCE.get(
                    label, 0.0), "category": label, "injected": None})
        for kind, rate in rates.items():
            n = sum(rng.random() < rate - k for k in range(int(rate) + 1))
            for _ in range(n):
                text, source = usual(kind)
                items.append({"text": text, "source": source, "when": when_on(d), "truth": 1.0,
                              "category": f"usual:{kind}", "injected": None})
        for inj in injections:
            if inj["start"] <= d < inj["start"] + EVENT_DAYS:
                extra = round((inj["factor"] - 1) * rates[inj["kind"]])
                for _ in range(extra):
                    text = take(event_pool[inj["kind"]], f"event:{inj['kind']}")
                    if text:
                        inj["items"].append(len(items))
                        items.append({"text": text, "source": INJECT_OUTLET, "when": when_on(d), "truth": 1.0,
                                      "category": f"event:{inj['kind']}", "injected": id(inj)})
    crawl = load_crawl()
    first = min(c["when"] for c in crawl).date()
    for c in crawl:
        shift = (START + timedelta(days=60)) - first
        truth = 0.0 if c["section"] in CRAWL_NOT_RELEVANT else 0.5
        items.append({"text": f"{c['title']}\n{c['text']}", "source": c["source"], "when": c["when"] + shift,
                      "truth": truth, "category": f"crawl:{c['section']}", "injected": None})
    print(f"pools: {', '.join(f'{k} {len(p)}' for k, p in pools.items())}; usual rates a day: "
          f"{', '.join(f'{k} {r:.1f}' for k, r in rates.items())}")
    return items, injections


def write_timeline(items: list[dict], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for n, it in enumerate(items):
            title, _, body = it["text"].partition("\n")
            fh.write(json.dumps({"title": title.strip(), "text": body.strip() or title.strip(),
                                 "url": f"https://{it['source']}/bench/{n}", "source": it["source"],
                                 "published_at": it["when"].isoformat(), "kind": "article"},
                                ensure_ascii=False) + "\n")


def old_trends_module():
    """service/trends.py as it stood before issue 12, loaded from git."""
    code = subprocess.run(["git", "-C", str(ROOT), "show", f"{BASELINE_COMMIT}:service/trends.py"],
                          capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "old_trends.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location("old_trends", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_trends"] = module   # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def evaluate(name: str, store: Store, run_day, days: int, id_of: dict[int, int], items: list[dict],
             injections: list[dict], order_key) -> dict:
    """Detect day by day (as the scheduler does) and score what the board would have seen."""
    injected_ids = {}
    for inj in injections:
        inj["ids"] = [id_of[n] for n in inj["items"] if n in id_of]
        for i in inj["ids"]:
            injected_ids[i] = id(inj)
    truth = {item_id: items[n]["truth"] for n, item_id in id_of.items()}
    found_day: dict[int, int] = {}
    new_flags_by_day = Counter()
    seen_keys = set()
    top10_scores = []
    t0 = time.monotonic()
    for d in range(28, days):
        day = START + timedelta(days=d)
        flags = run_day(store, day)
        for f in flags:
            key = f["key"]
            if key not in seen_keys:
                seen_keys.add(key)
                new_flags_by_day[d] += 1
            ids = set(f["item_ids"])
            for inj in injections:
                if id(inj) in found_day or not inj["ids"]:
                    continue
                if inj["start"] <= d <= inj["start"] + 1 and len(ids & set(inj["ids"])) >= 2:
                    found_day[id(inj)] = d
        recent = (day - timedelta(days=2)).isoformat()
        queue = [f for f in store.flags(status="open") if f["window_end"][:10] >= recent]
        queue.sort(key=order_key)
        for f in queue[:10]:
            scores = [truth.get(i, 0.5) for i in f["item_ids"][:50]]
            top10_scores.append(statistics.mean(scores) if scores else 0.0)
    elapsed = time.monotonic() - t0
    all_flags = store.flags()
    n_items = store.count_items()
    noise = [f for f in all_flags if not set(f["item_ids"]) & injected_ids.keys()]
    recall = {}
    delay = {}
    for factor in FACTORS:
        group = [inj for inj in injections if inj["factor"] == factor and inj["ids"]]
        hits = [inj for inj in group if id(inj) in found_day]
        recall[factor] = (len(hits), len(group))
        delay[factor] = [found_day[id(inj)] - inj["start"] for inj in hits]
    details = []
    for inj in injections:
        ids = set(inj["ids"])
        best = max(all_flags, key=lambda f: len(ids & set(f["item_ids"])), default=None)
        overlap = len(ids & set(best["item_ids"])) if best else 0
        events = Counter(store.events_of_items(list(ids)).values()) if hasattr(store, "events_of_items") else Counter()
        details.append(f"{inj['kind']:9} ×{inj['factor']} day {inj['start']:2} ({len(ids):2} items): "
                       + (f"found day +{found_day[id(inj)] - inj['start']}" if id(inj) in found_day else "missed")
                       + (f"; best flag {best['kind']} holds {overlap} (severity {best.get('severity', 0)}, "
                          f"«{(best.get('title') or best['reason'])[:50]}»)" if overlap else "")
                       + (f"; events holding them: {dict(events.most_common(3))}" if events else ""))
    eval_days = days - 28
    return {"details": details, "name": name, "recall": recall, "delay": delay, "flags_per_day": len(seen_keys) / eval_days,
            "noise_per_1000": 1000 * len(noise) / n_items,
            "top10_strict": sum(s > 0.5 for s in top10_scores) / max(1, len(top10_scores)),
            "top10_lenient": sum(s >= 0.5 for s in top10_scores) / max(1, len(top10_scores)),
            "seconds": elapsed, "kinds": Counter(f["kind"] for f in all_flags),
            "top_titles": [(f.get("title") or f.get("reason", ""))[:90] for f in sorted(
                [f for f in store.flags(status="open")], key=order_key)[:10]]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--per-day", type=int, default=150)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="keep the processed store (before detection) here")
    parser.add_argument("--reuse", type=Path, default=None, help="start from a store kept by --keep (same options)")
    args = parser.parse_args()
    if not (DATASETS / "baomoi-tc201805").is_dir():
        sys.exit(f"bench/signal_replay.py needs {DATASETS} (baomoi-tc201805, news-rss-crawl-2026).")
    items, injections = build(args.days, args.per_day, args.seed)
    work = Path(tempfile.mkdtemp(prefix="pulse-signal-"))
    timeline = work / "timeline.jsonl"
    write_timeline(items, timeline)
    settings = load_settings(db_path=work / "pulse.db")
    store = Store(settings.db_path)
    store.migrate()
    if args.reuse:
        store.close()
        shutil.copy(args.reuse, settings.db_path)
        store = Store(settings.db_path)
        store.migrate()
        print(f"reusing the processed store {args.reuse} ({store.count_items():,} items)")
    else:
        t0 = time.monotonic()
        outcome = pipeline.import_file(store, timeline, kind="timeline", source="bench")
        annotator, versions = pipeline.load_annotator(settings.models_dir)
        processed = pipeline.process(store, annotator, versions)
        t_process = time.monotonic() - t0
        print(f"{outcome.new:,} items imported and {processed.annotated:,} processed in {t_process:.0f} s "
              f"({processed.annotated / max(t_process, 1e-9):.0f} items/s); {len(injections)} injected events")
        if args.keep:
            store.close()
            shutil.copy(settings.db_path, args.keep)
            store = Store(settings.db_path)
    id_of = {}
    for row in store.db.query("SELECT id, url FROM items"):
        n = row["url"].rsplit("/", 1)[-1]
        if n.isdigit():
            id_of[int(n)] = row["id"]
    store.close()
    baseline_db = work / "baseline.db"
    shutil.copy(settings.db_path, baseline_db)

    store = Store(settings.db_path)
    new = evaluate("Pulse (issue 12)", store, lambda st, day: [
        {**f.to_row(), "key": f.key} for f in trends.detect(st, day, day, settings.trends)],
        args.days, id_of, items, injections, lambda f: (-f["severity"], -f["score"], f["id"]))
    store.close()

    old = old_trends_module()
    old_settings = TrendSettings(new_min_sources=3, ignore_topics=("khac",))
    store = Store(baseline_db)
    before = evaluate("before (cd8a5f7)", store, lambda st, day: [
        {**f.to_row(), "key": f.key} for f in old.detect(st, day, day, old_settings)],
        args.days, id_of, items, injections, lambda f: (-f["score"], f["id"]))
    store.close()

    print()
    print(f"{'':28}{'recall 2×':>12}{'recall 3×':>12}{'recall 5×':>12}{'flags/day':>11}{'noise/1000':>12}"
          f"{'top-10 act':>12}{'(lenient)':>11}{'detect s':>10}")
    for r in (new, before):
        cells = [f"{r['recall'][f][0]}/{r['recall'][f][1]}" for f in FACTORS]
        print(f"{r['name']:28}{cells[0]:>12}{cells[1]:>12}{cells[2]:>12}{r['flags_per_day']:>11.2f}"
              f"{r['noise_per_1000']:>12.2f}{r['top10_strict']:>12.0%}{r['top10_lenient']:>11.0%}{r['seconds']:>10.0f}")
    for r in (new, before):
        delays = {f: (statistics.mean(r['delay'][f]) if r['delay'][f] else None) for f in FACTORS}
        print(f"{r['name']}: mean delay in days by factor {delays}; flags by kind {dict(r['kinds'])}")
        for t in r["top_titles"]:
            print(f"    · {t}")
        for line in r["details"]:
            print(f"    {line}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
