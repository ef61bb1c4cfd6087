"""PostgreSQL as the second backend of the store: a connection that speaks the repositories' SQL.

The repositories write one dialect — SQLite's, kept to what both engines share where it can be — and this module turns
the few differences into PostgreSQL's when a statement is first seen (placeholders, `INSERT OR IGNORE/REPLACE`,
`date(t, modifier)`, `json_extract`, `lastrowid`), so every statement still lives in the store package. What cannot be
translated has its own branch in the repository (full-text search, triggers in the migrations).

A store is PostgreSQL when its location is a URL (`postgresql://user@host/db`); `PULSE_DB_SERVER=postgresql://…` puts
a store named by a file path on that server instead, one schema per path (how `make test-postgres` runs the whole
suite against PostgreSQL with the tests unchanged).

Errors keep the DB-API classes of the SQLite backend (an integrity violation is a `sqlite3.IntegrityError` whichever
engine refused it), so callers catch one kind of error.
"""
from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

SERVER_ENV = "PULSE_DB_SERVER"


def is_url(location: str | Path) -> bool:
    return str(location).startswith(("postgresql://", "postgres://"))


def postgres_location(location: str | Path) -> str | None:
    """The PostgreSQL URL a store location stands for, or None for an SQLite file."""
    if is_url(location):
        return str(location)
    server = os.environ.get(SERVER_ENV, "")
    if server and str(location) != ":memory:":
        schema = schema_for_path(location)
        _PATH_OF[schema] = str(Path(location).resolve())
        return with_schema(server, schema)
    return None


_PATH_OF: dict[str, str] = {}   # schema → the path it stands for (written on the schema as its comment)


def write_lock_key(database: str, schema: str) -> int:
    """The advisory lock a store's units of work hold (service/store/base.py): one per store (database and schema),
    so stores sharing a server never wait for each other's writes."""
    return int(hashlib.sha1(f"pulse write {database}.{schema}".encode()).hexdigest()[:15], 16)


def schema_for_path(path: str | Path) -> str:
    return "p_" + hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:20]


def with_schema(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


def schema_of(url: str) -> str | None:
    found = re.search(r"search_path%3D(\w+)", url)
    return found.group(1) if found else None


# --- errors: the SQLite backend's classes, so callers and tests catch one kind --------------------------------------
class PgIntegrityError(sqlite3.IntegrityError):
    pass


class PgOperationalError(sqlite3.OperationalError):
    pass


class PgDatabaseError(sqlite3.DatabaseError):
    pass


def _reraise(exc: Exception):
    import psycopg

    if isinstance(exc, psycopg.errors.IntegrityError):
        return PgIntegrityError(str(exc))
    if isinstance(exc, psycopg.errors.RaiseException):    # a trigger's refusal (RAISE in SQLite: IntegrityError)
        return PgIntegrityError(str(exc))
    if isinstance(exc, (psycopg.OperationalError, psycopg.ProgrammingError)):
        # SQLite says OperationalError for a syntax error, a missing table or column too
        return PgOperationalError(str(exc))
    if isinstance(exc, psycopg.Error):
        return PgDatabaseError(str(exc))
    return exc


# --- translation of the repositories' SQL ---------------------------------------------------------------------------
# tables whose rows have an `id` the database gives (lastrowid comes from RETURNING id)
ID_TABLES = {
    "org_units", "users", "api_tokens", "sources", "runs", "items", "annotations", "streams", "flags", "flag_events",
    "labels", "watch_terms", "submissions", "briefings", "events", "jobs", "saved_searches", "unit_reports",
    "dialogues", "dialogue_points", "pending_imports", "orientations", "notifications", "email_outbox",
}
# the key an `INSERT OR REPLACE` replaces on
REPLACE_KEYS = {
    "item_relevance": ("item_id",),
    "term_days": ("day",),
    "annotations": ("item_id", "model_version"),
    "term_df": ("term",),
    "term_day_df": ("term", "day"),
    "alert_prefs": ("user_id",),
    "source_segments": ("source", "place", "segment"),
    "source_segment_totals": ("source",),
    "model_versions": ("task", "version"),
}

_INSERT = re.compile(r"^\s*INSERT\s+(OR\s+(IGNORE|REPLACE)\s+)?INTO\s+(\w+)\s*(\(([^)]*)\))?", re.I | re.S)
_DATE_MOD = re.compile(r"\bdate\(([\w.]+),\s*\?\)", re.I)
_JSON_EXTRACT = re.compile(r"\bjson_extract\(([\w.]+),\s*'\$\.(\w+)'\)", re.I)


def _placeholders(sql: str) -> tuple[str, tuple[int, ...] | None]:
    """`?` → `%s` and `%` → `%%` outside string literals; `?N` placeholders also give the order of the values."""
    out, order, i, quote = [], [], 0, None
    numbered = False
    while i < len(sql):
        ch = sql[i]
        if quote:
            out.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "%":
            out.append("%%")
        elif ch == "?":
            j = i + 1
            while j < len(sql) and sql[j].isdigit():
                j += 1
            if j > i + 1:
                numbered = True
                order.append(int(sql[i + 1:j]) - 1)
                i = j
                out.append("%s")
                continue
            order.append(len(order))
            out.append("%s")
        else:
            out.append(ch)
        i += 1
    return "".join(out), (tuple(order) if numbered else None)


@lru_cache(maxsize=4096)
def translate(sql: str) -> tuple[str, tuple[int, ...] | None, bool]:
    """(PostgreSQL statement, order of the values or None, whether it returns the new row's id)."""
    returning_id = False
    found = _INSERT.match(sql)
    if found:
        verb, table, columns = (found.group(2) or "").upper(), found.group(3), found.group(5)
        sql = sql[:found.start()] + f"INSERT INTO {table}" + (f" ({columns})" if columns is not None else "") \
            + sql[found.end():]
        tail = ""
        if verb == "IGNORE":
            tail = " ON CONFLICT DO NOTHING"
        elif verb == "REPLACE":
            keys = REPLACE_KEYS[table]
            cols = [c.strip() for c in (columns or "").split(",") if c.strip()]
            sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c not in keys)
            tail = f" ON CONFLICT ({', '.join(keys)}) DO " + (f"UPDATE SET {sets}" if sets else "NOTHING")
        body = sql.rstrip().rstrip(";")
        if tail:
            upper = body.upper()
            at = upper.rfind(" RETURNING ")
            body = body[:at] + tail + body[at:] if at >= 0 else body + tail
        if table in ID_TABLES and " RETURNING " not in body.upper():
            body += " RETURNING id"
            returning_id = True
        sql = body
    if " DO UPDATE SET " in sql.upper() and found:
        # SQLite reads a bare column in DO UPDATE as the stored row's; PostgreSQL wants it qualified
        table = found.group(3)
        sql = re.sub(r"\b(\w+) = \1 ([-+])", rf"\1 = {table}.\1 \2", sql)
    sql = re.sub(r"\bNOT IN \(\s*\)", "<> ALL('{}')", sql, flags=re.I)
    sql = re.sub(r"\bIN \(\s*\)", "= ANY('{}')", sql, flags=re.I)
    sql = _DATE_MOD.sub(r"to_char(CAST(\1 AS timestamptz) + CAST(? AS interval), 'YYYY-MM-DD')", sql)
    sql = _JSON_EXTRACT.sub(r"(CAST(\1 AS jsonb) ->> '\2')", sql)
    sql = re.sub(r"\bAS REAL\b", "AS DOUBLE PRECISION", sql)
    text, order = _placeholders(sql)
    return text, order, returning_id


_INT64 = (-(2 ** 63), 2 ** 63 - 1)


def _in_range(value: Any) -> Any:
    """An integer beyond 64 bits is refused as SQLite refuses it (OverflowError, a 400 for the web), instead of being
    sent as a numeric that silently matches nothing."""
    if type(value) is int and not _INT64[0] <= value <= _INT64[1]:
        raise OverflowError("Python int too large to convert to a 64-bit INTEGER")
    return value


def _values(params: Any, order: tuple[int, ...] | None) -> Any:
    if params is None:
        return ()
    if isinstance(params, dict):
        return {k: _in_range(v) for k, v in params.items()}
    params = [_in_range(v) for v in params]
    if order is not None:
        return [params[i] for i in order]
    return params


# --- the connection -----------------------------------------------------------------------------------------------
class Cursor:
    """What the repositories read from a statement: fetchone/fetchall/iteration, rowcount, lastrowid, description."""

    def __init__(self, cur, returning_id: bool):
        self._cur = cur
        self.rowcount = cur.rowcount
        self.lastrowid = None
        self._rows: list | None = None
        if returning_id:
            self._rows = cur.fetchall()
            self.lastrowid = self._rows[0][0] if self._rows else None
            self._rows = []

    @property
    def description(self):
        return self._cur.description

    def fetchone(self):
        if self._rows is not None:
            return self._rows.pop(0) if self._rows else None
        return self._cur.fetchone() if self._cur.description else None

    def fetchall(self):
        if self._rows is not None:
            rows, self._rows = self._rows, []
            return rows
        return self._cur.fetchall() if self._cur.description else []

    def __iter__(self):
        return iter(self.fetchall())


class Connection:
    """A DB-API-like connection over psycopg in autocommit mode; transactions are explicit BEGIN … COMMIT."""

    def __init__(self, url: str):
        import psycopg

        self.url = url
        schema = schema_of(url)
        if schema:
            ensure_schema(url, schema)
        self._pg = psycopg.connect(url, autocommit=True)
        _adapt(self._pg)
        self._pg.execute("SET TIME ZONE 'UTC'")
        database, schema = self._pg.execute("SELECT current_database(), current_schema()").fetchone()
        self.write_lock = write_lock_key(database, schema or "public")

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self._pg.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, params: Any = None) -> Cursor:
        text, order, returning_id = translate(sql)
        try:
            cur = self._pg.execute(text, _values(params, order))
            return Cursor(cur, returning_id)
        except Exception as exc:
            raise _reraise(exc) from exc

    def executemany(self, sql: str, rows) -> Cursor:
        text, order, returning_id = translate(sql)
        rows = [_values(r, order) for r in rows]
        if returning_id:
            text = text[: text.rfind(" RETURNING id")]
        try:
            with self._pg.cursor() as cur:
                if rows:
                    cur.executemany(text, rows)
                return Cursor(cur, False)
        except Exception as exc:
            raise _reraise(exc) from exc

    def execute_script(self, statements: list[str]) -> None:
        """Run statements written for PostgreSQL already (a migration's DDL), untranslated and without parameters,
        in one round trip: a new store's ~260 statements cost one message each otherwise."""
        if not statements:
            return
        try:
            self._pg.execute(";\n".join(statements))
        except Exception as exc:
            raise _reraise(exc) from exc

    def copy_rows(self, table: str, columns: list[str], rows) -> int:
        """Append rows to `table` with COPY … FROM STDIN, the bulk path of a whole-store copy (service/store/copy.py);
        returns how many were written."""
        written = 0
        try:
            with self._pg.cursor() as cur:
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                        written += 1
        except Exception as exc:
            raise _reraise(exc) from exc
        return written

    def stream(self, sql: str, params: Any = None, size: int = 2000) -> Iterator[list]:
        """The rows of a query, `size` at a time, through a server-side cursor (inside a transaction), so a large
        table is read without holding it all in memory."""
        text, order, _ = translate(sql)
        self._cursors = getattr(self, "_cursors", 0) + 1
        try:
            with self._pg.cursor(name=f"pulse_stream_{self._cursors}") as cur:
                cur.execute(text, _values(params, order))
                while rows := cur.fetchmany(size):
                    yield rows
        except Exception as exc:
            raise _reraise(exc) from exc

    def close(self) -> None:
        self._pg.close()


class _Table:
    def __init__(self, db: "Database", name: str):
        self.db, self.name = db, name

    def exists(self) -> bool:
        return self.db.execute("SELECT to_regclass(?) IS NOT NULL", [self.name]).fetchone()[0]


class Database:
    """The part of sqlite_utils.Database the repositories use, over PostgreSQL."""

    def __init__(self, url: str):
        self.conn = Connection(url)

    def execute(self, sql: str, params: Any = None) -> Cursor:
        return self.conn.execute(sql, params)

    def query(self, sql: str, params: Any = None) -> Iterator[dict]:
        cur = self.conn.execute(sql, params)
        names = [d.name for d in cur.description or []]
        for row in cur.fetchall():
            yield dict(zip(names, row))

    def table_names(self) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()").fetchall()]

    def __getitem__(self, name: str) -> _Table:
        return _Table(self, name)


_SCHEMAS_MADE: set[tuple[str, str]] = set()


def ensure_schema(url: str, schema: str) -> None:
    """Create a path's schema once (per process; two processes racing both succeed)."""
    import psycopg
    import psycopg.sql

    if (url, schema) in _SCHEMAS_MADE:
        return
    base = url.split("options=")[0].rstrip("?&")
    with psycopg.connect(base, autocommit=True) as conn:
        try:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            if schema in _PATH_OF:   # so a test session drops the schemas of its own paths only
                conn.execute(psycopg.sql.SQL("COMMENT ON SCHEMA {} IS {}").format(
                    psycopg.sql.Identifier(schema), psycopg.sql.Literal(f"pulse store at {_PATH_OF[schema]}")))
        except psycopg.errors.UniqueViolation:   # created by another process at the same moment
            pass
    _SCHEMAS_MADE.add((url, schema))


def _adapt(conn) -> None:
    """Values read back as the SQLite backend gives them: numbers as int or float (never Decimal), times as the same
    UTC ISO 8601 strings that were written; booleans written as 0/1."""
    from psycopg.adapt import Dumper, Loader
    from psycopg.types.datetime import TimestamptzLoader

    class NumericLoader(Loader):
        def load(self, data):
            text = bytes(data).decode()
            if "." in text or "e" in text.lower() or "n" in text.lower():
                return float(text)
            return int(text)

    class IsoTimestamptzLoader(TimestamptzLoader):
        def load(self, data):
            value = super().load(data)
            return value.isoformat()

    class BoolAsIntDumper(Dumper):
        oid = conn.adapters.types["int8"].oid

        def dump(self, obj):
            return b"1" if obj else b"0"

    conn.adapters.register_loader("numeric", NumericLoader)
    conn.adapters.register_loader("timestamptz", IsoTimestamptzLoader)
    conn.adapters.register_dumper(bool, BoolAsIntDumper)
