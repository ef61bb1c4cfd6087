"""Time to make the daily briefing and a monthly report from a large store (issue 7).

A store of 1,000,000 items over 90 days (real baomoi texts, placed in streams) is built, the detectors run over
its last 28 days (so there are flags to describe), then the briefing of the last day and the province's monthly report
are made and timed, each beside the time of the plain counting query they start from (the floor in the same run).
Aims: briefing under 30 s, monthly report under 60 s.

Run: `python bench/briefing.py [--items N]` (also from `make bench`). Needs ../shared/datasets.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service import briefing, trends  # noqa: E402
from service.config import Settings  # noqa: E402
from service.setup import init  # noqa: E402


def _bench_trends():
    """bench/trends.py (its store builder), loaded by path: bench/ is not a package."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_trends", ROOT / "bench" / "trends.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


replay = _bench_trends()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    args = parser.parse_args()
    if not (replay.DATASETS / "baomoi-tc201805").exists():
        print("../shared/datasets is missing: nothing to measure.")
        return
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        store = replay.build_store(Path(tmp) / "big.db", args.items)
        init(store)
        last = replay.START + timedelta(days=89)
        trends.detect(store, last - timedelta(days=27), last)
        print(f"store: {store.count_items():,} items, {store.count_flags()} flags; built in "
              f"{time.monotonic() - t0:.0f} s")
        settings = Settings()
        t1 = time.monotonic()
        store.item_counts((last - timedelta(days=13)).isoformat(), last.isoformat())
        floor_day = time.monotonic() - t1
        t2 = time.monotonic()
        data = briefing.make(store, last, settings)
        docx = briefing.to_docx(data)
        t_day = time.monotonic() - t2
        t3 = time.monotonic()
        store.item_counts(last.replace(day=1).isoformat(), last.isoformat(), store.unit_subtree("caobang"))
        floor_month = time.monotonic() - t3
        t4 = time.monotonic()
        report = briefing.period_report(store, "caobang", "month", last, settings)
        briefing.to_docx(report)
        t_month = time.monotonic() - t4
        print(f"{'what':<40} {'seconds':>8} {'counting query alone':>21} {'aim':>6}")
        print(f"{'daily briefing (data + HTML + DOCX)':<40} {t_day:>8.2f} {floor_day:>21.2f} {'30':>6}")
        print(f"{'monthly report of the province':<40} {t_month:>8.2f} {floor_month:>21.2f} {'60':>6}")
        print(f"briefing: {data['flag_count']} flags described, DOCX {len(docx):,} bytes")


if __name__ == "__main__":
    main()
