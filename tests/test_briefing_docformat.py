"""Briefings and reports as union documents (QĐ 933/QĐ-TLĐ, Decree 30/2020): A4 and its margins, Times New Roman,
the letterhead under its parent body, «Số: …/BC-…», the motto, place and date, «Nơi nhận», the signature block and
page numbers; Vietnamese throughout (no code, no English word, no decimal point). Read back with python-docx."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import docx
import pytest
from docx.shared import Cm

from collectors.items import RawItem
from replay_support import BACKGROUND, DAY0, Replay
from service import briefing, trends
from service.config import Settings
from service.setup import init
from test_briefing import text_of_docx, text_of_html

DAY = DAY0 + timedelta(days=29)
CODES = ["orientation", "note", "confirm", "escalate", "dismiss", "reopen", "bao-chi", "truc-tiep", "hoi-nghi",
         "mang-xa-hoi", "negative", "positive", "neutral", "article", "observation", "new_stream", "burst",
         "spread", "negativity", "watch_term", "open", "confirmed", "escalated", "dismissed", "tien_luong"]


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    """A month with a wage burst flagged on two days, collaborators' reports by channel, and every review action."""
    from service.store import Store

    store = Store(tmp_path_factory.mktemp("docformat") / "pulse.db")
    store.migrate()
    init(store)
    replay = Replay(store)
    replay.background(28, BACKGROUND)
    for day in (DAY - timedelta(days=1), DAY):
        replay.add(day, "tien_luong", 14, sentiment="negative", stream="wage")
        for unit in ("cb-giaoduc", "cb-yte", "cb-thanhpho"):
            replay.add(day, "tien_luong", 1, kind="observation", org_unit=unit, source="ctv", stream="ctv-luong",
                       text="Công nhân phản ánh bị nợ lương hai tháng.")
    when = datetime(DAY.year, DAY.month, DAY.day, 4, tzinfo=timezone.utc)
    store.add_items([RawItem(text=f"Đoàn viên phản ánh qua kênh {c} về tiền lương.", source="ctv", kind="observation",
                             org_unit="cb-yte", channel=c, published_at=when)
                     for c in ("bao-chi", "truc-tiep", "hoi-nghi", "mang-xa-hoi")])
    trends.detect(store, DAY - timedelta(days=1), DAY)
    for i, f in enumerate(store.flags()):
        for action, status in [("note", None), ("orientation", None),
                               ("confirm", "confirmed") if i % 2 else ("escalate", "escalated")]:
            store.add_flag_event(f["id"], "staff1", action, f"Ghi nhận {len(f['item_ids'])} tin, cần theo dõi.",
                                 new_status=status)
    yield store
    store.close()


def settings(**document) -> Settings:
    s = Settings()
    for key, value in document.items():
        setattr(s.document, key, value)
    return s


def open_docx(data: dict) -> docx.document.Document:
    return docx.Document(io.BytesIO(briefing.to_docx(data)))


def cell_lines(document) -> list[list[str]]:
    return [[p.text for p in cell.paragraphs] for table in document.tables for cell in table._cells]


def test_the_page_is_a4_with_the_decrees_margins_and_times_new_roman(reviewed):
    for data in (briefing.daily(reviewed, DAY), briefing.period_report(reviewed, "cb-yte", "month", DAY)):
        document = open_docx(data)
        for section in document.sections:
            assert abs(section.page_width - Cm(21)) < Cm(0.01) and abs(section.page_height - Cm(29.7)) < Cm(0.01)
            assert abs(section.top_margin - Cm(2)) < Cm(0.01) and abs(section.bottom_margin - Cm(2)) < Cm(0.01)
            assert abs(section.left_margin - Cm(3)) < Cm(0.01)
            assert Cm(1.5) - Cm(0.01) <= section.right_margin <= Cm(2) + Cm(0.01)
            assert "PAGE" in section.footer._element.xml, "the page number is a field in the footer"
        normal = document.styles["Normal"].font
        assert normal.name == "Times New Roman" and normal.size.pt == 13
        runs = [r for p in document.paragraphs for r in p.runs]
        runs += [r for table in document.tables for cell in table._cells for p in cell.paragraphs for r in p.runs]
        assert {r.font.name for r in runs if r.text} == {"Times New Roman"}
        body = [r.font.size.pt for p in document.paragraphs for r in p.runs if r.text and r.font.size]
        assert body and set(body) <= {13, 14}, "the body is in 13-14 pt (recipients' 11-12 pt are in the foot table)"


def test_the_briefing_has_letterhead_number_motto_place_date_recipients_and_signature(reviewed):
    s = settings(report_number_prefix="BC-LĐLĐ", signer_authority="KT. TRƯỞNG BAN", signer_position="Phó Trưởng ban",
                 signer_name="Nguyễn Văn An")
    data = briefing.daily(reviewed, DAY, s)
    document = open_docx(data)
    (left, right), (recipients, signature) = cell_lines(document)[:2], cell_lines(document)[2:4]
    assert left == ["LIÊN ĐOÀN LAO ĐỘNG TỈNH CAO BẰNG", "BAN TUYÊN GIÁO", "Số: \u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0/BC-LĐLĐ"]
    assert re.fullmatch(r"Số:\s+/BC-LĐLĐ", left[2]), "the number is left blank for the clerk"
    assert right[:2] == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    assert re.fullmatch(r"Cao Bằng, ngày \d\d tháng \d\d năm \d{4}", right[2])
    lines = [p.text for p in document.paragraphs]
    assert lines.index("BÁO CÁO NHANH") + 1 == lines.index(f"Tình hình dư luận xã hội ngày {DAY:%d/%m/%Y}")
    assert recipients[0] == "Nơi nhận:"
    assert recipients[1:] == ["- Thường trực Liên đoàn Lao động tỉnh Cao Bằng (để báo cáo);", "- Lưu: VT."]
    first = document.tables[1]._cells[0].paragraphs[0].runs[0]
    assert first.bold and first.italic
    assert signature[0] == "KT. TRƯỞNG BAN" and signature[1] == "PHÓ TRƯỞNG BAN" and signature[-1] == "Nguyễn Văn An"
    # settings left blank: a dotted line for the clerk, never an empty signature or a made-up name
    blank = cell_lines(open_docx(briefing.daily(reviewed, DAY)))
    assert re.fullmatch(r"Số:\s+/BC", blank[0][2])
    assert blank[3][0] == "……………………" and blank[3][-1] == "……………………"


def test_a_units_report_is_issued_by_the_unit_under_its_parent(reviewed):
    unit = briefing.period_report(reviewed, "cb-yte", "month", DAY, settings(recipients=()))
    lines = cell_lines(open_docx(unit))
    assert lines[0][:2] == ["LIÊN ĐOÀN LAO ĐỘNG TỈNH CAO BẰNG", "CÔNG ĐOÀN NGÀNH Y TẾ TỈNH"]
    assert lines[2][1] == "- Liên đoàn Lao động tỉnh Cao Bằng (để báo cáo);"
    province = briefing.period_report(reviewed, "caobang", "year", DAY)
    assert cell_lines(open_docx(province))[0][:2] == ["TỔNG LIÊN ĐOÀN LAO ĐỘNG VIỆT NAM",
                                                      "LIÊN ĐOÀN LAO ĐỘNG TỈNH CAO BẰNG"]
    custom = briefing.period_report(reviewed, "cb-yte", "month", DAY,
                                    settings(recipients=("- Như trên;", "- Lưu: VT, TG.")))
    assert cell_lines(open_docx(custom))[2] == ["Nơi nhận:", "- Như trên;", "- Lưu: VT, TG."]


def test_html_and_printable_page_show_the_same_header_and_foot(reviewed):
    s = settings(report_number_prefix="BC-LĐLĐ", signer_position="Trưởng ban", signer_name="Lê Thị Hoa")
    for data in (briefing.daily(reviewed, DAY, s), briefing.period_report(reviewed, "cb-yte", "month", DAY, s)):
        head = data["document"]
        for page in (briefing.to_html(data, standalone=True), briefing.to_html(data, standalone=False)):
            text = text_of_html(page)
            for part in (head["parent_body"], head["issuing_body"], "/BC-LĐLĐ", *head["motto"], head["place_date"],
                         head["doc_type"], head["summary"], "Nơi nhận:", *head["recipients"], "TRƯỞNG BAN",
                         "Lê Thị Hoa"):
                assert part in text, part
        docx_text = text_of_docx(briefing.to_docx(data))
        assert all(part in docx_text for part in (head["parent_body"], head["summary"], "Lê Thị Hoa"))


def _words(text: str) -> set[str]:
    text = re.sub(r"https?://\S+", " ", text)
    return set(re.findall(r"[\w-]+", text))


def test_every_code_is_said_in_vietnamese_and_numbers_the_vietnamese_way(reviewed):
    daily = briefing.daily(reviewed, DAY)
    month = briefing.period_report(reviewed, "caobang", "month", DAY)
    assert daily["reviewed"] and month["streams"], "the fixture has reviewed streams to describe"
    assert {d["action"] for s in month["streams"] for d in s["decisions"]} >= {"confirm", "escalate", "note",
                                                                               "orientation"}
    for data in (daily, month):
        for text in (text_of_docx(briefing.to_docx(data)), text_of_html(briefing.to_html(data))):
            found = _words(text) & set(CODES)
            assert not found, f"codes shown to the reader: {found}"
            assert "Kênh Báo chí" in text and "Kênh Hội nghị, đối thoại" in text
            for action in ("Xác nhận", "Báo cáo lên cấp trên", "Ghi chú", "Đề xuất định hướng"):
                assert data["type"] == "daily" or action in text
            no_urls = re.sub(r"https?://\S+", " ", text)
            points = [m for m in re.findall(r"\d+(?:\.\d+)+", no_urls)   # «5.000», «17.045» are thousands
                      if any(len(group) != 3 for group in m.split(".")[1:])]
            assert not points, f"decimal points: {points}"
    assert re.search(r"trung bình 7 ngày trước: \d+(,\d)?\)", text_of_docx(briefing.to_docx(daily)))


def test_a_stream_flagged_on_several_days_is_told_once_under_its_headline(reviewed):
    month = briefing.period_report(reviewed, "caobang", "month", DAY)
    keys = [s["stream_id"] or s["flag_id"] for s in month["streams"]]
    assert len(keys) == len(set(keys)), "each stream once"
    wage = [s for s in month["streams"] if s["headline"]]
    assert wage, "press streams are titled by a representative headline"
    text = text_of_docx(briefing.to_docx(month))
    assert wage[0]["headline"] in text


def test_stored_reasons_get_vietnamese_decimals():
    assert briefing.vn_text("Luồng có 169.1 tin, gấp 11.0 lần, tỷ lệ 12.5%") == "Luồng có 169,1 tin, gấp 11 lần, tỷ lệ 12,5%"
    assert briefing.vn_text("Có 5.000 tin ngày 30/11/2026, gấp 2,5 lần.") == "Có 5.000 tin ngày 30/11/2026, gấp 2,5 lần."


def test_a_briefing_stored_before_the_document_parts_still_draws_them(reviewed):
    data = briefing.daily(reviewed, DAY)
    data.pop("document")
    text = text_of_docx(briefing.to_docx(data))
    assert "Nơi nhận:" in text and re.search(r"^Số:\s+/BC$", text, re.M) and "BÁO CÁO NHANH" in text
    assert "Nơi nhận:" in text_of_html(briefing.to_html(data))
