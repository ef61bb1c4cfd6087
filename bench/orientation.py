"""How far the orientation comparison (issue 17.4, service/orientation.py) can be trusted, on the replay's daily counts.

An orientation is usually given at a story's peak, and a story past its peak cools on its own. So the question is
not only whether a real effect is seen, but how often a change is claimed when nothing was done. On the series of
bench/forecast.py (the signal replay: real baomoi headlines on synthetic days; the four injected stories with their
three-day events; the 29 steady topics), pseudo-orientations are placed
- at every injected event's peak day (the day a board would act), and
- every 7th day of every topic (a quiet day, for comparison),
and `service.orientation.outcome` is run on the counts as they are (no orientation happened: every «down» or «up»
is a false claim) and on the same counts with the 7 days after thinned to half (binomial: a real effect of −50 %).
Printed per setting, for both comparisons the page shows (same weekdays before vs. after, with the baseline's spread;
the forecast made at the orientation day) and for the verdict the page states (a change only when both agree), the
share of «down», «same» (or «unclear») and «up».

Run: `python bench/orientation.py [--days 90] [--per-day 150] [--seed 1]`. Needs ../shared/datasets.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.orientation import AFTER_DAYS, BEFORE_DAYS, outcome  # noqa: E402

START = date(2026, 1, 5)


def _forecast_bench():
    spec = importlib.util.spec_from_file_location("forecast_bench", ROOT / "bench" / "forecast.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def facts_of(counts: np.ndarray) -> list[dict]:
    return [{"day": (START + timedelta(days=d)).isoformat(), "sentiment": "neutral", "org_unit": None,
             "source": "bench"} for d, n in enumerate(counts) for _ in range(int(n))]


def peak_days(y: np.ndarray) -> list[int]:
    """Days that are an injected event's peak: a local maximum at least twice the series' median and 4 items."""
    floor = max(4.0, 2 * float(np.median(y)))
    return [d for d in range(BEFORE_DAYS, len(y) - AFTER_DAYS)
            if y[d] >= floor and y[d] == max(y[max(0, d - 3):d + 4])]


def run(series: dict, rng: np.random.Generator) -> dict:
    calls: dict[tuple[str, str, str], Counter] = defaultdict(Counter)
    for name, (group, y) in series.items():
        days = peak_days(y) if group == "story" else list(range(BEFORE_DAYS + 7, len(y) - AFTER_DAYS, 7))
        setting = "story peak" if group == "story" else "topic day"
        for g in days:
            halved = y.copy()
            halved[g + 1:g + 1 + AFTER_DAYS] = rng.binomial(y[g + 1:g + 1 + AFTER_DAYS], 0.5)
            for effect, counts in (("none", y), ("-50%", halved)):
                result = outcome(facts_of(counts[:g + 1 + AFTER_DAYS]), (START + timedelta(days=g)).isoformat(),
                                 START + timedelta(days=g + AFTER_DAYS + 1))
                calls[(setting, effect, "same weekdays")][result["volume"]["verdict"]] += 1
                calls[(setting, effect, "forecast")][result["forecast"]["verdict"]] += 1
                calls[(setting, effect, "both (shown)")][result["verdict"]] += 1
    return calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--per-day", type=int, default=150)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    bench = _forecast_bench()
    replay = bench.load_replay_module()
    if not (replay.DATASETS / "baomoi-tc201805").is_dir():
        sys.exit(f"bench/orientation.py needs {replay.DATASETS} (baomoi-tc201805).")
    series = bench.daily_series(args.days, args.per_day, args.seed)
    t0, c0 = time.monotonic(), time.process_time()
    calls = run(series, np.random.default_rng(args.seed))
    print(f"replay: {args.days} days, {args.per_day} items a day, seed {args.seed}; before {BEFORE_DAYS} days, "
          f"after {AFTER_DAYS} days")
    for (setting, effect, comparison), c in sorted(calls.items()):
        n = sum(c.values())
        print(f"{setting:>10} | effect {effect:>4} | {comparison:>13}: n={n:4d}  down {c['down'] / n:6.1%}  "
              f"same or unclear {(c['same'] + c['unclear']) / n:6.1%}  up {c['up'] / n:6.1%}")
    print(f"time: {time.monotonic() - t0:.1f} s wall, {time.process_time() - c0:.1f} s CPU")


if __name__ == "__main__":
    main()
