"""Speed of `pulse process` as history grows (issue 12.7): a replay of real title+lead items, day after day.

Real headlines and leads from ../shared/datasets/baomoi-tc201805 (shuffled with a fixed seed; the first line is the
title, the rest the lead) are given synthetic dates, `--per-day` items a day for `--days` days, and each day goes
through `service.pipeline.process` with the shipped models, exactly as `pulse process` runs it (same batch size,
same stream settings; one process, so from day 2 on the placer resumes from the day before as a long-lived
worker's does — `StreamPlacer.resume`). A text used again after the corpus runs out comes from another outlet (a
distinct item, as a syndicated copy is). Printed per reported day: items/s, seconds spent in annotation (NLP) and in
placement (streams, near-duplicates, store), the active streams, and the ratio to day 1.

`--baseline REV` replays the same items, on a fresh store in the same run, through `service/streams.py` and
`nlp/dedupe.py` as they were at git revision REV (loaded from `git show` into temporary modules), for
`--baseline-days` days (the old code is slow, so by default fewer days).

    python bench/process_speed.py                         # 10 days × 5,000 items (past the 7-day windows)
    python bench/process_speed.py --days 60               # the acceptance figure (60 days × 5,000 items)
    python bench/process_speed.py --days 10 --per-day 2000 --baseline cd8a5f7 --baseline-days 5
"""
from __future__ import annotations

import sys  # noqa: I001

# a bench script named like a standard module (signal_replay.py once was signal.py) must never shadow it
sys.path[:] = [p for p in sys.path if not p.rstrip("/").endswith("/bench")]

import argparse
import gzip
import importlib.util
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import types
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collectors.items import RawItem  # noqa: E402
from nlp import segment as segment_module  # noqa: E402
from service import pipeline  # noqa: E402
from service.config import StreamSettings  # noqa: E402
from service.store import Store  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"
OUTLETS = ["vnexpress.net", "dantri.com.vn", "tuoitre.vn", "thanhnien.vn", "nld.com.vn", "laodong.vn",
           "vietnamnet.vn", "baocaobang.vn"]
START = date(2026, 1, 1)
BASE_REV = "cd8a5f7"   # the last commit before issue 12.7's indexes


def load_texts(seed: int = 0) -> list[tuple[str, str]]:
    """(title, lead) of every distinct baomoi text, shuffled with a fixed seed."""
    seen, out = set(), []
    with gzip.open(DATASETS / "baomoi-tc201805" / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            text = json.loads(line)["text"].strip()
            if not text or text in seen:
                continue
            seen.add(text)
            title, _, lead = text.partition("\n")
            out.append((title.strip(), lead.strip()))
    random.Random(seed).shuffle(out)
    return out


def day_items(texts: list[tuple[str, str]], day: int, per_day: int) -> list[RawItem]:
    """The items of replay day `day` (0-based), spread over the day; a reused text comes from another outlet."""
    items = []
    base = datetime(START.year, START.month, START.day, tzinfo=timezone.utc) + timedelta(days=day)
    for k in range(per_day):
        n = day * per_day + k
        title, lead = texts[n % len(texts)]
        cycle = n // len(texts)
        source = OUTLETS[(n + cycle) % len(OUTLETS)]
        when = base + timedelta(seconds=int(k * 86_400 / per_day))
        items.append(RawItem(text=lead, title=title, source=source, published_at=when, kind="article"))
    return items


class TimedAnnotator:
    """The shipped annotator, with the time spent in it counted (NLP vs placement)."""

    def __init__(self, annotator):
        self.annotator = annotator
        self.seconds = 0.0
        self.cpu = 0.0

    def annotate(self, texts):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return self.annotator.annotate(texts)
        finally:
            self.seconds += time.perf_counter() - t0
            self.cpu += time.process_time() - c0


def base_streams_module(rev: str) -> types.ModuleType:
    """service/streams.py and nlp/dedupe.py as they were at `rev`, as fresh modules (the live code is untouched)."""
    def source(path: str) -> str:
        return subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, check=True, capture_output=True,
                              text=True).stdout

    tmp = Path(tempfile.mkdtemp(prefix="pulse-base-"))
    (tmp / "pulse_base_dedupe.py").write_text(source("nlp/dedupe.py"), encoding="utf-8")
    streams_src = source("service/streams.py").replace("from nlp.dedupe import", "from pulse_base_dedupe import")
    (tmp / "pulse_base_streams.py").write_text(streams_src, encoding="utf-8")
    sys.path.insert(0, str(tmp))
    spec = importlib.util.spec_from_file_location("pulse_base_streams", tmp / "pulse_base_streams.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["pulse_base_streams"] = module
    spec.loader.exec_module(module)
    if not hasattr(module, "StreamPlacer"):   # the old code read everything from the store for each batch
        module.StreamPlacer = lambda store, settings=None: types.SimpleNamespace(
            assign=lambda annotated: module.assign(store, annotated, settings))
    return module


def active_streams(store: Store) -> int:
    return store.db.execute("SELECT COUNT(*) FROM streams WHERE status = 'active'").fetchone()[0]


def replay(label: str, texts, days: int, per_day: int, report: set[int], annotator, versions,
           streams_module=None) -> dict[int, dict]:
    """Process `days` days of items on a fresh store; returns the figures of every day (1-based)."""
    saved = pipeline.streams
    if streams_module is not None:
        pipeline.streams = streams_module
    out: dict[int, dict] = {}
    segment_module._cache.clear()     # every replay starts with the segmentation cache empty
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp) / "pulse.db")
            store.migrate()
            timed = TimedAnnotator(annotator)
            for d in range(days):
                store.add_items(day_items(texts, d, per_day))
                timed.seconds = timed.cpu = 0.0
                t0, c0 = time.perf_counter(), time.process_time()
                outcome = pipeline.process(store, timed, versions, stream_settings=StreamSettings())
                total, cpu = time.perf_counter() - t0, time.process_time() - c0
                row = {"items": outcome.annotated, "seconds": total, "nlp": timed.seconds,
                       "placement": total - timed.seconds, "cpu": cpu, "nlp_cpu": timed.cpu,
                       "placement_cpu": cpu - timed.cpu, "active": active_streams(store)}
                row["items_per_s"] = row["items"] / total if total else 0.0
                row["items_per_cpu_s"] = row["items"] / cpu if cpu else 0.0
                out[d + 1] = row
                if d + 1 in report or d + 1 == days:
                    ratio = row["items_per_s"] / out[1]["items_per_s"]
                    cpu_ratio = row["items_per_cpu_s"] / out[1]["items_per_cpu_s"]
                    print(f"{label:>8} day {d + 1:>3}: {row['items_per_s']:6.1f} items/s wall (×{ratio:.2f} of day 1)"
                          f"  {row['items_per_cpu_s']:6.1f} items/CPU-s (×{cpu_ratio:.2f})"
                          f"  CPU s: nlp {row['nlp_cpu']:5.1f} placement {row['placement_cpu']:5.1f}"
                          f"  active streams {row['active']:>6}", flush=True)
            store.close()
    finally:
        pipeline.streams = saved
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=10, help="days replayed (60 for the acceptance figure)")
    parser.add_argument("--per-day", type=int, default=5000)
    parser.add_argument("--baseline", default="", help=f"git revision of the code to compare with (e.g. {BASE_REV})")
    parser.add_argument("--baseline-days", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write every day's figures here")
    args = parser.parse_args()

    report = {1} | set(range(10, args.days + 1, 10))
    texts = load_texts()
    annotator, versions = pipeline.load_annotator(ROOT / "classifier_models")
    print(f"{args.days} days × {args.per_day:,} title+lead items (baomoi-tc201805, {len(texts):,} distinct texts), "
          f"shipped models {versions}", flush=True)
    results = {"current": replay("current", texts, args.days, args.per_day, report, annotator, versions)}
    if args.baseline:
        module = base_streams_module(args.baseline)
        days = min(args.baseline_days, args.days)
        results[args.baseline] = replay(args.baseline, texts, days, args.per_day,
                                        {1} | set(range(5, days + 1, 5)), annotator, versions, module)
    cur = results["current"]
    last = max(cur)
    ratio = cur[last]["items_per_s"] / cur[1]["items_per_s"]
    cpu_ratio = cur[last]["items_per_cpu_s"] / cur[1]["items_per_cpu_s"]
    nlp = sum(r["nlp_cpu"] for r in cur.values())
    total = sum(r["cpu"] for r in cur.values())
    print(f"\nday {last}: {cur[last]['items_per_s']:.1f} items/s wall (×{ratio:.2f} of day 1), "
          f"{cur[last]['items_per_cpu_s']:.1f} items per CPU-second (×{cpu_ratio:.2f} of day 1) "
          f"(goal ≥ 200 items/s and ≥ ×0.80); of the CPU time, annotation {nlp / total:.0%}, placement "
          f"{1 - nlp / total:.0%}; load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
