"""`pulse backup` and `pulse restore`, and the optional daily backup of `pulse serve`.

A backup is SQLite's online backup of the live database: one consistent snapshot taken while the server reads and
writes (copying the file, or the file and its -wal, is not: it loses or tears recent writes). Every backup is checked
(integrity, Pulse schema) before it gets its final name. A restore refuses a damaged file or one that is not a Pulse
database, and replaces an existing database only when asked to (`force`), after saving it beside itself.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from service.config import Settings
from service.store import MIGRATIONS, Store, backup_database, inspect_database, restore_database

log = logging.getLogger("pulse.backup")
DAILY_PREFIX = "pulse-"            # daily backups: pulse-YYYYMMDD-HHMMSS.db; only these are ever deleted by pruning
PULSE_TABLES = {"schema_version", "items", "users", "org_units"}


class BackupError(ValueError):
    """A backup or restore that cannot be done; the message says why in one sentence."""


@dataclass
class Outcome:
    path: Path
    bytes: int
    schema_version: int
    counts: dict[str, int]
    seconds: float
    saved_previous: Path | None = None      # restore --force: where the replaced database was saved
    pruned: list[Path] = field(default_factory=list)

    def describe(self) -> str:
        counts = ", ".join(f"{v:,} {k}" for k, v in self.counts.items() if k in ("items", "flags", "users"))
        return (f"{self.path}: {self.bytes / 1e6:.1f} MB, schema version {self.schema_version}, integrity ok, "
                f"{counts}; {self.seconds:.2f} s")


def check(path: str | Path, integrity: bool = True) -> dict:
    """What `path` holds when it is a sound Pulse database (see store.inspect_database); BackupError otherwise.
    `integrity=False`: a Pulse database at all, without reading every page (the live database before a backup)."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} does not exist or is not a file.")
    info = inspect_database(path, integrity=integrity)
    if not info["sqlite"]:
        raise BackupError(f"{path} is not an SQLite database.")
    if info["integrity"] != ["ok"] and (integrity or info["integrity"] != ["not checked"]):
        raise BackupError(f"{path} is damaged: {'; '.join(info['integrity'][:3])}.")
    missing = PULSE_TABLES - set(info["tables"])
    if missing or not info["schema_version"]:
        raise BackupError(f"{path} is not a Pulse database (no {', '.join(sorted(missing)) or 'schema version'}).")
    if info["schema_version"] > len(MIGRATIONS):
        raise BackupError(f"{path} was made by a newer Pulse (schema version {info['schema_version']}, this one "
                          f"knows {len(MIGRATIONS)}); upgrade Pulse first.")
    return info


def backup(db_path: str | Path, target: str | Path) -> Outcome:
    """Back the live database up into the new file `target` (never overwritten), consistent while others write."""
    db_path, target = Path(db_path), Path(target)
    started = time.monotonic()
    check(db_path, integrity=False)   # the copy is checked page by page below; the live file need not be read twice
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new file name.")
    if target.resolve() == db_path.resolve():
        raise BackupError("the backup must go to another file than the database.")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        backup_database(db_path, partial)
        try:
            info = check(partial)
        except BackupError as exc:   # the copy is the database page for page: the database itself is damaged
            raise BackupError(f"the database {db_path} is damaged, no backup was written "
                              f"({str(exc).split(': ', 1)[-1]}); run `pulse doctor`.") from None
        _fsync(partial)
        os.replace(partial, target)   # a backup exists under its name only when it is whole and checked
        _fsync(target.parent)
    finally:
        for leftover in (partial, Path(f"{partial}-journal")):
            leftover.unlink(missing_ok=True)
    return Outcome(target, target.stat().st_size, info["schema_version"], info["counts"],
                   time.monotonic() - started)


def restore(source: str | Path, db_path: str | Path, force: bool = False) -> Outcome:
    """Make `db_path` a copy of the backup `source`. An existing database is replaced only with `force`, and is
    first saved as `<db>.before-restore-<time>`. An older backup is upgraded to the current schema."""
    source, db_path = Path(source), Path(db_path)
    started = time.monotonic()
    info = check(source)
    if source.resolve() == db_path.resolve():
        raise BackupError("the backup and the database are the same file.")
    saved = None
    if db_path.exists() and db_path.stat().st_size > 0:
        if not force:
            raise BackupError(f"a database already exists at {db_path}; pass --force to replace it (it is saved "
                              "beside itself first).")
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        saved = db_path.with_name(f"{db_path.name}.before-restore-{stamp}")
        backup_database(db_path, saved)
        restore_database(source, db_path)
    else:
        for stale in (Path(f"{db_path}-wal"), Path(f"{db_path}-journal")):
            if stale.exists():
                raise BackupError(f"{stale} exists without its database; move it away before restoring.")
        db_path.parent.mkdir(parents=True, exist_ok=True)
        partial = db_path.with_name(f".{db_path.name}.partial-{os.getpid()}")
        try:
            backup_database(source, partial)
            _fsync(partial)
            os.replace(partial, db_path)
        finally:
            partial.unlink(missing_ok=True)
            Path(f"{partial}-journal").unlink(missing_ok=True)
    if info["schema_version"] < len(MIGRATIONS):
        from service.setup import index_old_items

        with Store(db_path) as store:
            store.migrate()
            index_old_items(store, "restore")
    final = check(db_path)
    return Outcome(db_path, db_path.stat().st_size, final["schema_version"], final["counts"],
                   time.monotonic() - started, saved_previous=saved)


def backup_dir(settings: Settings) -> Path:
    """Where daily backups go: the `[backup] dir` setting, else `backups/` beside the database (the data folder)."""
    return Path(settings.backup.dir) if settings.backup.dir else Path(settings.db_path).parent / "backups"


def daily_backup(settings: Settings, now: datetime | None = None) -> Outcome:
    """One backup named by the time into the backup folder, then only the newest `keep` daily backups are kept."""
    now = now or datetime.now(timezone.utc)
    folder = backup_dir(settings)
    outcome = backup(settings.db_path, folder / f"{DAILY_PREFIX}{now.strftime('%Y%m%d-%H%M%S')}.db")
    outcome.pruned = prune(folder, settings.backup.keep)
    log.info("daily backup %s; %d old backup(s) deleted", outcome.describe(), len(outcome.pruned))
    return outcome


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` daily backups in `folder` (files named pulse-YYYYMMDD-HHMMSS.db only)."""
    daily = sorted(p for p in Path(folder).glob(f"{DAILY_PREFIX}*.db")
                   if len(p.stem) == len(DAILY_PREFIX) + 15 and p.stem[len(DAILY_PREFIX):].replace("-", "").isdigit())
    old = daily[:-keep] if keep > 0 else []
    for path in old:
        path.unlink(missing_ok=True)
    return old


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
