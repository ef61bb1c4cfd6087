"""`pulse backup` and `pulse restore`, and the optional daily backup of `pulse serve`.

A backup of an SQLite store is SQLite's online backup of the live database: one consistent snapshot taken while the
server reads and writes (copying the file, or the file and its -wal, is not: it loses or tears recent writes). A backup
of a PostgreSQL store is `pg_dump --format=custom` of its schema, equally one consistent snapshot (service/store/
pgfiles.py). Every backup is checked (integrity, Pulse schema) before it gets its final name. A restore refuses a damaged
file or one that is not a Pulse database, and replaces an existing database only when asked to (`force`), after saving
it beside itself. A backup is restored into a store of its own engine (an SQLite backup into a PostgreSQL store goes
through `pulse migrate-store`).
"""
from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from service.config import Settings
from service.store import (MIGRATIONS, Store, backup_database, inspect_database, is_postgres, postgres,
                           restore_database)
from service.store import pgfiles

log = logging.getLogger("pulse.backup")
DAILY_PREFIX = "pulse-"            # daily backups: pulse-YYYYMMDD-HHMMSS.db; only these are ever deleted by pruning
PULSE_TABLES = {"schema_version", "items", "users", "org_units"}


class BackupError(ValueError):
    """A backup or restore that cannot be done; the message says why in one sentence."""


@dataclass
class Outcome:
    path: Path | str          # a backup file, or the store restored (a URL shown without its password)
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
    """What the backup file `path` holds when it is a sound Pulse database — an SQLite file (see
    store.inspect_database) or a pg_dump archive of a PostgreSQL store (store.pgfiles.inspect_dump, always decoded
    whole); BackupError otherwise. `integrity=False`: an SQLite file is a Pulse database at all, without reading every
    page (the live database before a backup)."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} does not exist or is not a file.")
    if pgfiles.is_dump(path):
        return _sound(path, pgfiles.inspect_dump(path), True)
    info = inspect_database(path, integrity=integrity)
    if not info["sqlite"]:
        raise BackupError(f"{path} is not an SQLite database or a PostgreSQL backup (pg_dump --format=custom).")
    return _sound(path, info, integrity)


def check_store(location: str | Path, integrity: bool = True) -> dict:
    """check() of a live store: an SQLite file, or a PostgreSQL store read through SQL."""
    if is_postgres(location):
        return _sound(_shown(location), pgfiles.inspect_store(postgres.postgres_location(location)), integrity)
    return check(location, integrity)


def _sound(path, info: dict, integrity: bool) -> dict:
    if info["integrity"] != ["ok"] and (integrity or info["integrity"] != ["not checked"]):
        raise BackupError(f"{path} is damaged: {'; '.join(info['integrity'][:3])}.")
    missing = PULSE_TABLES - set(info["tables"])
    if missing or not info["schema_version"]:
        raise BackupError(f"{path} is not a Pulse database (no {', '.join(sorted(missing)) or 'schema version'}).")
    if info["schema_version"] > len(MIGRATIONS):
        raise BackupError(f"{path} was made by a newer Pulse (schema version {info['schema_version']}, this one "
                          f"knows {len(MIGRATIONS)}); upgrade Pulse first.")
    return info


def _shown(location: str | Path) -> Path | str:
    """A store's location as messages show it: a path, or a URL without its password."""
    if postgres.is_url(location):
        return re.sub(r"(//[^:/@]*):[^@/]*@", r"\1@", str(location))
    return Path(location)


def backup(db_path: str | Path, target: str | Path) -> Outcome:
    """Back the live database up into the new file `target` (never overwritten), consistent while others write."""
    location, target = db_path, Path(target)
    on_postgres = is_postgres(location)
    db_path = _shown(location) if on_postgres else Path(location)
    started = time.monotonic()
    check_store(location, integrity=False)   # the copy is checked whole below; the live store need not be read twice
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new file name.")
    if not on_postgres and target.resolve() == db_path.resolve():
        raise BackupError("the backup must go to another file than the database.")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        if on_postgres:
            try:
                pgfiles.dump_store(postgres.postgres_location(location), partial)
            except pgfiles.DumpError as exc:
                raise BackupError(f"pg_dump could not back up {db_path}, no backup was written: {exc}.") from None
        else:
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
    source = Path(source)
    started = time.monotonic()
    info = check(source)
    if is_postgres(db_path):
        return _restore_postgres(source, info, db_path, force, started)
    if info.get("pg_dump"):
        raise BackupError(f"{source} is a backup of a PostgreSQL store; restore it into a PostgreSQL store "
                          "(pulse --db postgresql://… restore FILE), not into an SQLite file.")
    db_path = Path(db_path)
    if source.resolve() == db_path.resolve():
        raise BackupError("the backup and the database are the same file.")
    saved = None
    if db_path.exists() and db_path.stat().st_size > 0:
        if not force:
            raise BackupError(f"a database already exists at {db_path}; pass --force to replace it (it is saved "
                              "beside itself first).")
        saved = db_path.with_name(f"{db_path.name}.before-restore-{_stamp()}")
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
    _upgrade(db_path, info)
    final = check(db_path)
    return Outcome(db_path, db_path.stat().st_size, final["schema_version"], final["counts"],
                   time.monotonic() - started, saved_previous=saved)


def _restore_postgres(source: Path, info: dict, location: str | Path, force: bool, started: float) -> Outcome:
    """restore() into a PostgreSQL store: the archive replayed into the store's schema in one transaction; the store
    it replaces is first saved with pg_dump as `<db>.before-restore-<time>` (a store named by a URL: in the current
    folder)."""
    if not info.get("pg_dump"):
        raise BackupError(f"{source} is a backup of an SQLite store and this store is on PostgreSQL; restore it into "
                          "an SQLite file and copy that with `pulse --db FILE migrate-store --to postgresql://…`.")
    url, shown = postgres.postgres_location(location), _shown(location)
    saved = None
    if pgfiles.inspect_store(url)["tables"]:
        if not force:
            raise BackupError(f"a database already exists at {shown}; pass --force to replace it (it is saved "
                              "beside itself first).")
        name = f"{Path(location).name}.before-restore-{_stamp()}"
        saved = Path(name) if postgres.is_url(location) else Path(location).with_name(name)
        try:
            pgfiles.dump_store(url, saved)
        except pgfiles.DumpError as exc:
            saved.unlink(missing_ok=True)
            raise BackupError(f"the store at {shown} could not be saved before the restore, nothing was changed: "
                              f"{exc}.") from None
    try:
        pgfiles.restore_dump(source, url, info["schema"])
    except pgfiles.DumpError as exc:
        raise BackupError(f"{source} could not be restored, nothing was changed: {exc}.") from None
    _upgrade(location, info)
    final = check_store(location)
    return Outcome(shown, final["bytes"], final["schema_version"], final["counts"], time.monotonic() - started,
                   saved_previous=saved)


def _upgrade(location: str | Path, info: dict) -> None:
    """A restored older backup is migrated to the current schema and its old items indexed for search."""
    if info["schema_version"] < len(MIGRATIONS):
        from service.setup import index_old_items

        with Store(location) as store:
            store.migrate()
            index_old_items(store, "restore")


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


def backup_dir(settings: Settings) -> Path:
    """Where daily backups go: the `[backup] dir` setting, else `backups/` beside the database (the data folder)."""
    if settings.backup.dir:
        return Path(settings.backup.dir)
    if isinstance(settings.db_path, str):   # a PostgreSQL URL: the data folder's backups/
        from service.datadir import data_dir

        return data_dir(settings) / "backups"
    return Path(settings.db_path).parent / "backups"


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
