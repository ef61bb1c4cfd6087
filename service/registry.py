"""Which model version is active for each task, read from `classifier_models/registry.json`."""
from __future__ import annotations

import json
from pathlib import Path

TASKS = ("topic", "news_topic", "sentiment", "toxicity")
REQUIRED_TASKS = ("topic", "sentiment")


class ModelsMissing(RuntimeError):
    """The models folder lacks a registry or a required model."""


def read_registry(models_dir: Path) -> dict:
    path = Path(models_dir) / "registry.json"
    if not path.exists():
        raise ModelsMissing(f"no model registry at {path}; run `pulse train topic` and `pulse train sentiment`.")
    return json.loads(path.read_text(encoding="utf-8"))


def active_versions(models_dir: Path) -> dict[str, str]:
    """Task → active version, for every task that has one."""
    registry = read_registry(models_dir)
    versions = {task: entry["active"] for task, entry in registry.items() if entry.get("active")}
    missing = [t for t in REQUIRED_TASKS if t not in versions]
    if missing:
        raise ModelsMissing(f"no active model for {', '.join(missing)} in {models_dir}.")
    return versions


def model_version_key(versions: dict[str, str]) -> str:
    """One string naming the set of active models; an item is annotated once per such set."""
    return ";".join(f"{task}={versions[task]}" for task in TASKS if task in versions)
