"""Where a story is heading: the next days' expected items with an 80 % interval and a plain label.

Exponential smoothing with a damped additive trend (statsmodels' ETS, fitted by maximum likelihood) on log(1 + count),
so a burst's rise and its fall are proportional and an interval never goes below zero; the interval is the model's
own prediction interval, transformed back. A series too short or too flat to fit falls back to the naive forecast
(the last days' mean) with a Poisson interval. Pure: daily counts in, numbers out; bench/forecast.py backtests it.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
from scipy.stats import poisson

__all__ = ["Forecast", "forecast", "forecast_counts", "LABELS", "MIN_FIT_DAYS"]

HORIZON = 7
LEVEL = 0.8
MIN_FIT_DAYS = 10      # fewer observed days than this: the naive forecast
LABELS = {"rising": "đang tăng", "peaking": "sắp đạt đỉnh", "cooling": "hạ nhiệt", "steady": "ổn định"}


@dataclass
class Forecast:
    days: list[str]                     # ISO days forecast, the day after the last observed one first
    mean: list[float]                   # expected items each day (median of the model on the count scale)
    lower: list[float]                  # the 80 % interval
    upper: list[float]
    label: str                          # rising | peaking | cooling | steady
    method: str                         # "ets" or "naive"
    level: float = LEVEL
    history: list[int] = field(default_factory=list)

    @property
    def label_vi(self) -> str:
        return LABELS[self.label]

    @property
    def total(self) -> float:
        return sum(self.mean)


def _naive(history: np.ndarray, horizon: int, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mu = float(history[-3:].mean()) if len(history) else 0.0
    alpha = (1 - level) / 2
    mean = np.full(horizon, mu)
    lower = np.full(horizon, float(poisson.ppf(alpha, mu)) if mu > 0 else 0.0)
    upper = np.full(horizon, float(poisson.ppf(1 - alpha, mu)) if mu > 0 else 0.0)
    return mean, lower, upper


def _ets(history: np.ndarray, horizon: int, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = pd.Series(np.log1p(history.astype(float)))   # statsmodels' prediction frames need an index
    model = ETSModel(y, error="add", trend="add", damped_trend=True)
    with warnings.catch_warnings():      # short series warn about convergence; the fit is still usable
        warnings.simplefilter("ignore")
        fit = model.fit(disp=False, maxiter=200)
        frame = fit.get_prediction(start=len(y), end=len(y) + horizon - 1).summary_frame(alpha=1 - level)
    mean = np.expm1(frame["mean"].to_numpy())
    lower = np.expm1(frame["pi_lower"].to_numpy())
    upper = np.expm1(frame["pi_upper"].to_numpy())
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(lower)) and np.all(np.isfinite(upper))):
        raise ValueError("the fit diverged")
    return np.clip(mean, 0, None), np.clip(lower, 0, None), np.clip(upper, 0, None)


def forecast_counts(history: list[int] | np.ndarray, horizon: int = HORIZON,
                    level: float = LEVEL) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """(mean, lower, upper, method) of the next `horizon` days after a series of daily counts."""
    mean, lower, upper, method = _forecast_cached(tuple(float(x) for x in history), horizon, level)
    return np.array(mean), np.array(lower), np.array(upper), method


@lru_cache(maxsize=512)
def _forecast_cached(history: tuple[float, ...], horizon: int, level: float) -> tuple[tuple, tuple, tuple, str]:
    """A fit takes ~0.14 s of CPU: a flag page viewed again with the same counts reuses it."""
    mean, lower, upper, method = _forecast(np.asarray(history, dtype=float), horizon, level)
    return tuple(mean.tolist()), tuple(lower.tolist()), tuple(upper.tolist()), method


def _forecast(y: np.ndarray, horizon: int, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    if len(y) < MIN_FIT_DAYS or np.ptp(y) == 0:
        return (*_naive(y, horizon, level), "naive")
    try:
        return (*_ets(y, horizon, level), "ets")
    except (ValueError, np.linalg.LinAlgError, OverflowError):
        return (*_naive(y, horizon, level), "naive")


def label_of(history: list[int] | np.ndarray, mean: np.ndarray) -> str:
    """The plain word for where the story is heading, from its last days and the next three expected ones."""
    y = np.asarray(history, dtype=float)
    recent = float(y[-3:].mean()) if len(y) else 0.0
    prior = float(y[-6:-3].mean()) if len(y) >= 6 else float(y[:-3].mean()) if len(y) > 3 else recent
    ahead = float(np.mean(mean[:3])) if len(mean) else recent
    if ahead >= recent * 1.15 and ahead >= recent + 0.5:
        return "rising"
    if ahead <= recent * 0.85 and ahead <= recent - 0.5:
        return "cooling"
    if recent >= prior * 1.2 and recent >= prior + 1:   # it has been growing and the model sees it level off
        return "peaking"
    return "steady"


def forecast(timeline: list[dict], horizon: int = HORIZON, level: float = LEVEL) -> Forecast | None:
    """The forecast after a story's timeline (`[{"day": "2026-11-27", "count": 3}, ...]`, one entry per day, oldest
    first; missing days count zero); None when the timeline is empty."""
    if not timeline:
        return None
    counts = {t["day"]: int(t.get("count") or 0) for t in timeline}
    first, last = date.fromisoformat(min(counts)), date.fromisoformat(max(counts))
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    history = [counts.get(d, 0) for d in days]
    mean, lower, upper, method = forecast_counts(history, horizon, level)
    ahead = [(last + timedelta(days=i + 1)).isoformat() for i in range(horizon)]
    return Forecast(ahead, [round(float(x), 2) for x in mean], [math.floor(float(x) * 100) / 100 for x in lower],
                    [math.ceil(float(x) * 100) / 100 for x in upper], label_of(history, mean), method, level,
                    history)
