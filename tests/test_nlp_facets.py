"""Facets of a story (issue 17.1): legal documents normalised to one key, organisations, the province's places."""
from __future__ import annotations

import csv
import gzip
import json

import pytest

from conftest import FIXTURES, SHARED, require_data
from nlp.facets import DOCUMENT, ORGANISATION, PLACE, count_facets, find_organisations, find_places, parse_documents

DATASETS = SHARED / "datasets"


@pytest.mark.parametrize("text, key", [
    ("Theo Nghị định 74/2024/NĐ-CP, lương tối thiểu vùng tăng 6%", "Nghị định 74/2024/NĐ-CP"),
    ("Nghị định số 38/2022/NĐ-CP quy định mức lương tối thiểu", "Nghị định 38/2022/NĐ-CP"),
    ("Nghị định 38/2022/ND-CP (gõ không dấu)", "Nghị định 38/2022/NĐ-CP"),
    ("theo NĐ 38/2022 của Chính phủ", "Nghị định 38/2022/NĐ-CP"),
    ("căn cứ 38/2022/NĐ-CP", "Nghị định 38/2022/NĐ-CP"),
    ("Nghị định số 38/2022/NĐ - CP", "Nghị định 38/2022/NĐ-CP"),
    ("Thông tư 10/2020/TT-BLĐTBXH hướng dẫn Bộ luật", "Thông tư 10/2020/TT-BLĐTBXH"),
    ("Thông tư số 03/2023/TT-BLĐTBXH ngày 10/5", "Thông tư 03/2023/TT-BLĐTBXH"),
    ("Thông tư số 3/2023/TT-BLĐTBXH", "Thông tư 03/2023/TT-BLĐTBXH"),
    ("Quyết định 933/QĐ-TLĐ của Tổng Liên đoàn", "Quyết định 933/QĐ-TLĐ"),
    ("Quyết định số 1111/QĐ-TTg của Thủ tướng", "Quyết định 1111/QĐ-TTg"),
    ("Quyết định số 135/ QĐ – BXD bổ nhiệm", "Quyết định 135/QĐ-BXD"),
    ("Nghị quyết 1657/NQ-UBTVQH15 về sắp xếp đơn vị hành chính", "Nghị quyết 1657/NQ-UBTVQH15"),
    ("Nghị quyết số 68-NQ/TW của Bộ Chính trị", "Nghị quyết 68-NQ/TW"),
    ("Chỉ thị 16/CT-TTg về giãn cách", "Chỉ thị 16/CT-TTg"),
    ("Chỉ thị số 328-CT/QUTW của Quân ủy", "Chỉ thị 328-CT/QUTW"),
    ("Luật BHXH 2024 có hiệu lực từ 1/7/2025", "Luật Bảo hiểm xã hội 2024"),
    ("Luật Bảo hiểm xã hội năm 2024", "Luật Bảo hiểm xã hội 2024"),
    ("Luật số 41/2024/QH15", "Luật Bảo hiểm xã hội 2024"),
    ("Bộ luật Lao động 2019 quy định", "Bộ luật Lao động 2019"),
    ("Bộ luật Lao động năm 2019", "Bộ luật Lao động 2019"),
    ("Bộ luật Lao động số 45/2019/QH14", "Bộ luật Lao động 2019"),
    ("Luật Công đoàn 2024 mở rộng đối tượng", "Luật Công đoàn 2024"),
    ("dự thảo Bộ luật Lao động (sửa đổi)", "Bộ luật Lao động (sửa đổi)"),
    ("Luật An toàn, vệ sinh lao động 2015", "Luật An toàn, vệ sinh lao động 2015"),
    ("Công văn số 5678/BHXH-CSXH", "Công văn 5678/BHXH-CSXH"),
    ("Quyết định 2027/2023/QĐ-UBND của UBND tỉnh", "Quyết định 2027/2023/QĐ-UBND"),
])
def test_a_document_number_written_in_any_real_form_gets_one_key(text, key):
    assert [f.key for f in parse_documents(text)] == [key]


@pytest.mark.parametrize("text", [
    "Luật sư Nguyễn Văn A cho biết năm 2020", "lương tăng 7,2% từ 1/7/2024", "theo luật, người lao động được",
    "tỷ số 2/1 nghiêng về đội khách", "Nghị định mới về lương", "ngày 15/3/2017 bộ trưởng ký",
])
def test_words_and_numbers_that_are_not_documents_give_none(text):
    assert parse_documents(text) == []


def test_one_document_cited_twice_in_two_spellings_is_one_facet():
    text = "Nghị định số 74/2024/NĐ-CP ... theo NĐ 74/2024, mức lương tối thiểu vùng I là 4.960.000 đồng"
    assert [f.key for f in parse_documents(text)] == ["Nghị định 74/2024/NĐ-CP"]


@pytest.mark.parametrize("text, keys", [
    ("Công nhân Công ty TNHH Pouyuen Việt Nam ngừng việc", ["Công ty Pouyuen Việt Nam"]),
    ("Công ty CP May Sông Hồng tăng lương", ["Công ty May Sông Hồng"]),
    ("Công ty Cổ phần công nghệ Sao Bắc Đẩu", ["Công ty công nghệ Sao Bắc Đẩu"]),
    ("Tập đoàn Vingroup công bố", ["Tập đoàn Vingroup"]),
    ("Tổng công ty Điện lực miền Bắc cắt điện", ["Tổng công ty Điện lực miền Bắc"]),
    ("KCN Đề Thám thu hút đầu tư", ["Khu công nghiệp Đề Thám"]),
    ("Công đoàn Công ty TNHH Samsung Electronics Việt Nam",
     ["Công đoàn Công ty Samsung Electronics Việt Nam", "Công ty Samsung Electronics Việt Nam"]),
    ("LĐLĐ tỉnh Cao Bằng thăm hỏi", ["Liên đoàn Lao động Cao Bằng"]),
    ("Liên đoàn Lao động Cao Bằng tổ chức", ["Liên đoàn Lao động Cao Bằng"]),
    ("LĐLĐ TP.HCM hỗ trợ", ["Liên đoàn Lao động Thành phố Hồ Chí Minh"]),
    ("Tổng LĐLĐ Việt Nam đề xuất", ["Tổng Liên đoàn Lao động Việt Nam"]),
    ("làm việc tại công ty CP Du lịch Phương Đông Việt. Đây là", ["Công ty Du lịch Phương Đông Việt"]),
    ("CBCNV Công ty Thuốc lá Thăng Long 60 năm qua", ["Công ty Thuốc lá Thăng Long"]),
    ("Công ty Samsung không trả lương", ["Công ty Samsung"]),
    ("nhân viên công ty\nLý Nhã Kỳ chia sẻ", []),
    ("công ty Nhật tuyển người", []),
])
def test_organisations_are_named_without_their_legal_form(text, keys):
    assert [f.key for f in find_organisations(text)] == keys


def test_places_are_the_provinces_and_regions_or_employers_are_not_places():
    keys = [f.key for f in find_places("Bắc Bộ rét đậm; huyện Trùng Khánh, tỉnh Cao Bằng; Gang thép Cao Bằng")]
    assert "Cao Bằng" in keys and "Trùng Khánh" in keys
    assert "Bắc Bộ" not in keys and "Gang thép Cao Bằng" not in keys


def test_counts_list_each_facet_with_the_items_carrying_it():
    out = count_facets({1: "Công ty TNHH Pouyuen Việt Nam nợ lương theo Nghị định 74/2024/NĐ-CP",
                        2: "Công nhân Công ty Pouyuen Việt Nam ở Cao Bằng", 3: "Bóng đá"})
    assert out[ORGANISATION][0] == {"key": "Công ty Pouyuen Việt Nam", "count": 2, "item_ids": [1, 2],
                                    "detail": "công ty"}
    assert [d["key"] for d in out[DOCUMENT]] == ["Nghị định 74/2024/NĐ-CP"]
    assert [(p["key"], p["item_ids"]) for p in out[PLACE]] == [("Cao Bằng", [2])]


def _shared_texts(ids: set[str]) -> dict[str, str]:
    """The labelled items' texts, read from ../shared the way the sample was drawn (see fixtures/facets/SOURCE.md)."""
    crawl = require_data(DATASETS / "news-rss-crawl-2026", "news-rss-crawl-2026")
    baomoi = require_data(DATASETS / "baomoi-tc201805" / "corpus.jsonl.gz", "baomoi-tc201805")
    texts: dict[str, str] = {}
    for prefix, name in (("rss", "rss_feed_articles_backup.csv"), ("24h", "24h_html_categories_vi.csv")):
        with open(crawl / name, encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if f"{prefix}:{row['id']}" in ids:
                    texts[f"{prefix}:{row['id']}"] = (row["title"] + ". " + (row["content.text"] or ""))[:600]
    with gzip.open(baomoi, "rt", encoding="utf-8") as fh:
        for line in fh:
            if '"file"' in line:
                row = json.loads(line)
                key = f"baomoi:{row['label']}/{row['file']}"
                if key in ids:
                    texts[key] = row["text"]
    return texts


def test_precision_per_facet_kind_on_labelled_real_news_is_at_least_0_85():
    labels = json.loads((FIXTURES / "facets" / "labels.json").read_text(encoding="utf-8"))
    assert len(labels) >= 60
    texts = _shared_texts({r["id"] for r in labels})
    assert len(texts) == len(labels), "every labelled item is found in ../shared"
    from nlp.gazetteer import load_gazetteer
    from nlp.facets import extract_facets

    gazetteer = load_gazetteer()
    right = {DOCUMENT: 0, ORGANISATION: 0, PLACE: 0}
    found = dict.fromkeys(right, 0)
    for row in labels:
        for facet in {(f.kind, f.key) for f in extract_facets(texts[row["id"]], gazetteer)}:
            found[facet[0]] += 1
            right[facet[0]] += facet[1] in row[facet[0]]
    precision = {k: right[k] / found[k] for k in found}
    print("facet precision", {k: f"{right[k]}/{found[k]} = {precision[k]:.3f}" for k in found})
    assert all(found[k] >= 20 for k in found), found
    assert all(p >= 0.85 for p in precision.values()), precision
