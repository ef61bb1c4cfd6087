"""The HTTP client over a real loopback server: politeness, limits, retries and decoding."""
from __future__ import annotations

import time

import pytest

from collectors.encoding import decode_bytes
from collectors.http import USER_AGENT, HttpClient, parse_retry_after
from collectors_support import LOOPBACK, LoopbackServer, Recorder, encode_windows_1258, send, slow_handler


@pytest.fixture()
def server():
    srv = LoopbackServer()
    srv.add("/robots.txt", b"User-agent: *\nDisallow: /private/\n", "text/plain")
    yield srv
    srv.close()


def client(recorder: Recorder | None = None, **kw) -> HttpClient:
    recorder = recorder or Recorder()
    kw.setdefault("min_interval", 0.0)
    return HttpClient(allowed_hosts=LOOPBACK, sleep=recorder.sleep, clock=recorder.clock, **kw)


def test_user_agent_names_pulse(server):
    server.add("/page", b"hello")
    resp = client().get(server.url("/page"))
    assert resp.status == 200 and resp.content == b"hello"
    assert "Pulse" in USER_AGENT
    assert server.hits[-1].headers["User-Agent"] == USER_AGENT


def test_etag_304_means_not_modified(server):
    server.add("/feed.rss", b"<rss/>", "application/rss+xml")
    c = client()
    first = c.get(server.url("/feed.rss"))
    etag = first.headers["ETag"]
    second = c.get(server.url("/feed.rss"), etag=etag)
    assert second.status == 304 and second.not_modified and second.error is None
    assert second.content == b""
    assert server.hits[-1].headers["If-None-Match"] == etag


def test_last_modified_304_means_not_modified(server):
    stamp = "Sat, 07 Mar 2026 01:00:00 GMT"
    server.add("/list.htm", b"<html></html>", last_modified=stamp)
    c = client()
    assert c.get(server.url("/list.htm")).headers["Last-Modified"] == stamp
    again = c.get(server.url("/list.htm"), last_modified=stamp)
    assert again.not_modified and server.hits[-1].headers["If-Modified-Since"] == stamp


def test_429_with_retry_after_is_waited_for(server):
    calls = []

    def throttled(h):
        calls.append(1)
        if len(calls) == 1:
            send(h, 429, b"slow down", {"Retry-After": "7"})
        else:
            send(h, 200, b"ok")

    server.add_handler("/busy", throttled)
    rec = Recorder()
    resp = client(rec).get(server.url("/busy"))
    assert resp.status == 200 and resp.content == b"ok"
    assert rec.sleeps == [7.0]
    assert resp.attempts == 2


def test_long_retry_after_skips_the_host_instead_of_sleeping(server):
    server.add_handler("/busy", lambda h: send(h, 429, b"", {"Retry-After": "86400"}))
    server.add("/other", b"other")
    rec = Recorder()
    c = client(rec, retries=3, max_retry_after=60)
    before = time.time()
    resp = c.get(server.url("/busy"))
    assert rec.sleeps == []  # no sleep at all: the source is skipped until the server's time
    assert resp.status == 429 and "429" in resp.error and "skipped until" in resp.error
    assert resp.retry_after_until == pytest.approx(before + 86400, abs=5)
    again = c.get(server.url("/other"))  # the same host is not asked again before then
    assert again.error and "Retry-After" in again.error and "/other" not in server.paths_hit()
    assert again.retry_after_until == resp.retry_after_until


def test_short_retry_after_is_waited_for_up_to_the_threshold(server):
    calls = []
    server.add_handler("/busy", lambda h: (calls.append(1), send(h, 503, b"", {"Retry-After": "30"})))
    rec = Recorder()
    resp = client(rec, retries=2, max_retry_after=60).get(server.url("/busy"))
    assert rec.sleeps == [30.0, 30.0] and len(calls) == 3
    assert resp.retry_after_until is None and "503" in resp.error


def test_5xx_backs_off_exponentially_with_jitter_then_gives_up(server):
    server.add_handler("/down", lambda h: send(h, 503, b"down"))
    rec = Recorder()
    resp = client(rec, retries=3, backoff=1.0, jitter=lambda: 1.0).get(server.url("/down"))
    assert rec.sleeps == [1.0, 2.0, 4.0]
    assert resp.error == f"{server.url('/down')} answered HTTP 503."
    rec2 = Recorder()
    client(rec2, retries=2, backoff=1.0, jitter=lambda: 0.0).get(server.url("/down"))
    assert rec2.sleeps == [0.5, 1.0]  # jitter keeps each wait between half and the whole step


def test_retry_after_as_http_date():
    now = time.time()
    from email.utils import formatdate

    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after("soon") is None


def test_slow_server_times_out(server):
    server.add_handler("/slow", slow_handler(1.5))
    started = time.monotonic()
    resp = client(read_timeout=0.3, retries=0).get(server.url("/slow"))
    assert time.monotonic() - started < 1.4
    assert resp.error and "did not answer in time" in resp.error


def test_timeouts_are_retried(server):
    server.add_handler("/slow", slow_handler(0.6))
    rec = Recorder()
    resp = client(rec, read_timeout=0.2, retries=1, jitter=lambda: 1.0).get(server.url("/slow"))
    assert resp.error and resp.attempts == 2 and rec.sleeps == [1.0]


def test_50_mb_response_is_cut_at_the_cap(server):
    sent = []

    def huge(h):  # 50 MB streamed without Content-Length; nothing held in memory
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Connection", "close")
        h.end_headers()
        chunk = b"x" * (1 << 20)
        for _ in range(50):
            h.wfile.write(chunk)
            sent.append(len(chunk))

    server.add_handler("/huge", huge)
    resp = client(max_bytes=2_000_000).get(server.url("/huge"))
    assert len(resp.content) == 2_000_000
    assert resp.truncated and "2000000-byte limit" in resp.error
    assert sum(sent) < 50 * (1 << 20)  # the client hung up long before the end


def test_declared_oversize_body_is_not_downloaded(server):
    server.add_handler("/big", lambda h: send(h, 200, b"y" * 5000))
    resp = client(max_bytes=1000).get(server.url("/big"))
    assert resp.content == b"" and resp.truncated and "not downloaded" in resp.error


def test_windows_1258_page_comes_out_as_correct_unicode(server):
    text = "Người lao động Việt Nam đề nghị tăng lương tối thiểu vùng; Công đoàn cơ sở ở Cao Bằng ghi nhận."
    page = b"<html><head><title>t</title></head><body><p>" + encode_windows_1258(text) + b"</p></body></html>"
    assert text.encode("utf-8") not in page  # really a legacy byte stream
    server.add("/cp1258-header", page, "text/html; charset=windows-1258")
    server.add("/cp1258-meta", page.replace(b"<head>", b'<head><meta charset="windows-1258">'), "text/html")
    c = client()
    for path in ("/cp1258-header", "/cp1258-meta"):
        resp = c.get(server.url(path))
        assert text in resp.text, path
        assert resp.encoding == "cp1258"


def test_utf8_page_under_a_wrong_latin1_header_is_not_mojibake():
    text, encoding = decode_bytes("Người lao động".encode(), "text/html; charset=ISO-8859-1")
    assert text == "Người lao động" and encoding == "utf-8"


def test_undeclared_legacy_page_is_detected():
    text = "Tiền lương của công nhân trong các khu công nghiệp được điều chỉnh từ tháng Bảy. " * 5
    decoded, _ = decode_bytes(encode_windows_1258(text), None)
    assert "Tiền lương của công nhân" in decoded


def test_robots_disallow_is_obeyed_and_robots_is_cached(server):
    server.add("/private/report.html", b"secret")
    server.add("/public.html", b"fine")
    c = client()
    blocked = c.get(server.url("/private/report.html"))
    assert blocked.error and "robots.txt does not allow" in blocked.error
    assert "/private/report.html" not in server.paths_hit()
    assert c.get(server.url("/public.html")).content == b"fine"
    assert server.paths_hit().count("/robots.txt") == 1


def test_robots_for_pulse_agent(server):
    server.add("/robots.txt", b"User-agent: Pulse\nDisallow: /\n\nUser-agent: *\nAllow: /\n", "text/plain")
    server.add("/x", b"x")
    assert "robots.txt" in client().get(server.url("/x")).error


def test_robots_server_error_means_wait(server):
    server.add_handler("/robots.txt", lambda h: send(h, 500, b""))
    server.add("/x", b"x")
    resp = client(retries=0).get(server.url("/x"))
    assert resp.error and "robots.txt could not be read" in resp.error
    assert "/x" not in server.paths_hit()


def test_per_host_minimum_interval(server):
    server.add("/a", b"a")
    rec = Recorder()
    c = HttpClient(allowed_hosts=LOOPBACK, sleep=rec.sleep, clock=rec.clock, min_interval=2.0)
    c.get(server.url("/a"))  # robots.txt then /a: one wait between them
    c.get(server.url("/a"))
    assert rec.sleeps == [2.0, 2.0]


def test_redirects_followed_and_bounded(server):
    server.add("/target", b"arrived")
    server.add_handler("/moved", lambda h: send(h, 301, b"", {"Location": "/target"}))
    server.add_handler("/loop", lambda h: send(h, 302, b"", {"Location": "/loop"}))
    c = client(max_redirects=3)
    moved = c.get(server.url("/moved"))
    assert moved.content == b"arrived" and moved.final_url == server.url("/target")
    loop = c.get(server.url("/loop"))
    assert loop.error and "redirected more than 3 times" in loop.error
    assert server.paths_hit().count("/loop") == 4


def test_redirect_into_disallowed_path_is_not_followed(server):
    server.add("/private/x", b"secret")
    server.add_handler("/go", lambda h: send(h, 302, b"", {"Location": "/private/x"}))
    resp = client().get(server.url("/go"))
    assert "robots.txt" in resp.error and "/private/x" not in server.paths_hit()


def test_unreachable_host_is_an_error_not_an_exception():
    resp = client(retries=0, connect_timeout=0.5).get("http://127.0.0.1:9/nothing")
    assert resp.error and resp.status == 0
    assert client().get("ftp://example.org/x").error


def test_404_is_an_error_sentence(server):
    resp = client().get(server.url("/missing"))
    assert resp.status == 404 and resp.error.endswith("answered HTTP 404.")


def test_crawl_delay_in_robots_widens_the_interval(server):
    server.add("/robots.txt", b"User-agent: *\nCrawl-delay: 5\n", "text/plain")
    server.add("/a", b"a")
    rec = Recorder()
    c = HttpClient(allowed_hosts=LOOPBACK, sleep=rec.sleep, clock=rec.clock, min_interval=1.0)
    c.get(server.url("/a"))
    c.get(server.url("/a"))
    assert rec.sleeps == [5.0, 5.0]


def test_redirect_to_another_scheme_is_refused(server):
    server.add_handler("/sneaky", lambda h: send(h, 302, b"", {"Location": "file:///etc/passwd"}))
    resp = client().get(server.url("/sneaky"))
    assert resp.error and "not an http(s) address" in resp.error
