"""The crash acceptance (issue 11): 50 `kill -9`s of real `pulse import` and `pulse process` (plus submission writers)
at random moments, then a re-run; prints what was killed and whether anything was lost, doubled or left unindexed.

Real news items: ../shared/datasets/news-rss-crawl-2026/rss_feed_articles_backup.csv (title + the first 600
characters of the text as the lead, the real URL and time; `source` is the URL's host), split into timeline files
(`--fixture` uses tests/fixtures/timeline instead). The harness is tests/crash_support.py.

    python bench/crash.py                      # 50 kills (the acceptance figure)
    python bench/crash.py --kills 20 --seed 3
    python bench/crash.py --code /tmp/old      # victims run another checkout (e.g. `git archive` of an old commit)
"""
from __future__ import annotations

import sys
from pathlib import Path

# this folder first on sys.path would let a bench script named like a standard module (signal.py) shadow it
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import crash_support  # noqa: E402

NEWS = ROOT.parent / "shared" / "datasets" / "news-rss-crawl-2026" / "rss_feed_articles_backup.csv"
FIXTURE = ROOT / "tests" / "fixtures" / "timeline" / "news-2026-02.jsonl"


def news_lines() -> list[str]:
    if not NEWS.exists():
        sys.exit(f"missing {NEWS} (the real news sample); use --fixture to run on the test fixture")
    csv.field_size_limit(10 ** 8)
    lines = []
    with open(NEWS, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            text = " ".join((row.get("content.text") or "").split())[:600]
            if not (row["title"] or text) or not row["published_at"]:
                continue
            lines.append(json.dumps({"title": row["title"], "text": text, "url": row["url"],
                                     "source": urlsplit(row["url"]).hostname or "", "published_at": row["published_at"],
                                     "kind": "article"}, ensure_ascii=False))
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=50, help="kills of pulse import + pulse process (default 50)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--parts", type=int, default=40, help="timeline files the items are split into")
    ap.add_argument("--batch-size", type=int, default=8, help="pulse process --batch-size (0: the command's default)")
    ap.add_argument("--fixture", action="store_true", help="use the 63-item test fixture instead of the news sample")
    ap.add_argument("--code", type=Path, default=None, help="checkout whose code the killed processes run")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()

    if args.code:
        crash_support.CODE["root"] = args.code.resolve()
    lines = FIXTURE.read_text(encoding="utf-8").splitlines() if args.fixture else news_lines()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="pulse-crash-"))
    files = crash_support.split_timeline(lines, args.parts, work / "files")
    print(f"{len(lines)} items in {len(files)} timeline files; victims run {crash_support.CODE['root']}; "
          f"work in {work}", flush=True)
    report = crash_support.crash_loop(work / "run", files, kills=args.kills, seed=args.seed,
                                      batch_size=args.batch_size or None, log=lambda s: print(s, flush=True))
    expected_articles = len({json.loads(line)["url"] for line in lines})
    final = report.final
    print(f"\nkills: import {report.kills['import']}, process {report.kills['process']} "
          f"({report.process_kills_after_a_commit} after a batch had committed), submit {report.kills['submit']}; "
          f"inside a transaction (write lock held): {report.kills_in_write}; "
          f"ran to the end: {report.finished}")
    print(f"final: {json.dumps(final)}; expected articles {expected_articles}")
    print(f"violations: {len(report.violations)}")
    for v in report.violations[:30]:
        print(f"  {v}")
    ok = (not report.violations and final["articles"] == final["distinct_urls"] == expected_articles
          and final["observations"] == final["submissions"] == final["expected_submissions"]
          and final["items"] == final["annotated"] == final["annotations"] == final["placed"]
          == final["search_rows"] == final["search_rowids"] and final["unannotated"] == 0)
    print(f"{'PASS' if ok else 'FAIL'}: {report.kills['import'] + report.kills['process']} kills of import and "
          f"process in {report.seconds:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
