"""Article extraction on each outlet's real page: the body from its first to its last sentence, no boilerplate."""
from __future__ import annotations

import json

import pytest

from collectors.articles import extract, extract_article
from collectors.http import HttpClient
from collectors_support import LOOPBACK, ARTICLES, HTML_FIXTURES, LoopbackServer, Recorder, reference_lines, shared_file

# Strings that are on each page but not in its article: menus, related-article headlines, captions, app banners.
BOILERPLATE = {
    "vnexpress": ["Trở lại Kinh doanh", "Diễn biến tập kích", "Ảnh: Reuters"],
    "dantri": ["Nội vụ & Xã hội", "Lịch sử Quốc hội Việt Nam", "Giá vàng miếng SJC giảm, người mua lỗ gần 3 triệu"],
    "nld": ["ĐẶT MUA BÁO", "Đăng ký tài khoản", "Hộ kinh doanh phải kê khai tất cả tài khoản nhận tiền",
            "Chuyên gia về thuế đã nêu một số sai sót phổ biến"],
    "tuoitre": ["Cài đặt tài khoản", "Tin đã lưu", "Xuất khẩu ứng phó thế nào với chiến sự Trung Đông?",
                "Xung đột leo thang tại Trung Đông đang đẩy doanh nghiệp", "Đọc tiếp"],
    "baochinhphu": ["Tải ứng dụng", "Chính sách mới có hiệu lực từ tháng 2/2026", "Tổ chức nhân sự",
                    "51 luật được Quốc hội thông qua"],
    "cafef": ["TIN MỚI", "Bảng giá điện tử", "VinaCapital: Bất kỳ nhịp sụt giảm", "Nhịp sống thị trường"],
    "cafef_batdongsan": ["TIN MỚI", "Siêu đô thị 18 tỷ USD", "Ảnh minh hoạ."],
}

METADATA = {
    "vnexpress": ("Cách các nước đối phó cú sốc năng lượng từ Trung Đông",
                  "https://vnexpress.net/cach-cac-nuoc-doi-pho-cu-soc-nang-luong-tu-trung-dong-5047363.html",
                  "2026-03-06T17:05:00+00:00"),
    "dantri": ("Giá vàng giảm, vẫn cao hơn thế giới gần 20 triệu đồng/lượng",
               "https://dantri.com.vn/kinh-doanh/gia-vang-giam-van-cao-hon-the-gioi-gan-20-trieu-dongluong-"
               "20260307080054340.htm", "2026-03-07T01:07:18+00:00"),
    "nld": ("Những sai sót hộ kinh doanh thường gặp khi thực hiện quy định thuế mới",
            "https://nld.com.vn/nhung-sai-sot-ho-kinh-doanh-thuong-gap-khi-thuc-hien-quy-dinh-moi-ve-thue-"
            "196260307071308923.htm", "2026-03-07T01:06:00+00:00"),
    "tuoitre": ("Chiến sự đẩy giá hoa nhập khẩu dịp 8-3 tăng mạnh",
                "https://tuoitre.vn/chien-su-day-gia-hoa-nhap-khau-dip-8-3-tang-manh-20260307075519174.htm",
                "2026-03-07T01:01:00+00:00"),  # JSON-LD datePublished (the meta tag adds :53 s)
    "baochinhphu": ("Chính sách mới có hiệu lực từ tháng 3/2026",
                    "https://baochinhphu.vn/chinh-sach-moi-co-hieu-luc-tu-thang-3-2026-102260228093004191.htm",
                    "2026-03-01T02:51:00+00:00"),
}


def _norm(s: str) -> str:
    return " ".join(s.replace(" ,", ",").replace(" .", ".").split())


@pytest.fixture(scope="module")
def extracted():
    return {outlet: extract_article(shared_file(HTML_FIXTURES / name)) for outlet, name in ARTICLES.items()}


@pytest.mark.parametrize("outlet", list(ARTICLES))
def test_body_runs_from_the_real_first_to_the_real_last_sentence(outlet, extracted):
    text = extracted[outlet]["text"]
    lines = reference_lines(outlet)
    first, last = _norm(lines[0]), _norm(lines[-1])
    assert _norm(text).startswith(first[:120]), text[:200]
    assert _norm(text).endswith(last[-120:]), text[-200:]


@pytest.mark.parametrize("outlet", list(ARTICLES))
def test_every_reference_paragraph_is_kept(outlet, extracted):
    text = _norm(extracted[outlet]["text"])
    missing = [line for line in reference_lines(outlet) if _norm(line)[:60] not in text]
    assert len(missing) <= 1, missing  # at most one (baochinhphu's lead differs by its "(Chinhphu.vn)" tag)


@pytest.mark.parametrize("outlet", list(ARTICLES))
def test_boilerplate_is_left_out(outlet, extracted):
    text = extracted[outlet]["text"]
    for junk in BOILERPLATE[outlet]:
        assert junk not in text, junk


@pytest.mark.parametrize("outlet", list(METADATA))
def test_title_canonical_url_and_publication_time(outlet, extracted):
    title, url, published = METADATA[outlet]
    got = extracted[outlet]
    assert (got["title"], got["url"], got["published_at"]) == (title, url, published)


def test_authors_not_publishers(extracted):
    assert extracted["tuoitre"]["author"] == "NHẬT XUÂN, NGHI VŨ"
    assert extracted["cafef"]["author"] == "Dương Ngọc"
    assert extracted["nld"]["author"] != "NLD.COM.VN"
    assert extracted["dantri"]["author"] == "Tri Túc"


def test_naive_page_time_is_vietnam_time(extracted):
    # cafef writes 2026-03-07T00:01:00 without an offset: 00:01 in Hà Nội is 17:01 UTC the day before
    assert extracted["cafef"]["published_at"] == "2026-03-06T17:01:00+00:00"


def test_page_without_known_container_falls_back():
    paragraphs = "".join(f"<p>Đoạn {i}: công nhân khu công nghiệp phản ánh việc tăng ca kéo dài, "
                         f"tiền lương chậm trả và điều kiện nhà trọ chật chội.</p>" for i in range(8))
    page = f"""<html><head><title>Trang tỉnh</title></head><body><nav><a href="/">Trang chủ</a> <a>Tin tức</a></nav>
    <div class="khung"><h1>Công nhân phản ánh</h1>{paragraphs}</div><footer>Bản quyền UBND tỉnh</footer></body></html>"""
    got = extract_article(page, url="https://caobang.gov.vn/tin/1")
    assert "Đoạn 0: công nhân" in got["text"] and "Đoạn 7" in got["text"]
    assert "Bản quyền" not in got["text"] and "Trang chủ" not in got["text"]
    assert got["url"] == "https://caobang.gov.vn/tin/1"


def test_source_body_selector_wins():
    page = ("<html><body><div class='noi-dung-chinh'>" + "<p>Nội dung bài viết về công đoàn cơ sở. </p>" * 10
            + "</div><div class='detail-content'>" + "<p>Khối khác không phải bài. </p>" * 20 + "</div></body></html>")
    got = extract_article(page, body_selector="div.noi-dung-chinh")
    assert "công đoàn cơ sở" in got["text"] and "Khối khác" not in got["text"]


def test_extract_from_file_and_from_url(tmp_path):
    page = shared_file(HTML_FIXTURES / ARTICLES["nld"])
    saved = tmp_path / "nld.html"
    saved.write_bytes(page)
    from_file = extract(str(saved))
    assert set(from_file) == {"title", "text", "author", "published_at", "url"}
    json.dumps(from_file, ensure_ascii=False)  # the CLI prints it as JSON
    srv = LoopbackServer()
    try:
        srv.add("/bai-viet.htm", page)
        rec = Recorder()
        from_url = extract(srv.url("/bai-viet.htm"), HttpClient(allowed_hosts=LOOPBACK, sleep=rec.sleep, clock=rec.clock, min_interval=0))
    finally:
        srv.close()
    assert from_url == from_file  # the page's canonical URL wins over where it was fetched from
    with pytest.raises(ValueError, match="neither an http"):
        extract(str(tmp_path / "missing.html"))
