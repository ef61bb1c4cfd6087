"""Search on PostgreSQL against SQLite on the same items (issue 18.2): the real crawl of news-rss-crawl-2026 imported
into an SQLite store and into a PostgreSQL schema through the product's path, then queries of the items page asked of
both. Printed per query: how many items each finds, whether the sets are equal, how much of SQLite's first ten
PostgreSQL's first ten share (relevance order), whether the first result is the same, and each engine's milliseconds.

Run: `python bench/search_parity.py --server postgresql://postgres@127.0.0.1:55432/postgres` (a server such as
`.ci/postgres` starts; the schema it makes is dropped at the end). Needs ../shared/datasets.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from crawl_support import write_crawl_timeline  # noqa: E402

from service import pipeline  # noqa: E402
from service.search import parse  # noqa: E402
from service.store import Store  # noqa: E402
from service.store.postgres import with_schema  # noqa: E402

QUERIES = ["lương", "luong", "vàng", "giá", "đình công", "dinh cong", "bóng đá", "tết", "thưởng", "công nhân",
           "cong nhan", "tp.hcm", "hà nội", "ha noi", "covid-19", '"nợ lương"', "lươ*", "vàng -giá",
           '"giá vàng" OR "tỷ giá"', "bóng đá -u23", "(lương | thưởng) tết", "học sinh", "hoc sinh", "tai nạn",
           "tai nan", "xăng", "xang dau", "thời tiết", "mưa", "bão", "cháy", "chay", "bệnh viện", "giáo viên",
           "doanh nghiệp", "thuế"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True, help="a PostgreSQL URL; a schema of its own is made there")
    args = parser.parse_args()
    os.environ.pop("PULSE_DB_SERVER", None)
    schema = f"search_parity_{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        write_crawl_timeline(Path(tmp) / "crawl.jsonl")
        sqlite_store, pg_store = Store(Path(tmp) / "s.db"), Store(with_schema(args.server, schema))
        try:
            for store in (sqlite_store, pg_store):
                store.migrate()
                started = time.perf_counter()
                outcome = pipeline.import_file(store, Path(tmp) / "crawl.jsonl", kind="timeline")
                print(f"{store.backend}: {outcome.new} items imported in {time.perf_counter() - started:.1f} s")
            same_sets = same_first = 0
            overlaps, seconds = [], {"sqlite": 0.0, "postgresql": 0.0}
            for query in QUERIES:
                found = {}
                for store in (sqlite_store, pg_store):
                    started = time.perf_counter()
                    total, rows = store.search(parse(query), limit=5000)
                    spent = time.perf_counter() - started
                    seconds[store.backend] += spent
                    found[store.backend] = (total, [r["id"] for r in rows], spent * 1000)
                (a_total, a, a_ms), (b_total, b, b_ms) = found["sqlite"], found["postgresql"]
                top = min(10, len(a))
                overlap = len(set(a[:top]) & set(b[:top])) / top if top else 1.0
                overlaps.append(overlap)
                same_sets += set(a) == set(b)
                same_first += a[:1] == b[:1]
                print(f"{query!r:26} SQLite {a_total:5}  PostgreSQL {b_total:5}  same items {set(a) == set(b)!s:5}"
                      f"  first ten shared {overlap:4.0%}  same first {a[:1] == b[:1]!s:5}"
                      f"  ms {a_ms:6.1f} / {b_ms:6.1f}")
            print(f"{len(QUERIES)} queries: same items in {same_sets}, same first result in {same_first}, first ten"
                  f" shared {sum(overlaps) / len(overlaps):.0%} on average; seconds SQLite {seconds['sqlite']:.2f},"
                  f" PostgreSQL {seconds['postgresql']:.2f}")
        finally:
            sqlite_store.close()
            pg_store.db.execute(f"DROP SCHEMA {schema} CASCADE")
            pg_store.close()


if __name__ == "__main__":
    main()
