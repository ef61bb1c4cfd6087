"""Print a random sample of the cause statements nlp/causes.py finds in real news, for a person to judge by reading.

The texts are the RSS crawl of ../shared/datasets/news-rss-crawl-2026 (title + ". " + content, first 1,500
characters). Each line: the item, the cue, and the sentence with the clause taken as the cause between << >>.
A line is right when that clause states a cause of something the sentence says (not an agent «do X tổ chức», a
purpose «vì lợi ích», an effect «đó là lý do …»). Run: `python bench/causes_sample.py [--seed 41] [--n 40]`.
"""
from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlp.causes import cause_statements  # noqa: E402

CRAWL = ROOT.parent / "shared" / "datasets" / "news-rss-crawl-2026" / "rss_feed_articles_backup.csv"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=41)
    parser.add_argument("--n", type=int, default=40)
    args = parser.parse_args()
    if not CRAWL.exists():
        sys.exit(f"bench/causes_sample.py needs {CRAWL}.")
    csv.field_size_limit(10 ** 8)
    with open(CRAWL, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    texts = {f"rss:{r['id']}": f"{r['title']}. {r['content.text']}"[:1500] for r in rows}
    found = cause_statements(texts)
    print(f"{len(texts)} texts, {len(found)} statements in {len({s.item_id for s in found})} texts")
    random.seed(args.seed)
    for n, s in enumerate(random.sample(found, min(args.n, len(found)))):
        before, clause, after = s.parts()
        print(f"{n:2d} {s.item_id} [{s.cue}] {before}<<{clause}>>{after}")


if __name__ == "__main__":
    main()
