"""The data folder: everything the running system writes, kept out of the checkout.

    data/                      (`data_dir`, default: the database's folder)
      pulse.db  logs/pulse.log
      models/registry.json     the board's active versions (until it exists: the shipped classifier_models/ one)
      models/<task>/<version>/ versions trained by the board; the shipped versions appear as links to classifier_models/
                               (the registry and the board's versions are the store's: service/modelsync.py copies them)
      taxonomy.toml            the board's taxonomy (until the first edit: the shipped one)

The shipped models folder (`models_dir`) is only ever read. `models_home` is the folder to read models from,
`writable_models_home` the one to train, promote or roll back in; `taxonomy_file` / `writable_taxonomy` likewise.
`topic_names()` is the one source of topic names for flags, briefings and pages, read again after every edit.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from nlp.taxonomy import current_taxonomy, use_taxonomy

TAXONOMY = "taxonomy.toml"
REGISTRY = "registry.json"


class DataMissing(RuntimeError):
    """A folder the system needs is not there; the message says which and how to set it."""


def data_dir(settings) -> Path:
    if settings.data_dir:
        return Path(settings.data_dir)
    if isinstance(settings.db_path, str):   # a PostgreSQL URL: the data folder is ./data unless set (data_dir)
        return Path("data").resolve()
    return Path(settings.db_path).resolve().parent


def runtime_models(settings) -> Path:
    return data_dir(settings) / "models"


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _link_shipped(runtime: Path, shipped: Path) -> None:
    """Each shipped version appears in the runtime folder as a link (never copied, never written through)."""
    for version in shipped.glob("*/*/"):
        if not (version / "model.skops").exists():
            continue
        link = runtime / version.parent.name / version.name
        if link.is_symlink() and not link.exists():      # the checkout moved: link again
            link.unlink()
        if not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(version.resolve(), target_is_directory=True)


def models_home(settings) -> Path:
    """Where to read models and the registry of active versions from: the data folder's once it has a registry,
    the shipped folder before."""
    runtime, shipped = runtime_models(settings), Path(settings.models_dir)
    if _same(runtime, shipped) or not (runtime / REGISTRY).exists():
        return shipped
    try:
        _link_shipped(runtime, shipped)
    except OSError:   # a read-only data folder: the versions linked before are still read
        pass
    return runtime


def writable_models_home(settings) -> Path:
    """The data folder's models, made ready to be written: the shipped registry copied on first use, the shipped
    versions linked. Training, promotion and rollback write only here."""
    runtime, shipped = runtime_models(settings), Path(settings.models_dir)
    if _same(runtime, shipped):
        return shipped
    runtime.mkdir(parents=True, exist_ok=True)
    _link_shipped(runtime, shipped)
    registry = runtime / REGISTRY
    if not registry.exists():
        source = shipped / REGISTRY
        data = json.loads(source.read_text(encoding="utf-8")) if source.exists() else {}
        tmp = registry.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        tmp.replace(registry)
    return runtime


def is_shipped(folder: Path) -> bool:
    """A version folder that is a link to the shipped models (never written)."""
    return Path(folder).is_symlink()


def board_taxonomy(settings) -> Path:
    return data_dir(settings) / TAXONOMY


def shipped_taxonomy(settings) -> Path:
    return Path(settings.models_dir) / TAXONOMY


def taxonomy_file(settings) -> Path:
    """The taxonomy in use: the board's once it has edited one, the shipped one before."""
    board = board_taxonomy(settings)
    return board if board.exists() else shipped_taxonomy(settings)


def writable_taxonomy(settings) -> Path:
    """The board's taxonomy file, copied from the shipped one on the first edit."""
    board = board_taxonomy(settings)
    if not board.exists():
        board.parent.mkdir(parents=True, exist_ok=True)
        tmp = board.with_suffix(".toml.tmp")
        shutil.copyfile(shipped_taxonomy(settings), tmp)
        tmp.replace(board)
    return board


def use(settings) -> None:
    """Make this installation's taxonomy the process's default (flags, briefings, pages, seed labels) and its
    `timezone` the zone of every local day (service/timeutil.py). Each entry point calls it once it has its settings."""
    from service.timeutil import use_timezone

    use_taxonomy(board_taxonomy(settings), shipped_taxonomy(settings))
    use_timezone(settings.timezone)


def topic_names() -> dict[str, str]:
    """Topic code → Vietnamese name from the taxonomy in use, read again whenever its file changes."""
    return {code: topic.name for code, topic in current_taxonomy().topics.items()}


def datasets_problem(settings, corpus: str) -> str | None:
    """Why the corpus folder a training needs is missing (English), or None when it is there."""
    folder = Path(settings.datasets_dir) / corpus
    if folder.is_dir():
        return None
    return (f"the corpus {corpus} is not at {folder}; set `datasets_dir` in the settings file (or PULSE_DATASETS) "
            f"to the folder that holds the corpora.")
