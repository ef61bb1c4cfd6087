"""Backtest of the story forecast (issue 17.3): MASE against the naive last-value forecast, and the 80 % interval's
real coverage, over the daily counts of the signal replay.

The series are the replay of bench/signal_replay.py (loaded by path, same seed and sizes): real baomoi headlines on
synthetic days, quieter at weekends. Counted per day by what each item truly is: the 29 baomoi categories (the
"topics", steady flows with weekly rhythm) and the four injected kinds (disaster, strike, arrears, pay rule: a usual
flow of 1-3 a day with three-day events at 2×, 3× and 5×, the "stories"). The counts are taken from the replay's own
truth, not from the product's classifiers (which `bench/signal_replay.py` measures).

Rolling origin: from day `--warmup` to the last day with 7 days after it, every `--step` days, each series is forecast
7 days ahead by `service.forecast.forecast_counts` on the days before the origin only. Printed per group and overall:
- MASE = mean |error| of the forecast / mean |error| of the naive last-value forecast, over the same origins and days
  (below 1 means better than naive);
- coverage = share of (origin, day) pairs whose real count falls within the 80 % interval (target 70–90 %);
- share of forecasts that fell back to naive.

Run: `python bench/forecast.py [--days 90] [--per-day 150] [--seed 1] [--step 3]`. Needs ../shared/datasets.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.forecast import HORIZON, forecast_counts  # noqa: E402


def load_replay_module():
    """bench/signal_replay.py, loaded by path (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("signal_replay", ROOT / "bench" / "signal_replay.py")
    module = importlib.util.module_from_spec(spec)
    module.sys = sys    # signal_replay.py uses sys without importing it (as committed in 4979a14)
    spec.loader.exec_module(module)
    return module


def daily_series(days: int, per_day: int, seed: int) -> dict[str, tuple[str, np.ndarray]]:
    """name → (group, counts per day) of the replay's topics and injected stories."""
    replay = load_replay_module()
    items, _ = replay.build(days, per_day, seed)
    counts: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(days, dtype=int))
    for item in items:
        d = (item["when"].date() - replay.START).days
        category = item["category"]
        if category.startswith("crawl:") or not 0 <= d < days:
            continue    # the real crawl covers six days only: not a series
        if category.startswith(("usual:", "event:")):
            counts["story:" + category.split(":", 1)[1]][d] += 1
        else:
            counts["topic:" + category][d] += 1
    return {name: (name.split(":")[0], series) for name, series in counts.items()}


def backtest(series: dict[str, tuple[str, np.ndarray]], warmup: int, step: int) -> dict[str, dict]:
    acc: dict[str, dict] = defaultdict(lambda: {"model": 0.0, "naive": 0.0, "pairs": 0, "covered": 0, "fits": 0,
                                                 "naive_fits": 0})
    for name, (group, y) in series.items():
        for origin in range(warmup, len(y) - HORIZON + 1, step):
            history, actual = y[:origin], y[origin:origin + HORIZON]
            mean, lower, upper, method = forecast_counts(history)
            for key in (group, "all"):
                a = acc[key]
                a["model"] += float(np.abs(mean - actual).sum())
                a["naive"] += float(np.abs(history[-1] - actual).sum())
                a["pairs"] += len(actual)
                a["covered"] += int(((actual >= lower) & (actual <= upper)).sum())
                a["fits"] += 1
                a["naive_fits"] += method == "naive"
    return acc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--per-day", type=int, default=150)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=21)
    parser.add_argument("--step", type=int, default=3)
    args = parser.parse_args()
    replay = load_replay_module()
    if not (replay.DATASETS / "baomoi-tc201805").is_dir():
        sys.exit(f"bench/forecast.py needs {replay.DATASETS} (baomoi-tc201805).")
    series = daily_series(args.days, args.per_day, args.seed)
    groups = defaultdict(int)
    for group, y in series.values():
        groups[group] += 1
    print(f"series: {dict(groups)}; days {args.days}; origins from day {args.warmup} every {args.step} days; "
          f"horizon {HORIZON}")
    t0, c0 = time.monotonic(), time.process_time()
    acc = backtest(series, args.warmup, args.step)
    wall, cpu = time.monotonic() - t0, time.process_time() - c0
    for key in ("story", "topic", "all"):
        a = acc[key]
        mase = a["model"] / a["naive"] if a["naive"] else float("nan")
        print(f"{key:>5}: forecasts {a['fits']:5d}  MASE vs naive last value {mase:.3f}  "
              f"80% interval coverage {a['covered'] / a['pairs']:.1%}  ({a['covered']}/{a['pairs']} days)  "
              f"fell back to naive {a['naive_fits'] / a['fits']:.1%}")
    print(f"time: {wall:.1f} s wall, {cpu:.1f} s CPU, {1000 * cpu / max(acc['all']['fits'], 1):.0f} ms CPU a forecast")


if __name__ == "__main__":
    main()
