"""The store holds the model registry and the board's trained versions; each data folder's models/ follows it.

On several machines (a PostgreSQL store, `pulse worker` on each) a version trained on one machine must be promotable
from another, and every worker must annotate with the same active versions. So the registry (each task's active
version, versions and rollback history) and the files of every version trained here live in the store
(service/store/models.py), and a folder of models is only a copy:

- a registry change (`register` after training, `promote`, `rollback`) is made to the store's registry inside one
  transaction, with the new version's files when there is one, then written to the folder's registry.json;
- before models are read (`sync`, `models_home`), the folder gets the stored versions it lacks (written to a temp
  folder, then renamed), their cards as stored (a promotion adds a line to its version's card: `publish_card`) and
  a registry.json equal to the store's. A worker compares the active versions after each
  sync with the ones it holds and loads again when they changed (service/worker.py).

The rule is the same on SQLite (one code path; the trained versions then travel in the database's backups and in
`pulse migrate-store`). The shipped versions (classifier_models/, linked into the data folder) are never stored: every
checkout has them. Until the first registry change the store holds no registry and folders are left as they are.
Without a store (`store=None`: a command run before `pulse init`) only the folder is changed.
"""
from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any, Callable, TypeVar

from service import registry

log = logging.getLogger("pulse.models")

T = TypeVar("T")
CARD = "card.md"   # the one file of a version that changes after training (its history: promotions)


def normal(reg: dict) -> dict[str, dict[str, Any]]:
    """A registry as registry.json writes it: active and versions, the history only when there is one."""
    out = {}
    for task, entry in reg.items():
        row: dict[str, Any] = {"active": entry.get("active"), "versions": list(entry.get("versions") or [])}
        if entry.get("history"):
            row["history"] = list(entry["history"])
        out[task] = row
    return out


def _local(models_dir: Path) -> dict:
    return registry.read_registry(models_dir) if (models_dir / "registry.json").exists() else {}


def _version_files(models_dir: Path, task: str, version: str) -> dict[str, bytes]:
    """The files of a version trained in this folder (a shipped version, a link, is never published)."""
    folder = models_dir / task / version
    if folder.is_symlink() or not (folder / "model.skops").is_file():
        raise registry.ModelsMissing(f"{task} {version} is not a version trained in {models_dir}.")
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}


def _write_version(models_dir: Path, task: str, version: str, files: dict[str, bytes]) -> bool:
    """Write a stored version into the folder, whole or not at all (a temp folder renamed); whether it was written."""
    target = models_dir / task / version
    if target.exists() or target.is_symlink():
        log.warning("%s is in the way of the stored %s %s (no model.skops in it); left as it is", target, task,
                    version)
        return False
    bad = [name for name in files if Path(name).name != name or name.startswith(".")]
    if bad or "model.skops" not in files:
        raise ValueError(f"the stored {task} {version} has no model.skops or a file name that is not one: {bad}")
    tmp = models_dir / task / f".{version}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        for name, content in files.items():
            (tmp / name).write_bytes(content)
        tmp.rename(target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if (target / "model.skops").exists():   # another process of this data folder wrote it meanwhile
            return False
        raise
    return True


def sync(store, models_dir: Path, stored: dict | None = None) -> bool:
    """Bring a folder of models in line with the store: the stored versions it lacks, and registry.json equal to the
    store's registry. Nothing happens while the store holds no registry. Whether anything was written."""
    models_dir = Path(models_dir)
    stored = store.model_registry() if stored is None else stored
    if not stored:
        return False
    written = False
    for task, version in sorted(store.stored_model_versions()):
        if (models_dir / task / version / "model.skops").exists():
            continue
        if _write_version(models_dir, task, version, store.model_files(task, version)):
            log.info("%s %s copied from the store into %s", task, version, models_dir)
            written = True
    for (task, version), size in store.model_file_sizes(CARD).items():   # a card's history, noted on any machine
        card = models_dir / task / version / CARD
        if not card.parent.is_symlink() and card.parent.is_dir() and (not card.exists() or card.stat().st_size != size):
            content = store.model_file(task, version, CARD)
            if content is not None:
                tmp = card.with_name(f".{CARD}.{os.getpid()}.tmp")
                tmp.write_bytes(content)
                tmp.replace(card)
                written = True
    want = normal(stored)
    if normal(_local(models_dir)) != want:
        registry.write_registry(models_dir, want)
        written = True
    for task, entry in want.items():
        if entry["active"] and not (models_dir / task / entry["active"] / "model.skops").exists():
            log.warning("the active %s %s is neither in the store nor in %s", task, entry["active"], models_dir)
    return written


def publish_card(store, models_dir: Path, task: str, version: str) -> None:
    """Store a version's card again after a line was added to its history (a promotion), so every machine's copy
    reads the same; a version the store does not hold (a shipped one) is left out."""
    card = Path(models_dir) / task / version / CARD
    if store is not None and card.is_file() and not card.parent.is_symlink():
        store.replace_model_file(task, version, CARD, card.read_bytes())


def models_home(store, settings) -> Path:
    """service/datadir.py `models_home` (the folder to read models from), the data folder synced with the store
    first when the store holds a registry."""
    from service import datadir

    stored = store.model_registry() if store is not None else {}
    if not stored:
        return datadir.models_home(settings)
    home = datadir.writable_models_home(settings)
    sync(store, home, stored)
    return home


def _change(store, models_dir: Path, apply: Callable[[dict], T], publish: tuple[str, str] | None = None) -> T:
    """Apply a registry change to the store's registry (seeded from the folder's the first time) and the folder's,
    with the files of the version `publish`, all stored in one transaction."""
    models_dir = Path(models_dir)
    if store is None:
        reg = _local(models_dir)
        out = apply(reg)
        registry.write_registry(models_dir, reg)
        return out
    sync(store, models_dir)   # the versions trained elsewhere, so that a promotion finds their files
    files = {publish: _version_files(models_dir, *publish)} if publish else None   # read before taking the lock
    with store.transaction():
        reg = store.model_registry() or _local(models_dir)
        out = apply(reg)
        store.publish_models(reg, files)
    registry.write_registry(models_dir, normal(reg))
    return out


def register(store, models_dir: Path, task: str, version: str) -> None:
    """Record a version just trained in `models_dir` as a candidate, and store its files with the registry."""
    models_dir = Path(models_dir)
    try:
        _change(store, models_dir, lambda reg: registry.add_version(reg, task, version),
                publish=(task, version) if store is not None else None)
    except sqlite3.IntegrityError:   # the same name was stored by another machine meanwhile: ours is not kept
        from service.pipeline import UserError

        folder = models_dir / task / version
        if not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)
        raise UserError(f"{task} {version} was trained on another machine at the same time; train again.") from None


def promote(store, models_dir: Path, task: str, version: str) -> str | None:
    """Make a version active in the store and the folder; the version it replaced (see registry.make_active)."""
    models_dir = Path(models_dir)
    return _change(store, models_dir, lambda reg: registry.make_active(reg, models_dir, task, version))


def rollback(store, models_dir: Path, task: str) -> str:
    """Make the previously active version active again in the store and the folder; returns it."""
    return _change(store, models_dir, lambda reg: registry.step_back(reg, task))
