"""Whole-database copies of an SQLite store: backup, inspection, restore (used by service/backup.py)."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any


def _read_only(path: str | Path) -> sqlite3.Connection:
    conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True, timeout=30)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def backup_database(source: str | Path, target: str | Path) -> None:
    """Copy the database at `source` into the new file `target` with SQLite's online backup API: one consistent
    snapshot (a read transaction over the whole copy) while other connections go on reading and writing (WAL).
    The copy is one self-contained file (rollback journal, no -wal beside it)."""
    src = _read_only(source)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)   # all pages in one step: never restarted by a concurrent writer
        dst.execute("PRAGMA journal_mode=DELETE")
        dst.commit()
    finally:
        dst.close()
        src.close()


def inspect_database(path: str | Path, integrity: bool = True) -> dict[str, Any]:
    """What a database file is, read-only: {"sqlite": bool, "integrity": ["ok"] or the problems, "schema_version":
    the highest applied Pulse migration or None, "tables": names, "counts": rows of the main tables}.
    `integrity=False` skips PRAGMA integrity_check (it reads every page) and reports ["not checked"]."""
    out: dict[str, Any] = {"sqlite": False, "integrity": [], "schema_version": None, "tables": [], "counts": {}}
    try:
        with open(path, "rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                return out
        out["sqlite"] = True
        conn = _read_only(path)
    except OSError as exc:
        out["integrity"] = [str(exc)]
        return out
    except sqlite3.Error as exc:   # e.g. the file is encrypted or not a database after all
        out["integrity"] = [str(exc)]
        return out
    try:
        out["integrity"] = ([row[0] for row in conn.execute("PRAGMA integrity_check")] if integrity
                            else ["not checked"])
        out["tables"] = sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
        if "schema_version" in out["tables"]:
            out["schema_version"] = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        for table in ("items", "items_fts", "annotations", "stream_items", "flags", "users", "submissions", "labels"):
            if table in out["tables"]:
                out["counts"][table] = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    except sqlite3.Error as exc:   # "database disk image is malformed", "file is not a database"
        out["integrity"] = out["integrity"] if out["integrity"] not in ([], ["ok"], ["not checked"]) else [str(exc)]
    finally:
        conn.close()
    return out


def restore_database(source: str | Path, target: str | Path) -> None:
    """Replace the content of the database at `target` (existing or not) by the one at `source`, page by page with
    the online backup API under SQLite's own locks: a server that has `target` open sees the restored data on its
    next read, never a half-copied file."""
    src = _read_only(source)
    dst = sqlite3.connect(str(target), timeout=30)
    try:
        dst.execute("PRAGMA busy_timeout=30000")
        src.backup(dst)
    finally:
        dst.close()
        src.close()
