"""Fetching stays outside: source URLs, feed item links and every redirect hop that point to internal addresses are
refused before any request (and at connect time), unless the host is named in the allow-list setting.
Real loopback servers; the guard is on (no allow-list) unless a test says otherwise."""
from __future__ import annotations

import pytest
import requests

from collectors.http import HttpClient
from collectors.items import SourceConfig
from collectors.netguard import BlockedAddress, GuardedAdapter, blocked_in, internal_reason, url_refusal
from collectors_support import LoopbackServer, Recorder, send
from service.config import FetchSettings
from service.pipeline import collect, source_url_problem

SECRET = b"<html><body><h1>Router admin</h1><p>internal secret page " + b"x" * 400 + b"</p></body></html>"

INTERNAL_FORMS = [
    "http://127.0.0.1/", "http://127.1/", "http://2130706433/", "http://0x7f.1/", "http://0x7f000001/",
    "http://017700000001/", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/",
    "http://0.0.0.0/", "http://0/", "http://[::]/", "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/", "http://172.16.5.4/", "http://192.168.1.1/", "http://100.64.0.1/", "http://224.0.0.1/",
    "http://240.0.0.1/", "http://[fe80::1]/", "http://[fc00::1]/", "http://localhost/", "http://LOCALHOST.:8080/",
]


def client(allowed=(), **kw) -> HttpClient:
    rec = Recorder()
    return HttpClient(allowed_hosts=allowed, sleep=rec.sleep, clock=rec.clock, min_interval=0, retries=0, **kw)


@pytest.fixture()
def server():
    srv = LoopbackServer()
    yield srv
    srv.close()


@pytest.mark.parametrize("url", INTERNAL_FORMS)
def test_every_internal_form_is_refused(url):
    assert url_refusal(url) is not None, url


def test_public_addresses_pass_and_allowed_hosts_are_let_through():
    # only the guard's verdict on literal addresses: nothing is resolved by DNS and nothing is fetched
    assert url_refusal("http://93.184.216.34/feed.rss") is None
    assert url_refusal("https://[2606:4700::1111]/") is None
    assert url_refusal("http://127.0.0.1:8080/x", ["127.0.0.1"]) is None
    assert url_refusal("http://2130706433/x", ["127.0.0.1"]) is None  # same address, allowed by the operator
    assert url_refusal("http://10.0.0.1/x", ["127.0.0.1"]) is not None
    assert internal_reason("::ffff:10.0.0.1") == "private"


def test_internal_source_is_not_fetched_at_all(server):
    server.add("/feed.rss", b"<rss/>", "application/rss+xml")
    for host in ("127.0.0.1", "2130706433", "0x7f.1", "127.1", "[::ffff:127.0.0.1]", "localhost", "0.0.0.0"):
        resp = client().get(f"http://{host}:{server.httpd.server_address[1]}/feed.rss")
        assert resp.error and resp.blocked and "internal address" in resp.error, host
    assert server.hits == []  # not even robots.txt


def _feed(items: list[tuple[str, str]]) -> bytes:
    entries = "".join(f"<item><title>{t}</title><link>{link}</link><description>Tóm tắt {t}</description>"
                      f"<pubDate>Tue, 01 Dec 2026 08:00:00 +0700</pubDate></item>" for t, link in items)
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{entries}' \
           f'</channel></rss>'.encode()


def test_feed_links_to_internal_pages_directly_or_through_a_redirect_are_never_fetched(server):
    """The feed's host is allowed by name ('localhost', standing for a public site); its items link to 127.0.0.1
    directly and through a 302 on the allowed host: neither internal page is fetched, the feed's text is kept."""
    port = server.httpd.server_address[1]
    server.add("/secret", SECRET)
    server.add_handler("/go", lambda h: send(h, 302, b"", {"Location": f"http://127.0.0.1:{port}/secret"}))
    server.add("/feed.rss", _feed([("Bài một", f"http://127.0.0.1:{port}/secret"),
                                   ("Bài hai", f"http://localhost:{port}/go")]), "application/rss+xml")
    from collectors import collect_source

    source = SourceConfig(name="ngoai", kind="rss", url=f"http://localhost:{port}/feed.rss", full_text=True)
    result = collect_source(source, client(allowed=["localhost"]))
    assert [i.title for i in result.items] == ["Bài một", "Bài hai"]
    assert all("secret" not in i.text for i in result.items)
    assert "/secret" not in server.paths_hit()
    assert server.paths_hit().count("/go") == 1  # the hop on the allowed host was asked, its target refused
    assert sum("internal address" in e for e in result.errors) == 2


def test_with_the_guard_on_a_whole_collection_stores_nothing_internal(server, store):
    """No allow-list: a loopback feed with loopback links (direct and via 302) is refused; nothing fetched, nothing
    stored, and the run records why."""
    port = server.httpd.server_address[1]
    server.add("/secret", SECRET)
    server.add_handler("/go", lambda h: send(h, 302, b"", {"Location": f"http://127.0.0.1:{port}/secret"}))
    server.add("/feed.rss", _feed([("Bài một", f"http://127.0.0.1:{port}/secret"),
                                   ("Bài hai", f"http://127.0.0.1:{port}/go")]), "application/rss+xml")
    for name, url in {"noi-bo": f"http://127.0.0.1:{port}/feed.rss", "so": f"http://2130706433:{port}/feed.rss",
                      "hex": f"http://0x7f.1:{port}/go", "mapped": f"http://[::ffff:127.0.0.1]:{port}/feed.rss",
                      "metadata": "http://169.254.169.254/latest/meta-data/"}.items():
        store.upsert_source(name, "rss", url, config={"full_text": True})
    outcomes = collect(store, settings=FetchSettings(allowed_hosts=(), min_interval_seconds=0, retries=0))
    assert {o.source for o in outcomes} == {"noi-bo", "so", "hex", "mapped", "metadata"}
    assert all(o.found == 0 and o.errors and "internal address" in o.errors[0] for o in outcomes)
    assert server.hits == []
    assert store.db.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 0
    assert "internal address" in store.runs("noi-bo")[0]["errors"][0]


def test_the_connect_time_check_catches_what_resolution_did_not(server):
    """DNS rebinding: even when the pre-check is passed by, the socket's real peer is checked after connect."""
    server.add("/secret", SECRET)
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", GuardedAdapter())
    with pytest.raises(requests.ConnectionError) as caught:
        session.get(server.url("/secret"), timeout=5)
    assert isinstance(blocked_in(caught.value), BlockedAddress)
    assert server.hits == []
    allowed = requests.Session()
    allowed.mount("http://", GuardedAdapter(["127.0.0.1"]))
    assert allowed.get(server.url("/secret"), timeout=5).status_code == 200


def test_robots_redirect_into_the_inside_is_not_followed(server):
    port = server.httpd.server_address[1]
    server.add_handler("/robots.txt", lambda h: send(h, 301, b"", {"Location": f"http://127.0.0.1:{port}/secret"}))
    server.add("/secret", b"User-agent: *\nAllow: /\n", "text/plain")
    server.add("/page", b"page")
    resp = client(allowed=["localhost"]).get(f"http://localhost:{port}/page")
    assert "/secret" not in server.paths_hit()
    assert resp.error and "robots.txt could not be read" in resp.error and "/page" not in server.paths_hit()


def test_source_forms_refuse_internal_addresses(tmp_path, cli):
    assert source_url_problem("http://2130706433/rss", FetchSettings(allowed_hosts=())) is not None
    assert source_url_problem("http://127.0.0.1:9/rss", FetchSettings(allowed_hosts=("127.0.0.1",))) is None
    assert cli("init").exit_code == 0
    result = cli("--config", str(_no_allow_list(tmp_path)), "sources", "add", "noi-bo", "http://0x7f.1/rss")
    assert result.exit_code == 1 and "internal address" in result.output


def _no_allow_list(tmp_path):
    path = tmp_path / "pulse.toml"
    path.write_text("[fetch]\nallowed_hosts = []\n", encoding="utf-8")
    return path


def test_admin_source_form_refuses_internal_addresses_in_vietnamese(tmp_path):
    from fastapi.testclient import TestClient

    from service.app import create_app
    from web_support import csrf_of, login, make_installation

    inst = make_installation(tmp_path)
    inst.settings.fetch.allowed_hosts = ()
    admin = TestClient(create_app(inst.settings, start_worker=False), follow_redirects=False)
    assert login(admin, "root").status_code == 303
    csrf = csrf_of(admin.get("/admin/sources").text)
    for url in ("http://127.0.0.1:9/rss", "http://0.0.0.0/rss", "http://2130706433/rss",
                "http://[::ffff:127.0.0.1]/rss", "http://169.254.169.254/"):
        page = admin.post("/admin/sources", data={"csrf_token": csrf, "name": "noi-bo", "url": url, "kind": "rss"})
        assert page.status_code == 400, url
        assert "Địa chỉ nguồn trỏ vào mạng nội bộ" in page.text
    assert inst.store.source("noi-bo") is None
    assert admin.post("/admin/sources", data={"csrf_token": csrf, "name": "bao-ngoai",
                                              "url": "http://93.184.216.34/rss",
                                              "kind": "rss"}).status_code == 303


def test_pulse_extract_fetches_through_the_guard_and_its_allow_list(tmp_path, cli, server):
    server.add("/bai.htm", b"<html><head><title>T</title></head><body><article><p>" + "Người lao động. ".encode() * 30
               + b"</p></article></body></html>")
    allowed = cli("extract", server.url("/bai.htm"))  # the suite's PULSE_ALLOWED_HOSTS names 127.0.0.1
    assert allowed.exit_code == 0 and "Người lao động" in allowed.output
    refused = cli("--config", str(_no_allow_list(tmp_path)), "extract", server.url("/bai.htm"))
    assert refused.exit_code != 0 and "internal address" in refused.output
    assert server.paths_hit().count("/bai.htm") == 1
