"""Briefings and reports in the web app: staff make a day's briefing, leaders read, print and download it."""
from __future__ import annotations

import io
from datetime import timedelta

import docx
import pytest
from fastapi.testclient import TestClient

from replay_support import BACKGROUND, DAY0, Replay
from service import trends
from service.app import create_app
from web_support import OTHER, OWN, csrf_of, login, make_installation

DAY = DAY0 + timedelta(days=29)


@pytest.fixture
def inst(tmp_path):
    inst = make_installation(tmp_path)
    replay = Replay(inst.store)
    replay.background(29, BACKGROUND)
    replay.add(DAY, "tien_luong", 14, sentiment="negative")
    replay.add(DAY, "tien_luong", 1, kind="observation", org_unit=OWN, source="ctv",
               text="Công nhân phản ánh bị nợ lương hai tháng.")
    trends.detect(inst.store, DAY, DAY)
    return inst


def as_user(app, username):
    client = TestClient(app, follow_redirects=False)
    assert login(client, username).status_code == 303
    return client


def test_staff_make_a_briefing_and_everyone_reads_and_downloads_it(inst):
    app = create_app(inst.settings, start_worker=False)
    staff = as_user(app, "staff1")
    page = staff.get(f"/briefings/{DAY.isoformat()}")
    assert page.status_code == 200 and "Chưa có báo cáo nhanh ngày" in page.text
    made = staff.post(f"/briefings/{DAY.isoformat()}/make", data={"csrf_token": csrf_of(page.text)})
    assert made.status_code == 303
    again = staff.post(f"/briefings/{DAY.isoformat()}/make", data={"csrf_token": csrf_of(page.text)})
    assert again.status_code == 303 and inst.store.briefing_days() == [DAY.isoformat()]

    analyst = as_user(app, "analyst1")
    archive = analyst.get("/briefings").text
    assert f"Báo cáo nhanh ngày {DAY.strftime('%d/%m/%Y')}" in archive
    shown = analyst.get(f"/briefings/{DAY.isoformat()}").text
    assert "BÁO CÁO NHANH" in shown and f"Tình hình dư luận xã hội ngày {DAY.strftime('%d/%m/%Y')}" in shown
    assert "Tiền lương và thu nhập" in shown and "Nơi nhận:" in shown, "the page has the document's header and foot"
    assert "Lập lại báo cáo" not in shown, "an analyst reads; only staff and admins make briefings"
    download = analyst.get(f"/briefings/{DAY.isoformat()}/docx")
    assert download.headers["content-type"].startswith("application/vnd.openxmlformats")
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(download.content)).paragraphs)
    assert f"ngày {DAY.strftime('%d/%m/%Y')}" in text and "II. CÁC LUỒNG DƯ LUẬN CẦN CHÚ Ý" in text


def test_unit_reports_are_scoped(inst):
    app = create_app(inst.settings, start_worker=False)
    staff = as_user(app, "staff1")
    report = staff.get(f"/reports/{OWN}", params={"period": "month", "ref": DAY.isoformat()})
    assert report.status_code == 200
    assert f"công tác nắm bắt dư luận tháng {DAY.month:02d}/{DAY.year}" in report.text
    word = staff.get(f"/reports/{OWN}/docx", params={"period": "year", "ref": DAY.isoformat()})
    assert word.status_code == 200 and len(word.content) > 10_000
    assert staff.get(f"/reports/{OTHER}", params={"period": "month"}).status_code == 404
    assert staff.get(f"/reports/{OWN}", params={"period": "week"}).status_code == 400
