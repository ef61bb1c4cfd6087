"""The connection, transactions and migrations every repository stands on."""
from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlite_utils

from service.store.common import utcnow
from service.store import postgres
from service.store.migrations import MIGRATIONS, postgres_statements, sql_statements



class StoreBase:
    """All reads and writes of Pulse's data."""

    def __init__(self, path: str | Path):
        """`path`: an SQLite file (or ":memory:"), or a PostgreSQL URL (`postgresql://user@host/db`); see
        service/store/postgres.py for `PULSE_DB_SERVER`, which puts a store named by a path on a PostgreSQL server."""
        self.location = str(path)
        self._savepoints = 0
        url = postgres.postgres_location(path)
        if url is not None:
            self.backend = "postgresql"
            self.path = path if postgres.is_url(path) else Path(path)
            self.db = postgres.Database(url)
            return
        self.backend = "sqlite"
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # autocommit mode: the driver opens no hidden transaction; a unit of work is `with store.transaction():`
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30, isolation_level=None)
        self.db = sqlite_utils.Database(conn)
        self._use_wal(conn)
        self.db.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a power cut may lose the last commit only
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA busy_timeout=30000")

    @staticmethod
    def _use_wal(conn: sqlite3.Connection, patience: float = 30.0) -> None:
        """Switch a database to write-ahead logging, waiting for other openers.

        The switch needs the database to itself and SQLite answers «database is locked» at once rather than waiting
        on the busy timeout, so two processes opening a new database together (`pulse serve` and a `pulse process`
        from cron) would make one of them fail. Once a database is in WAL mode the switch is a no-op that locks
        nothing.
        """
        deadline = time.monotonic() + patience
        pause = 0.005
        while True:
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                    return
                conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.2)

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> "StoreBase":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- schema ----------------------------------------------------------------------------------
    def schema_version(self) -> int:
        if not self.db["schema_version"].exists():
            return 0
        row = self.db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return row[0] or 0

    def migrate(self, migrations: list[str] | None = None) -> int:
        """Apply every migration not yet applied; returns the schema version reached.

        The pending migrations run statement by statement inside one transaction with their version rows
        (`executescript` would commit on its own), so a migration that fails leaves the schema and the version as they
        were. A store already at the last version is only read (no write lock): opening a store is cheap.
        """
        migrations = MIGRATIONS if migrations is None else migrations
        if self.schema_version() >= len(migrations):
            return self.schema_version()
        with self.transaction():
            self.db.conn.execute("CREATE TABLE IF NOT EXISTS schema_version"
                                 " (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            applied = self.schema_version()   # read inside the write lock: two processes never both apply one
            for number, script in enumerate(migrations, start=1):
                if number <= applied:
                    continue
                if self.backend == "postgresql":   # the migration's DDL in one round trip
                    self.db.conn.execute_script(postgres_statements(number, script))
                else:
                    for statement in sql_statements(script):
                        self.db.conn.execute(statement)
                self.db.conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                                     [number, utcnow()])
        # items stored before items_search existed are indexed by the `search_backfill` job (service/job_kinds.py),
        # which `pulse init` and a restore run after migrating: a large store is not indexed inside a migration
        return self.schema_version()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One unit of work: everything written inside commits together or not at all.

        `BEGIN IMMEDIATE` (PostgreSQL: a transaction-level advisory lock) takes the write lock at once (other processes wait up to the busy timeout, never fail
        half-way); a transaction opened inside another one is a savepoint, so an inner failure that is caught undoes
        only the inner part. Compute before entering: the lock is held until the block ends.
        """
        conn = self.db.conn
        if conn.in_transaction:
            self._savepoints += 1
            name = f"pulse_sp{self._savepoints}"
            conn.execute(f"SAVEPOINT {name}")
            try:
                yield
            except BaseException:
                if conn.in_transaction:
                    conn.execute(f"ROLLBACK TO {name}")
                    conn.execute(f"RELEASE {name}")
                raise
            else:
                conn.execute(f"RELEASE {name}")
            finally:
                self._savepoints -= 1
            return
        if self.backend == "postgresql":
            # one writer at a time, as SQLite's BEGIN IMMEDIATE: a check and the write it decides stay together
            # (e.g. «queue a job only when none is open») whichever process or machine runs them
            conn.execute("BEGIN")
            conn.execute("SELECT pg_advisory_xact_lock(?)", [conn.write_lock])
        else:
            conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if not conn.in_transaction:
            raise RuntimeError("a unit of work was committed half-way by a nested commit (`with db.conn:`?)")
        conn.execute("COMMIT")

    @property
    def is_initialised(self) -> bool:
        return self.schema_version() == len(MIGRATIONS)

