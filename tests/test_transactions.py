"""Units of work are transactions: all of one commits or none of it, concurrent writers never half-write, migrations
are atomic and an old database upgrades."""
from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from collectors.items import RawItem
from conftest import ROOT
from service.store import MIGRATIONS, Store, sql_statements

WHEN = datetime(2026, 2, 1, 3, tzinfo=timezone.utc)


def _item(n: int) -> RawItem:
    return RawItem(text=f"Hơn {n} công nhân chưa nhận lương tháng Tết.", title=f"Công nhân nợ lương {n}",
                   url=f"http://127.0.0.1/a/{n}", source="test", published_at=WHEN)


def _counts(store: Store) -> tuple[int, int]:
    items = store.db.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    fts = store.db.execute("SELECT COUNT(*) FROM items_fts").fetchone()[0]
    return items, fts


def _schema(store: Store) -> dict[str, str]:
    """Every table, index and trigger of the store with its definition (a PostgreSQL table's: its columns)."""
    if store.backend == "postgresql":
        schema = store.db.execute("SELECT current_schema()").fetchone()[0]
        out = {f"{name}": "CREATE TABLE " + repr(_columns(store, name)) for name in store.db.table_names()}
        for name, sql in store.db.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()").fetchall():
            out[name] = sql.replace(f"{schema}.", "")
        for name, sql in store.db.execute(
                "SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE NOT t.tgisinternal AND c.relnamespace = CAST(current_schema() AS regnamespace)").fetchall():
            out[f"trigger {name}"] = sql.replace(f"{schema}.", "")
        return out
    return {r[0]: re.sub(r"\s+", " ", r[1] or "") for r in store.db.execute(
        "SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()}


def _columns(store: Store, table: str) -> list[tuple]:
    """(name, type, not null) of a table's columns in their order."""
    if store.backend == "postgresql":
        return [(r[0], r[1], r[2] == "NO") for r in store.db.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position", [table]).fetchall()]
    return [(r[1], r[2], bool(r[3])) for r in store.db.execute(f"PRAGMA table_info([{table}])").fetchall()]


def _unchecked_foreign_keys(store: Store) -> list:
    """Rows whose foreign keys point nowhere (SQLite checks them on request; PostgreSQL refuses such a row on write,
    so what could remain is a constraint left unvalidated)."""
    if store.backend == "postgresql":
        return store.db.execute("SELECT conname FROM pg_constraint WHERE contype = 'f' AND NOT convalidated"
                                " AND connamespace = CAST(current_schema() AS regnamespace)").fetchall()
    return store.db.execute("PRAGMA foreign_key_check").fetchall()


def test_sqlite_utils_does_not_make_with_conn_a_transaction(tmp_path):
    """The premise of this module: under sqlite-utils 4 each statement commits on its own, so a failing
    `with db.conn:` block keeps its first write. `store.transaction()` does not."""
    import sqlite_utils

    db = sqlite_utils.Database(sqlite3.connect(tmp_path / "plain.db"))
    db.execute("CREATE TABLE t (x INTEGER UNIQUE)")
    with pytest.raises(sqlite3.IntegrityError):
        with db.conn:
            db.execute("INSERT INTO t VALUES (1)")
            db.execute("INSERT INTO t VALUES (1)")
    assert db.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 1

    store = Store(tmp_path / "p.db")
    store.migrate()
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction():
            store.db.execute("INSERT INTO watch_terms (term, folded, created_at) VALUES ('a', 'a', 'now')")
            store.db.execute("INSERT INTO watch_terms (term, folded, created_at) VALUES ('b', 'a', 'now')")
    assert store.watch_terms() == []


def test_store_writes_never_use_with_conn(tmp_path):
    """A `with self.db.conn:` inside a unit of work would commit it half-way; every write uses store.transaction()."""
    for path in sorted((ROOT / "service" / "store").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        assert "with self.db.conn" not in source, path.name
        assert ".executescript(" not in source, path.name


def test_an_inner_failure_undoes_only_the_inner_part(store):
    with store.transaction():
        store.add_watch_term("nợ lương")
        with pytest.raises(sqlite3.IntegrityError):
            with store.transaction():
                store.add_watch_term("đình công")
                store.db.execute("INSERT INTO watch_terms (term, folded, created_at) VALUES ('x', 'no luong', 'now')")
    assert [t["term"] for t in store.watch_terms()] == ["nợ lương"]


def test_an_outer_failure_undoes_the_inner_units_too(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.add_items([_item(1)])
            store.upsert_flag({"key": "k", "kind": "burst", "score": 1.0, "window_start": "2026-02-01",
                               "window_end": "2026-02-01", "count": 3, "baseline": 1.0, "reason": "r"})
            raise RuntimeError("killed")
    assert _counts(store) == (0, 0)
    assert store.count_flags() == 0


def test_an_import_batch_stores_items_and_search_rows_together_or_nothing(store):
    # a stray search row (a deleted item's) holds the rowid the third item gets: its search row cannot be written,
    # and the two items before it must not stay behind, nor their search rows
    store.db.execute("INSERT INTO items_fts (rowid, folded) VALUES (3, 'stray')")
    with pytest.raises(sqlite3.IntegrityError):
        store.add_items([_item(1), _item(2), _item(3)])
    assert _counts(store) == (0, 1)
    store.delete_search_rows(store.stray_search_rows())
    assert len(store.add_items([_item(1), _item(2)])) == 2
    assert _counts(store) == (2, 2)
    assert [r["id"] for r in store.search_items("cong nhan no luong 2")]


def test_a_flag_event_and_its_status_change_commit_together(store):
    flag_id = store.upsert_flag({"key": "k", "kind": "burst", "score": 1.0, "window_start": "2026-02-01",
                                 "window_end": "2026-02-01", "count": 3, "baseline": 1.0, "reason": "r"})
    assert store.upsert_flag({"key": "k", "kind": "burst", "score": 2.0, "window_start": "2026-02-01",
                              "window_end": "2026-02-02", "count": 5, "baseline": 1.0, "reason": "r"}) == flag_id
    assert store.count_flags() == 1
    with pytest.raises(sqlite3.IntegrityError):   # no such flag: neither the event nor a status is written
        store.add_flag_event(flag_id + 99, "admin", "confirm", new_status="confirmed")
    store.add_flag_event(flag_id, "admin", "confirm", new_status="confirmed")
    assert store.flag(flag_id)["status"] == "confirmed"
    assert [e["action"] for e in store.flag_events(flag_id)] == ["confirm"]


def test_ten_concurrent_submissions_with_one_key_and_different_texts_store_one(tmp_path):
    path = tmp_path / "p.db"
    with Store(path) as store:
        store.migrate()
        store.add_org_unit("u", "Unit")
        user_id = store.add_user("ctv", "x", "collaborator", "u")
    barrier = threading.Barrier(10, timeout=60)
    results, errors = [], []

    def submit(n: int) -> None:
        store = Store(path)   # one connection per thread, as the web app's StorePool gives
        try:
            item = RawItem(text=f"Công nhân phản ánh chậm lương, bản sửa số {n}.", source="Cộng tác viên",
                           kind="observation", published_at=WHEN, author="ctv", org_unit="u",
                           extra={"observed_on": "2026-02-01", "people": 3})
            barrier.wait()
            results.append(store.add_submission(user_id, "same-key-123", item))
        except Exception as exc:  # the assertion below shows it
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({sid for sid, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with Store(path) as store:
        assert store.count_submissions() == 1
        assert _counts(store) == (1, 1)
        assert store.orphan_submission_items() == []


def test_a_resend_finds_an_item_left_without_its_submission(store):
    """An item an earlier version stored without its submission (killed between the two) is adopted, not refused."""
    store.add_org_unit("u", "Unit")
    user_id = store.add_user("ctv", "x", "collaborator", "u")
    item = RawItem(text="Công nhân phản ánh chậm lương.", source="Cộng tác viên", kind="observation",
                   published_at=WHEN, author="ctv", org_unit="u", extra={"observed_on": "2026-02-01", "people": 1})
    sid, created = store.add_submission(user_id, "key-12345", item)
    store.db.execute("DELETE FROM submissions WHERE id = ?", [sid])   # what the old crash left
    assert store.orphan_submission_items() != []
    sid2, created2 = store.add_submission(user_id, "key-12345", item)
    assert created and created2
    assert store.count_submissions() == 1 and _counts(store) == (1, 1)
    assert store.orphan_submission_items() == []


def test_sql_statements_split_a_migration_one_statement_at_a_time():
    statements = sql_statements(MIGRATIONS[0])
    assert len(statements) > 20
    assert all(sqlite3.complete_statement(s) for s in statements)
    assert sql_statements("-- a comment; with a semicolon\nCREATE TABLE a (x TEXT DEFAULT 'a;b');\n-- end\n") == [
        "-- a comment; with a semicolon\nCREATE TABLE a (x TEXT DEFAULT 'a;b');"]


def test_a_database_made_by_the_first_schema_upgrades_to_the_current_one(tmp_path):
    old = Store(tmp_path / "old.db")
    assert old.migrate(MIGRATIONS[:1]) == 1
    # rows written as the first version wrote them (today's methods write today's schema)
    old.db.execute("INSERT INTO org_units (id, code, name) VALUES (1, 'u', 'Unit')")
    old.db.execute("INSERT INTO users (username, password_hash, role, org_unit_id, created_at)"
                   " VALUES ('ctv', 'x', 'collaborator', 1, '2026-02-01T00:00:00+00:00')")
    for n in (1, 2):
        old.db.execute("INSERT INTO items (id, url, content_hash, kind, title, text, source, published_at, day,"
                       " collected_at) VALUES (?, ?, ?, 'article', ?, 'Công nhân chưa nhận lương.', 'test', ?, ?, ?)",
                       [n, f"http://127.0.0.1/a/{n}", f"h{n}", f"Nợ lương {n}", WHEN.isoformat(), "2026-02-01",
                        WHEN.isoformat()])
        old.db.execute("INSERT INTO items_fts (rowid, folded) VALUES (?, ?)", [n, f"no luong {n}"])
    old.close()

    upgraded = Store(tmp_path / "old.db")
    assert upgraded.is_initialised == (len(MIGRATIONS) == 1)
    assert upgraded.migrate() == len(MIGRATIONS)
    assert upgraded.is_initialised
    fresh = Store(tmp_path / "fresh.db")
    fresh.migrate()
    # the same tables, indexes and columns as a database created today (ALTER TABLE may only differ in layout)
    old_schema, new_schema = _schema(upgraded), _schema(fresh)
    assert set(old_schema) == set(new_schema)
    for table in [n for n in new_schema if not n.startswith("items_fts")]:
        if new_schema[table].startswith("CREATE TABLE"):
            assert _columns(upgraded, table) == _columns(fresh, table), table
    assert _counts(upgraded) == (2, 2) and upgraded.user("ctv") is not None
    assert _unchecked_foreign_keys(upgraded) == []


def test_a_failing_migration_changes_nothing(tmp_path):
    store = Store(tmp_path / "p.db")
    version = store.migrate()
    before = _schema(store)
    store.add_items([_item(1)])
    broken = MIGRATIONS + ["""
        CREATE TABLE half_made (id INTEGER PRIMARY KEY);
        ALTER TABLE items ADD COLUMN never_there TEXT;
        UPDATE items SET never_there = 'x';
        INSERT INTO items (content_hash, kind, published_at, day, collected_at) VALUES ('h', 'nonsense',
            '2026-02-01T00:00:00+00:00', '2026-02-01', '2026-02-01T00:00:00+00:00');
    """]
    with pytest.raises(sqlite3.IntegrityError):
        store.migrate(broken)
    assert store.schema_version() == version
    assert _schema(store) == before
    assert "never_there" not in {c[0] for c in _columns(store, "items")}
    assert _counts(store) == (1, 1)
    # a syntax error half-way is refused the same way
    with pytest.raises(sqlite3.OperationalError):
        store.migrate(MIGRATIONS + ["CREATE TABLE half_made (id INTEGER);\nCREATE TABLE (oops;"])
    assert store.schema_version() == version and _schema(store) == before


def _together(n: int, work) -> list[Exception]:
    """Run `work()` in n threads released at once; the exceptions they raised. A thread that dies early breaks the
    barrier, never hangs the rest; a thread still alive after two minutes fails the test."""
    barrier = threading.Barrier(n, timeout=60)
    errors: list[Exception] = []

    def run() -> None:
        try:
            barrier.wait()
            work()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return errors


def test_two_processes_migrating_at_once_apply_each_migration_once(tmp_path):
    path = tmp_path / "p.db"

    def migrate() -> None:
        with Store(path) as store:   # opening a new database together is part of the race
            store.migrate()

    assert _together(4, migrate) == []
    with Store(path) as store:
        rows = store.db.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        assert [r[0] for r in rows] == list(range(1, len(MIGRATIONS) + 1))


_MIGRATE_WHEN_TOLD = """
import sys, time
from pathlib import Path
from service.store import Store
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.005)
with Store(sys.argv[1]) as store:
    print(store.migrate())
"""


def test_processes_migrating_one_new_store_at_once_all_get_it(tmp_path):
    """`pulse serve`, a `pulse process` from cron and workers on other machines may open one new store together:
    separate processes (on PostgreSQL: separate sessions that each make the store's schema and take the write lock),
    released at once, all end with the whole schema and each migration is applied once."""
    path, go = tmp_path / "p.db", tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _MIGRATE_WHEN_TOLD, str(path), str(go)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    try:
        time.sleep(1.0)   # let them import and wait at the line
        go.touch()
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [o[1][-2000:] for o in outs]
    assert [o[0].strip() for o in outs] == [str(len(MIGRATIONS))] * 4
    with Store(path) as store:
        rows = store.db.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        assert [r[0] for r in rows] == list(range(1, len(MIGRATIONS) + 1))
        assert store.is_initialised


@pytest.mark.sqlite_only("the switch of a new SQLite file to write-ahead logging; the PostgreSQL analogue (several "
                         "processes making and migrating one new store) is the test above")
def test_processes_opening_a_new_database_together_all_get_it(tmp_path):
    """Switching a new database to WAL needs it to itself and SQLite answers «locked» at once instead of waiting:
    before the retry, about 1 round in 60 of four threads opening one new file failed (and hung this suite's CI);
    200 rounds catch that about 96 times in 100."""
    failures = []
    for round_ in range(200):
        path = tmp_path / f"open{round_}.db"

        def open_new() -> None:
            with Store(path) as store:
                assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

        failures += _together(4, open_new)
    assert failures == []
