"""`pulse backup` and `pulse restore`: a consistent online backup while another process writes, a restore that
refuses damaged or foreign files and never replaces a database unasked, and the daily backup with its retention."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from service.backup import BackupError, backup, check, check_store, daily_backup, prune, restore
from service.config import Settings
from service.setup import init
from service.store import MIGRATIONS, Store, exists, is_postgres

WRITER = '''
import sys, time
from datetime import datetime, timezone
from collectors.items import RawItem
from service.store import Store

store = Store(sys.argv[1])
n = 0
while True:   # until killed: batches of 20 items, each batch one transaction (items and their search rows)
    batch = [RawItem(text=f"Công nhân phản ánh việc chậm trả lương, lượt ghi {n + i} của tiến trình ghi.",
                     title=f"Bài {n + i}", source="ghi-dong-thoi", kind="article",
                     published_at=datetime.now(timezone.utc)) for i in range(20)]
    store.add_items(batch)
    n += 20
    print(n, flush=True)
'''


def pulse(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "service.cli", "--db", str(db), *args], cwd=tmp_dir(db),
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PULSE_DB": str(db)})


def tmp_dir(db: Path) -> Path:
    """The nearest existing folder above `db` (a restore may create the database's folder)."""
    return next(p for p in db.parents if p.is_dir())


def fresh_db(path: Path) -> Path:
    with Store(path) as store:
        init(store)
    return path


def count(db: Path, table: str) -> int:
    """Rows of a live store's table (an SQLite file or, with --backend postgresql, the path's PostgreSQL schema)."""
    with Store(db) as store:
        return store.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_backup_under_concurrent_writes_is_consistent_and_restores(tmp_path):
    db = fresh_db(tmp_path / "live" / "pulse.db")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], cwd=tmp_path, stdout=subprocess.PIPE,
                              text=True)
    try:
        for _ in range(100):                    # the writer is well under way: 2,000 items
            written = int(writer.stdout.readline())
        before = count(db, "items")
        outcome = backup(db, tmp_path / "copies" / "pulse-backup.db")
        after = count(db, "items")
        assert writer.poll() is None
    finally:
        writer.kill()
        writer.wait(10)
    print(f"backup of {before:,}-{after:,} items under writes: {outcome.seconds:.2f} s, {outcome.bytes:,} bytes")
    assert after > before >= written >= 2000, "the other process went on writing during the backup"
    copy = outcome.path
    info = check(copy)
    assert info["integrity"] == ["ok"] and info["schema_version"] == len(MIGRATIONS)
    assert info.get("pg_dump", False) == is_postgres(db), "a PostgreSQL store is backed up with pg_dump"
    items = info["counts"]["items"]
    assert before <= items <= after and items % 20 == 0, "the snapshot holds whole transactions only"
    search = "items_search" if is_postgres(db) else "items_fts"
    assert info["counts"][search] == items, "every item in the backup has its search row"
    assert not Path(f"{copy}-wal").exists(), "a backup is one self-contained file"
    assert not list(copy.parent.glob(".*partial*"))

    restored = tmp_path / "restored" / "pulse.db"
    out = pulse(restored, "restore", str(copy))
    assert out.returncode == 0, out.stderr
    assert "Database restored" in out.stdout and "integrity ok" in out.stdout
    assert check_store(restored)["counts"]["items"] == items
    with Store(restored) as store:
        assert store.is_initialised
        assert len(store.search_items("luong", limit=5000)) == items   # the search index came along
        assert store.count_users() >= 1


def test_pulse_backup_command_writes_a_checked_copy_and_never_overwrites(tmp_path):
    db = fresh_db(tmp_path / "pulse.db")
    out = pulse(db, "backup", str(tmp_path / "b.db"))
    assert out.returncode == 0, out.stderr
    assert "Backup written" in out.stdout and "integrity ok" in out.stdout
    assert check(tmp_path / "b.db")["schema_version"] == len(MIGRATIONS)
    again = pulse(db, "backup", str(tmp_path / "b.db"))
    assert again.returncode == 1 and "already exists" in again.stderr and "Traceback" not in again.stderr


def damaged(source: Path, target: Path) -> Path:
    data = bytearray(source.read_bytes())
    page = 4096
    for n in range(2, len(data) // page):      # every page after the first two: garbage in their headers
        data[n * page:n * page + 64] = os.urandom(64)
    target.write_bytes(bytes(data))
    return target


def test_restore_refuses_damaged_foreign_and_newer_files(tmp_path):
    db = fresh_db(tmp_path / "pulse.db")
    good = backup(db, tmp_path / "good.db").path
    text = tmp_path / "notes.db"
    text.write_text("không phải cơ sở dữ liệu", encoding="utf-8")
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    newer = tmp_path / "newer.db"
    if is_postgres(db):   # a store of a newer Pulse, dumped as `pulse backup` does
        from service.store import pgfiles, postgres

        ahead = fresh_db(tmp_path / "ahead.db")
        with Store(ahead) as store:
            store.db.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                             [len(MIGRATIONS) + 1, "2026-03-01T00:00:00+00:00"])
        pgfiles.dump_store(postgres.postgres_location(ahead), newer)
    else:
        backup(db, newer)
        with sqlite3.connect(newer) as conn:
            conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, 'x')", [len(MIGRATIONS) + 1])
    cases = {damaged(good, tmp_path / "damaged.db"): "is damaged", text: "is not an SQLite database",
             foreign: "is not a Pulse database", newer: "newer Pulse", tmp_path / "missing.db": "does not exist"}
    for path, message in cases.items():
        target = tmp_path / "new" / f"{path.stem}.db"
        with pytest.raises(BackupError, match=message):
            restore(path, target)
        assert not exists(target), f"{path.name}: nothing may be written when the backup is refused"
        out = pulse(target, "restore", str(path))
        assert out.returncode == 1 and message in out.stderr and "Traceback" not in out.stderr, out.stderr


@pytest.mark.sqlite_only("damages the pages of the database file; a PostgreSQL store is no file, and its pg_dump "
                         "archive, damaged, is refused by test_restore_refuses_damaged_foreign_and_newer_files")
def test_backup_of_a_damaged_database_is_refused(tmp_path):
    db = fresh_db(tmp_path / "pulse.db")
    with Store(db) as store:   # enough pages to damage
        for n in range(300):
            store.add_user(f"nguoi-dung-{n}", "x" * 200, "staff")
    bad = damaged(db, tmp_path / "bad.db")
    with pytest.raises(BackupError, match="is damaged"):
        backup(bad, tmp_path / "b.db")
    assert not (tmp_path / "b.db").exists() and not list(tmp_path.glob(".b.db*"))


def test_restore_never_replaces_a_database_without_force(tmp_path):
    db = fresh_db(tmp_path / "pulse.db")
    copy = backup(db, tmp_path / "b.db").path
    with Store(db) as store:                      # the live database moves on after the backup
        store.add_user("sau-sao-luu", "x", "staff")
    users = count(db, "users")
    out = pulse(db, "restore", str(copy))
    assert out.returncode == 1 and "--force" in out.stderr
    assert count(db, "users") == users, "a refused restore changes nothing"

    out = pulse(db, "restore", str(copy), "--force")
    assert out.returncode == 0, out.stderr
    assert count(db, "users") == users - 1, "the backup's content replaced the database"
    saved = list(tmp_path.glob("pulse.db.before-restore-*"))
    assert len(saved) == 1 and str(saved[0]) in out.stdout
    assert check(saved[0])["counts"]["users"] == users, "the replaced database was kept beside it"
    assert check_store(db)["integrity"] == ["ok"]


def test_restore_into_a_database_a_server_holds_open(tmp_path):
    db = fresh_db(tmp_path / "pulse.db")
    copy = backup(db, tmp_path / "b.db").path
    with Store(db) as live:                       # a server's connection, open through the restore
        live.add_user("moi", "x", "staff")
        assert live.user("moi")
        restore(copy, db, force=True)
        assert live.user("moi") is None, "the open connection reads the restored data"
        live.add_user("sau-khoi-phuc", "x", "staff")
    assert check_store(db)["integrity"] == ["ok"]


def test_daily_backups_keep_the_newest(tmp_path):
    db = fresh_db(tmp_path / "data" / "pulse.db")
    settings = Settings(db_path=db)
    settings.backup.keep = 2
    start = datetime(2026, 3, 1, 19, 30, tzinfo=timezone.utc)
    other = tmp_path / "data" / "backups" / "pulse-keep-me.db"
    other.parent.mkdir(parents=True)
    other.write_text("not a daily backup")
    made = [daily_backup(settings, now=start + timedelta(days=d)).path for d in range(4)]
    assert made[0].parent == tmp_path / "data" / "backups"
    left = sorted(p.name for p in other.parent.iterdir())
    assert left == sorted([made[2].name, made[3].name, other.name])
    assert prune(other.parent, 0) == []   # keep 0: nothing deleted
    settings.backup.dir = str(tmp_path / "elsewhere")
    assert daily_backup(settings).path.parent == tmp_path / "elsewhere"


def test_the_scheduler_runs_the_daily_backup_only_when_asked(tmp_path):
    from service import scheduler

    settings = Settings(db_path=fresh_db(tmp_path / "pulse.db"))
    jobs = scheduler.start(settings)
    try:
        assert jobs.get_job("backup") is None
    finally:
        jobs.shutdown(wait=False)
    settings.backup.daily, settings.backup.at = True, "03:15"
    jobs = scheduler.start(settings)
    try:
        job = jobs.get_job("backup")
        assert job is not None and (job.next_run_time.hour, job.next_run_time.minute) == (3, 15)
    finally:
        jobs.shutdown(wait=False)
    scheduler.backup_job(settings)
    assert len(list((tmp_path / "backups").glob("pulse-*.db"))) == 1


def test_a_backup_is_restored_only_into_a_store_of_its_own_engine(tmp_path, monkeypatch, request):
    """An SQLite backup and a PostgreSQL store (or a pg_dump archive and an SQLite file) are refused with the way to
    do it, and nothing is written."""
    if request.config.getoption("--backend") != "postgresql":
        pytest.skip("needs the PostgreSQL server that --backend postgresql starts")
    server = os.environ["PULSE_DB_SERVER"]
    dump = backup(fresh_db(tmp_path / "pg.db"), tmp_path / "pg-backup.db").path
    monkeypatch.delenv("PULSE_DB_SERVER")          # stores named by a path are SQLite files again
    sqlite_copy = backup(fresh_db(tmp_path / "lite.db"), tmp_path / "lite-backup.db").path
    with pytest.raises(BackupError, match="backup of a PostgreSQL store; restore it into a PostgreSQL store"):
        restore(dump, tmp_path / "new-lite.db")
    assert not (tmp_path / "new-lite.db").exists()
    monkeypatch.setenv("PULSE_DB_SERVER", server)
    with pytest.raises(BackupError, match="backup of an SQLite store and this store is on PostgreSQL.*migrate-store"):
        restore(sqlite_copy, tmp_path / "new-pg.db")
    assert not exists(tmp_path / "new-pg.db")
