"""`pulse migrate-store --to postgresql://…`: copy an SQLite store into PostgreSQL, then prove the copy.

The target is migrated to the current schema first, then every table is copied in dependency order, a batch of rows
at a time, inside ONE transaction on the target: a copy that is killed or fails leaves the target as empty as it was
(its schema only), never half-filled and looking complete. The tables the triggers keep (dashboard counts, the
processing queue, relevance gaps, the placement token) are copied as the source has them, with the target's triggers
held off for the copy (service/store/copy.py `triggers_off`): letting them fire on the copied items and placements
would count every dashboard row twice and put every processed item back in the queue, and rebuilding them afterwards
would make the copy differ from its source wherever the source's counts are what its users have been reading.

Before the transaction commits, every table is verified: its row count and a SHA-256 over its rows in key order, values
normalised so SQLite's text times and PostgreSQL's timestamptz (read back as ISO strings) compare as the same instant,
numbers compare by value (floats rounded to 9 decimals) and blobs by their bytes. Any difference rolls the copy back.
`verify` runs the same comparison alone on a copy made earlier (e.g. after both stores have been left untouched).
"""
from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from service.store import MIGRATIONS, Store, is_postgres, postgres
from service.store import copy as store_copy

Progress = Callable[[str, int, int], None]   # (table, rows done, rows in the table)


class MigrationError(ValueError):
    """A migration that cannot start or did not complete; the message is for the command line."""


@dataclass
class TableCheck:
    table: str
    source_rows: int
    target_rows: int
    source_sum: str
    target_sum: str

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.source_sum == self.target_sum


@dataclass
class Report:
    checks: list[TableCheck] = field(default_factory=list)
    copied_rows: int = 0
    copy_seconds: float = 0.0
    verify_seconds: float = 0.0
    triggers: str = ""            # how the target's triggers were held off ("replica" or "disabled")
    committed: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def mismatches(self) -> list[TableCheck]:
        return [c for c in self.checks if not c.ok]

    def lines(self) -> list[str]:
        """The summary table: one line per table, then the outcome."""
        width = max([len("table")] + [len(c.table) for c in self.checks])
        out = [f"{'table':<{width}}  {'source rows':>11}  {'target rows':>11}  {'checksum':<16}  result"]
        for c in self.checks:
            result = "ok" if c.ok else ("COUNT DIFFERS" if c.source_rows != c.target_rows else "CHECKSUM DIFFERS")
            out.append(f"{c.table:<{width}}  {c.source_rows:>11,}  {c.target_rows:>11,}  {c.target_sum[:16]:<16}  "
                       f"{result}")
        total = sum(c.source_rows for c in self.checks)
        if self.ok:
            out.append(f"All {len(self.checks)} tables match ({total:,} rows) by count and checksum.")
        else:
            out.append(f"{len(self.mismatches)} of {len(self.checks)} tables differ: "
                       f"{', '.join(c.table for c in self.mismatches)}.")
        return out


def redacted(url: str) -> str:
    """A URL fit to print: its password hidden."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


# --- the two stores ------------------------------------------------------------------------------------------------
def _open_source(source: str | Path) -> Store:
    if is_postgres(source):
        raise MigrationError(f"the source {redacted(str(source))} is not an SQLite file; migrate-store copies an "
                             "SQLite store into PostgreSQL.")
    if not Path(source).is_file():
        raise MigrationError(f"no database at {source}.")
    store = Store(source)
    version = store.schema_version()
    if version != len(MIGRATIONS):
        store.close()
        if version > len(MIGRATIONS):
            raise MigrationError(f"the database at {source} is at schema version {version}, newer than this Pulse "
                                 f"({len(MIGRATIONS)}); use the Pulse that wrote it.")
        raise MigrationError(f"the database at {source} is at schema version {version}, not the current "
                             f"{len(MIGRATIONS)}; run `pulse --db {source} init` to upgrade it first.")
    return store


def _open_target(target: str) -> Store:
    if not postgres.is_url(target):
        raise MigrationError(f"--to must be a PostgreSQL URL (postgresql://user@host/db), not {target!r}.")
    try:
        return Store(target)
    except Exception as exc:   # psycopg's own connection errors come from the driver, before the store wraps them
        raise MigrationError(f"cannot connect to {redacted(target)}: {str(exc).strip()}") from None


def _plan(source: Store, target: Store) -> list[tuple[str, list[store_copy.Column], list[str]]]:
    """(table, the columns copied, the key that orders its rows) for every source table, in dependency order;
    refuses when the two schemas do not hold the same tables and columns."""
    target_tables = set(store_copy.tables(target))
    missing = [t for t in store_copy.tables(source) if t not in target_tables]
    if missing:
        raise MigrationError(f"the target has no table {', '.join(missing)}; it is not Pulse's current schema.")
    plan = []
    for table in store_copy.tables(source):
        cols = store_copy.columns(target, table)
        source_names = {c.name for c in store_copy.columns(source, table)}
        target_names = {c.name for c in cols}
        if source_names != target_names:
            raise MigrationError(f"table {table} has columns {sorted(source_names)} in the source and "
                                 f"{sorted(target_names)} in the target.")
        plan.append((table, cols, store_copy.primary_key(source, table) or [c.name for c in cols]))
    return plan


# --- checksums -----------------------------------------------------------------------------------------------------
def _normal(value, kind: str) -> str:
    """One value as both backends' stores read it back: times as the UTC instant, numbers by value."""
    if value is None:
        return "\x00"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "b:" + bytes(value).hex()
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return "n:" + (repr(round(value, 9)) if isinstance(value, float) else str(value))
    text = str(value)
    if kind == "time":
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return "s:" + text
        if moment.tzinfo is None:   # PostgreSQL reads a zone-less time in the session's zone, UTC
            moment = moment.replace(tzinfo=timezone.utc)
        return "t:" + moment.astimezone(timezone.utc).isoformat()
    return "s:" + text


def checksum(batches: Iterable[list[tuple]], kinds: list[str]) -> tuple[int, str]:
    """(rows, SHA-256 hex) of rows given in batches, each row's values normalised by its column's kind."""
    digest, rows = hashlib.sha256(), 0
    for batch in batches:
        for row in batch:
            digest.update("\x1f".join(_normal(v, k) for v, k in zip(row, kinds)).encode("utf-8", "surrogatepass"))
            digest.update(b"\x1e")
            rows += 1
    return rows, digest.hexdigest()


def _compare(source: Store, target: Store, plan, batch: int, progress: Progress | None) -> list[TableCheck]:
    checks = []
    for table, cols, key in plan:
        kinds = [c.kind for c in cols]
        expected = store_copy.count(source, table)
        if progress and expected:
            progress(f"verified {table}", 0, expected)
        source_rows, source_sum = checksum(store_copy.read_rows(source, table, cols, key, batch), kinds)
        target_rows, target_sum = checksum(store_copy.read_rows(target, table, cols, key, batch), kinds)
        checks.append(TableCheck(table, source_rows, target_rows, source_sum, target_sum))
        if progress:
            progress(f"verified {table}", max(target_rows, source_rows), expected)
    return checks


# --- the two commands ----------------------------------------------------------------------------------------------
def migrate_store(source: str | Path, target: str, batch: int = 5000, progress: Progress | None = None) -> Report:
    """Copy the SQLite store at `source` into the empty PostgreSQL store at `target` (migrated first) and verify it;
    the copy is committed only when every table matches. Raises MigrationError when it cannot start or fails."""
    if batch < 1:
        raise MigrationError("--batch must be at least 1.")
    src = _open_source(source)
    try:
        dst = _open_target(target)
    except MigrationError:
        src.close()
        raise
    report = Report()
    try:
        if dst.schema_version() > len(MIGRATIONS):
            raise MigrationError(f"{redacted(target)} holds a newer Pulse schema (version {dst.schema_version()}).")
        if dst.schema_version() > 0:   # refused before its schema is touched, checked again inside the copy
            pulse_tables = set(store_copy.tables(src))   # another application's tables beside them are not Pulse data
            _refuse_if_holding(dst, [t for t in store_copy.tables(dst) if t in pulse_tables], target)
        try:
            dst.migrate()
        except sqlite3.Error as exc:
            raise MigrationError(f"the target's schema could not be created: {exc}") from None
        plan = _plan(src, dst)
        started = time.monotonic()
        with store_copy.snapshot(src):
            try:
                with dst.transaction():
                    _refuse_if_holding(dst, [t for t, _, _ in plan], target)
                    with store_copy.triggers_off(dst, [t for t, _, _ in plan]) as how:
                        report.triggers = how
                        for table, cols, key in plan:
                            report.copied_rows += _copy_table(src, dst, table, cols, key, batch, progress)
                    store_copy.reset_identities(dst)
                    report.copy_seconds = time.monotonic() - started
                    started = time.monotonic()
                    report.checks = _compare(src, dst, plan, batch, progress)
                    report.verify_seconds = time.monotonic() - started
                    if not report.ok:
                        raise _Mismatch()
            except _Mismatch:
                return report   # rolled back: nothing of the copy is kept
            except sqlite3.Error as exc:
                raise MigrationError(f"the copy failed and was rolled back, the target holds no data: {exc}") from None
        report.committed = True
        return report
    finally:
        src.close()
        dst.close()


def _refuse_if_holding(dst: Store, names: list[str], target: str) -> None:
    already = store_copy.holding(dst, names)
    if already:
        first = sorted(already, key=lambda t: t not in ("items", "users", "flags"))[:6]   # the telling ones first
        listed = ", ".join(f"{t} ({already[t]:,} rows)" for t in first)
        raise MigrationError(f"{redacted(target)} already holds Pulse data: {listed}{' …' if len(already) > 6 else ''}."
                             " migrate-store copies into an empty store only; give it a new database (or schema), "
                             "or empty this one first.")


def _copy_table(src: Store, dst: Store, table: str, cols, key, batch: int, progress: Progress | None) -> int:
    total = store_copy.count(src, table)
    if table in store_copy.SEEDED:
        store_copy.clear(dst, table)
    done = 0
    if progress:
        progress(table, 0, total)
    for rows in store_copy.read_rows(src, table, cols, key, batch):
        try:
            done += store_copy.write_rows(dst, table, cols, rows)
        except sqlite3.Error as exc:
            raise sqlite3.DatabaseError(f"table {table}, rows {done + 1:,}–{done + len(rows):,}: "
                                        f"{str(exc).strip()}") from exc
        if progress:
            progress(table, done, total)
    return done


class _Mismatch(Exception):
    """Raised inside the copy's transaction to roll it back when verification finds a difference."""


def verify(source: str | Path, target: str, batch: int = 5000, progress: Progress | None = None) -> Report:
    """Compare the SQLite store at `source` with the PostgreSQL store at `target`, table by table (counts and
    checksums), each as of one moment; changes nothing."""
    src = _open_source(source)
    try:
        dst = _open_target(target)
    except MigrationError:
        src.close()
        raise
    try:
        if dst.schema_version() != len(MIGRATIONS):
            raise MigrationError(f"{redacted(target)} is at schema version {dst.schema_version()}, not "
                                 f"{len(MIGRATIONS)}; it is not a copy made by this Pulse.")
        plan = _plan(src, dst)
        started = time.monotonic()
        with store_copy.snapshot(src), store_copy.snapshot(dst):
            report = Report(checks=_compare(src, dst, plan, batch, progress), committed=True)
        report.verify_seconds = time.monotonic() - started
        return report
    finally:
        src.close()
        dst.close()
