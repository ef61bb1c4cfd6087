"""Listing pages: the real category pages give article links; a page source follows them through extraction."""
from __future__ import annotations

import pytest

from collectors import collect_source
from collectors.http import HttpClient
from collectors.items import SourceConfig
from collectors.pages import listing_links
from collectors_support import LOOPBACK, HTML_FIXTURES, LoopbackServer, Recorder, shared_file

LISTINGS = {
    # outlet: (listing file, its URL, an article known to be on it, a non-article link on it)
    "vnexpress": ("vnexpress_list.html", "https://vnexpress.net/kinh-doanh",
                  "https://vnexpress.net/cach-cac-nuoc-doi-pho-cu-soc-nang-luong-tu-trung-dong-5047363.html", None),
    "nld": ("nld_list.html", "https://nld.com.vn/kinh-te.htm",
            "https://nld.com.vn/nhung-sai-sot-ho-kinh-doanh-thuong-gap-khi-thuc-hien-quy-dinh-moi-ve-thue-"
            "196260307071308923.htm", "https://nld.com.vn/nguoi-lao-dong-news.htm"),
    "tuoitre": ("tuoitre_list.html", "https://tuoitre.vn/kinh-doanh.htm",
                "https://tuoitre.vn/chien-su-day-gia-hoa-nhap-khau-dip-8-3-tang-manh-20260307075519174.htm", None),
    "dantri": ("dantri_list.html", "https://dantri.com.vn/kinh-doanh.htm",
               "https://dantri.com.vn/kinh-doanh/gia-vang-giam-van-cao-hon-the-gioi-gan-20-trieu-dongluong-"
               "20260307080054340.htm", None),
    "baochinhphu": ("baochinhphu_list.html", "https://baochinhphu.vn/chinh-sach-moi.htm", None, None),
    "cafef": ("cafef_list.html", "https://cafef.vn/thi-truong-chung-khoan.chn",
              "https://cafef.vn/thoi-diem-nang-hang-can-ke-mbs-diem-ten-30-co-phieu-viet-nam-co-kha-nang-lot-ro-"
              "chi-so-ftse-18826030622484142.chn", None),
}


@pytest.mark.parametrize("outlet", list(LISTINGS))
def test_listing_page_yields_article_links(outlet):
    name, base, known, not_article = LISTINGS[outlet]
    links = listing_links(shared_file(HTML_FIXTURES / name), base)
    assert len(links) >= 10, links
    assert len(links) == len(set(links))
    host = base.split("/")[2]
    assert all(link.split("/")[2] == host and "#" not in link for link in links)
    if known:
        assert known in links
    if not_article:
        assert not_article not in links


def test_configured_selector_narrows_the_links():
    page = shared_file(HTML_FIXTURES / "vnexpress_list.html")
    links = listing_links(page, "https://vnexpress.net/kinh-doanh", {"links": "h3.title-news a[href]"})
    assert 10 <= len(links) <= 50
    assert listing_links(page, "https://vnexpress.net/kinh-doanh", {"links": "div[[broken"}) == []


def test_page_source_collects_articles_through_extraction():
    srv = LoopbackServer()
    try:
        srv.add("/kinh-doanh.htm", shared_file(HTML_FIXTURES / "tuoitre_list.html"))
        article_path = "/chien-su-day-gia-hoa-nhap-khau-dip-8-3-tang-manh-20260307075519174.htm"
        srv.add(article_path, shared_file(HTML_FIXTURES / "tuoitre_article.html"))
        source = SourceConfig(name="tuoitre-kinh-doanh", kind="page", url=srv.url("/kinh-doanh.htm"),
                              selectors={"max_items": "3"})
        rec = Recorder()
        client = HttpClient(allowed_hosts=LOOPBACK, sleep=rec.sleep, clock=rec.clock, min_interval=0, retries=0)
        result = collect_source(source, client)
        fetched = [p for p in srv.paths_hit() if p not in ("/robots.txt", "/kinh-doanh.htm")]
        assert len(fetched) == 3 and fetched[0] == article_path  # page order, capped by max_items
        assert len(result.items) == 1  # the other two links are 404 on this server: errors, not a crash
        assert len(result.errors) == 2 and all("404" in e for e in result.errors)
        item = result.items[0]
        assert item.title == "Chiến sự đẩy giá hoa nhập khẩu dịp 8-3 tăng mạnh"
        assert item.text.startswith("Xung đột ở khu vực Trung Đông")
        assert item.published_at.isoformat() == "2026-03-07T01:01:00+00:00"

        srv.hits.clear()
        again = collect_source(source, client, etag=result.etag)
        assert again.not_modified and srv.paths_hit() == ["/kinh-doanh.htm"]

        srv.hits.clear()
        known = {srv.url(article_path)}
        collect_source(source, client, known_urls=known)
        assert article_path not in srv.paths_hit()
    finally:
        srv.close()


def test_listing_without_links_is_reported():
    srv = LoopbackServer()
    try:
        srv.add("/empty.htm", "<html><body><p>Trang đang bảo trì</p></body></html>".encode())
        rec = Recorder()
        result = collect_source(SourceConfig(name="baocaobang", kind="page", url=srv.url("/empty.htm")),
                                HttpClient(allowed_hosts=LOOPBACK, sleep=rec.sleep, clock=rec.clock, min_interval=0))
        assert result.items == [] and "no article links" in result.errors[0]
    finally:
        srv.close()
