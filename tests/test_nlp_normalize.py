"""nlp.normalize on real Vietnamese: decomposed accents, old tone placement, legacy encodings, chat spellings."""

import unicodedata

import pytest

from nlp.normalize import fix_legacy_encoding, fold, normalize, place_tone_marks


def test_decomposed_accents_become_nfc():
    # an AIVIVN review stored in NFD (431 of its training reviews are)
    decomposed = unicodedata.normalize("NFD", "Lúc tôi đặt hàng là 109k tại sao đến lúc giao lại lấy 125k.")
    assert decomposed != unicodedata.normalize("NFC", decomposed)
    assert normalize(decomposed) == "Lúc tôi đặt hàng là 109k tại sao đến lúc giao lại lấy 125k."


@pytest.mark.parametrize("new_style, old_style", [
    ("nguồn lợi thuỷ sản", "nguồn lợi thủy sản"),            # baomoi
    ("Việt Nam Cộng hoà", "Việt Nam Cộng hòa"),              # baomoi
    ("lợi ích cho sức khoẻ", "lợi ích cho sức khỏe"),         # baomoi
    ("các khoá học ngắn hạn", "các khóa học ngắn hạn"),       # VNTC
])
def test_tone_marks_get_one_placement(new_style, old_style):
    assert normalize(new_style) == normalize(old_style) == old_style


@pytest.mark.parametrize("word", ["hoàng", "quý", "quyết", "người", "giữa", "khuya", "thuở", "nghiêng", "mưa", "của"])
def test_tone_placement_leaves_regular_syllables_alone(word):
    assert place_tone_marks(word) == word


def test_tcvn3_text_is_converted():
    # the national motto as it appears in .VnTime (TCVN3/ABC) documents read as Latin-1
    assert normalize("Céng hßa x· héi chñ nghÜa ViÖt Nam") == "Cộng hòa xã hội chủ nghĩa Việt Nam"
    assert normalize("§éc lËp - Tù do - H¹nh phóc") == "Độc lập - Tự do - Hạnh phúc"


def test_vni_text_is_converted():
    assert normalize("Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam") == "Cộng hòa xã hội chủ nghĩa Việt Nam"
    assert normalize("Ñoäc laäp - Töï do - Haïnh phuùc") == "Độc lập - Tự do - Hạnh phúc"


@pytest.mark.parametrize("text", [
    "Cộng hòa xã hội chủ nghĩa Việt Nam",
    "São Paulo, Zürich, naïve, café",
    "Đội tuyển Việt Nam thắng Thái Lan 2-0 tại Mỹ Đình",
])
def test_unicode_and_foreign_text_is_not_mistaken_for_legacy(text):
    assert fix_legacy_encoding(text) == text


def test_chat_spellings_and_stretched_letters():
    # shapes from AIVIVN reviews and ViHSD comments
    assert normalize("minh chua dung len chua biet dc ntn") == "minh chua dung len chua biet được như thế nào"
    assert normalize("ko dc j đâu, đẹpppp quáaaa!!!!!!") == "không được gì đâu, đẹp quá!!!"
    assert normalize("đc giao hàng nhanh, k có hộp") == "được giao hàng nhanh, không có hộp"


def test_numbers_roman_numerals_and_urls_survive():
    assert normalize("quý III năm 2025, 10k đồng, www.vnexpress.net") == "quý III năm 2025, 10k đồng, www.vnexpress.net"


def test_entities_invisible_and_odd_spaces():
    # an RSS title with an unescaped entity (news-rss-crawl-2026), a zero-width space and a no-break space
    assert normalize("QU&#7888;C NAM\u200b&nbsp; xin\u00a0 chào  \n\n bạn") == "QUỐC NAM xin chào\nbạn"


def test_no_diacritics_text_is_kept():
    assert normalize("Dong goi rat dep giao hang rat nhanh") == "Dong goi rat dep giao hang rat nhanh"


def test_fold_removes_diacritics_for_search():
    assert fold("Lương công nhân ĐÌNH CÔNG") == "luong cong nhan dinh cong"
    assert fold(normalize("Coäng hoøa")) == "cong hoa"


@pytest.mark.parametrize("text", ["", "   ", "\u200b", "😀😡🙏", "这是中文", "x" * 1_000_000])
def test_normalize_never_raises(text):
    assert isinstance(normalize(text), str)
    assert isinstance(fold(text), str)
