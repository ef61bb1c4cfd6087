"""No server can stall collection: a wall-clock deadline per fetch, a time budget per host, Retry-After beyond a
threshold skips the host, a timeout is retried once, hosts are fetched at the same time, robots.txt is cached across
cycles, and feeds are decoded with the HTTP charset and NFC-normalised before feedparser. Real loopback servers;
the deadlines are short through the settings so the suite stays quick."""
from __future__ import annotations

import threading
import time
import unicodedata
from datetime import datetime, timezone

import pytest

from collectors.feeds import parse_feed
from collectors.http import HttpClient, user_agent
from collectors_support import LOOPBACK, LoopbackServer, Recorder, encode_windows_1258, send, slow_handler
from service.config import FetchSettings
from service.pipeline import collect, http_client

VIETNAMESE_TITLES = ["Người lao động đề nghị tăng lương tối thiểu vùng", "Công đoàn cơ sở hỗ trợ công nhân nghỉ việc",
                     "Tiền lương tháng mười ba của giáo viên được chi trả",
                     "Bảo hiểm xã hội một lần: người lao động băn khoăn"]


def _feed(titles: list[str], base: str, declaration: str = '<?xml version="1.0"?>') -> str:
    entries = "".join(f"<item><title>{t}</title><link>{base}/bai-{n}.html</link><description>Mô tả: {t}"
                      f"</description><pubDate>Tue, 01 Dec 2026 08:0{n}:00 +0700</pubDate></item>"
                      for n, t in enumerate(titles))
    return f'{declaration}<rss version="2.0"><channel><title>Kênh</title>{entries}</channel></rss>'


def drip(stop: threading.Event, interval: float = 2.0):
    """Answer 200 at once, then send the body one byte every `interval` seconds."""
    def handle(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        while not stop.is_set():
            try:
                h.wfile.write(b"<")
                h.wfile.flush()
            except OSError:
                return
            stop.wait(interval)
    return handle


def hang(stop: threading.Event):
    """Accept the request and never answer."""
    def handle(h):
        stop.wait(600)
    return handle


@pytest.fixture()
def stop():
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture()
def servers():
    made: list[LoopbackServer] = []

    def make() -> LoopbackServer:
        made.append(LoopbackServer())
        return made[-1]

    yield make
    for srv in made:
        srv.close()


def test_a_drip_a_retry_after_and_a_hanging_server_cannot_stall_a_cycle_of_20_feeds(servers, store, stop):
    healthy = []
    for n in range(20):
        srv = servers()
        titles = [f"Tin {n}-{k}: {VIETNAMESE_TITLES[k % 4]}" for k in range(3)]
        if n == 0:  # windows-1258 bytes; the charset is only in the HTTP header, the document declares none
            srv.add("/feed.rss", encode_windows_1258(_feed(titles, srv.base)),
                    "application/rss+xml; charset=windows-1258")
        elif n == 1:  # UTF-8 with decomposed accents (NFD), as some CMSes write it
            srv.add("/feed.rss", unicodedata.normalize("NFD", _feed(titles, srv.base)).encode(), "application/xml")
        else:
            srv.add("/feed.rss", _feed(titles, srv.base, '<?xml version="1.0" encoding="utf-8"?>').encode(),
                    "application/rss+xml")
        healthy.append((srv, titles))
        store.upsert_source(f"feed-{n:02d}", "rss", srv.url("/feed.rss"))
    dripping, busy, hanging = servers(), servers(), servers()
    dripping.add_handler("/feed.rss", drip(stop))
    busy.add_handler("/robots.txt", lambda h: send(h, 404))
    busy.add_handler("/feed.rss", lambda h: send(h, 503, b"busy", {"Retry-After": "3600"}))
    hanging.add_handler("/robots.txt", hang(stop))
    hanging.add_handler("/feed.rss", hang(stop))
    for name, srv in (("drip", dripping), ("busy", busy), ("hang", hanging)):
        store.upsert_source(name, "rss", srv.url("/feed.rss"))

    settings = FetchSettings(allowed_hosts=LOOPBACK, contact="stall-test@example.org", deadline_seconds=3.0,
                             connect_timeout=1.0, read_timeout=2.5, host_budget_seconds=8.0,
                             min_interval_seconds=0.0, retries=1, workers=6)
    started = time.monotonic()
    outcomes = {o.source: o for o in collect(store, settings=settings)}
    elapsed = time.monotonic() - started
    print(f"first cycle of 23 sources: {elapsed:.1f} s")
    assert elapsed < 120
    assert elapsed < 30  # measured ~6 s: the drip is cut at its 3 s deadline, the hang after one retry
    for n in range(20):
        assert outcomes[f"feed-{n:02d}"].new == 3 and not outcomes[f"feed-{n:02d}"].errors, n
    assert outcomes["drip"].errors and "deadline" in outcomes["drip"].errors[0]
    assert outcomes["hang"].errors and outcomes["hang"].found == 0
    assert outcomes["busy"].retry_after is not None
    assert (outcomes["busy"].retry_after - datetime.now(timezone.utc)).total_seconds() == pytest.approx(3600, abs=60)
    assert "Retry-After" in outcomes["busy"].errors[0]

    titles = {row["title"] for row in store.db.query("SELECT title FROM items")}
    assert len(titles) == 60
    for srv, expected in healthy[:2]:
        for title in expected:
            assert title in titles  # the exact NFC string: no mojibake, no decomposed accents
    assert all(unicodedata.is_normalized("NFC", t) for t in titles)
    assert healthy[0][0].hits[-1].headers["User-Agent"] == user_agent("stall-test@example.org")

    # the next cycle: robots.txt comes from the long-lived client's cache, the busy host is not asked again
    busy_hits = len(busy.hits)
    again = {o.source: o for o in collect(store, settings=settings)}
    assert all(srv.paths_hit().count("/robots.txt") == 1 for srv, _ in healthy)
    assert len(busy.hits) == busy_hits
    assert abs((again["busy"].retry_after - outcomes["busy"].retry_after).total_seconds()) < 1
    assert sum(o.new for o in again.values()) == 0
    assert http_client(settings) is http_client(settings)

    # the wait is kept in the store too: a new process (a new client) does not ask the busy host either
    fresh = HttpClient(allowed_hosts=LOOPBACK, min_interval=0, total_timeout=3.0, read_timeout=2.5)
    third = {o.source: o for o in collect(store, source="busy", client=fresh, settings=settings)}
    assert len(busy.hits) == busy_hits and "skipped until" in third["busy"].errors[0]
    assert abs((third["busy"].retry_after - outcomes["busy"].retry_after).total_seconds()) < 1


def test_a_dripping_body_is_cut_at_the_wall_clock_deadline(servers, stop):
    srv = servers()
    srv.add_handler("/slow.rss", drip(stop, interval=0.2))
    rec = Recorder()
    c = HttpClient(allowed_hosts=LOOPBACK, sleep=rec.sleep, clock=rec.clock, min_interval=0, total_timeout=1.0,
                   read_timeout=5.0, retries=3)
    started = time.monotonic()
    resp = c.get(srv.url("/slow.rss"))
    assert time.monotonic() - started < 2.5
    assert resp.error and "deadline" in resp.error and resp.attempts == 1  # a deadline overrun is not retried


def test_a_timeout_is_retried_at_most_once(servers):
    srv = servers()
    srv.add_handler("/slow", slow_handler(1.0))
    rec = Recorder()
    c = HttpClient(allowed_hosts=LOOPBACK, sleep=rec.sleep, clock=rec.clock, min_interval=0, read_timeout=0.2,
                   retries=5, jitter=lambda: 1.0)
    resp = c.get(srv.url("/slow"))
    assert resp.timed_out and resp.attempts == 2 and rec.sleeps == [1.0]


def test_a_host_gets_no_more_than_its_time_budget_per_cycle(servers):
    srv = servers()
    srv.add_handler("/slow", slow_handler(3.0))
    srv.add("/quick", b"quick")
    c = HttpClient(allowed_hosts=LOOPBACK, min_interval=0, read_timeout=10.0, total_timeout=30.0, retries=0,
                   host_budget=1.0, respect_robots=False)
    started = time.monotonic()
    first = c.get(srv.url("/slow"))  # the deadline shrinks to what the budget allows: cut after ~1 s, not 3
    assert first.error and "deadline" in first.error and time.monotonic() - started < 2.5
    hits = len(srv.hits)
    second = c.get(srv.url("/quick"))
    assert second.blocked and "time budget" in second.error and len(srv.hits) == hits
    c.start_cycle()
    assert c.get(srv.url("/quick")).content == b"quick"


def test_feed_charset_from_the_header_then_nfc_before_feedparser():
    titles = VIETNAMESE_TITLES
    legacy = encode_windows_1258(_feed(titles, "http://x"))
    assert "Người".encode() not in legacy
    items, errors = parse_feed(legacy, "s", "text/xml; charset=windows-1258")
    assert not errors and [i.title for i in items] == titles
    # a wrong declaration inside the document loses to the HTTP header
    lying = encode_windows_1258(_feed(titles, "http://x", '<?xml version="1.0" encoding="utf-8"?>'))
    assert [i.title for i in parse_feed(lying, "s", "application/rss+xml; charset=windows-1258")[0]] == titles
    # no charset anywhere: Pulse's own detector still finds windows-1258
    assert [i.title for i in parse_feed(legacy, "s", None)[0]] == titles
    decomposed = unicodedata.normalize("NFD", _feed(titles, "http://x")).encode()
    assert [i.title for i in parse_feed(decomposed, "s", "application/xml")[0]] == titles


def test_user_agent_names_the_configured_contact():
    assert "contact: ban-tuyen-giao@caobang.example" in user_agent("ban-tuyen-giao@caobang.example")
    assert "Pulse" in user_agent(None) and "contact:" in user_agent("")
