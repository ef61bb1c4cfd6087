"""Collaborator reports from CSV, XLSX and DOCX; timelines from JSONL. Bad rows are reported, the rest imported."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from zoneinfo import ZoneInfo

from collectors_support import encode_windows_1258
from collectors.files import match_columns, parse_report_date, read_observations, read_timeline


def vn(y, m, d, h=0, mi=0):
    """A Vietnam wall-clock time as UTC."""
    return datetime(y, m, d, h, mi, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")).astimezone(timezone.utc)


CSV_VI = """BÁO CÁO TÌNH HÌNH DƯ LUẬN XÃ HỘI THÁNG 3/2026
STT,Ngày,Đơn vị,Kênh,Địa điểm,Tiêu đề,Nội dung
1,05/03/2026,CĐCS Công ty May Cao Bằng,Zalo,Hòa An,Tăng ca,Công nhân phản ánh tăng ca kéo dài trong tháng 3.
2,31/02/2026,CĐCS Xi măng,Facebook,Thành phố,,Ngày không có thật.
3,06/03/2026 14:30,CĐ ngành Giáo dục,Trực tiếp,Trùng Khánh,,Giáo viên hỏi về chế độ phụ cấp thâm niên.
4,07/03/2026,CĐCS Điện lực,,,,
5,hôm qua,CĐCS Điện lực,,,,Mất điện kéo dài làm công nhân nghỉ việc không lương.
"""


def test_csv_with_vietnamese_columns_and_bad_rows(tmp_path):
    path = tmp_path / "bao-cao.csv"
    path.write_text(CSV_VI, encoding="utf-8-sig")
    result = read_observations(path, default_source="ctv-caobang")
    assert [i.extra["row"] for i in result.items] == [3, 5]
    first = result.items[0]
    assert first.kind == "observation" and first.source == "ctv-caobang"
    assert first.text == "Công nhân phản ánh tăng ca kéo dài trong tháng 3."
    assert first.title == "Tăng ca" and first.org_unit == "CĐCS Công ty May Cao Bằng"
    assert first.channel == "Zalo" and first.extra["place"] == "Hòa An"
    assert first.published_at == vn(2026, 3, 5)
    assert result.items[1].published_at == vn(2026, 3, 6, 14, 30)
    assert result.errors == [
        "row 4: '31/02/2026' is not a real date (day/month/year).",
        "row 6: has no text.",
        "row 7: 'hôm qua' is not a date in dd/mm/yyyy, «ngày … tháng … năm …» or ISO form.",
    ]


def test_csv_english_columns_semicolons_and_windows_1258(tmp_path):
    text = "date;unit;channel;text\n01/04/2026;Grassroots union A;hotline;Lương tháng 3 chưa được trả.\n"
    path = tmp_path / "report.csv"
    path.write_text(text, encoding="utf-8")
    result = read_observations(path)
    assert result.errors == [] and result.items[0].text == "Lương tháng 3 chưa được trả."
    assert result.items[0].org_unit == "Grassroots union A" and result.items[0].channel == "hotline"
    legacy = tmp_path / "legacy.csv"
    legacy.write_bytes(encode_windows_1258("Ngày,Nội dung\n03/04/2026,Phản ánh về tiền lương\n"))
    assert [i.text for i in read_observations(legacy).items] == ["Phản ánh về tiền lương"]


def test_xlsx_with_title_rows_and_date_cells(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Tháng 3"
    sheet.append(["LIÊN ĐOÀN LAO ĐỘNG TỈNH CAO BẰNG"])
    sheet.append([])
    sheet.append(["Ngày", "Đơn vị", "Nội dung", "Người báo cáo"])
    sheet.append([datetime(2026, 3, 9, 8, 0), "CĐCS Khu công nghiệp", "Người lao động lo mất việc.", "Nguyễn Văn A"])
    sheet.append(["10/03/2026", "CĐCS Y tế", "Nhân viên y tế đề nghị tăng phụ cấp.", None])
    sheet.append(["không rõ", "CĐCS Y tế", "Dòng có ngày hỏng.", None])
    sheet.append([46095, "CĐCS Giao thông", "Ngày là số sê-ri Excel.", None])
    path = tmp_path / "bao-cao.xlsx"
    book.save(path)
    result = read_observations(path)
    assert [i.text for i in result.items] == ["Người lao động lo mất việc.", "Nhân viên y tế đề nghị tăng phụ cấp.",
                                              "Ngày là số sê-ri Excel."]
    assert result.items[0].author == "Nguyễn Văn A" and result.items[0].published_at == vn(2026, 3, 9, 8)
    assert result.items[2].published_at == vn(2026, 3, 14)  # serial 46095 is 14/03/2026
    assert result.errors == ["row 6: 'không rõ' is not a date in dd/mm/yyyy, «ngày … tháng … năm …» or ISO form."]


def test_docx_tables(tmp_path):
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_paragraph("Báo cáo nhanh của cộng tác viên")
    table = document.add_table(rows=1, cols=3)
    for cell, name in zip(table.rows[0].cells, ["Thời gian", "Địa điểm", "Nội dung phản ánh"]):
        cell.text = name
    for row in (["12/03/2026", "Bảo Lạc", "Công nhân thủy điện chưa được đóng bảo hiểm."],
                ["13/3/2026", "Hà Quảng", ""]):
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            cell.text = value
    path = tmp_path / "bao-cao.docx"
    document.save(path)
    result = read_observations(path)
    assert len(result.items) == 1 and result.items[0].extra["place"] == "Bảo Lạc"
    assert result.items[0].published_at == vn(2026, 3, 12)
    assert result.errors == ["row 3: has no text."]


def test_unreadable_files_are_one_sentence(tmp_path):
    fake = tmp_path / "bao-cao.xlsx"
    fake.write_bytes(b"this is not a zip")
    assert read_observations(fake).errors[0].startswith("bao-cao.xlsx: the file could not be opened as XLSX")
    other = tmp_path / "bao-cao.pdf"
    other.write_bytes(b"%PDF")
    assert "unsupported file type" in read_observations(other).errors[0]
    headless = tmp_path / "x.csv"
    headless.write_text("a,b\n1,2\n", encoding="utf-8")
    assert "no header row with a text column" in read_observations(headless).errors[0]


def test_column_names_match_without_diacritics_or_case():
    assert match_columns(["NGÀY", "Đơn vị ", "noi dung"]) == {"date": 0, "org_unit": 1, "text": 2}
    assert match_columns(["Số", "Tiền"]) == {}


@pytest.mark.parametrize("value,expected", [
    ("01/02/2026", vn(2026, 2, 1)), ("1-2-2026", vn(2026, 2, 1)), ("01.02.26", vn(2026, 2, 1)),
    ("Ngày 01/02/2026", vn(2026, 2, 1)), ("2026-02-01T10:00:00+07:00", vn(2026, 2, 1, 10)),
    ("01/02/2026 7h30", vn(2026, 2, 1, 7, 30)),
])
def test_dates_are_day_first(value, expected):
    assert parse_report_date(value) == expected


def test_timeline_jsonl_still_reads(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"text": "a", "published_at": "2026-01-01T00:00:00Z"}\nnot json\n', encoding="utf-8")
    result = read_timeline(path)
    assert len(result.items) == 1 and result.errors == ["line 2: not valid JSON."]
    obs = read_observations(path)
    assert obs.items[0].kind == "observation"
