"""Feeds: the real VnExpress snapshots parse cleanly; fetching is conditional; a bad feed costs only its source."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from collectors import collect_source
from collectors.feeds import clean_text, parse_feed
from collectors.health import assess_health
from collectors.http import HttpClient
from collectors.items import SourceConfig
from collectors_support import LOOPBACK, ARTICLES, HTML_FIXTURES, RSS_FIXTURES, LoopbackServer, Recorder, shared_file

SNAPSHOTS = ["vnexpress_tin-moi-nhat_2017-02-18.rss.xml", "vnexpress_tin-moi-nhat_2017-04-19.rss.xml",
             "vnexpress_tin-moi-nhat_2017-07-26.rss.xml", "vnexpress_tin-moi-nhat_2017-08-30.rss.xml",
             "vnexpress_tin-moi-nhat_2017-11-14.rss.xml"]


@pytest.fixture()
def server():
    srv = LoopbackServer()
    yield srv
    srv.close()


def http() -> HttpClient:
    rec = Recorder()
    return HttpClient(allowed_hosts=LOOPBACK, sleep=rec.sleep, clock=rec.clock, min_interval=0.0, retries=0)


@pytest.mark.parametrize("name", SNAPSHOTS)
def test_every_snapshot_parses_with_clean_titles_and_links(name):
    items, errors = parse_feed(shared_file(RSS_FIXTURES / name), "vnexpress")
    assert errors == []
    # the November snapshot has one real placeholder entry (<title/>, "No Description", no link): skipped
    assert len(items) == (24 if name.endswith("11-14.rss.xml") else 25)
    for item in items:
        assert item.title and item.title == item.title.strip() and "\n" not in item.title
        assert re.fullmatch(r"https?://([a-z0-9-]+\.)?vnexpress\.net/\S+\.html", item.url), item.url
        assert "<" not in item.text and "&lt;" not in item.text and "\n" not in item.text
        assert item.published_at is not None and item.published_at.tzinfo is not None
        assert item.published_at.utcoffset().total_seconds() == 0
        assert item.source == "vnexpress" and item.kind == "article"


def test_first_item_of_november_snapshot_exactly():
    items, _ = parse_feed(shared_file(RSS_FIXTURES / SNAPSHOTS[-1]), "vnexpress")
    first = items[0]
    assert first.title == "Con hẻm trăm tuổi ở Sài Gòn nhiều lần lên phim TVB 4"
    assert first.url == ("https://dulich.vnexpress.net/tin-tuc/test-folder/"
                         "con-hem-tram-tuoi-o-sai-gon-nhieu-lan-len-phim-tvb-4-3670446.html")
    assert first.text.startswith("Mang nét cổ kính và kiến trúc độc đáo, Hào Sỹ Phường")
    # Tue, 14 Nov 2017 17:42:01 +0700 → 10:42:01 UTC
    assert first.published_at == datetime(2017, 11, 14, 10, 42, 1, tzinfo=timezone.utc)


def test_entities_and_html_in_descriptions():
    assert clean_text("<p>Lương &amp; thưởng</p>\n  <br/>Tết") == "Lương & thưởng Tết"
    assert clean_text("QU&amp;#7888;C NAM") == "QUỐC NAM"  # escaped twice, as in the 2026 crawl


def test_atom_feed_with_offset():
    atom = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
    <entry><title type="html"> Công nhân &lt;b&gt;nghỉ&lt;/b&gt; Tết </title><link href=" https://nld.com.vn/a-196.htm "/>
    <id>tag:1</id><updated>2026-02-02T16:08:00+07:00</updated><summary>Tóm tắt</summary></entry></feed>"""
    items, errors = parse_feed(atom.encode(), "nld")
    assert errors == [] and len(items) == 1
    assert items[0].title == "Công nhân nghỉ Tết" and items[0].url == "https://nld.com.vn/a-196.htm"
    assert items[0].published_at == datetime(2026, 2, 2, 9, 8, tzinfo=timezone.utc)


def test_not_a_feed_is_an_error_sentence():
    items, errors = parse_feed(b"<html><body>Maintenance</body></html>", "laodong")
    assert items == [] and errors and errors[0].startswith("laodong: ")


def test_304_means_no_new_work(server):
    server.add("/rss/tin-moi-nhat.rss", shared_file(RSS_FIXTURES / SNAPSHOTS[0]), "application/rss+xml")
    source = SourceConfig(name="vnexpress", kind="rss", url=server.url("/rss/tin-moi-nhat.rss"))
    c = http()
    first = collect_source(source, c)
    assert len(first.items) == 25 and first.etag
    second = collect_source(source, c, etag=first.etag)
    assert second.not_modified and second.items == [] and second.ok
    assert second.etag == first.etag


def test_malformed_feed_gives_an_error_only_for_that_source(server):
    good = shared_file(RSS_FIXTURES / SNAPSHOTS[1])
    server.add("/good.rss", good, "application/rss+xml")
    server.add("/broken.rss", b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
               "application/rss+xml")
    sources = [SourceConfig(name="good", kind="rss", url=server.url("/good.rss")),
               SourceConfig(name="broken", kind="rss", url=server.url("/broken.rss"))]
    c = http()
    runs = {"good": [], "broken": []}
    for _ in range(3):
        for source in sources:
            result = collect_source(source, c)
            runs[source.name].append({"ok": result.ok, "found": len(result.items), "new": len(result.items),
                                      "errors": result.errors, "duration": 0.1})
    assert all(r["ok"] and r["found"] == 25 for r in runs["good"])
    assert all(not r["ok"] and r["found"] == 0 for r in runs["broken"])
    assert assess_health(runs["good"], [])[0] is True
    healthy, reason = assess_health(runs["broken"], [])
    assert healthy is False and "last 3 runs failed" in reason and "not a readable RSS" in reason


def test_truncated_feed_keeps_the_items_it_has():
    data = shared_file(RSS_FIXTURES / SNAPSHOTS[2])
    cut = data[: len(data) // 2]
    items, errors = parse_feed(cut, "vnexpress")
    assert 5 <= len(items) < 25
    assert all(i.title for i in items)


def test_full_text_enrichment_fetches_each_article_once(server):
    article = shared_file(HTML_FIXTURES / ARTICLES["tuoitre"])
    server.add("/chien-su-day-gia-hoa.htm", article)
    feed = f"""<rss version="2.0"><channel><title>Tuổi Trẻ</title>
    <item><title>Chiến sự đẩy giá hoa nhập khẩu dịp 8-3 tăng mạnh</title>
      <link>{server.url('/chien-su-day-gia-hoa.htm')}</link><description>Tóm tắt ngắn</description>
      <pubDate>Sat, 07 Mar 2026 08:01:53 +0700</pubDate></item>
    <item><title>Bài đã có</title><link>{server.url('/known.htm')}</link><description>x</description></item>
    </channel></rss>""".encode()
    server.add("/rss/kinh-doanh.rss", feed, "application/rss+xml")
    source = SourceConfig(name="tuoitre", kind="rss", url=server.url("/rss/kinh-doanh.rss"), full_text=True)
    result = collect_source(source, http(), known_urls={server.url("/known.htm")})
    assert result.ok, result.errors
    enriched = result.items[0]
    assert enriched.text.startswith("Xung đột ở khu vực Trung Đông khiến các shop hoa")
    assert enriched.extra["summary"] == "Tóm tắt ngắn"
    assert "/known.htm" not in server.paths_hit()
    assert result.items[1].text == "x"
