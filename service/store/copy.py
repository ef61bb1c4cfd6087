"""Whole-store copies from one backend to another (service/migrate_store.py): the tables in the order their references
need, each table's columns with the kind of value they hold, rows read in key order a batch at a time, rows written in
bulk, triggers held off while a copy writes, identity counters moved past the copied ids.

Only the store package speaks SQL; these functions are the copy's vocabulary. Writing is PostgreSQL's (a store is
migrated *to* PostgreSQL); reading works on both backends, so the same functions count and checksum either side.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

NOT_COPIED = {"schema_version"}   # the target's own migration history, written by its migrate()
SEEDED = {"placement_state"}      # tables whose rows the migrations write themselves: replaced by the source's rows
_FTS_SHADOWS = ("_config", "_content", "_data", "_docsize", "_idx")   # SQLite's own tables behind an FTS5 table
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str   # integer | real | text | time | blob


def _name(name: str) -> str:
    """A table or column name put into a statement: only plain identifiers (they come from the schema itself)."""
    if not _NAME.match(name):
        raise ValueError(f"unexpected name in the schema: {name!r}")
    return name


# --- what the store holds ----------------------------------------------------------------------------------------
def tables(store) -> list[str]:
    """Pulse's tables in `store`, each after the tables it references (alphabetical among equals), without the
    migration history and SQLite's shadow tables of its full-text indexes (the FTS tables themselves are listed)."""
    if store.backend == "sqlite":
        rows = store.db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"
                                " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").fetchall()
        virtual = {name for name, sql in rows if (sql or "").upper().startswith("CREATE VIRTUAL TABLE")}
        names = [name for name, _ in rows if not any(name == v + s for v in virtual for s in _FTS_SHADOWS)]
        refs = {name: {r[2] for r in store.db.execute(f"PRAGMA foreign_key_list({_name(name)})")} for name in names}
    else:
        names = [r[0] for r in store.db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            " AND table_type = 'BASE TABLE'").fetchall()]
        refs = {name: set() for name in names}
        for child, parent in store.db.execute(
                "SELECT c.relname, p.relname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid"
                " JOIN pg_class p ON p.oid = k.confrelid"
                " WHERE k.contype = 'f' AND k.connamespace = CAST(current_schema() AS regnamespace)").fetchall():
            if child in refs:
                refs[child].add(parent)
    return _dependency_order([n for n in names if n not in NOT_COPIED], refs)


def _dependency_order(names: list[str], refs: dict[str, set[str]]) -> list[str]:
    left, ordered = sorted(names), []
    while left:
        ready = [n for n in left if not (refs.get(n, set()) - {n}) & set(left)]
        if not ready:   # a cycle between tables (none in Pulse's schema): keep the rest alphabetical
            ready = left[:1]
        ordered += ready
        left = [n for n in left if n not in ready]
    return ordered


def columns(store, table: str) -> list[Column]:
    """The columns a copy writes: PostgreSQL's generated columns (the tsvectors of the search tables) fill
    themselves and are left out; an SQLite FTS table's rowid is a column."""
    if store.backend == "sqlite":
        rows = store.db.execute(f"PRAGMA table_info({_name(table)})").fetchall()
        found = [Column(r[1], _sqlite_kind(r[1], r[2])) for r in rows]
        if _is_virtual(store, table):
            found.insert(0, Column("rowid", "integer"))
        return found
    rows = store.db.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = ? AND is_generated = 'NEVER' ORDER BY ordinal_position", [table]).fetchall()
    return [Column(name, _postgres_kind(data_type)) for name, data_type in rows]


def _is_virtual(store, table: str) -> bool:
    row = store.db.execute("SELECT sql FROM sqlite_master WHERE name = ?", [table]).fetchone()
    return bool(row and (row[0] or "").upper().startswith("CREATE VIRTUAL TABLE"))


def _sqlite_kind(name: str, declared: str) -> str:
    declared = (declared or "").upper()
    if name.endswith("_at") and "TEXT" in declared:
        return "time"   # PostgreSQL holds these as timestamptz (migrations._PG_TYPES)
    if "INT" in declared:
        return "integer"
    if "REAL" in declared or "FLOA" in declared or "DOUB" in declared:
        return "real"
    if "BLOB" in declared:
        return "blob"
    return "text"


def _postgres_kind(data_type: str) -> str:
    if data_type.startswith("timestamp"):
        return "time"
    if data_type in ("bigint", "integer", "smallint"):
        return "integer"
    if data_type in ("double precision", "real", "numeric"):
        return "real"
    if data_type == "bytea":
        return "blob"
    return "text"


def primary_key(store, table: str) -> list[str]:
    """The columns that order a table's rows (an FTS table: its rowid)."""
    if store.backend == "sqlite":
        if _is_virtual(store, table):
            return ["rowid"]
        rows = store.db.execute(f"PRAGMA table_info({_name(table)})").fetchall()
        return [r[1] for r in sorted((r for r in rows if r[5]), key=lambda r: r[5])]
    rows = store.db.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
        " WHERE i.indrelid = CAST(? AS regclass) AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)",
        [table]).fetchall()
    return [r[0] for r in rows]


def count(store, table: str) -> int:
    return store.db.execute(f"SELECT COUNT(*) FROM {_name(table)}").fetchone()[0]


def holding(store, names: Iterable[str]) -> dict[str, int]:
    """The tables among `names` that hold rows of their own (a migration's seed rows do not count), with their
    row counts: what makes a store not empty."""
    found = {}
    for table in names:
        if table in SEEDED or store.db.execute(f"SELECT 1 FROM {_name(table)} LIMIT 1").fetchone() is None:
            continue
        found[table] = count(store, table)
    return found


# --- reading -------------------------------------------------------------------------------------------------------
@contextmanager
def snapshot(store) -> Iterator[None]:
    """A read-only view of the whole store as of one moment (other writers go on), for counting and checksums."""
    conn = store.db.conn
    if conn.in_transaction:   # already inside a unit of work: its own view is the one to read
        yield
        return
    conn.execute("BEGIN" if store.backend == "sqlite" else "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    try:
        yield
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def read_rows(store, table: str, cols: list[Column], key: list[str], batch: int) -> Iterator[list[tuple]]:
    """A table's rows (the values of `cols`) in the order of `key`, `batch` rows at a time. Text keys are ordered by
    their bytes on both backends (SQLite's BINARY collation, PostgreSQL's "C"), so both sides list rows alike."""
    kinds = {c.name: c.kind for c in cols}
    if store.backend == "sqlite":
        order = ", ".join(_name(k) for k in key)
    else:
        order = ", ".join(f'{_name(k)} COLLATE "C"' if kinds.get(k) == "text" else _name(k) for k in key)
    sql = f"SELECT {', '.join(_name(c.name) for c in cols)} FROM {_name(table)}" + (f" ORDER BY {order}" if key else "")
    if store.backend == "sqlite":
        cursor = store.db.conn.execute(sql)
        while True:
            rows = cursor.fetchmany(batch)
            if not rows:
                return
            yield rows
    else:
        yield from store.db.conn.stream(sql, size=batch)


# --- writing (PostgreSQL) ------------------------------------------------------------------------------------------
def _postgres_only(store) -> None:
    if store.backend != "postgresql":
        raise ValueError("a store is copied into PostgreSQL only")


def write_rows(store, table: str, cols: list[Column], rows: list[tuple]) -> int:
    """Append rows to a table in bulk (COPY), inside the caller's transaction."""
    _postgres_only(store)
    return store.db.conn.copy_rows(_name(table), [_name(c.name) for c in cols], rows)


def clear(store, table: str) -> None:
    store.db.execute(f"DELETE FROM {_name(table)}")


@contextmanager
def triggers_off(store, names: list[str]) -> Iterator[str]:
    """Inside a transaction: the target's triggers do not fire while rows are copied, so the tables they keep
    (dashboard counts, the processing queue, relevance gaps, placement token) are copied as the source has them
    rather than counted twice or refilled. As a superuser, `session_replication_role = replica` for this transaction
    only (foreign keys are not re-checked either: rows are copied as they are, references included); otherwise each
    table's own triggers are disabled and enabled again before the transaction ends (foreign keys still checked, so
    the tables go in dependency order). Yields how ("replica" or "disabled")."""
    _postgres_only(store)
    superuser = store.db.execute("SELECT current_setting('is_superuser')").fetchone()[0] == "on"
    if superuser:
        store.db.execute("SET LOCAL session_replication_role = replica")
        yield "replica"
        store.db.execute("SET LOCAL session_replication_role = origin")
        return
    for table in names:
        store.db.execute(f"ALTER TABLE {_name(table)} DISABLE TRIGGER USER")
    yield "disabled"
    for table in names:
        store.db.execute(f"ALTER TABLE {_name(table)} ENABLE TRIGGER USER")


def reset_identities(store) -> dict[str, int]:
    """Move every identity counter past the largest copied id, so the next row stored gets a fresh one; returns
    table → the next id."""
    _postgres_only(store)
    found = store.db.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND is_identity = 'YES' ORDER BY table_name").fetchall()
    following = {}
    for table, column in found:
        following[table] = store.db.execute(
            f"SELECT setval(pg_get_serial_sequence(?, ?), COALESCE(MAX({_name(column)}), 0) + 1, false)"
            f" FROM {_name(table)}", [table, column]).fetchone()[0]
    return following
