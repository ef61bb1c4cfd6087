"""Server time of the dashboard (the home page, issue 16.2) on a large store.

A store of N items over the 90 days up to today (real baomoi texts placed in streams, one in twenty a collaborator's
report of a unit; bench/trends.py's builder), the detectors run over its last 28 days so there are flags, then `/` is
asked through the app in this process (no network: the time is the server's) by the province's admin and by a unit's
staff, five times each after one warm-up; the median and the slowest are printed. Aim: 300 ms.

Run: `python bench/dashboard.py [--items N]` (default 1,000,000). Needs ../shared/datasets.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fastapi.testclient import TestClient  # noqa: E402

from service import trends  # noqa: E402
from service.app import create_app  # noqa: E402
from service.auth import hash_password  # noqa: E402
from service.config import Settings  # noqa: E402
from service.setup import init  # noqa: E402
from service.timeutil import today_local  # noqa: E402


def _bench_trends():
    """bench/trends.py (its store builder), loaded by path: bench/ is not a package."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_trends", ROOT / "bench" / "trends.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build the store here (or reuse it when it is there)")
    args = parser.parse_args()
    replay = _bench_trends()
    if not (replay.DATASETS / "baomoi-tc201805").exists():
        print("../shared/datasets is missing: nothing to measure.")
        return
    replay.START = today_local() - timedelta(days=89)   # the store's 90 days end today
    secret = "mat-khau-do-dai-du-12"
    unit = replay.UNITS[0]
    with tempfile.TemporaryDirectory() as tmp:
        db = args.keep or Path(tmp) / "big.db"
        t0 = time.monotonic()
        if db.exists():
            from service.store import Store

            store = Store(db)
            store.migrate()
        else:
            store = replay.build_store(db, args.items)
            init(store)
            trends.detect(store, today_local() - timedelta(days=27), today_local())
            hashed = hash_password(secret)
            store.add_user("tinh", hashed, "admin", "caobang")
            store.add_user("donvi", hashed, "staff", unit)
        print(f"store: {store.count_items():,} items, {store.count_flags()} flags; built in "
              f"{time.monotonic() - t0:.0f} s")
        app = create_app(Settings(db_path=db), start_worker=False)
        print(f"{'reader':<28} {'median ms':>10} {'slowest ms':>11} {'aim ms':>7}")
        for username, label in (("tinh", "province admin"), ("donvi", f"staff of {unit}")):
            with TestClient(app) as client:
                page = client.get("/login").text
                token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
                client.post("/login", data={"username": username, "password": secret, "csrf_token": token})
                assert "Số tin mỗi ngày theo kênh" in client.get("/").text   # warm-up, and the page is the dashboard
                times = []
                for _ in range(args.runs):
                    t = time.perf_counter()
                    response = client.get("/")
                    times.append((time.perf_counter() - t) * 1000)
                    assert response.status_code == 200
            print(f"{label:<28} {statistics.median(times):>10.0f} {max(times):>11.0f} {300:>7}")
        store.close()


if __name__ == "__main__":
    main()
