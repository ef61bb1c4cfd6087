"""Property tests: random bytes and broken XML/HTML thrown at every parser; no exception escapes a collector."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors import collect_source
from collectors.articles import extract_article, to_utc_iso
from collectors.encoding import decode_bytes
from collectors.feeds import clean_text, parse_feed
from collectors.files import parse_report_date, read_observations
from collectors.health import assess_health
from collectors.http import Response, parse_retry_after
from collectors.items import SourceConfig
from collectors.pages import listing_links
from conftest import require_data
from collectors_support import LOOPBACK, ARTICLES, HTML_FIXTURES, RSS_FIXTURES, SHARED

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _sample(path: Path, limit: int, around: bytes = b"") -> bytes:
    """Up to `limit` bytes of a real document, from its head plus the region around `around` (the body)."""
    if not path.is_file():
        return b""
    data = path.read_bytes()
    start = max(0, data.find(around) - 2000) if around and around in data else 0
    return data[:2000] + data[start:start + limit]


FEED = _sample(RSS_FIXTURES / "vnexpress_tin-moi-nhat_2017-08-30.rss.xml", 8000) or b"<rss><channel></channel></rss>"
PAGE = _sample(HTML_FIXTURES / ARTICLES["vnexpress"], 30000, b"fck_detail") or b"<html><body><p>x</p></body></html>"

VIETNAMESE = st.text(alphabet=st.sampled_from(list("aăâđeêoôơuưy ÀÁẢÃẠẦẤẨẪẬằắẳẵặềếểễệọộợụựỳýỷỹỵ<>/&;\"'=!-[]?#%")),
                     max_size=300)


@st.composite
def broken(draw, doc: bytes):
    """A real document cut, spliced and sprinkled with junk."""
    data = bytearray(doc)
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["cut", "insert", "flip", "delete"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if op == "cut":
            data = data[:i]
        elif op == "insert":
            data[i:i] = draw(st.sampled_from([b"<", b"</item>", b"<![CDATA[", b"&#x", b"\x00", b"\xff\xfe", b"]]>",
                                              b"<rss version='2.0'>", "Ư".encode("utf-16")]))
        elif op == "flip":
            data[i] = draw(st.integers(0, 255))
        else:
            j = draw(st.integers(i, len(data)))
            del data[i:j]
    return bytes(data)


@FAST
@given(st.binary(max_size=2000))
def test_parse_feed_random_bytes(data):
    items, errors = parse_feed(data, "s")
    assert isinstance(items, list) and isinstance(errors, list)


@FAST
@given(broken(FEED))
def test_parse_feed_broken_xml(data):
    items, errors = parse_feed(data, "s")
    assert all(i.title or i.text for i in items)
    assert all(isinstance(e, str) for e in errors)


@FAST
@given(st.one_of(st.binary(max_size=3000), VIETNAMESE))
def test_extract_article_random_input(data):
    got = extract_article(data, url="https://example.org/a")
    assert set(got) == {"title", "text", "author", "published_at", "url"} and isinstance(got["text"], str)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broken(PAGE))
def test_extract_article_broken_html(data):
    got = extract_article(data)
    assert isinstance(got["text"], str)


@FAST
@given(st.one_of(st.binary(max_size=3000), VIETNAMESE), st.sampled_from(["https://nld.com.vn/x.htm", "not a url", ""]))
def test_listing_links_random_input(data, base):
    assert isinstance(listing_links(data, base), list)


@FAST
@given(st.binary(max_size=2000), st.one_of(st.none(), st.text(max_size=60),
                                           st.sampled_from(["text/html; charset=windows-1258", "charset=bogus"])))
def test_decode_never_raises(data, content_type):
    text, encoding = decode_bytes(data, content_type)
    assert isinstance(text, str) and encoding


@FAST
@given(VIETNAMESE)
def test_clean_text_and_dates_never_raise(value):
    assert "\n" not in clean_text(value)
    to_utc_iso(value)
    parse_retry_after(value)
    try:
        parse_report_date(value)
    except ValueError:
        pass


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000), st.sampled_from([".csv", ".xlsx", ".docx", ".jsonl", ".tsv"]))
def test_read_observations_random_files(data, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"r{suffix}"
        path.write_bytes(data)
        result = read_observations(path)
        assert all(isinstance(e, str) for e in result.errors)


@FAST
@given(st.lists(st.fixed_dictionaries({"ok": st.booleans(), "found": st.integers(0, 99), "new": st.integers(0, 99),
                                       "errors": st.lists(st.text(max_size=10), max_size=2),
                                       "duration": st.floats(0, 10)}), max_size=10),
       st.lists(st.integers(0, 10_000), max_size=60), st.integers(-2, 10))
def test_assess_health_total(runs, counts, threshold):
    healthy, reason = assess_health(runs, counts, threshold)
    assert isinstance(healthy, bool) and reason


class RandomClient:
    def __init__(self, body: bytes, status: int):
        self.body, self.status = body, status

    def get(self, url, etag=None, last_modified=None):
        return Response(url=url, status=self.status, content=self.body, headers={"Content-Type": "text/html"})


@FAST
@given(st.one_of(st.binary(max_size=2000), broken(FEED), broken(PAGE[:6000])), st.sampled_from([200, 304]),
       st.sampled_from(["rss", "page"]), st.booleans())
def test_no_exception_escapes_a_collector(body, status, kind, full_text):
    source = SourceConfig(name="s", kind=kind, url="https://nld.com.vn/rss/x.rss", full_text=full_text,
                          selectors={"max_items": "2"})
    result = collect_source(source, RandomClient(body, status))
    assert result.source == "s" and all(isinstance(e, str) for e in result.errors)


def test_shared_fixtures_present_for_the_mutation_seeds():
    require_data(SHARED, "../shared (the mutation tests ran on tiny seeds)")
    assert len(FEED) > 1000 and len(PAGE) > 1000


@pytest.fixture(scope="module")
def robots_server():
    from collectors_support import LoopbackServer

    srv = LoopbackServer()
    srv.add("/x", b"x")
    yield srv
    srv.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=500),
                 st.lists(st.sampled_from(["User-agent: *", "User-agent: Pulse", "Disallow: /", "Disallow: /x",
                                           "Allow: /x", "Crawl-delay: abc", "Crawl-delay: 99999", "Disallow:",
                                           "#", "Sitemap: ::", "\x00"]), max_size=8).map(lambda l: "\n".join(l).encode())))
def test_any_robots_txt_gives_a_response_not_an_exception(robots_server, robots):
    from collectors.http import HttpClient
    from collectors_support import Recorder

    robots_server.add("/robots.txt", robots, "text/plain")
    rec = Recorder()
    http = HttpClient(allowed_hosts=LOOPBACK, sleep=rec.sleep, clock=rec.clock, min_interval=0, retries=0)
    resp = http.get(robots_server.url("/x"))
    assert resp.content == b"x" or (resp.error and "robots.txt" in resp.error)
    assert all(s <= 60 for s in rec.sleeps)
