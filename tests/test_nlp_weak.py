"""nlp.weak: labelling functions vote or abstain, and negative evidence vetoes the labels a lexicon gets wrong."""

import pytest

from nlp.weak import apply_lfs, weak_label


@pytest.mark.parametrize("text, code", [
    # prize money is not wages, a Bitcoin or gold price is not a living cost
    ("Đội tuyển Việt Nam nhận thưởng 5 tỷ đồng sau chức vô địch AFF Cup", "khac"),
    ("Giá Bitcoin lập đỉnh mới, nhà đầu tư tiền ảo hưng phấn", "khac"),
    ("Giá vàng miếng SJC tăng vọt, nhà đầu tư chốt lời", "khac"),
    # the phrases of the new topics: disasters, tax, health
    ("Bão số 3 đổ bộ, hàng nghìn hộ dân phải sơ tán khỏi vùng sạt lở", "thien_tai"),
    ("Từ 1/7 tăng mức giảm trừ gia cảnh thuế thu nhập cá nhân", "chinh_sach_phap_luat"),
    ("Bệnh viện tuyến tỉnh quá tải, bệnh nhân nằm ghép chờ phẫu thuật", "y_te_giao_duc"),
    # the labour topics still come from the lexicon
    ("Giá xăng tăng lần thứ 5 liên tiếp, giá điện sinh hoạt cũng tăng", "nha_o_doi_song"),
    ("Khởi tố nguyên chủ tịch UBND huyện vì nhận hối lộ", "tham_nhung_tieu_cuc"),
])
def test_weak_label_on_boundary_cases(text, code):
    assert weak_label(text) == code


def test_negative_context_vetoes_wage_and_corruption_labels():
    prize = apply_lfs("HLV và cầu thủ được treo thưởng nóng trước trận chung kết")
    assert "tien_luong" in prize.vetoed and prize.winner() != "tien_luong"
    effect = apply_lfs("Ảnh hưởng tiêu cực của mạng xã hội đối với giới trẻ")
    assert "tham_nhung_tieu_cuc" in effect.vetoed and effect.winner() != "tham_nhung_tieu_cuc"


def test_labelling_functions_abstain_without_evidence():
    assert weak_label("Một buổi chiều bình thường") is None
    assert weak_label("") is None


def test_section_votes_only_where_it_decides():
    sport = "Nguyễn Văn Quyết: 'Tôi quá sai khi phản ứng'"
    assert weak_label(sport, "THE_THAO") == "khac"
    assert weak_label(sport, None) is None
