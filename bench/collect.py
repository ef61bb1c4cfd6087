"""Collector benchmark: throughput of feed parsing + article extraction, and extraction quality per outlet.

    python bench/collect.py            (from the repository root; reads ../shared/fixtures)

Quality is measured against reference bodies in tests/fixtures/collectors/reference/<outlet>.txt. Each reference was
drafted from the page's own article container (lead/sapo + paragraphs, sub-headings and list items, in-body byline;
captions, related-article boxes, "read more" boxes, ads and scripts removed) and then read against the page by hand
(see tests/fixtures/collectors/SOURCE.txt). Both texts are cut into lower-cased word tokens (\\w+), compared as
multisets:
    recall      = tokens of the reference found in the extraction / tokens of the reference
    boilerplate = tokens of the extraction not in the reference / tokens of the extraction
The baseline column runs trafilatura alone on the whole page, for comparison.
"""
from __future__ import annotations

import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import trafilatura  # noqa: E402

from collectors.articles import extract_article  # noqa: E402
from collectors.feeds import parse_feed  # noqa: E402
from collectors_support import ARTICLES, HTML_FIXTURES, REFERENCE, RSS_FIXTURES  # noqa: E402

RECALL_AIM, BOILERPLATE_AIM = 0.95, 0.05


def tokens(text: str) -> Counter:
    return Counter(re.findall(r"\w+", text.lower()))


def quality(reference: str, extracted: str) -> tuple[float, float]:
    ref, got = tokens(reference), tokens(extracted)
    common = sum((ref & got).values())
    return common / max(1, sum(ref.values())), 1 - common / max(1, sum(got.values()))


def timed(fn, min_seconds: float = 1.0) -> tuple[float, int]:
    """Run fn repeatedly for at least min_seconds; (seconds per run, runs)."""
    runs, started = 0, time.perf_counter()
    while True:
        fn()
        runs += 1
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return elapsed / runs, runs


def loopback_pipeline(feed_bytes: list[bytes], page_list: list[bytes]) -> tuple[int, float]:
    """Feeds and pages served from 127.0.0.1, fetched through HttpClient; (items, seconds)."""
    from collectors.http import HttpClient
    from collectors_support import LoopbackServer

    server = LoopbackServer()
    try:
        server.add("/robots.txt", b"User-agent: *\nDisallow: /private/\n", "text/plain")
        for i, b in enumerate(feed_bytes):
            server.add(f"/feed{i}.rss", b, "application/rss+xml")
        for i, page in enumerate(page_list):
            server.add(f"/article{i}.htm", page)
        client = HttpClient(min_interval=0.0, allowed_hosts=("127.0.0.1",))  # the guard allows our own server
        count, started = 0, time.perf_counter()
        for i in range(len(feed_bytes)):
            items, _ = parse_feed(client.get(server.url(f"/feed{i}.rss")).content, "bench")
            for _item in items:
                resp = client.get(server.url(f"/article{count % len(page_list)}.htm"))
                extract_article(resp.text, url=resp.final_url)
                count += 1
        return count, time.perf_counter() - started
    finally:
        server.close()


def main() -> int:
    feeds = sorted(RSS_FIXTURES.glob("*.rss.xml"))
    pages = {outlet: (HTML_FIXTURES / name).read_bytes() for outlet, name in ARTICLES.items()}
    if not feeds or not all(pages.values()):
        print(f"fixtures missing under {RSS_FIXTURES.parent.parent}", file=sys.stderr)
        return 1
    feed_bytes = [f.read_bytes() for f in feeds]
    n_items = sum(len(parse_feed(b, "bench")[0]) for b in feed_bytes)

    per_feed_pass, _ = timed(lambda: [parse_feed(b, "bench") for b in feed_bytes], 2.0)
    page_list = list(pages.values())
    per_page_pass, _ = timed(lambda: [extract_article(p) for p in page_list], 3.0)
    per_page = per_page_pass / len(page_list)

    # the pipeline: every feed item parsed, then one article page extracted for it (pages cycled)
    def pipeline():
        count = 0
        for b in feed_bytes:
            items, _ = parse_feed(b, "bench")
            for item in items:
                extract_article(page_list[count % len(page_list)], url=item.url)
                count += 1
        return count

    started = time.perf_counter()
    done = pipeline()
    pipeline_seconds = time.perf_counter() - started

    over_http = loopback_pipeline(feed_bytes, page_list)

    print("Throughput (one process; the machine has 2 cores shared with other work)")
    print(f"  feed parse only          {n_items / per_feed_pass:10.0f} items/s   ({len(feeds)} snapshots, {n_items} items)")
    print(f"  article extraction only  {1 / per_page:10.1f} pages/s   ({len(page_list)} pages, "
          f"mean {sum(len(p) for p in page_list) // len(page_list) // 1024} KB, {per_page * 1000:.0f} ms/page)")
    print(f"  feed parse + extraction  {done / pipeline_seconds:10.1f} items/s   ({done} items in {pipeline_seconds:.1f} s)")
    print(f"  same, over loopback HTTP {over_http[0] / over_http[1]:10.1f} items/s   "
          f"(HttpClient with robots.txt, ETags, no pacing; {over_http[0]} items in {over_http[1]:.1f} s)")
    print()
    header = f"{'outlet':18} {'ref words':>9} {'recall':>7} {'boilerplate':>11}   {'baseline recall':>15} {'boilerplate':>11}  aim"
    print("Extraction quality against the hand-checked reference bodies")
    print(header)
    print("-" * len(header))
    worst_recall, worst_boiler = 1.0, 0.0
    for outlet, page in pages.items():
        reference = (REFERENCE / f"{outlet}.txt").read_text(encoding="utf-8")
        recall, boiler = quality(reference, extract_article(page)["text"])
        base_text = trafilatura.extract(page.decode("utf-8", "replace")) or ""
        b_recall, b_boiler = quality(reference, base_text)
        worst_recall, worst_boiler = min(worst_recall, recall), max(worst_boiler, boiler)
        met = "met" if recall >= RECALL_AIM and boiler <= BOILERPLATE_AIM else "MISSED"
        print(f"{outlet:18} {sum(tokens(reference).values()):9d} {recall:7.3f} {boiler:10.1%}   "
              f"{b_recall:15.3f} {b_boiler:10.1%}  {met}")
    print("-" * len(header))
    print(f"worst: recall {worst_recall:.3f} (aim >= {RECALL_AIM}), boilerplate {worst_boiler:.1%} "
          f"(aim <= {BOILERPLATE_AIM:.0%}); baseline = trafilatura.extract on the whole page, default settings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
