"""Several workers on one PostgreSQL store (issue 18.6): 1, 2 and 4 `pulse worker` processes processing a backlog.

For each worker count, a fresh schema on the PostgreSQL server gets `--items` real items (headlines and leads of
../shared/datasets/baomoi-tc201805, 5,000 a day, as bench/process_speed.py builds them), then that many real
`pulse worker` processes are started (procrastinate workers, exactly as the CLI runs them: service/taskqueue.py),
one `process` job is queued (as the scheduler does) and the clock runs until the queue is empty and no processing
job is open. One worker takes the job and places; the others join it with `annotate` jobs (service/batches.py).

Printed per run: items/s over the whole run (wall clock from the job queued to the last item placed, so each
worker's start and model loading is in it), items/s after the first annotation (the models loaded), and the checks
by counts: items, annotations
of the active model version (none missing, none twice), items placed (once each), the queue left empty.

    python bench/scale.py --items 20000                       # the figures in the README
    python bench/scale.py                                     # 200,000 items (long on 2 cores)
    python bench/scale.py --server postgresql://postgres@127.0.0.1:55432/postgres --workers 1 2

Not in CI. Every schema it makes is dropped at the end (`--keep` keeps them).
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
    store, build_s = build(url, texts, n_items)
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
    parser.add_argument("--server", default=os.environ.get("PULSE_BENCH_POSTGRES",
                                                           "postgresql://postgres@127.0.0.1:55432/postgres"))
    parser.add_argument("--keep", action="store_true", help="keep the schemas the runs made")
    args = parser.parse_args()
    texts = load_texts()
    print(f"{args.items:,} items, {PER_DAY:,} a day, batch {BATCH}; server {args.server}; load "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    results = []
    for n in args.workers:
        r = run(args.server, texts, args.items, n, args.keep)
        results.append(r)
        c = r["counts"]
        print(f"{n} worker(s): {r['rate']:.1f} items/s ({r['seconds']:.1f} s; {r['loaded_rate'] or 0:.1f} items/s "
              f"after the first annotation, at {r['first_s'] or 0:.1f} s; store built in {r['build_s']:.1f} s) — "
              f"items {c['items']}, annotated "
              f"{c['annotated_items']} ({c['annotations']} annotations, {c['twice']} items twice), placed "
              f"{c['placed_items']} ({c['placed']} rows), queue left {c['queue']}, job {c['job']}: "
              f"{'OK' if r['ok'] else 'MISMATCH'}; helpers annotated {sum(r['helpers'].values())} "
              f"({len(r['helpers'])} worker(s)); load {os.getloadavg()[0]:.1f}", flush=True)
    base = results[0]["rate"]
    print("speed-up: " + ", ".join(f"{r['workers']} → ×{r['rate'] / base:.2f}" for r in results))
    if not all(r["ok"] for r in results):
        raise SystemExit("counts do not match: something was doubled or lost")


if __name__ == "__main__":
    main()
