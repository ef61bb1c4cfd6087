"""Imports take what union offices really send: headings matched by meaning, letterheads, column-number rows,
section headings and totals skipped, administrative dates, the report's own date line as a fallback, `--map` and
`--date`, dedupe by content and unit (not file name), and a non-zero exit when nothing was imported.

The office files are written here, shaped like real ones (letterhead, «Số: …», «Cao Bằng, ngày … tháng … năm …»,
a CP1258 CSV with semicolons, a DOCX monthly report with a table and no date column)."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from zoneinfo import ZoneInfo

from collectors.columns import match_columns, parse_mapping
from collectors.dates import find_report_date, parse_report_date
from collectors.files import ReadOptions, read_observations
from collectors_support import encode_windows_1258
from service.pipeline import UserError, import_file

NOW = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)


def vn(y, m, d, h=0, mi=0):
    return datetime(y, m, d, h, mi, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")).astimezone(timezone.utc)


def office_xlsx(path: Path) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Tháng 11"
    for line in (["LIÊN ĐOÀN LAO ĐỘNG TỈNH CAO BẰNG", None, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"],
                 ["CÔNG ĐOÀN NGÀNH GIÁO DỤC", None, "Độc lập - Tự do - Hạnh phúc"],
                 ["Số: 45/BC-CĐN", None, "Cao Bằng, ngày 30 tháng 11 năm 2026"],
                 [],
                 ["BÁO CÁO TÌNH HÌNH TƯ TƯỞNG, DƯ LUẬN XÃ HỘI TRONG ĐOÀN VIÊN, NGƯỜI LAO ĐỘNG THÁNG 11/2026"],
                 [],
                 ["STT", "Thời gian", "Tên đơn vị", "Ý kiến, kiến nghị của đoàn viên, NLĐ", "Họ tên CTV"],
                 ["(1)", "(2)", "(3)", "(4)", "(5)"],
                 ["I", "KHỐI TRƯỜNG HỌC"],
                 [1, datetime(2026, 11, 3, 8, 30), "Trường THPT Thành phố", "Giáo viên hỏi về phụ cấp thâm niên.",
                  "Nông Thị Hà"],
                 [2, "ngày 7 tháng 11 năm 2026", "Trường THCS Hòa An", "Đề nghị sửa trường trước mùa đông.",
                  "Lý Văn Sơn"],
                 [3, "tháng 11/2026", "Công đoàn ngành Giáo dục tỉnh", "Lo lắng việc sáp nhập trường.", None],
                 [4, "7/11", "Tổng công ty Điện lực", "Hỏi về chế độ làm thêm giờ.", None],
                 [5, 46333, "Trường Tiểu học Sông Hiến", "Phản ánh nợ lương hợp đồng.", "Hoàng Thị Mai"],
                 [6, "31/11/2026", "Trường Mầm non", "Ngày không có thật.", None],
                 ["Tổng cộng", None, None, "5 ý kiến", None]):
        sheet.append(line)
    book.save(path)
    return path


def test_xlsx_with_letterhead_numbering_heading_and_total_row(tmp_path):
    result = read_observations(office_xlsx(tmp_path / "bao-cao-thang-11.xlsx"), default_source="ctv")
    assert [i.text for i in result.items] == [
        "Giáo viên hỏi về phụ cấp thâm niên.", "Đề nghị sửa trường trước mùa đông.", "Lo lắng việc sáp nhập trường.",
        "Hỏi về chế độ làm thêm giờ.", "Phản ánh nợ lương hợp đồng."]
    first, second, third, fourth, fifth = result.items
    assert first.published_at == vn(2026, 11, 3, 8, 30) and first.org_unit == "Trường THPT Thành phố"
    assert first.author == "Nông Thị Hà"
    assert second.published_at == vn(2026, 11, 7)                  # «ngày 7 tháng 11 năm 2026»
    assert third.published_at == vn(2026, 11, 1)                   # «tháng 11/2026»: the month's first day
    assert fourth.published_at == vn(2026, 11, 7)                  # «7/11»: the year of the report's date line
    assert fourth.org_unit == "Tổng công ty Điện lực"              # a corporation, not a total row
    assert fifth.published_at == vn(2026, 11, 7)                   # Excel serial 46333
    assert result.errors == ["row 15: '31/11/2026' is not a real date (day/month/year)."]
    assert result.skipped == 3  # the «(1) (2) …» row, the «I KHỐI TRƯỜNG HỌC» heading, the total


def test_cp1258_csv_with_semicolons_and_a_total_row(tmp_path):
    text = ("Công đoàn cơ sở Công ty Xi măng Cao Bằng;;\n"
            "Ngày phản ánh;Đơn vị;Nội dung phản ánh;Người báo cáo\n"
            "07/11/2026;Tổ sản xuất 1;Công nhân đề nghị tăng tiền ăn ca;Đàm Văn Tú\n"
            "ngày 12 tháng 11 năm 2026;Tổ sản xuất 2;Máy nghiền ồn quá mức cho phép;\n"
            "Cộng;;2;\n")
    path = tmp_path / "xi-mang.csv"
    path.write_bytes(encode_windows_1258(text))
    result = read_observations(path)
    assert [(i.text, i.org_unit, i.published_at) for i in result.items] == [
        ("Công nhân đề nghị tăng tiền ăn ca", "Tổ sản xuất 1", vn(2026, 11, 7)),
        ("Máy nghiền ồn quá mức cho phép", "Tổ sản xuất 2", vn(2026, 11, 12))]
    assert result.errors == [] and result.skipped == 1


def office_docx(path: Path) -> Path:
    docx = pytest.importorskip("docx")
    document = docx.Document()
    for line in ("LIÊN ĐOÀN LAO ĐỘNG TỈNH CAO BẰNG", "CÔNG ĐOÀN VIÊN CHỨC TỈNH", "Số: 12/BC-CĐVC",
                 "Cao Bằng, ngày 28 tháng 11 năm 2026", "BÁO CÁO",
                 "Tình hình tư tưởng của đoàn viên, người lao động tháng 11 năm 2026"):
        document.add_paragraph(line)
    table = document.add_table(rows=6, cols=4)
    rows = [("STT", "Đơn vị", "Nội dung ý kiến", "Ghi chú"),
            ("", "", "", ""),
            ("1", "CĐCS Sở Y tế", "Viên chức quan tâm việc tinh giản biên chế.", ""),
            ("2", "CĐCS Sở Tài chính", "Đề nghị công khai tiêu chí đánh giá cuối năm.", "Đã trả lời"),
            ("3", "CĐCS Sở Nội vụ", "", ""),
            ("Tổng số", "", "2 ý kiến", "")]
    for r, values in enumerate(rows):
        for cell, value in zip(table.rows[r].cells, values):
            cell.text = value
    merged = table.rows[1].cells[0].merge(table.rows[1].cells[3])
    merged.text = "A. KHỐI CƠ QUAN NHÀ NƯỚC"
    document.save(path)
    return path


def test_docx_report_without_a_date_column_takes_its_own_date_line_or_the_given_date(tmp_path):
    path = office_docx(tmp_path / "bao-cao-vien-chuc.docx")
    result = read_observations(path)
    assert [(i.text, i.org_unit, i.published_at) for i in result.items] == [
        ("Viên chức quan tâm việc tinh giản biên chế.", "CĐCS Sở Y tế", vn(2026, 11, 28)),
        ("Đề nghị công khai tiêu chí đánh giá cuối năm.", "CĐCS Sở Tài chính", vn(2026, 11, 28))]
    assert result.errors == ["row 5: has no text."]
    given = read_observations(path, options=ReadOptions(default_date=parse_report_date("20/11/2026")))
    assert {i.published_at for i in given.items} == {vn(2026, 11, 20)}


def test_headings_are_matched_by_meaning_and_by_map():
    header = ["Thời gian", "Tên đơn vị", "Ý kiến, kiến nghị của đoàn viên, NLĐ", "Họ tên CTV"]
    assert match_columns(header) == {"date": 0, "org_unit": 1, "text": 2, "author": 3}
    assert match_columns(["Ý kiến của đoàn viên công đoàn", "Công đoàn cơ sở"]) == {"text": 0, "org_unit": 1}
    odd = ["Lúc", "Nơi gửi", "Điều anh chị em nói"]
    assert match_columns(odd) == {}
    assert match_columns(odd, parse_mapping(["Điều anh chị em nói=text", "Lúc=date", "noi gui=org_unit"])) == {
        "text": 2, "date": 0, "org_unit": 1}
    with pytest.raises(ValueError, match="not one of"):
        parse_mapping(["Lúc=ngay"])


def test_administrative_date_forms():
    assert parse_report_date("Ngày 07 tháng 11 năm 2026", NOW) == vn(2026, 11, 7)
    assert parse_report_date("Tháng 11 năm 2026", NOW) == vn(2026, 11, 1)
    assert parse_report_date("11/2026", NOW) == vn(2026, 11, 1)
    assert parse_report_date("7/11", NOW) == vn(2026, 11, 7)
    assert parse_report_date("20/12", NOW) == vn(2025, 12, 20)  # no year and it would be ahead: last year
    assert parse_report_date("7/11", NOW, reference=vn(2025, 11, 30)) == vn(2025, 11, 7)
    assert parse_report_date("46333", NOW) == vn(2026, 11, 7)
    assert parse_report_date("07/11/2026 lúc 14h30", NOW) == vn(2026, 11, 7, 14, 30)
    assert find_report_date(["LIÊN ĐOÀN", "Cao Bằng, ngày 30 tháng 11 năm 2026"]) == vn(2026, 11, 30)
    with pytest.raises(ValueError, match="more than a day in the future"):
        parse_report_date("tháng 1/2027", NOW)


# ---- through the import path and the command line -------------------------------------------------------------------

def test_a_renamed_copy_stores_nothing_twice_but_two_units_with_the_same_words_stay_two(tmp_path, store):
    first = office_xlsx(tmp_path / "bao-cao-thang-11.xlsx")
    outcome = import_file(store, first, kind="observations")
    assert (outcome.read, outcome.new) == (5, 5)
    renamed = tmp_path / "ban-sao (2).xlsx"
    renamed.write_bytes(first.read_bytes())
    assert import_file(store, renamed, kind=None).new == 0
    path = tmp_path / "hai-don-vi.csv"
    path.write_text("Ngày,Đơn vị,Nội dung\n05/11/2026,CĐCS A,Không có ý kiến gì thêm.\n"
                    "05/11/2026,CĐCS B,Không có ý kiến gì thêm.\n", encoding="utf-8")
    assert import_file(store, path, kind=None).new == 2
    assert store.count_items() == 7


def test_import_says_what_it_found_and_fails_when_nothing_was_imported(cli, tmp_path):
    assert cli("init").exit_code == 0
    path = tmp_path / "la.csv"
    path.write_text("Lúc;Nơi gửi;Điều anh chị em nói\n05/11/2026;CĐCS A;Lương về chậm.\n", encoding="utf-8")
    result = cli("import", str(path))
    assert result.exit_code == 1
    assert "Headers found: «Lúc», «Nơi gửi», «Điều anh chị em nói»" in result.output
    assert "Nội dung / Ý kiến" in result.output and "--map" in result.output
    assert "nothing was imported" in result.output
    mapped = cli("import", str(path), "--map", "Điều anh chị em nói=text", "--map", "Lúc=date",
                 "--map", "Nơi gửi=org_unit")
    assert mapped.exit_code == 0 and "1 read, 1 new" in mapped.output
    undated = tmp_path / "khong-ngay.csv"
    undated.write_text("Đơn vị,Nội dung\nCĐCS A,Công nhân hỏi về thưởng Tết.\n", encoding="utf-8")
    assert cli("import", str(undated)).exit_code == 1
    dated = cli("import", str(undated), "--date", "ngày 25 tháng 11 năm 2026")
    assert dated.exit_code == 0 and "1 read, 1 new" in dated.output
    news = tmp_path / "tin.csv"
    news.write_text("Ngày,Tiêu đề,Nội dung,Link\n05/11/2026,Tin,Bài báo,https://x.vn/1\n", encoding="utf-8")
    unsure = cli("import", str(news))
    assert unsure.exit_code == 1 and "--kind" in unsure.output


def test_a_refused_file_is_a_plain_error(tmp_path, store):
    path = tmp_path / "x.pdf"
    path.write_bytes(b"%PDF-1.4")
    with pytest.raises(UserError, match="unsupported file type"):
        import_file(store, path, kind="observations")


def test_unit_names_as_typed_are_mapped_to_unit_codes_and_unknown_ones_kept_with_a_warning(tmp_path, store):
    from collectors.columns import match_unit
    from service.setup import init

    init(store)
    units = [(u["code"], u["name"]) for u in store.org_units()]
    assert match_unit("CĐ ngành Giáo dục", units) == "cb-giaoduc"
    assert match_unit("Công đoàn Giáo dục", units) == "cb-giaoduc"
    assert match_unit("CĐN Y tế", units) == "cb-yte"
    assert match_unit("LĐLĐ TP Cao Bằng", units) == "cb-thanhpho"
    assert match_unit("LĐLĐ tỉnh Cao Bằng", units) == "caobang"
    assert match_unit("Trường THPT Thành phố", units) is None
    outcome = import_file(store, office_xlsx(tmp_path / "bao-cao.xlsx"), kind="observations")
    assert outcome.new == 5
    rows = {r["text"]: r for r in store.db.query("SELECT text, org_unit, extra FROM items")}
    mapped = rows["Lo lắng việc sáp nhập trường."]
    assert mapped["org_unit"] == "cb-giaoduc" and "Công đoàn ngành Giáo dục tỉnh" in mapped["extra"]
    assert rows["Giáo viên hỏi về phụ cấp thâm niên."]["org_unit"] == "Trường THPT Thành phố"
    assert "unit «Trường THPT Thành phố» (rows 10) is not one of Pulse's units; kept as written for an admin to map." \
        in outcome.warnings
    assert len(outcome.warnings) == 4
    assert outcome.errors == ["row 15: '31/11/2026' is not a real date (day/month/year)."]
