"""Source health, as a pure function over recorded runs (the service records them and shows the verdict)."""
from __future__ import annotations

import statistics
from dataclasses import dataclass

MIN_HISTORY_DAYS = 14  # fewer past days than this and the daily-count test says nothing
WINDOW_DAYS = 30


@dataclass(frozen=True)
class Verdict:
    """A source's health: whether it is healthy, which rule decided (`kind`), and the reason in plain English.

    kind: "failing" (the last run failed, or the last `fail_threshold` runs), "unusual_count" (the latest daily count
    is out of its usual range), "last_failed" (the latest run failed but fewer than a threshold above one),
    "no_runs" or "ok". Callers that speak another language switch on `kind` rather than parse `reason`.
    """

    healthy: bool
    kind: str
    reason: str
    failed_runs: int = 0
    last_error: str = ""


def verdict(runs: list[dict], daily_counts: list[int], fail_threshold: int = 1) -> Verdict:
    """The health of one source.

    `runs` are its recorded runs, newest last, each with keys ok, found, new, errors, duration.
    `daily_counts` are items per day, oldest first, the last being the latest (complete) day.
    Unhealthy as soon as the last run failed (or the last `fail_threshold` runs, for a caller that tolerates a
    flaky source), or when the latest daily count lies outside the mean ± 2 standard deviations of the up to 30
    days before it (only with at least 14 such days; the SD has a floor of one item, so a source steady at exactly
    10 a day is not flagged for 11). `failed_runs` counts the failures in a row at the end.
    """
    fail_threshold = max(1, int(fail_threshold))
    in_a_row = 0
    for run in reversed(runs):
        if run.get("ok"):
            break
        in_a_row += 1
    if in_a_row >= fail_threshold:
        last_error = _first_error(runs[-1])
        detail = f" The latest error: {last_error}" if last_error else ""
        said = "The last run failed." if in_a_row == 1 else f"The last {in_a_row} runs failed."
        return Verdict(False, "failing", f"{said}{detail}", in_a_row, last_error)
    if len(daily_counts) >= MIN_HISTORY_DAYS + 1:
        history = [int(c) for c in daily_counts[-WINDOW_DAYS - 1:-1]]
        latest = int(daily_counts[-1])
        mean = statistics.fmean(history)
        sd = max(statistics.pstdev(history), 1.0)  # a floor, so a perfectly steady source is not flagged for ±1
        low, high = mean - 2 * sd, mean + 2 * sd
        if latest < low or latest > high:
            direction = "below" if latest < low else "above"
            return Verdict(False, "unusual_count",
                           f"{latest} items on the latest day is {direction} the usual range "
                           f"({max(0.0, low):.1f} to {high:.1f}; {len(history)}-day mean {mean:.1f}, SD {sd:.1f}).")
    if runs and not runs[-1].get("ok"):
        return Verdict(True, "last_failed", "The latest run failed, but earlier ones succeeded.", in_a_row,
                       _first_error(runs[-1]))
    if not runs:
        return Verdict(True, "no_runs", "No runs recorded yet.")
    return Verdict(True, "ok", "Runs succeed and the daily count is in its usual range.")


def assess_health(runs: list[dict], daily_counts: list[int], fail_threshold: int = 1) -> tuple[bool, str]:
    """(healthy, reason in plain English) for one source: `verdict` without its rule name."""
    v = verdict(runs, daily_counts, fail_threshold)
    return v.healthy, v.reason


def _first_error(run: dict) -> str:
    errors = run.get("errors")
    if isinstance(errors, (list, tuple)) and errors:
        return str(errors[0])
    if isinstance(errors, str):
        return errors
    return ""
