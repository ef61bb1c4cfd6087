"""Relevance of items to the board (nlp/relevance.py) and the province's gazetteer (nlp/gazetteer.py), on real
headlines (tests/fixtures/relevance/headlines.tsv, see its SOURCE.md)."""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from nlp.gazetteer import default_gazetteer_path, load_gazetteer, trie_regex
from nlp.relevance import score

HEADLINES = Path(__file__).parent / "fixtures" / "relevance" / "headlines.tsv"
FACTORY_REPORT = ("Công nhân Công ty TNHH may mặc ở khu công nghiệp Đề Thám, phường Thục Phán, tỉnh Cao Bằng phản ánh "
                  "công ty nợ lương ba tháng, chưa đóng bảo hiểm xã hội cho người lao động.")


def headlines() -> dict[str, dict]:
    with open(HEADLINES, encoding="utf-8", newline="") as fh:
        return {row["key"]: row for row in csv.DictReader(fh, delimiter="\t")}


def names(text: str, **kw) -> list[str]:
    return [p.name for p in load_gazetteer().find(text, **kw)]


# --- gazetteer ---------------------------------------------------------------------------------------------------------
def test_shipped_gazetteer_holds_the_province_wards_and_communes_after_2025():
    g = load_gazetteer()
    assert g.province == "Cao Bằng"
    by_kind: dict[str, int] = {}
    for p in g.places:
        by_kind[p.kind] = by_kind.get(p.kind, 0) + 1
    # 3 wards + 53 communes (Resolution 1657/NQ-UBTVQH15); a commune that was also a district counts once
    assert by_kind["ward"] == 3 and by_kind["commune"] == 53
    assert default_gazetteer_path().is_file()


@pytest.mark.parametrize("text, expected", [
    ("Cao Bằng thiệt hại gần 5 tỷ đồng do mưa lũ", ["Cao Bằng"]),
    ("MƯA LŨ Ở CAO BẰNG", ["Cao Bằng"]),
    ("Mưa lớn ở xã Hoà An, tỉnh Cao Bằng", ["Cao Bằng", "Hòa An"]),   # old tone placement «Hoà» is the same name
    ("Lũ quét ở Bảo Lạc làm sập ba nhà", ["Bảo Lạc"]),
    ("Du khách đổ về thác Bản Giốc", ["thác Bản Giốc"]),
    ("Công nhân xã Độc Lập (Quảng Hòa) được hỗ trợ", ["Quảng Hòa", "Độc Lập"]),
])
def test_gazetteer_finds_places_of_the_province(text, expected):
    assert names(text) == expected


@pytest.mark.parametrize("text", [
    "Hai cây cao bằng nhau",                   # «cao bằng» is a common phrase in lower case
    "Mua vé đi Cao Bang gia re",               # without diacritics it is not the name (diacritics-exact)
    "Cao Bằngxyz không phải một địa danh",     # word-bounded
    "Kỷ niệm ngày Độc Lập 2/9",                # ambiguous name without «xã/phường/huyện»
    "Công nhân xã Độc Lập, Hưng Yên nhận quà", # ambiguous name with «xã» but the province not named
    "Mưa lớn ở Trùng Khánh (Trung Quốc)",      # Chongqing
    "Anh hùng Kim Đồng và tuổi thơ",           # a hero's name
])
def test_gazetteer_ignores_common_words_and_names_of_elsewhere(text):
    assert names(text) == []


def test_ambiguous_names_count_for_a_local_item_after_an_administrative_word():
    assert names("Họp dân ở xã Độc Lập về giá điện") == []
    assert names("Họp dân ở xã Độc Lập về giá điện", assume_local=True) == ["Độc Lập"]


def test_settings_add_employers_and_industrial_zones():
    g = load_gazetteer().extended(employers=["Công ty Than Nà Lũng"], industrial_zones=["KCN Hòa An Mới"])
    assert [p.kind for p in g.find("Công nhân Công ty Than Nà Lũng nghỉ việc")] == ["employer"]


def test_a_broken_gazetteer_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("communes = [", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_gazetteer(bad)
    with pytest.raises(ValueError, match="does not exist"):
        load_gazetteer(tmp_path / "missing.toml")
    nameless = tmp_path / "nameless.toml"
    nameless.write_text('communes = ["A"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="province"):
        load_gazetteer(nameless)


# --- relevance on real headlines -----------------------------------------------------------------------------------------
def test_ronaldo_strike_at_al_nassr_is_sports_news_with_low_workers_score():
    for key in ("rss-ronaldo-2", "rss-ronaldo-3"):
        rel = score(headlines()[key]["title"], "")
        assert rel.excluded == "sports", key
        assert rel.workers < 0.5 and not rel.relevant
        assert rel.reasons[0] == "tin thể thao"


def test_a_club_not_paying_its_players_stays_sports_with_a_low_to_medium_workers_score():
    rel = score("CLB Thanh Hóa nợ lương cầu thủ ba tháng", "HLV và cầu thủ chưa nhận lương từ đầu mùa V-League.")
    assert rel.excluded == "sports"
    assert 0.2 <= rel.workers < 0.5


@pytest.mark.parametrize("key, kind", [("rss-gold-1", "market"), ("rss-gold-2", "market"), ("rss-iran", "world"),
                                       ("rss-ahau", "celebrity")])
def test_market_world_and_celebrity_news_is_excluded(key, kind):
    rel = score(headlines()[key]["title"], "")
    assert rel.excluded == kind and not rel.relevant


@pytest.mark.parametrize("key", ["rss-pm-wages", "rss-teachers"])
def test_pay_of_workers_and_public_employees_is_relevant(key):
    rel = score(headlines()[key]["title"], "")
    assert rel.workers >= 0.7 and rel.excluded is None and rel.relevant
    assert any(r.startswith("nhắc đến") for r in rel.reasons)


def test_a_flood_in_cao_bang_is_relevant_and_local():
    rel = score(headlines()["baomoi-cb-flood"]["title"], "")
    assert rel.relevant and rel.local >= 0.9
    assert rel.places == ["Cao Bằng"]
    assert "nhắc đến mưa lũ" in rel.reasons


def test_the_provincial_unions_work_is_relevant_and_local():
    rel = score(headlines()["baomoi-cb-union"]["title"], "")
    assert rel.workers >= 0.8 and rel.local >= 0.9 and rel.excluded is None


def test_a_hanoi_place_named_dinh_cong_is_not_a_strike():
    rel = score(headlines()["baomoi-dinh-cong"]["title"], "")
    assert "nhắc đến đình công" not in rel.reasons
    assert not rel.relevant


def test_a_collaborators_report_of_unpaid_wages_at_a_cao_bang_factory_is_about_workers_and_local():
    rel = score("", FACTORY_REPORT, kind="observation", org_unit="cb-thanhpho", topic="quan_he_lao_dong")
    assert rel.workers >= 0.8 and rel.local == 1.0 and rel.excluded is None
    assert "ý kiến cộng tác viên" in rel.reasons
    assert "Thục Phán" in rel.places and "khu công nghiệp Đề Thám" in rel.places
    assert any(r.startswith("địa bàn:") for r in rel.reasons)


def test_any_collaborators_report_is_about_workers_by_default_and_local():
    rel = score("", "Bà con phản ánh đường vào thôn bị hỏng sau mưa.", kind="observation", org_unit="cb-yte")
    assert rel.workers >= 0.8 and rel.local == 1.0


def test_the_provinces_own_outlets_count_as_local():
    title = "Hội nghị tổng kết công tác năm 2025"
    assert score(title, "", source="baocaobang").local == 0.0
    rel = score(title, "", source="baocaobang", local_sources=frozenset({"baocaobang"}))
    assert rel.local == 1.0 and "nguồn địa phương: baocaobang" in rel.reasons


def test_the_topic_model_is_soft_evidence_only():
    title = "Dừng lại là tụt hậu"
    assert score(title, "").workers < score(title, "", topic="viec_lam").workers < 0.5


def test_excluded_kinds_follow_the_settings():
    title = headlines()["rss-gold-1"]["title"]
    assert score(title, "", excluded_kinds=("sports",)).excluded is None
    assert score(title, "", excluded_kinds=("market",)).excluded == "market"


def test_a_labour_subject_keeps_world_news_relevant_but_never_sports():
    assert score("Lao động Việt Nam ở Hàn Quốc được tăng lương, Mỹ siết visa", "").excluded is None
    assert score("Cầu thủ Ronaldo đòi tăng lương ở Al Nassr", "").excluded == "sports"


# --- the phrase matcher -------------------------------------------------------------------------------------------------
_SYLLABLES = ["lương", "nợ", "nợ lương", "công", "đình", "đình công", "công nhân", "nhân", "bảo", "bảo hiểm", "hiểm",
              "x", "cao bằng", "cao"]


@settings(max_examples=300, deadline=None)
@given(phrases=st.lists(st.sampled_from(_SYLLABLES), min_size=1, max_size=8, unique=True),
       words=st.lists(st.sampled_from(_SYLLABLES + ["và", "-", ",", "lương-", "xnợ"]), max_size=12))
def test_the_trie_pattern_finds_what_a_longest_first_alternation_finds(phrases, words):
    text = " ".join(words)
    flat = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
                      + r")(?![\w-])")
    trie = re.compile(rf"(?<![\w-])(?:{trie_regex(sorted(phrases))})(?![\w-])")
    assert trie.findall(text) == flat.findall(text)
