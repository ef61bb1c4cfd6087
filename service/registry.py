"""Which model version is active for each task, read from `classifier_models/registry.json`."""
from __future__ import annotations

import json
import os
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


def write_registry(models_dir: Path, registry: dict) -> None:
    path = Path(models_dir) / "registry.json"
    tmp = path.with_name(f".registry.json.{os.getpid()}.tmp")   # one per process: two writers never share a temp file
    tmp.write_text(json.dumps(registry, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def next_version(models_dir: Path, task: str) -> str:
    """The next free version name of a task: v1, v2, …"""
    taken = {p.name for p in (Path(models_dir) / task).glob("v*") if p.is_dir()}
    n = 1
    while f"v{n}" in taken:
        n += 1
    return f"v{n}"


# --- changes of a registry (a dict): the same whether it is the folder's registry.json or the store's rows --------


def add_version(registry: dict, task: str, version: str) -> None:
    """List a trained version as a candidate of its task (not active until promoted)."""
    entry = registry.setdefault(task, {"active": None, "versions": []})
    if version not in entry.setdefault("versions", []):
        entry["versions"].append(version)


def make_active(registry: dict, models_dir: Path, task: str, version: str) -> str | None:
    """Make a version active; returns the version it replaced, kept in the history for a rollback."""
    entry = registry.get(task)
    if entry is None or version not in entry.get("versions", []):
        raise ModelsMissing(f"there is no {task} model version {version!r} (known: "
                            f"{', '.join((entry or {}).get('versions', [])) or 'none'}).")
    if not (Path(models_dir) / task / version / "model.skops").exists():
        raise ModelsMissing(f"{task} {version} has no model.skops.")
    previous = entry.get("active")
    if previous == version:
        return previous
    if previous:
        entry.setdefault("history", []).append(previous)
    entry["active"] = version
    return previous


def step_back(registry: dict, task: str) -> str:
    """Make the previously active version active again; returns it."""
    entry = registry.get(task) or {}
    history = entry.get("history") or []
    if not history:
        raise ModelsMissing(f"{task} has no earlier active version to roll back to.")
    entry["active"] = history.pop()
    return entry["active"]


def register(models_dir: Path, task: str, version: str) -> None:
    """Record a trained version as a candidate (not active until promoted) in the folder's registry.json.
    With a store, service/modelsync.py `register` also publishes it."""
    registry = read_registry(models_dir) if (Path(models_dir) / "registry.json").exists() else {}
    add_version(registry, task, version)
    write_registry(models_dir, registry)


def promote(models_dir: Path, task: str, version: str) -> str | None:
    """Make a version active; returns the version it replaced. The previous one is kept for rollback."""
    registry = read_registry(models_dir)
    previous = make_active(registry, models_dir, task, version)
    if previous != version:
        write_registry(models_dir, registry)
    return previous


def rollback(models_dir: Path, task: str) -> str:
    """Make the previously active version active again; returns it."""
    registry = read_registry(models_dir)
    version = step_back(registry, task)
    write_registry(models_dir, registry)
    return version
