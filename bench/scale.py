"""Several workers on one PostgreSQL store (issue 18.6): 1, 2 and 4 `pulse worker` processes processing a backlog.

The backlog, `--items` real items (headlines and leads of ../shared/datasets/baomoi-tc201805, 5,000 a day, as
bench/process_speed.py builds them), is stored once with the store's `add_items` in a schema of its own; for each
worker count a fresh store (`pulse init`'s) gets a copy of it made inside PostgreSQL (items and their search rows;
the items' triggers queue them as `add_items` does), then that many real
`pulse worker` processes are started (procrastinate workers, exactly as the CLI runs them: service/taskqueue.py),
one `process` job is queued (as the scheduler does) and the clock runs until the queue is empty and no processing
job is open. One worker takes the job and places; the others join it with `annotate` jobs (service/batches.py).

Printed per run: items/s over the whole run (wall clock from the job queued to the last item placed, so each
worker's start and model loading is in it), items/s after the first annotation (the models loaded), and the checks
by counts: items, annotations
of the active model version (none missing, none twice), items placed (once each), the queue left empty.

    python bench/scale.py --items 200000 --workers 4 --keep   # the README's 200,000-item runs (then --workers 1)
    python bench/scale.py --items 8000                        # the README's 1/2/4 table on a small backlog
    python bench/scale.py --server postgresql://postgres@127.0.0.1:55432/postgres --workers 1 2

Not in CI. Every schema it makes is dropped at the end (`--keep` keeps them, and a kept backlog of the same size
is reused by the next run).
"""
from __future__ import annotations

import sys  # noqa: I001

sys.path[:] = [p for p in sys.path if not p.rstrip("/").endswith("/bench")]

import argparse
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from process_speed import day_items, load_texts  # noqa: E402

from service import jobs  # noqa: E402
from service.registry import active_versions, model_version_key  # noqa: E402
from service.setup import init  # noqa: E402
from service.store import Store  # noqa: E402
from service.store.postgres import with_schema  # noqa: E402

# the throw-away server `.ci/postgres` starts (`$PULSE_BENCH_POSTGRES` names another)
DEFAULT_SERVER = os.environ.get("PULSE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:55432/postgres")
PER_DAY = 5000
BATCH = 256


def build(url: str, texts, n_items: int) -> tuple[Store, float]:
    store = Store(url)
    init(store)
    for source in store.sources():
        store.set_source_enabled(source["name"], False)
    t0 = time.monotonic()
    day, stored = 0, 0
    while stored < n_items:
        items = day_items(texts, day, PER_DAY)[: n_items - stored]
        for i in range(0, len(items), 1000):
            stored += len(store.add_items(items[i:i + 1000]))
        day += 1
    return store, time.monotonic() - t0


BASE_SCHEMA = "bench_scale_backlog"


def backlog(server: str, texts, n_items: int) -> float:
    """The backlog, built once with the store's own `add_items` (items, their search rows, the processing queue by
    trigger) in a schema of its own, reused while it holds `n_items` items; returns the seconds the build took (0 when
    reused)."""
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass(%s)", [f"{BASE_SCHEMA}.process_queue"]).fetchone()[0]:
            held = conn.execute(f"SELECT (SELECT COUNT(*) FROM {BASE_SCHEMA}.items),"
                                f" (SELECT COUNT(*) FROM {BASE_SCHEMA}.process_queue)").fetchone()
            if held == (n_items, n_items):
                return 0.0
    drop(server, BASE_SCHEMA)
    store, seconds = build(with_schema(server, BASE_SCHEMA), texts, n_items)
    store.close()
    return seconds


def clone(server: str, schema: str) -> Store:
    """A fresh store (migrated and initialised as `pulse init` does) holding a copy of the backlog's items and search
    rows, copied inside PostgreSQL: the items' insert triggers queue each for processing and count it for the
    dashboard exactly as `add_items` does."""
    store = Store(with_schema(server, schema))
    init(store)
    for source in store.sources():
        store.set_source_enabled(source["name"], False)
    copies = []
    for table in ("items", "items_fts", "items_search"):   # generated columns (tsvectors) are computed again
        columns = ", ".join(r[0] for r in store.db.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?"
            " AND is_generated = 'NEVER' ORDER BY ordinal_position", [BASE_SCHEMA, table]).fetchall())
        copies.append(f"INSERT INTO {schema}.{table} ({columns}) SELECT {columns} FROM {BASE_SCHEMA}.{table}")
    with store.transaction():   # PostgreSQL's own statements, as written (execute_script: no translation)
        store.db.conn.execute_script(
            copies
            + [f"SELECT setval(pg_get_serial_sequence('{schema}.items', 'id'), (SELECT MAX(id) FROM {schema}.items))"])
    return store


def counts(store: Store, key: str) -> dict[str, int]:
    q = lambda sql, *a: store.db.execute(sql, list(a)).fetchone()[0]   # noqa: E731
    return {
        "items": q("SELECT COUNT(*) FROM items"),
        "annotations": q("SELECT COUNT(*) FROM annotations WHERE model_version = ?", key),
        "annotated_items": q("SELECT COUNT(DISTINCT item_id) FROM annotations WHERE model_version = ?", key),
        "twice": q("SELECT COUNT(*) FROM (SELECT item_id FROM annotations GROUP BY item_id HAVING COUNT(*) > 1) t"),
        "placed": q("SELECT COUNT(*) FROM stream_items"),
        "placed_items": q("SELECT COUNT(DISTINCT item_id) FROM stream_items"),
        "queue": q("SELECT COUNT(*) FROM process_queue"),
    }


def start_workers(url: str, n: int, workdir: Path) -> list[subprocess.Popen]:
    env = {**os.environ, "PULSE_DB": url, "PULSE_DATA": str(workdir / "data"), "PULSE_FEED_SECONDS": "0.5"}
    env.pop("PULSE_DB_SERVER", None)
    return [subprocess.Popen([sys.executable, "-m", "service.cli", "worker"], cwd=workdir, env=env,
                             stdout=open(workdir / f"worker-{k}.log", "w"), stderr=subprocess.STDOUT)
            for k in range(n)]


def run(server: str, texts, n_items: int, n_workers: int, keep: bool) -> dict:
    schema = f"bench_scale_w{n_workers}"
    drop(server, schema)
    url = with_schema(server, schema)
    t0 = time.monotonic()
    store = clone(server, schema)
    build_s = time.monotonic() - t0
    key = model_version_key(active_versions(ROOT / "classifier_models"))
    with tempfile.TemporaryDirectory() as tmp:
        workers = start_workers(url, n_workers, Path(tmp))
        try:
            t0 = time.monotonic()
            job = jobs.enqueue(store, "process", {"batch_size": BATCH}, requested_by="bench")
            first = None
            while True:
                time.sleep(0.5)
                if first is None and store.db.execute("SELECT 1 FROM annotations LIMIT 1").fetchone():
                    first = time.monotonic() - t0
                if store.count_to_process() == 0 and not store.open_jobs(["process", "annotate"]):
                    break
                dead = [w for w in workers if w.poll() is not None]
                if dead:
                    raise RuntimeError(f"a worker ended early (see {tmp})")
            elapsed = time.monotonic() - t0
            helpers = [j for j in store.jobs(kind="annotate", limit=10_000) if j["status"] == "done"]
            by_worker: dict[str, int] = {}
            for j in helpers:
                by_worker[j["worker"]] = by_worker.get(j["worker"], 0) + j["counts"].get("annotated", 0)
            final = counts(store, key)
            final["job"] = store.job(job)["status"]
        finally:
            for w in workers:
                w.send_signal(signal.SIGTERM)
            for w in workers:
                try:
                    w.wait(60)
                except subprocess.TimeoutExpired:
                    w.kill()
                    w.wait(10)
    store.close()
    if not keep:
        drop(server, schema)
    ok = (final["items"] == final["annotations"] == final["annotated_items"] == final["placed"]
          == final["placed_items"] == n_items and final["twice"] == 0 and final["queue"] == 0
          and final["job"] == "done")
    return {"workers": n_workers, "items": n_items, "build_s": build_s, "seconds": elapsed, "first_s": first,
            "rate": n_items / elapsed, "loaded_rate": n_items / (elapsed - first) if first else None,
            "helpers": by_worker, "counts": final, "ok": ok}


def drop(server: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument("--keep", action="store_true", help="keep the schemas the runs made")
    args = parser.parse_args()
    texts = load_texts()
    print(f"{args.items:,} items, {PER_DAY:,} a day, batch {BATCH}; server {args.server}; load "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    built = backlog(args.server, texts, args.items)
    print(f"backlog: {'built in ' + format(built, '.0f') + ' s' if built else 'reused'} (schema {BASE_SCHEMA}; "
          f"each run copies it into a fresh store)", flush=True)
    results = []
    for n in args.workers:
        r = run(args.server, texts, args.items, n, args.keep)
        results.append(r)
        c = r["counts"]
        print(f"{n} worker(s): {r['rate']:.1f} items/s ({r['seconds']:.1f} s; {r['loaded_rate'] or 0:.1f} items/s "
              f"after the first annotation, at {r['first_s'] or 0:.1f} s; store copied in {r['build_s']:.1f} s) — "
              f"items {c['items']}, annotated "
              f"{c['annotated_items']} ({c['annotations']} annotations, {c['twice']} items twice), placed "
              f"{c['placed_items']} ({c['placed']} rows), queue left {c['queue']}, job {c['job']}: "
              f"{'OK' if r['ok'] else 'MISMATCH'}; helpers annotated {sum(r['helpers'].values())} "
              f"({len(r['helpers'])} worker(s)); load {os.getloadavg()[0]:.1f}", flush=True)
    if not args.keep:
        drop(args.server, BASE_SCHEMA)
    base = results[0]["rate"]
    print("speed-up: " + ", ".join(f"{r['workers']} → ×{r['rate'] / base:.2f}" for r in results))
    if not all(r["ok"] for r in results):
        raise SystemExit("counts do not match: something was doubled or lost")


# --- the read half (issue 18.6, second part): the read paths on a large store, PostgreSQL against SQLite ----------
READ_DOC = """The read paths (review queue, search, dashboard, daily briefing) on one large store held twice: an SQLite file
and a PostgreSQL schema (`bench_read`) with the same rows, each asked as a reader gets it.

    python bench/scale.py --read --items 2000000 --keep-dir DIR   # the figures in the README
    python bench/scale.py --read --items 100000                                        # the builder's own measure
    python bench/scale.py --read                     # the issue's 5,000,000 (about 1.5 h and 31 GB on this machine)

The store: real baomoi headlines and leads (bench/trends.py `load_baomoi`, the ten topics, every distinct text; a
text comes back with a numbered title and URL once all are used) spread evenly over the 365 local days up to
yesterday (07:00-23:00), one in twenty a collaborator's observation of one of the four units, each placed in one
of twenty streams of its text's topic with a tone drawn from a seeded generator (bench/trends.py `build_store`
places them so, without the models), then the detectors (service/trends.py `detect`) over the last 14 days on each
store, so the review queue holds the flags they raise. Both stores start as `pulse init` makes them (schema,
units, sources, watch terms), with the province admin `tinh` and the staff `donvi` of cb-giaoduc.

How the two stores are filled (fast, and the same rows): the rows are made once per distinct text with the
product's own functions (`item_hash` through `content_hash`'s canonical form, `fold` for items_fts,
`index_forms` for items_search: a text's forms are computed once and a copy's numbered title appended; the first
5,000 items and every 997th after are checked against the functions called whole, and the build stops on any
difference) and written with ids given, in transactions of 50,000 items: on SQLite by the store's own INSERT
statements (`add_items`' items / items_fts / items_search rows, `place_items`' stream_items rows) through
executemany, the triggers firing as they do for `add_items` (processing queue, dashboard counts) and the queue then
emptied as processing does (`mark_processed`); on PostgreSQL by COPY into the same tables, the generated tsvector
columns computed by PostgreSQL on the way in, with the secondary indexes (GIN and B-tree) and unique constraints
dropped first and made again from their own definitions after the load (one sort each instead of millions of
inserts), the row triggers held off (`session_replication_role = replica`, as `pulse migrate-store` does) and the
dashboard counts then filled by the statement of the migration that made them; identity counters moved past the
ids and the tables ANALYZEd (what autovacuum does after a load). Streams' sizes and times are written through
`update_streams`. After the build the two stores are compared: every table's row count, the dashboard counts, the
flags (kind, topic, score) and the items' checksums over a sample. (The detectors' `spread` flags can name another of
two streams with the same counts on each engine: which one is met first is the order rows come back in. Items carry
no annotations, hence no keyphrases, as bench/trends.py's stores.)

Measured 2026-12-01 (figures in README «Several machines»): 100,000 items built in 266 s (both stores side by side,
load 6-7: SQLite rows 117 s, PostgreSQL rows 152 s + indexes 25 s, detection 10 s / 20 s; 0.23 / 0.40 GB);
2,000,000 items in 1,989 s (load 4-10: SQLite rows 1,209 s, detection 159 s; PostgreSQL rows 1,414 s, indexes 5 min,
ANALYZE 10 s, detection 158 s; 4.69 / 7.69 GB). The 5,000,000 of the issue was not built: by those rates about
1.5 h and ~31 GB. At 2,000,000, two runs after one warm-up each (load 4-6), median ms SQLite / PostgreSQL: review
queue, province 568-1,417 / 917-958, a unit's staff 3,417-5,152 / 5,924-7,768; dashboard, province 628-664 / 429-605,
a unit's staff 533-788 / 625-1,030; search for a word 4,082-4,745 / 2,184-2,428, a phrase 4,497-5,088 /
2,592-3,764, a prefix 3,437-3,900 / 2,576-2,750, without diacritics 3,425-5,339 / 3,950-4,065; daily briefing
2,222-2,781 / 2,583-3,328 (before the store's fixes of the same day: a unit's queue 6,681 / 16,796, search without
diacritics 3,453 / 6,949).
Not in CI. Stores go under the system's temp folder ($TMPDIR; deleted at the end, the schema dropped, unless --keep-dir)."""
READ_SCHEMA = "bench_read"
READ_DAYS = 365
READ_CHUNK = 50_000
READ_SECRET = "mat-khau-do-dai-du-12"
READ_STAFF_UNIT = "cb-giaoduc"
READ_SENTIMENTS = ["neutral", "neutral", "negative", "positive"]
READ_QUERIES = [("a word", "lương"), ("a phrase", '"bệnh viện"'), ("a prefix", "bóng*"),
                ("folded (no diacritics)", "hoc sinh")]


def _bench_module(name: str):
    """A bench/ script loaded by path (bench/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ReadRows:
    """The rows of the large store, made the same way for both backends: `chunks()` yields, per 50,000 items, the
    rows of items, items_fts, items_search and stream_items, with the items as RawItems for the checks."""

    def __init__(self, n_items: int, last_day):
        import random
        import re
        from datetime import timedelta

        from collectors.items import RawItem
        from nlp.normalize import fold
        from service.search import folded_form, original_form

        self.trends = _bench_module("trends")
        corpus = self.trends.load_baomoi()
        self.texts = []   # (topic, title, body, fold(title), fold(body), forms of title and body, canon title, body)
        spaces = re.compile(r"\s+")
        for topic in self.trends.TOPICS:
            for text in corpus[topic]:
                title, _, body = text.partition("\n")
                cleaned = RawItem(text=body or title, title=title)   # as the store gets it: control characters out
                title, body = cleaned.title, cleaned.text
                self.texts.append((topic, title, body, fold(title), fold(body), original_form(title),
                                   original_form(body), folded_form(title), folded_form(body),
                                   spaces.sub(" ", title.lower()).strip(), spaces.sub(" ", body.lower()).strip()))
        self.n_items, self.last_day = n_items, last_day
        self.first_day = last_day - timedelta(days=READ_DAYS - 1)
        self.rng = random.Random(3)
        self.topic_streams = {t: list(range(1 + 20 * k, 21 + 20 * k)) for k, t in enumerate(self.trends.TOPICS)}

    def streams(self) -> list[str]:
        """The topic of each stream, in the order they are created (ids 1..200)."""
        return [t for t in self.trends.TOPICS for _ in range(20)]

    def chunks(self):
        import hashlib
        from datetime import UTC, datetime, timedelta

        from collectors.items import RawItem

        outlets, units = self.trends.OUTLETS, self.trends.UNITS
        n_texts = len(self.texts)
        per_day = [0] * READ_DAYS
        for n in range(self.n_items):
            per_day[n * READ_DAYS // self.n_items] += 1
        day_start = [0] * READ_DAYS
        for d in range(1, READ_DAYS):
            day_start[d] = day_start[d - 1] + per_day[d - 1]
        midnight = {}
        rng = self.rng
        items, fts, search, placed, raw = [], [], [], [], []
        for n in range(self.n_items):
            d = n * READ_DAYS // self.n_items
            if d not in midnight:
                day = self.first_day + timedelta(days=d)
                midnight[d] = (day.isoformat(), datetime.combine(day, datetime.min.time(), tzinfo=UTC))
            day_iso, start = midnight[d]
            # 07:00-23:00 local (00:00-16:00 UTC) of the item's day, evenly
            when = start + timedelta(seconds=(n - day_start[d]) * 57_600 // per_day[d])
            published = when.isoformat()
            collected = (when + timedelta(minutes=10)).isoformat()
            copy, k = divmod(n, n_texts)
            (topic, title, body, fold_title, fold_body, orig_title, orig_body, folded_title, folded_body,
             canon_title, canon_body) = self.texts[k]
            suffix = f" ({copy})" if copy else ""
            observed = n % 20 == 0   # one item in twenty is a collaborator's report from one of the units
            kind = "observation" if observed else "article"
            unit = units[(n // 20) % len(units)] if observed else None
            source = "ctv" if observed else outlets[n % len(outlets)][0]
            url = f"http://bench.invalid/{n}"
            head = f"{source} {unit}" if observed else source   # content_hash's canonical form, spaces collapsed
            digest = hashlib.sha256(f"{head} {canon_title}{suffix} {canon_body}".encode()).hexdigest()
            item_id = n + 1
            items.append((item_id, url, digest, kind, title + suffix, body, source, None, unit, None, published,
                          day_iso, collected, "{}"))
            fts.append((item_id, f"{fold_title}{suffix}\n{fold_body}"))
            search.append((item_id, orig_title + suffix, orig_body, folded_title + suffix, folded_body))
            sid = rng.choice(self.topic_streams[topic])
            placed.append((item_id, sid, item_id, day_iso, topic, rng.choice(READ_SENTIMENTS), source, unit, kind))
            if n < 5_000 or n % 997 == 0:   # what _check_rows compares with the product's own functions
                raw.append((len(items) - 1, RawItem(text=body, title=title + suffix, url=url, source=source,
                                                    published_at=when, kind=kind, org_unit=unit)))
            if len(items) == READ_CHUNK or n == self.n_items - 1:
                yield items, fts, search, placed, raw
                items, fts, search, placed, raw = [], [], [], [], []


def _check_rows(items, fts, search, raw) -> None:
    """The fast rows against the product's functions called whole (`add_items`' computation): the first 5,000 items
    and every 997th after."""
    from nlp.normalize import fold
    from service.search import index_forms
    from service.store.common import iso, item_hash
    from service.timeutil import local_day

    for k, item in raw:
        row, fts_row, search_row = items[k], fts[k], search[k]
        published = iso(item.published_at)
        want = (item.url, item_hash(item), item.kind, item.title, item.text, item.source, item.author, item.org_unit,
                item.channel, published, local_day(published))
        if (want != row[1:12]
                or fts_row[1] != fold(f"{item.title}\n{item.text}")
                or search_row[1:] != index_forms(item.title, item.text)):
            raise SystemExit(f"the bench's rows differ from the product's for item {row[0]}: {row} / {want}")


ITEM_COLUMNS = ["id", "url", "content_hash", "kind", "title", "text", "source", "author", "org_unit", "channel",
                "published_at", "day", "collected_at", "extra"]
PLACED_COLUMNS = ["item_id", "stream_id", "story_id", "day", "topic", "sentiment", "source", "org_unit", "kind"]


def _prepare(store, rows: ReadRows) -> None:
    """The store as `pulse init` leaves it, its 200 streams and the two readers."""
    from service.auth import hash_password

    init(store)
    for source in store.sources():
        store.set_source_enabled(source["name"], False)
    first = f"{rows.first_day.isoformat()}T00:00:00+00:00"
    for topic in rows.streams():
        store.create_stream(topic, first)
    hashed = hash_password(READ_SECRET)
    store.add_user("tinh", hashed, "admin", "caobang")
    store.add_user("donvi", hashed, "staff", READ_STAFF_UNIT)


def _load_sqlite(store, rows: ReadRows, log) -> dict:
    """The items through the store's own INSERT statements (add_items', place_items'), 50,000 to a transaction."""
    store.db.execute("PRAGMA cache_size = -1000000")   # this connection only: 1 GB of pages while it writes
    stats = {}
    done, writing = 0, 0.0
    for items, fts, search, placed, raw in rows.chunks():
        _check_rows(items, fts, search, raw)
        t_write = time.monotonic()
        with store.transaction():
            conn = store.db.conn
            conn.executemany(f"INSERT INTO items ({', '.join(ITEM_COLUMNS)}) VALUES ({', '.join('?' * 14)})", items)
            conn.executemany("INSERT INTO items_fts (rowid, folded) VALUES (?, ?)", fts)
            conn.executemany("INSERT INTO items_search (rowid, title, body, title_folded, body_folded)"
                             " VALUES (?, ?, ?, ?, ?)", search)
            conn.executemany("INSERT OR IGNORE INTO stream_items (item_id, stream_id, story_id, day, topic, sentiment,"
                             " source, org_unit, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", placed)
            store.mark_processed([r[0] for r in items])
        writing += time.monotonic() - t_write
        _stream_stats(stats, placed, items)
        done += len(items)
        log(f"sqlite: {done:,} items ({writing:.0f} s writing)")
    return stats


def _stream_stats(stats: dict, placed, items) -> None:
    for p, item in zip(placed, items):
        s = stats.setdefault(p[1], [0, item[10], item[10], item[4]])
        s[0] += 1
        s[2] = item[10]


def _load_postgres(store, rows: ReadRows, log) -> dict:
    """The items by COPY, the secondary indexes made after, the row triggers held off (dashboard counts filled after
    by the migration's own statement)."""
    db = store.db
    db.execute("SET maintenance_work_mem = '1GB'")
    tables = ("items", "items_fts", "items_search", "stream_items")
    constraints = db.execute(
        "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k"
        " JOIN pg_class c ON c.oid = k.conrelid WHERE k.contype = 'u'"
        " AND k.connamespace = CAST(current_schema() AS regnamespace) AND c.relname IN (?, ?, ?, ?)",
        list(tables)).fetchall()
    indexes = db.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN (?, ?, ?, ?)"
        " AND indexname NOT IN (SELECT conname FROM pg_constraint"
        " WHERE connamespace = CAST(current_schema() AS regnamespace))", list(tables)).fetchall()
    with store.transaction():
        for table, name, _ in constraints:
            db.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        for name, _ in indexes:
            db.execute(f"DROP INDEX {name}")
    stats = {}
    done, writing = 0, 0.0
    t0 = time.monotonic()
    for items, fts, search, placed, raw in rows.chunks():
        _check_rows(items, fts, search, raw)
        t_write = time.monotonic()
        with store.transaction():
            db.execute("SET LOCAL session_replication_role = replica")
            db.conn.copy_rows("items", ITEM_COLUMNS, items)
            db.conn.copy_rows("items_fts", ["rowid", "folded"], fts)
            db.conn.copy_rows("items_search", ["rowid", "title", "body", "title_folded", "body_folded"], search)
            db.conn.copy_rows("stream_items", PLACED_COLUMNS, placed)
        writing += time.monotonic() - t_write
        _stream_stats(stats, placed, items)
        done += len(items)
        log(f"postgresql: {done:,} items ({writing:.0f} s writing)")
    log(f"postgresql: rows copied in {time.monotonic() - t0:.0f} s; indexes")
    for table, name, definition in constraints:
        t1 = time.monotonic()
        db.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        log(f"postgresql: {name} in {time.monotonic() - t1:.0f} s")
    for name, definition in indexes:
        t1 = time.monotonic()
        db.execute(definition)
        log(f"postgresql: {name} in {time.monotonic() - t1:.0f} s")
    with store.transaction():
        db.execute("DELETE FROM dash_item_days")
        db.execute("DELETE FROM dash_stream_days")
        # migration 15's own fill of the dashboard counts
        db.execute("INSERT INTO dash_item_days (day, grp, org_unit, n) SELECT day, CASE WHEN kind != 'observation'"
                   " THEN 'press' WHEN channel = 'hoi-nghi' THEN 'dialogues' ELSE 'collaborators' END,"
                   " COALESCE(org_unit, ''), COUNT(*) FROM items GROUP BY 1, 2, 3")
        db.execute("INSERT INTO dash_stream_days (day, topic, sentiment, org_unit, n) SELECT day, topic, sentiment,"
                   " COALESCE(org_unit, ''), COUNT(*) FROM stream_items GROUP BY 1, 2, 3, 4")
        from service.store import copy as store_copy

        store_copy.reset_identities(store)
    t1 = time.monotonic()
    db.execute("ANALYZE")
    log(f"postgresql: ANALYZE in {time.monotonic() - t1:.0f} s")
    return stats


def read_build(kind: str, location: str, n_items: int, last_day, log) -> dict:
    """Build one of the two stores (kind "sqlite" or "postgresql") at `location`; returns the seconds of each
    step."""
    from datetime import timedelta

    from service import trends

    t0 = time.monotonic()
    rows = ReadRows(n_items, last_day)
    store = Store(location)
    _prepare(store, rows)
    t1 = time.monotonic()
    stats = (_load_sqlite if kind == "sqlite" else _load_postgres)(store, rows, log)
    store.update_streams([(topic, label, first, last, {}, size, {topic: size}, {}, sid)
                          for sid, (size, first, last, label), topic
                          in ((sid, stats[sid], rows.streams()[sid - 1]) for sid in sorted(stats))])
    t2 = time.monotonic()
    log(f"{kind}: loaded in {t2 - t1:.0f} s; detecting")
    flags = trends.detect(store, last_day - timedelta(days=13), last_day)
    t3 = time.monotonic()
    log(f"{kind}: {len(flags)} flags in {t3 - t2:.0f} s")
    store.close()
    return {"texts_s": t1 - t0, "load_s": t2 - t1, "detect_s": t3 - t2, "flags": len(flags)}


def store_facts(store) -> dict:
    """What the comparison of the two stores reads: row counts of the tables, the dashboard counts, the flags, a
    checksum of the items over a sample of ids."""
    import hashlib

    from service.store import copy as store_copy

    q = store.db.execute
    facts = {"counts": {t: store_copy.count(store, t) for t in store_copy.tables(store)
                        if t not in ("jobs", "sessions", "users", "briefings", "logs")}}
    facts["dash_items"] = sorted(tuple(r) for r in q("SELECT day, grp, org_unit, n FROM dash_item_days WHERE n != 0"))
    facts["dash_streams"] = sorted(tuple(r) for r in q(
        "SELECT day, topic, sentiment, org_unit, n FROM dash_stream_days WHERE n != 0"))
    facts["flags"] = sorted((r[0], r[1] or "", round(r[2], 6)) for r in q("SELECT kind, topic, score FROM flags"))
    digest = hashlib.sha256()
    sample = list(range(1, store.count_items() + 1, 4999))
    for i in range(0, len(sample), 500):
        chunk = sample[i:i + 500]
        for row in q("SELECT i.id, i.url, i.content_hash, i.title, i.text, i.day, f.folded, s.title, s.body,"
                     " s.title_folded, s.body_folded, si.stream_id, si.sentiment FROM items i"
                     " JOIN items_fts f ON f.rowid = i.id JOIN items_search s ON s.rowid = i.id"
                     f" JOIN stream_items si ON si.item_id = i.id WHERE i.id IN ({','.join('?' * len(chunk))})"
                     " ORDER BY i.id", chunk):
            digest.update(repr(tuple(row)).encode())
    facts["sample"] = digest.hexdigest()
    return facts


def store_size(store, location: str) -> int:
    if store.backend == "sqlite":
        return sum(p.stat().st_size for p in Path(location).parent.glob(Path(location).name + "*"))
    return store.db.execute("SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c"
                            " WHERE c.relnamespace = CAST(current_schema() AS regnamespace)"
                            " AND c.relkind IN ('r', 'm')").fetchone()[0]


def _timed(call, runs: int) -> tuple[float, float]:
    import statistics

    call()   # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        call()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), max(times)


def read_paths(location, last_day, runs: int, workdir: Path) -> list[tuple[str, float, float, float]]:
    """(path, median ms, slowest ms, load average) of every read path on one store."""
    from urllib.parse import quote

    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.config import Settings, db_location

    settings = Settings(db_path=db_location(location), data_dir=workdir / "data")
    app = create_app(settings, start_worker=False)
    out = []

    def page(client, url: str, marker: str):
        def call():
            response = client.get(url)
            assert response.status_code == 200 and marker in response.text, (url, response.status_code)
        return call

    for username, who in (("tinh", "province admin"), ("donvi", f"staff of {READ_STAFF_UNIT}")):
        with TestClient(app) as client:
            login = client.get("/login").text
            token = login.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            client.post("/login", data={"username": username, "password": READ_SECRET, "csrf_token": token})
            checks = [(f"review queue /queue, {who}", "/queue", "<"),
                      (f"dashboard /, {who}", "/", "Số tin mỗi ngày theo kênh")]
            if username == "tinh":
                checks += [(f"search {what} {q}, {who}", f"/items?q={quote(q)}", "<") for what, q in READ_QUERIES]
            for label, url, marker in checks:
                median, slowest = _timed(page(client, url, marker), runs)
                out.append((label, median, slowest, os.getloadavg()[0]))
    from service import jobs
    from service.store import Store as _Store

    store = _Store(location)
    params = {"day": last_day.isoformat(), "period": "day", "formats": ["html", "docx"],
              "out": str(workdir / "briefings")}
    median, slowest = _timed(lambda: jobs.run_kind(store, settings, "brief", params, "bench", reraise=True), runs)
    out.append((f"daily briefing of {last_day.isoformat()} (pulse brief: data, HTML, DOCX)", median, slowest,
                os.getloadavg()[0]))
    store.close()
    return out


def read_main(argv: list[str]) -> None:
    import json
    import shutil
    from datetime import timedelta

    from service.timeutil import today_local

    parser = argparse.ArgumentParser(description=READ_DOC.split("\n")[0])
    parser.add_argument("--read", action="store_true")
    parser.add_argument("--items", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument("--keep-dir", type=Path, help="build the stores here and keep them (the SQLite file and a"
                        " note; the PostgreSQL schema bench_read stays), or reuse them when they are there")
    parser.add_argument("--schema", default=READ_SCHEMA, help="the PostgreSQL schema of the store (default %(default)s)")
    parser.add_argument("--build-only", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.pop("PULSE_DB_SERVER", None)
    url = with_schema(args.server, args.schema)

    def log(text: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {text}", flush=True)

    if args.build_only:   # one of the two builds, in a process of its own (run by the parent below)
        location = str(args.dir / "read.db") if args.build_only == "sqlite" else url
        last = today_local() - timedelta(days=1)
        result = read_build(args.build_only, location, args.items, last, log)
        (args.dir / f"built-{args.build_only}.json").write_text(json.dumps({**result, "last_day": last.isoformat(),
                                                                            "items": args.items}))
        return
    workdir = args.keep_dir or Path(tempfile.mkdtemp(prefix="pulse-read-"))   # the system's temp folder ($TMPDIR)
    workdir.mkdir(parents=True, exist_ok=True)
    sqlite_path = workdir / "read.db"
    notes = {k: workdir / f"built-{k}.json" for k in ("sqlite", "postgresql")}
    try:
        if not all(p.exists() for p in notes.values()):
            for p in [sqlite_path, *workdir.glob("read.db-*"), *notes.values()]:
                p.unlink(missing_ok=True)
            drop(args.server, args.schema)
            log(f"building {args.items:,} items twice, in parallel (load {os.getloadavg()[0]:.1f})")
            t0 = time.monotonic()
            children = [subprocess.Popen(["nice", "-n", "5", sys.executable, __file__, "--read", "--items",
                                          str(args.items), "--server", args.server, "--schema", args.schema,
                                          "--build-only", kind,
                                          "--dir", str(workdir)]) for kind in ("sqlite", "postgresql")]
            if any(c.wait() for c in children):
                raise SystemExit("a build failed (see above)")
            log(f"both stores built in {time.monotonic() - t0:.0f} s")
        else:   # kept stores: brought to this Pulse's schema first, as `pulse init` does after an upgrade
            for location in (str(sqlite_path), url):
                store = Store(location)
                store.migrate()
                store.close()
        built = {k: json.loads(p.read_text()) for k, p in notes.items()}
        if any(b["items"] != args.items for b in built.values()):
            raise SystemExit(f"the stores in {workdir} hold {built['sqlite']['items']:,} items, not {args.items:,}")
        from datetime import date

        last = date.fromisoformat(built["sqlite"]["last_day"])
        stores = {"sqlite": str(sqlite_path), "postgresql": url}
        facts, sizes, rows = {}, {}, {}
        for kind, location in stores.items():
            store = Store(location)
            facts[kind] = store_facts(store)
            sizes[kind] = store_size(store, location)
            rows[kind] = store.count_items()
            store.close()
        same = {k: facts["sqlite"][k] == facts["postgresql"][k] for k in facts["sqlite"]}
        log(f"the two stores compared: {same}")
        if not all(same.values()):
            for k in facts["sqlite"]:
                if not same[k]:
                    a, b = facts["sqlite"][k], facts["postgresql"][k]
                    if isinstance(a, list):   # only what differs
                        a, b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
                    print(f"  {k}, SQLite only: {str(a)[:600]}\n  {k}, PostgreSQL only: {str(b)[:600]}")
        for kind in stores:
            b = built[kind]
            print(f"{kind}: {rows[kind]:,} items, {facts[kind]['counts'].get('flags', 0)} flags, "
                  f"{sizes[kind] / 1e9:.2f} GB; built: texts {b['texts_s']:.0f} s, load {b['load_s']:.0f} s, "
                  f"detection {b['detect_s']:.0f} s")
        results = {}
        for kind, location in stores.items():
            log(f"measuring {kind} (load {os.getloadavg()[0]:.1f})")
            results[kind] = read_paths(location, last, args.runs, workdir / f"run-{kind}")
        print(f"\n{args.items:,} items over {READ_DAYS} days up to {last}; {args.runs} runs after one warm-up; "
              f"ms; load average at each measure (2 cores)")
        print(f"{'path':<62} {'SQLite med':>10} {'max':>6} {'PG med':>8} {'max':>6} {'PG/SQLite':>9}  load")
        for (label, a_med, a_max, a_load), (_, b_med, b_max, b_load) in zip(results["sqlite"], results["postgresql"]):
            print(f"{label:<62} {a_med:>10.0f} {a_max:>6.0f} {b_med:>8.0f} {b_max:>6.0f} {b_med / a_med:>9.2f}  "
                  f"{a_load:.1f} / {b_load:.1f}")
        print(f"store sizes: SQLite {sizes['sqlite'] / 1e9:.2f} GB ({sqlite_path.stat().st_size:,} bytes, file), "
              f"PostgreSQL {sizes['postgresql'] / 1e9:.2f} GB (pg_total_relation_size over schema {args.schema})")
    finally:
        if not args.keep_dir:
            shutil.rmtree(workdir, ignore_errors=True)
            drop(args.server, args.schema)


if __name__ == "__main__":
    if "--read" in sys.argv[1:]:
        read_main(sys.argv[1:])
    else:
        main()
