"""nlp.taxonomy: the board's taxonomy file and its high-precision seed labels."""

import re

import pytest

from nlp.taxonomy import OTHER, load_taxonomy, seed_label

EXPECTED = {"tien_luong", "bao_hiem", "viec_lam", "dieu_kien_lao_dong", "quan_he_lao_dong", "nha_o_doi_song",
            "chinh_sach_phap_luat", "hoat_dong_cong_doan", "tham_nhung_tieu_cuc", "y_te_giao_duc", "thien_tai",
            "xa_hoi_khac", "khac"}


def test_taxonomy_has_the_board_topics():
    taxonomy = load_taxonomy()
    assert set(taxonomy.codes) == EXPECTED
    assert taxonomy.other == OTHER
    for code, topic in taxonomy.topics.items():
        assert re.fullmatch(r"[a-z_]+", code)
        assert topic.name and topic.name != code
        if code != OTHER:
            assert len(topic.strong) + len(topic.phrases) >= 10, code


@pytest.mark.parametrize("text, code", [
    # leads of real news (baomoi-tc201805)
    ("Đàm phán tiền lương: Công đoàn hạ mức đề xuất tăng lương tối thiểu xuống 8% Trong Phiên họp thứ 2 Hội đồng "
     "tiền lương quốc gia về lương tối thiểu vùng năm 2018", "tien_luong"),
    ("Đóng BHXH 5 tháng, có được hưởng chế độ BHXH một lần? Tôi đã đóng bảo hiểm xã hội được 5 tháng và nghỉ việc.",
     "bao_hiem"),
    ("Việt Nam đang có 1,1 triệu người thất nghiệp ở những vùng nào? Theo thông tin từ Tổng cục Thống kê", "viec_lam"),
    ("Xử lý vi phạm an toàn, vệ sinh lao động: Chế tài phải đủ mạnh Không tổ chức huấn luyện an toàn, vệ sinh lao "
     "động; không trang bị phương tiện bảo hộ cho người lao động", "dieu_kien_lao_dong"),
    ("Giá xăng có thể tăng lần thứ 5 liên tiếp vào ngày mai, giá điện cũng tăng", "nha_o_doi_song"),
    ("Đổi thẻ đoàn viên Công đoàn: Chủ tịch Tổng LĐLĐVN ký ban hành kế hoạch đổi thẻ cho đoàn viên công đoàn",
     "hoat_dong_cong_doan"),
])
def test_seed_label_on_real_leads(text, code):
    assert seed_label(text) == code


@pytest.mark.parametrize("text", [
    "Messi ghi hai bàn giúp Inter Miami thắng trận mở màn mùa giải",  # sport: no seed phrase at all
    "Công nhân",                                                      # one weak phrase is not enough
    "",
])
def test_seed_label_abstains_when_unclear(text):
    assert seed_label(text) is None
