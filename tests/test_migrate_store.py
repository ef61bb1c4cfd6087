"""`pulse migrate-store --to postgresql://…` (issue 18.5): a real SQLite store, filled through the product's own paths
(a timeline imported and processed with the shipped models, collaborators' reports, detection's flags and a review
decision, users, labels, a dialogue, a unit's monthly report, a pending upload), is copied into a fresh schema on the
test PostgreSQL server; counts and checksums of every table match, and the PostgreSQL store answers the product's reads
as the SQLite one does. A non-empty target is refused, a changed row is reported, a failed copy keeps nothing.

The PostgreSQL server is the suite's (PULSE_DB_SERVER under `--backend postgresql`), or the one `.ci/postgres` starts:
these tests never skip for want of it. The source is always SQLite, whichever backend the suite runs on."""
from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import uuid
from datetime import date, datetime, time, timedelta, timezone

import psycopg
import pytest
from typer.testing import CliRunner

from conftest import FIXTURES, ROOT, _postgres_server
from service import dialogues, trends, unitreports
from service.cli import app
from service.migrate_store import migrate_store, verify
from service.pipeline import import_file, load_annotator, process
from service.search import parse
from service.store import MIGRATIONS, Store, postgres
from service.store import copy as store_copy
from service.timeutil import TZ
from web_support import OTHER, OWN, make_installation, observation

REPORTS = ["Công nhân Công ty may Hưng Phát (Cao Bằng) phản ánh bị nợ lương hai tháng.",
           "Công ty may Hưng Phát ở Cao Bằng nợ lương công nhân tháng 5 và tháng 6.",
           "Người lao động may Hưng Phát bức xúc vì công ty nợ lương hai tháng."]
DAY = date(2026, 2, 1)


@pytest.fixture(scope="module")
def server():
    """The PostgreSQL server's URL; the store of a path stays SQLite in this module (PULSE_DB_SERVER unset)."""
    url = os.environ.get(postgres.SERVER_ENV) or _postgres_server()
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(postgres.SERVER_ENV, raising=False)
        yield url


@pytest.fixture
def schema(server):
    """A URL for a fresh schema of the test server, dropped afterwards."""
    name = f"migrate_{uuid.uuid4().hex[:12]}"
    yield postgres.with_schema(server, name)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=TZ).astimezone(timezone.utc)


@pytest.fixture(scope="module")
def source(server, tmp_path_factory):
    """An SQLite store as a province's would look after a few days, built once for the module (tests copy it)."""
    folder = tmp_path_factory.mktemp("source")
    inst = make_installation(folder)
    store = inst.store
    assert store.backend == "sqlite"
    import_file(store, FIXTURES / "timeline" / "news-2026-02.jsonl", kind="timeline")
    store.add_items([observation(text, unit, f"collab-{n}", _noon(DAY))
                     for n, (text, unit) in enumerate(zip(REPORTS, [OWN, OTHER, "cb-thanhpho"]))])
    dialogues.record(store, unit=OWN, held_on=DAY, kind="dialogue", enterprise="Công ty may Hưng Phát", place="",
                     participants="Ban Giám đốc, 40 công nhân",
                     points=[dialogues.Point("Khi nào trả lương tháng 5?", "Trước 15/2.", "Trả đủ lương trước 15/2")],
                     username="staff1", today=DAY)
    process(store, *load_annotator(inst.settings.models_dir))
    flags = trends.detect(store, DAY - timedelta(days=3), DAY)
    assert flags, "the collaborators' reports raise a flag"
    store.add_flag_event(flags[0].id, "staff1", "confirm", "Đã xác minh với công đoàn cơ sở.", new_status="confirmed")
    items = [i["id"] for i in store.search_items("luong", limit=5)] + [1, 2]
    store.add_label(items[0], "topic", "tien_luong", "analyst1")
    store.add_label(items[1], "sentiment", "negative", "analyst1")
    report_id = unitreports.open_draft(store, OWN, "month", DAY, inst.settings, "staff1", DAY + timedelta(days=3))
    unitreports.save(store, report_id, {"summary": "Tháng 2: nợ lương ở may Hưng Phát."}, "staff1", inst.settings,
                     DAY + timedelta(days=3))
    store.add_pending_import(inst.users["collab1"], OWN, "bao-cao.xlsx", bytes(range(256)) * 4)
    store.add_job("backup", {"file": "/tmp/x.db"}, "admin")
    store.close()
    return inst.settings.db_path


def _search(store: Store, query: str) -> tuple[int, list[dict]]:
    """The items page's search, newest first; its score left out (bm25 on SQLite, ts_rank on PostgreSQL)."""
    total, rows = store.search(parse(query), order="newest")
    return total, [{k: v for k, v in row.items() if k != "score"} for row in rows]


def _reads(store: Store) -> dict:
    """What the product reads from a store, for comparing the two backends."""
    users = {name: store.user(name) for name in ("admin", "staff1", "analyst1", "collab1", "root")}
    for row in users.values():
        row.pop("password_hash", None)   # kept too, but its equality is the checksum's business
    report = store.unit_report_revisions(OWN, "month", DAY.replace(day=1).isoformat())
    return {
        "items": store.count_items(),
        "flags": store.flags(),
        "users": users,
        "units": store.org_units(),
        "search": _search(store, "nợ lương"),
        "folded search": _search(store, "luong"),
        "fts search": [r["id"] for r in store.search_items("hung phat")],
        "labels": store.latest_labels("topic"),
        "report": report,
        "to process": store.count_to_process(),
        # grouped rows in no promised order (PostgreSQL's hash aggregate lists them as it likes)
        "dashboard": sorted(store.items_per_day_by_channel("2026-01-01", "2026-03-01", None),
                            key=lambda r: (r["day"], r["grp"])),
        "tone": sorted(store.tone_per_day("2026-01-01", "2026-03-01", None), key=lambda r: (r["day"], r["sentiment"])),
        "jobs": store.jobs(),
    }


def _cli(source_path, *args: str):
    return CliRunner().invoke(app, ["--db", str(source_path), "migrate-store", *args])


@pytest.fixture(scope="module")
def copied(source, server):
    """The module's source copied once into a fresh schema through the command line: (its URL, the CLI's result).
    Tests that use it read it; only the last one (the corrupted copy) changes it."""
    name = f"migrate_{uuid.uuid4().hex[:12]}"
    url = postgres.with_schema(server, name)
    yield url, _cli(source, "--to", url, "--batch", "50")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def _writes_go_on(pg: Store, next_id: int) -> None:
    """After a copy the target's triggers are on again (dashboard counts, processing queue) and its identities
    go on after the copied ids."""
    before = sum(r["n"] for r in pg.items_per_day_by_channel("2026-02-01", "2026-02-01", None))
    queued = pg.count_to_process()
    [new_id] = pg.add_items([observation("Công nhân phản ánh chậm lương tháng 1.", OWN, "collab1", _noon(DAY))])
    assert new_id == next_id
    after = sum(r["n"] for r in pg.items_per_day_by_channel("2026-02-01", "2026-02-01", None))
    assert after == before + 1 and pg.count_to_process() == queued + 1


def test_a_store_is_copied_verified_and_read_back_the_same(source, copied, tmp_path):
    url, result = copied
    assert result.exit_code == 0, result.output
    summary = result.stdout
    with Store(source) as sqlite_store:
        tables = store_copy.tables(sqlite_store)
        expected = _reads(sqlite_store)
        counts = {t: store_copy.count(sqlite_store, t) for t in tables}
    assert f"All {len(tables)} tables match" in summary
    for table in tables:   # one summary line per table, its counts, «ok»
        line = next(ln for ln in summary.splitlines() if ln.split()[0] == table)
        assert line.split()[1] == line.split()[2] == f"{counts[table]:,}" and line.endswith("ok"), line
    assert counts["items"] == counts["annotations"] == counts["stream_items"] == 67   # 63 + 3 reports + 1 raised
    assert counts["items_search"] == counts["items_fts"] == 67 and counts["flags"] >= 1 and counts["dialogues"] == 1
    assert counts["pending_imports"] == counts["unit_reports"] == 1 and counts["labels"] == 2
    assert "items: 67 rows" in result.stderr, "progress per table on stderr"

    with Store(url) as pg:
        assert pg.backend == "postgresql" and pg.is_initialised
        got = _reads(pg)
        for key in expected:
            assert got[key] == expected[key], key
        assert expected["dashboard"] and expected["flags"] and expected["to process"] == 0
        assert expected["search"][0] >= 3 and expected["folded search"][0] > expected["search"][0]
        assert len(expected["fts search"]) >= 3
    checks = [CliRunner().invoke(app, ["--db", str(db), "doctor", "--check"], env={"PULSE_DATA": str(tmp_path)})
              for db in (source, url)]
    assert checks[0].exit_code == checks[1].exit_code == 0 and "integrity check: ok" in checks[1].stdout
    assert checks[1].stdout == checks[0].stdout, "`pulse doctor --check` finds the copy as sound as its source"


def test_a_target_holding_data_is_refused_and_left_as_it_was(source, copied):
    url, _ = copied
    again = _cli(source, "--to", url)
    assert again.exit_code == 1
    assert "already holds Pulse data" in again.stderr and "items (67 rows)" in again.stderr, again.stderr
    assert "Traceback" not in again.output
    assert verify(source, url).ok, "the target is as the first copy left it"


def test_verification_reports_a_changed_row_and_a_missing_one(source, copied):
    url, _ = copied
    assert verify(source, url).ok
    server, name = url.split("?")[0], postgres.schema_of(url)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"UPDATE {name}.items SET title = title || '.' WHERE id = 7")
        conn.execute(f"DELETE FROM {name}.labels WHERE id = (SELECT MAX(id) FROM {name}.labels)")
    result = _cli(source, "--to", url, "--verify-only")
    assert result.exit_code == 1
    lines = {ln.split()[0]: ln for ln in result.stdout.splitlines() if ln.strip()}
    assert lines["items"].endswith("CHECKSUM DIFFERS")
    assert lines["labels"].endswith("COUNT DIFFERS")
    assert lines["annotations"].endswith("ok") and lines["users"].endswith("ok")
    assert "2 of " in result.stdout and "does not match" in result.stderr


def test_a_copy_that_fails_half_way_keeps_nothing_and_can_be_run_again(source, schema, tmp_path):
    broken = tmp_path / "broken.db"
    shutil.copy(source, broken)
    with sqlite3.connect(broken) as conn:   # a time PostgreSQL cannot read, in a table copied late
        conn.execute("UPDATE jobs SET finished_at = 'not a time' WHERE id = (SELECT MAX(id) FROM jobs)")
    result = _cli(broken, "--to", schema)
    assert result.exit_code == 1 and "rolled back" in result.stderr and "jobs" in result.stderr, result.output
    with Store(schema) as pg:
        assert pg.schema_version() == len(MIGRATIONS)
        assert store_copy.holding(pg, store_copy.tables(pg)) == {}, "nothing of the failed copy is kept"
    with sqlite3.connect(broken) as conn:
        conn.execute("UPDATE jobs SET finished_at = NULL WHERE finished_at = 'not a time'")
    assert _cli(broken, "--to", schema).exit_code == 0


def test_sources_and_targets_it_cannot_use_are_refused_in_plain_words(source, schema, tmp_path):
    not_url = _cli(source, "--to", str(tmp_path / "other.db"))
    assert not_url.exit_code == 1 and "must be a PostgreSQL URL" in not_url.stderr
    old = tmp_path / "old.db"
    with Store(old) as store:
        store.migrate(MIGRATIONS[:5])
    outdated = _cli(old, "--to", schema)
    assert outdated.exit_code == 1 and "schema version 5" in outdated.stderr and "init" in outdated.stderr
    missing = _cli(tmp_path / "none.db", "--to", schema)
    assert missing.exit_code == 1 and "no database at" in missing.stderr
    assert not (tmp_path / "none.db").exists()


def test_a_killed_copy_leaves_no_data_and_the_next_run_completes(source, schema):
    env = {**os.environ, "PULSE_DB": str(source)}
    env.pop(postgres.SERVER_ENV, None)
    copying = subprocess.Popen([sys.executable, "-m", "service.cli", "migrate-store", "--to", schema, "--batch", "1"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in copying.stderr:   # the items are in; the other tables, the checks and the commit are to come
            if line.strip().startswith("items: 67 rows"):
                break
        copying.kill()
        out, _ = copying.communicate(timeout=60)
    finally:
        if copying.poll() is None:
            copying.kill()
            copying.wait(60)
    assert copying.returncode == -signal.SIGKILL and "Copied" not in out, "the copy was killed before it committed"
    with Store(schema) as pg:
        assert pg.schema_version() == len(MIGRATIONS)
        assert store_copy.holding(pg, store_copy.tables(pg)) == {}, "nothing of the killed copy is visible"
    again = _cli(source, "--to", schema)
    assert again.exit_code == 0 and "All " in again.stdout, again.output
    with Store(schema) as pg:
        _writes_go_on(pg, next_id=68)


def _roles(server: str, *statements: str) -> None:
    """Run role statements as the server's superuser, one session at a time (GRANT/REVOKE on the database from two
    test runs at once would fail with «tuple concurrently updated»)."""
    with psycopg.connect(server) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(7305)")
        database = conn.execute("SELECT current_database()").fetchone()[0]
        for statement in statements:
            conn.execute(statement.format(database=database))


def test_an_owner_without_superuser_rights_copies_with_the_tables_triggers_disabled(source, server):
    """A production database's owner is seldom a superuser: the copy then disables the tables' own triggers inside
    its transaction (foreign keys still checked, tables in dependency order) and enables them again."""
    role, name = f"migrator_{uuid.uuid4().hex[:10]}", f"migrate_{uuid.uuid4().hex[:12]}"
    _roles(server, f"CREATE ROLE {role} LOGIN NOSUPERUSER", f'GRANT CREATE ON DATABASE "{{database}}" TO {role}')
    target = postgres.with_schema(re.sub(r"://[^@/]*@", f"://{role}@", server), name)
    try:
        report = migrate_store(source, target, batch=20)
        assert report.ok and report.committed and report.triggers == "disabled"
        with Store(target) as pg:
            _writes_go_on(pg, next_id=68)
    finally:
        _roles(server, f"DROP SCHEMA IF EXISTS {name} CASCADE", f'REVOKE CREATE ON DATABASE "{{database}}" FROM {role}',
               f"DROP ROLE {role}")
