"""Whole-store copies of a PostgreSQL store: backup with pg_dump, inspection and restore with pg_restore (used by
service/backup.py, as service/store/files.py is for an SQLite store).

A PostgreSQL store is one schema (a URL's search_path, or `public`). Its backup is `pg_dump --format=custom` of that
schema: one consistent snapshot taken while others read and write. A backup is inspected by decoding all of it with
`pg_restore` (a damaged archive fails to decode), counting the rows of every table on the way. A restore replays the
archive into the target's schema — whatever schema the backup was taken from — in one transaction under the store's
write lock, so a failed restore changes nothing and an open connection sees the restored data on its next statement.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

from service.store import postgres

MAGIC = b"PGDMP"          # the first bytes of a pg_dump custom-format archive
TIMEOUT = 3600


class DumpError(RuntimeError):
    """pg_dump, pg_restore or psql failed; the message is their own first lines."""


def is_dump(path: str | Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def _server_and_schema(url: str) -> tuple[str, str]:
    """(the server URL without our search_path option, the store's schema)."""
    base = re.sub(r"[?&]options=-csearch_path%3D\w+", "", url)
    return base, postgres.schema_of(url) or "public"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise DumpError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return found


def _failed(tool: str, stderr: str) -> DumpError:
    lines = [line.removeprefix(f"{tool}: ").strip() for line in stderr.splitlines() if line.strip()]
    return DumpError("; ".join(lines[:3]) or f"{tool} failed")


def dump_store(url: str, target: str | Path) -> None:
    """pg_dump the store at `url` (its schema only, no owners or grants) into the new file `target`."""
    base, schema = _server_and_schema(url)
    done = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                           f"--schema={schema}", f"--file={target}", f"--dbname={base}"],
                          capture_output=True, text=True, timeout=TIMEOUT)
    if done.returncode != 0:
        raise _failed("pg_dump", done.stderr)


def _script(path: str | Path) -> Iterator[str]:
    """The archive as the SQL script pg_restore writes, line by line; DumpError when it cannot be decoded whole."""
    proc = subprocess.Popen([_tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                            errors="replace")
    try:
        assert proc.stdout is not None
        yield from proc.stdout
    finally:
        proc.stdout.close()
        stderr = proc.stderr.read() if proc.stderr else ""
        proc.wait(TIMEOUT)
    if proc.returncode != 0 or stderr.strip():
        raise _failed("pg_restore", stderr)


_COPY = re.compile(r"^COPY (\w+)\.(\w+) \(([^)]*)\) FROM stdin;$")
_TABLE = re.compile(r"^CREATE TABLE (\w+)\.(\w+) \($")


def inspect_dump(path: str | Path) -> dict[str, Any]:
    """What a pg_dump archive holds, read by decoding all of it: {"sqlite": False, "pg_dump": True, "integrity":
    ["ok"] or the problems, "schema": the schema it was taken from, "schema_version", "tables", "counts": rows of
    every table}."""
    out: dict[str, Any] = {"sqlite": False, "pg_dump": True, "integrity": [], "schema": None,
                           "schema_version": None, "tables": [], "counts": {}}
    tables: set[str] = set()
    table, version_col, versions = None, None, []
    try:
        for line in _script(path):
            line = line.rstrip("\n")
            if table is not None:
                if line == "\\.":
                    table = None
                    continue
                out["counts"][table] += 1
                if version_col is not None:
                    versions.append(int(line.split("\t")[version_col]))
                continue
            found = _TABLE.match(line)
            if found:
                out["schema"] = out["schema"] or found.group(1)
                tables.add(found.group(2))
                continue
            found = _COPY.match(line)
            if found:
                table = found.group(2)
                out["counts"][table] = 0
                columns = [c.strip().strip('"') for c in found.group(3).split(",")]
                version_col = columns.index("version") if table == "schema_version" else None
    except (DumpError, ValueError, IndexError) as exc:
        out["integrity"] = [str(exc) or "the archive could not be decoded"]
        return out
    out["integrity"] = ["ok"]
    out["tables"] = sorted(tables)
    out["schema_version"] = max(versions) if versions else None
    return out


def restore_dump(source: str | Path, url: str, source_schema: str) -> None:
    """Replace the store at `url` (existing or not) by the archive `source`, taken from `source_schema`: one
    transaction holding the store's write lock (service/store/base.py), the target's schema dropped and made again
    from the archive; on any error nothing changes."""
    from psycopg.conninfo import conninfo_to_dict

    base, schema = _server_and_schema(url)
    lock = postgres.write_lock_key(conninfo_to_dict(base).get("dbname") or "postgres", schema)
    postgres.ensure_schema(url, schema)
    comment = _schema_comment(base, schema)
    proc = subprocess.Popen([_tool("psql"), "--no-psqlrc", "--quiet", "--single-transaction", "-v", "ON_ERROR_STOP=1",
                             f"--dbname={base}"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8")
    assert proc.stdin is not None
    try:
        proc.stdin.write(f"SELECT pg_advisory_xact_lock({lock});\n"
                         f"DROP SCHEMA IF EXISTS {schema} CASCADE;\nCREATE SCHEMA {schema};\n")
        if comment is not None:
            proc.stdin.write(f"COMMENT ON SCHEMA {schema} IS {_literal(comment)};\n")
        name = re.compile(rf"\b{re.escape(source_schema)}\b")
        in_copy = False
        for line in _script(source):
            if in_copy:          # rows are data: never rewritten
                in_copy = line.rstrip("\n") != "\\."
            elif line.startswith((f"CREATE SCHEMA {source_schema};", f"COMMENT ON SCHEMA {source_schema} ")):
                continue         # the target's schema was made above and keeps its own comment
            else:
                in_copy = line.startswith("COPY ")
                line = name.sub(schema, line)
            proc.stdin.write(line)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    except BaseException:
        proc.kill()
        proc.wait(60)
        raise
    stderr = proc.stderr.read() if proc.stderr else ""
    proc.wait(TIMEOUT)
    if proc.returncode != 0:
        raise _failed("psql", stderr)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _schema_comment(base: str, schema: str) -> str | None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        row = conn.execute("SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s",
                           [schema]).fetchone()
    return row[0] if row else None


def inspect_store(url: str) -> dict[str, Any]:
    """What the live PostgreSQL store at `url` holds, in inspect_dump's terms, plus its size in bytes."""
    import psycopg

    _, schema = _server_and_schema(url)
    out: dict[str, Any] = {"sqlite": False, "pg_dump": False, "integrity": ["ok"], "schema": schema,
                           "schema_version": None, "tables": [], "counts": {}, "bytes": 0}
    with psycopg.connect(url, autocommit=True) as conn:
        out["tables"] = sorted(r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_type = 'BASE TABLE'",
            [schema]))
        if "schema_version" in out["tables"]:
            out["schema_version"] = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        for table in ("items", "items_search", "annotations", "stream_items", "flags", "users", "submissions",
                      "labels"):
            if table in out["tables"]:
                out["counts"][table] = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        out["bytes"] = int(conn.execute(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
            [schema]).fetchone()[0])
        bad = [f"invalid index {r[0]}" for r in conn.execute(
            "SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND NOT x.indisvalid", [schema])]
        out["integrity"] = bad or ["ok"]
    return out
