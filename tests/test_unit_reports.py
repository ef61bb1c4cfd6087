"""Issue 15.1, 15.5 (web upload) and 15.6: every union level's monthly report drafted from press, collaborators and
dialogues, edited, sent up, frozen once sent and received by the parent, which sees its late units by name; dialogues
with their questions, answers and commitments; office files uploaded, previewed and imported once. Content is read
from the pages and from the DOCX, each as the reader of one unit sees it."""
from __future__ import annotations

import io
import re
import sqlite3
from datetime import date, datetime, time, timedelta, timezone

import docx
import pytest
import time_machine
from fastapi.testclient import TestClient

from collectors.items import RawItem
from collectors_support import encode_windows_1258
from service import briefing, dialogues, unitreports
from service.app import create_app
from service.timeutil import TZ
from test_collectors_office import office_docx, office_xlsx
from web_support import OTHER, OWN, csrf_of, login, make_installation, observation

NOV = date(2026, 11, 1)
TODAY = date(2026, 12, 9)           # after the monthly due day (5/12): units that sent nothing are late
NAMES = {"cb-yte": "Công đoàn ngành Y tế tỉnh", "cb-giaoduc": "Công đoàn ngành Giáo dục tỉnh",
         "cb-vienchuc": "Công đoàn Viên chức tỉnh", "cb-thanhpho": "Liên đoàn Lao động thành phố Cao Bằng"}


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=TZ).astimezone(timezone.utc)


def _press_flag(store, key: str, title: str, day: date, severity: float) -> int:
    [item_id] = store.add_items([RawItem(title=title, text=f"{title}. Nhiều người lao động quan tâm.",
                                         url=f"https://baocaobang.vn/{key}.html", source="baocaobang.vn",
                                         kind="article", published_at=_noon(day))])
    start = datetime.combine(day, time(0), tzinfo=TZ).astimezone(timezone.utc)
    flag_id = store.upsert_flag({
        "key": key, "kind": "new_stream", "stream_id": None, "topic": "tien_luong", "score": severity / 10,
        "window_start": start.isoformat(), "window_end": (start + timedelta(days=1)).isoformat(), "count": 1,
        "baseline": 0.0, "reason": f"Luồng mới «{title}»: 1 tin.", "item_ids": [item_id],
        "evidence": {"units": {}, "sources": {"baocaobang.vn": 1}, "sentiment": {"negative": 1},
                     "representative": [item_id], "timeline": []}})
    return flag_id


@pytest.fixture
def inst(tmp_path):
    inst = make_installation(tmp_path)
    store = inst.store
    _press_flag(store, "yte", "Bệnh viện tỉnh thiếu điều dưỡng, ngành y tế kiến nghị tăng phụ cấp",
                date(2026, 11, 10), 80)
    _press_flag(store, "gd", "Giáo viên mầm non chờ hỗ trợ tiền điện", date(2026, 11, 12), 90)
    store.add_items([observation("Điều dưỡng khoa Nội phản ánh trực đêm nhiều, phụ cấp thấp.", OWN, "collab1",
                                 _noon(date(2026, 11, 14)))])
    store.add_items([observation("Giáo viên trường xqzbeta phản ánh chậm lương.", OTHER, "collab2",
                                 _noon(date(2026, 11, 14)))])
    dialogues.record(store, unit=OWN, held_on=date(2026, 11, 20), kind="dialogue",
                     enterprise="Bệnh viện Đa khoa tỉnh", place="", participants="Ban Giám đốc, 60 điều dưỡng",
                     points=[dialogues.Point("Khi nào bệnh viện bố trí phòng nghỉ trực đêm?", "Quý I năm 2027.",
                                             "Bố trí phòng nghỉ trực đêm trước 31/3/2027"),
                             dialogues.Point("Phụ cấp độc hại có được tăng không?", "Chờ hướng dẫn của Bộ.")],
                     username="staff1", today=TODAY)
    dialogues.record(store, unit=OTHER, held_on=date(2026, 11, 21), kind="meeting", enterprise="Trường xqzbeta",
                     place="", participants="", points=[dialogues.Point("Câu hỏi xqzbeta về lương?", "", "")],
                     username="staff2", today=TODAY)
    return inst


def text_of_docx(content: bytes) -> str:
    document = docx.Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def test_a_units_monthly_report_tells_press_collaborators_and_dialogues_in_vietnamese(inst):
    data = briefing.period_report(inst.store, OWN, "month", NOV, inst.settings)
    text = text_of_docx(briefing.to_docx(data))
    # the press: the story about the unit's sector first, marked so, then the province's strongest
    assert data["press"][0]["headline"].startswith("Bệnh viện tỉnh thiếu điều dưỡng") and data["press"][0]["about_unit"]
    assert "Bệnh viện tỉnh thiếu điều dưỡng, ngành y tế kiến nghị tăng phụ cấp (Tiền lương" in text
    assert "liên quan trực tiếp đến đơn vị" in text and "Giáo viên mầm non chờ hỗ trợ tiền điện" in text
    assert "Diễn biến: mới xuất hiện; 1 tin; tình trạng xử lý: đang chờ xem xét." in text   # course, count, status
    assert "Sắc thái: Tiêu cực 1." in text
    # the dialogue, its questions, answers and the open commitment
    assert "Đối thoại tại Bệnh viện Đa khoa tỉnh ngày 20/11/2026 (Công đoàn ngành Y tế tỉnh)" in text
    assert "- Ý kiến: Khi nào bệnh viện bố trí phòng nghỉ trực đêm?" in text and "Trả lời: Quý I năm 2027." in text
    assert ("Cam kết chưa thực hiện: Bố trí phòng nghỉ trực đêm trước 31/3/2027 (Bệnh viện Đa khoa tỉnh, đối thoại "
            "ngày 20/11/2026)") in text
    assert "Số buổi đối thoại, hội nghị, tiếp xúc: 1." in text
    # the sections a union report has; nothing of the sibling unit; no code
    for title in ("TÌNH HÌNH DƯ LUẬN XÃ HỘI TRONG KỲ", "NGUYÊN NHÂN", "KẾT QUẢ CÔNG TÁC NẮM BẮT, ĐỊNH HƯỚNG DƯ LUẬN",
                  "KHÓ KHĂN, VẤN ĐỀ MỚI NẢY SINH", "ĐỀ XUẤT, KIẾN NGHỊ"):
        assert re.search(rf"^[IV]+\. {title}$", text, re.M), title
    assert "xqzbeta" not in text.lower()
    assert not re.search(r"\b(new_stream|tien_luong|hoi-nghi|dialogue|open|draft)\b", text)
    # the dialogue's opinions are items of the pipeline: channel «hội nghị», the unit's
    items = inst.store.find_items(kind="observation", units=[OWN], limit=20)
    assert {i["text"] for i in items if i["channel"] == "hoi-nghi"} == {
        "Khi nào bệnh viện bố trí phòng nghỉ trực đêm?", "Phụ cấp độc hại có được tăng không?"}


def test_a_sent_report_is_frozen_and_an_edit_makes_a_new_revision(inst):
    store, settings = inst.store, inst.settings
    draft = unitreports.open_draft(store, OWN, "month", NOV, settings, "staff1", TODAY)
    assert unitreports.open_draft(store, OWN, "month", date(2026, 11, 17), settings, "staff1", TODAY) == draft
    unitreports.save(store, draft, {"causes": "Thiếu nhân lực điều dưỡng."}, "staff1", settings, TODAY)
    sent = unitreports.send(store, draft, "staff1", settings, TODAY)
    assert sent["status"] == "sent" and sent["sent_by"] == "staff1" and sent["narrative"]["causes"] == \
        "Thiếu nhân lực điều dưỡng."
    with pytest.raises(unitreports.ReportError):
        unitreports.send(store, draft, "staff1", settings, TODAY)
    # the store refuses to change what was sent, whatever asks
    assert not store.update_unit_report_draft(draft, {"causes": "đổi lén"}, "staff1")
    with pytest.raises(sqlite3.IntegrityError, match="frozen"):
        with store.transaction():
            store.db.execute("UPDATE unit_reports SET narrative = '{}' WHERE id = ?", [draft])
    second = unitreports.save(store, draft, {"causes": "Thiếu nhân lực và phòng trực."}, "staff1", settings, TODAY)
    assert second != draft
    assert store.unit_report(draft)["narrative"]["causes"] == "Thiếu nhân lực điều dưỡng."
    revisions = store.unit_report_revisions(OWN, "month", NOV.isoformat())
    assert [(r["revision"], r["status"]) for r in revisions] == [(2, "draft"), (1, "sent")]
    # the parent sees the sent revision (never the new draft) until the second one is sent
    children = {c["unit"]: c for c in unitreports.children_status(store, "caobang", "month", NOV, settings, TODAY)}
    assert children[OWN]["report_id"] == draft and children[OWN]["status_name"] == "Đã gửi"
    assert not children[OWN]["late"] and children[OTHER]["late"] and children[OTHER]["status_name"] == "Chưa gửi"
    unitreports.receive(store, draft, "root")
    assert store.unit_report(draft)["status"] == "received"
    with pytest.raises(unitreports.ReportError):
        unitreports.receive(store, second, "root")   # a draft is not received


def test_deadlines_and_the_first_of_the_month_drafts(inst):
    settings = inst.settings
    assert unitreports.due_date("month", NOV, settings) == date(2026, 12, 5)
    assert unitreports.due_date("year", date(2026, 1, 1), settings) == date(2026, 12, 1)   # before 02/12
    assert unitreports.current_periods(date(2026, 12, 1), settings) == [("month", NOV), ("year", date(2026, 1, 1))]
    assert unitreports.current_periods(date(2026, 6, 1), settings) == [("month", date(2026, 5, 1))]
    made = unitreports.draft_due(inst.store, settings, date(2026, 12, 1))
    assert made == 2 * len(inst.store.org_units())
    assert unitreports.draft_due(inst.store, settings, date(2026, 12, 1)) == 0
    reminders = unitreports.reminders(inst.store, OWN, settings, date(2026, 12, 1))
    assert [(r["name"], r["label"], r["days_left"]) for r in reminders] == [
        ("Báo cáo tháng", "tháng 11/2026", 4), ("Báo cáo năm", "năm 2026", 0)]


def _client(app, user: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    assert login(client, user).status_code == 303
    return client


@time_machine.travel(datetime(2026, 12, 9, 3, tzinfo=timezone.utc), tick=True)   # TODAY, 10:00 in Vietnam
def test_the_monthly_workflow_in_pages_scoped_to_the_readers_unit(inst):
    app = create_app(inst.settings, start_worker=False)
    staff, sibling, root = _client(app, "staff1"), _client(app, "staff2"), _client(app, "root")
    csrf = csrf_of(staff.get("/unit-reports").text)
    answer = staff.post("/unit-reports", data={"code": OWN, "period": "month", "ref": "2026-11-15",
                                               "csrf_token": csrf})
    assert answer.status_code == 303
    url = answer.headers["location"]
    page = staff.get(url).text
    assert "Trạng thái: <strong id=\"report-status\">Nháp</strong>" in page
    assert "Khi nào bệnh viện bố trí phòng nghỉ trực đêm?" in page and "Bệnh viện tỉnh thiếu điều dưỡng" in page
    assert staff.post(url, data={"causes": "Thiếu điều dưỡng xqzalpha.", "proposals": "Tăng phụ cấp trực.",
                                 "csrf_token": csrf}).status_code == 303
    # a draft is its unit's only: not the sibling's, not the parent's
    assert sibling.get(url).status_code == 404 and root.get(url).status_code == 404
    assert root.get(url + "/docx").status_code == 404
    assert staff.post(url + "/send", data={"csrf_token": csrf}).status_code == 303
    sent_page = staff.get(url).text
    assert "<strong id=\"report-status\">Đã gửi</strong>" in sent_page and "Thiếu điều dưỡng xqzalpha." in sent_page
    # the parent: who sent, who is late (by name), the report itself as HTML and DOCX; then marks it received
    overview = root.get("/unit-reports?period=month&ref=2026-11-01").text
    assert "Đã gửi: 1/4 đơn vị" in overview
    late = re.search(r'id="late-units">([^<]*)<', overview).group(1)
    assert all(NAMES[u] in late for u in ("cb-giaoduc", "cb-vienchuc", "cb-thanhpho")) and NAMES[OWN] not in late
    assert root.get(url).status_code == 200 and "Đánh dấu đã nhận" in root.get(url).text
    document = text_of_docx(root.get(url + "/docx").content)
    assert "Thiếu điều dưỡng xqzalpha." in document and "Tăng phụ cấp trực." in document and "Nơi nhận:" in document
    assert "xqzbeta" not in document.lower()
    root_csrf = csrf_of(overview)
    assert root.post(url + "/receive", data={"csrf_token": root_csrf}).status_code == 303
    assert "<strong id=\"report-status\">Đã nhận</strong>" in staff.get(url).text
    # the sibling's overview names nothing of unit A's report
    assert "xqzalpha" not in sibling.get("/unit-reports").text.lower()
    assert sibling.get(url).status_code == 404


def test_dialogues_pages_record_track_and_hide_other_units(inst):
    app = create_app(inst.settings, start_worker=False)
    staff, sibling = _client(app, "staff1"), _client(app, "staff2")
    csrf = csrf_of(staff.get("/dialogues").text)
    form = {"unit": OWN, "held_on": "2026-11-25", "kind": "visit", "enterprise": "Trung tâm Y tế huyện",
            "participants": "30 viên chức", "question": ["Xin bổ sung máy lọc nước.", ""],
            "answer": ["Sẽ mua trong tháng 12.", ""], "commitment": ["Mua máy lọc nước", ""], "csrf_token": csrf}
    answer = staff.post("/dialogues", data=form)
    assert answer.status_code == 303
    url = answer.headers["location"]
    page = staff.get(url).text
    assert "Tiếp xúc, thăm cơ sở tại Trung tâm Y tế huyện" in page and "Sẽ mua trong tháng 12." in page
    assert "chưa thực hiện" in page
    assert staff.post("/dialogues", data=form).headers["location"].endswith("?exists=1")   # not stored twice
    assert len(inst.store.dialogues([OWN])) == 2
    point = inst.store.dialogue(int(url.rsplit("/", 1)[1]))["points"][0]["id"]
    assert staff.post(url + "/done", data={"point_id": point, "csrf_token": csrf}).status_code == 303
    assert "đã thực hiện" in staff.get(url).text
    bad = staff.post("/dialogues", data={**form, "enterprise": "Khác", "question": [""], "answer": [""],
                                         "commitment": [""]})
    assert bad.status_code == 400 and "Hãy ghi ít nhất một ý kiến, câu hỏi được nêu." in bad.text
    assert sibling.get(url).status_code == 404
    listing = sibling.get("/dialogues").text
    assert "Trường xqzbeta" in listing and "Trung tâm Y tế huyện" not in listing


def _upload(client, csrf: str, name: str, content: bytes):
    return client.post("/imports", data={"csrf_token": csrf},
                       files={"file": (name, content, "application/octet-stream")})


def test_an_office_file_is_previewed_mapped_and_imported_once(inst, tmp_path):
    app = create_app(inst.settings, start_worker=False)
    staff = _client(app, "staff2")            # Công đoàn ngành Giáo dục tỉnh
    csrf = csrf_of(staff.get("/imports").text)
    xlsx = office_xlsx(tmp_path / "bao-cao-thang-11.xlsx").read_bytes()
    answer = _upload(staff, csrf, "bao-cao-thang-11.xlsx", xlsx)
    assert answer.status_code == 303
    preview = staff.get(answer.headers["location"]).text
    assert "Đọc được 5 dòng: 5 dòng sẽ nhập, 0 dòng đã có trong hệ thống" in preview
    assert "<td>07/11/2026</td>" in preview and "Đề nghị sửa trường trước mùa đông." in preview
    assert "Dòng 15: «31/11/2026» không phải là một ngày có thật." in preview
    assert "Đơn vị «Trường THPT Thành phố» (dòng 10) chưa có trong hệ thống" in preview
    assert "<option value=\"\">Ngày (tự nhận)</option>" in preview   # «Thời gian» read as the date
    done = staff.post(answer.headers["location"], data={"csrf_token": csrf})
    assert "Đã nhập 5 ý kiến mới" in done.text
    # the same rows in a renamed file: shown as stored, nothing stored twice
    again = staff.get(_upload(staff, csrf, "ban-sao.xlsx", xlsx).headers["location"]).text
    assert "0 dòng sẽ nhập, 5 dòng đã có trong hệ thống" in again
    items = inst.store.find_items(query="sửa trường trước mùa đông", units=[OTHER], limit=5)
    assert len(items) == 1 and items[0]["org_unit"] == OTHER

    # a CP1258 CSV with semicolons; a row naming another unit's subtree is refused for this reader
    csv = ("Ngày phản ánh;Đơn vị;Nội dung phản ánh\n07/11/2026;Công đoàn ngành Y tế tỉnh;Xin thêm phụ cấp\n"
           "12/11/2026;;Giáo viên xin giảm giờ dạy\nCộng;;2\n")
    preview = staff.get(_upload(staff, csrf, "y-kien.csv", encode_windows_1258(csv)).headers["location"]).text
    assert "Đọc được 2 dòng: 1 dòng sẽ nhập" in preview and "1 dòng ngoài phạm vi" in preview
    assert "Dòng 2: đơn vị không thuộc phạm vi của bạn" in preview

    # a DOCX report without a date column: its own date line; headers not understood are named on the page
    doc = staff.get(_upload(staff, csrf, "vc.docx", office_docx(tmp_path / "vc.docx").read_bytes())
                    .headers["location"]).text
    assert "<td>28/11/2026</td>" in doc and "Dòng 5: không có nội dung." in doc
    odd = ("Thứ tự;Khi nào;Điều người lao động nói\n1;07/11/2026;Công nhân muốn nghỉ bù\n").encode()
    location = _upload(staff, csrf, "la.csv", odd).headers["location"]
    page = staff.get(location).text
    assert "Không tìm thấy dòng tiêu đề có cột nội dung. Các tiêu đề đọc được: «Thứ tự», «Khi nào»" in page
    mapped = staff.get(location, params=[("map", "Điều người lao động nói=text"), ("map", "Khi nào=date")]).text
    assert "Đọc được 1 dòng: 1 dòng sẽ nhập" in mapped and "Công nhân muốn nghỉ bù" in mapped
    assert "Không tìm thấy dòng tiêu đề" not in mapped
    broken = staff.get(_upload(staff, csrf, "hong.xlsx", b"khong phai tep excel").headers["location"]).text
    assert "Không mở được tệp: tệp bị hỏng hoặc không đúng định dạng Excel, Word, CSV." in broken
    assert "Traceback" not in broken and "could not" not in broken
    refused = _upload(staff, csrf, "anh.png", b"\x89PNG")
    assert refused.status_code == 400 and "Chỉ nhận tệp Excel (.xlsx), Word (.docx) hoặc CSV (.csv)." in refused.text
    # an upload is its uploader's only
    assert _client(app, "staff1").get(location).status_code == 404


@time_machine.travel(datetime(2026, 12, 1, 1, tzinfo=timezone.utc), tick=False)   # 08:00 on the 1st in Vietnam
def test_the_morning_briefing_job_drafts_every_units_reports_on_the_first(inst):
    from service import jobs

    job, _ = jobs.run_kind(inst.store, inst.settings, "briefing", {}, "scheduler", reraise=True)
    assert job["status"] == "done" and job["counts"]["reports_drafted"] == 2 * len(inst.store.org_units())
    drafts = inst.store.unit_reports_of([u["code"] for u in inst.store.org_units()])
    assert {(r["period"], r["first_day"], r["status"], r["updated_by"]) for r in drafts} == {
        ("month", "2026-11-01", "draft", "pulse"), ("year", "2026-01-01", "draft", "pulse")}


@time_machine.travel(datetime(2026, 12, 1, 3, tzinfo=timezone.utc), tick=True)   # 1 December, 10:00 in Vietnam
def test_the_reports_page_reminds_a_unit_of_the_annual_report_due_before_2_december(inst):
    app = create_app(inst.settings, start_worker=False)
    staff = _client(app, "staff1")
    page = staff.get("/briefings").text
    assert "Báo cáo năm 2026 của đơn vị chưa gửi —\n  hôm nay (01/12/2026) là hạn cuối." in page
    assert "Báo cáo tháng 11/2026 của đơn vị chưa gửi —\n  hạn cuối 05/12/2026, còn 4 ngày." in page
    report = unitreports.open_draft(inst.store, OWN, "year", date(2026, 12, 1), inst.settings, "staff1",
                                    date(2026, 12, 1))
    unitreports.send(inst.store, report, "staff1", inst.settings, date(2026, 12, 1))
    assert "Báo cáo năm 2026 của đơn vị chưa gửi" not in staff.get("/briefings").text


def test_the_reports_count_of_opinions_agrees_with_its_breakdown(inst):
    """The unit's opinions of the period come from a collaborator's form, a dialogue's points and an office file
    alike: the report's first count is their total, which its lines by kind and channel add up to (no «0» above
    «Cộng tác viên phản ánh: 3»), and says how many came from collaborators' accounts."""
    text = "\n".join(str(line) for _, lines in briefing.document_sections(
        briefing.period_report(inst.store, OWN, "month", NOV, inst.settings)) for line in lines)
    assert "Số tin, ý kiến của đơn vị trong kỳ: 3 (trong đó 0 phản ánh gửi qua tài khoản cộng tác viên)." in text
    assert "- Cộng tác viên phản ánh: 3." in text and "Số phản ánh của cộng tác viên: 0." not in text
