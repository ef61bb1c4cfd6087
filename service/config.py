"""Settings of a Pulse installation: where the data lives, which models, detector thresholds, schedule.

Defaults suit a province; a TOML file given with `--config` overrides any of them.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_TZ = "Asia/Ho_Chi_Minh"


@dataclass
class TrendSettings:
    """Thresholds of the detectors."""

    baseline_days: int = 28
    min_count: int = 3
    burst_ratio: float = 3.0
    ignore_topics: tuple[str, ...] = ("khac",)


@dataclass
class Settings:
    db_path: Path = field(default_factory=lambda: Path(os.environ.get("PULSE_DB", "data/pulse.db")))
    models_dir: Path = field(default_factory=lambda: Path(os.environ.get("PULSE_MODELS",
                                                                         PROJECT_ROOT / "classifier_models")))
    host: str = "127.0.0.1"
    port: int = 8000
    timezone: str = LOCAL_TZ
    collect_every_minutes: int = 30
    briefing_time: str = "07:00"
    province: str = "Cao Bằng"
    trends: TrendSettings = field(default_factory=TrendSettings)


def load_settings(config_file: Path | None = None, db_path: Path | None = None) -> Settings:
    """Defaults, then the TOML file (top-level keys and a [trends] table), then an explicit db path."""
    settings = Settings()
    if config_file is not None:
        with open(config_file, "rb") as fh:
            data = tomllib.load(fh)
        trend_data = data.pop("trends", {})
        known = {f.name for f in fields(Settings)}
        for key, value in data.items():
            if key not in known:
                raise ValueError(f"unknown setting {key!r} in {config_file}")
            setattr(settings, key, Path(value) if key in ("db_path", "models_dir") else value)
        trend_known = {f.name for f in fields(TrendSettings)}
        for key, value in trend_data.items():
            if key not in trend_known:
                raise ValueError(f"unknown setting trends.{key} in {config_file}")
            setattr(settings.trends, key, value)
    if db_path is not None:
        settings.db_path = Path(db_path)
    return settings
