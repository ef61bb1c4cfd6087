"""The daily briefing and the period reports: real replayed items, HTML and DOCX that agree, the 07:00 job."""
from __future__ import annotations

import html
import io
import re
from datetime import datetime, timedelta, timezone

import docx
import pytest
import time_machine

from replay_support import BACKGROUND, DAY0, Replay
from service import briefing, trends
from service.config import Settings
from service.setup import init
from service.store import Store

DAY = DAY0 + timedelta(days=29)


@pytest.fixture
def replayed(store):
    """29 ordinary days, then a day with a wage burst, a watch-term hit and collaborators' reports."""
    init(store)
    replay = Replay(store)
    replay.background(29, BACKGROUND)
    for topic, n in BACKGROUND.items():
        if topic != "tien_luong":
            replay.add(DAY, topic, n)
    burst = replay.add(DAY, "tien_luong", 14, sentiment="negative")
    for unit in ("cb-giaoduc", "cb-yte", "cb-thanhpho"):
        replay.add(DAY, "tien_luong", 1, kind="observation", org_unit=unit, source="ctv", stream="ctv-luong",
                   text="Công nhân phản ánh bị nợ lương hai tháng.")
    trends.detect(store, DAY, DAY)
    return store, replay, burst


def text_of_docx(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for cell in table._cells:
            parts.extend(p.text for p in cell.paragraphs)
    return "\n".join(parts)


def text_of_html(page: str) -> str:
    page = re.sub(r"<(style|title)>.*?</(style|title)>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def numbers(text: str) -> list[str]:
    return sorted(re.findall(r"\d+(?:[.,]\d+)?", text.replace("Báo cáo do hệ thống Pulse lập tự động lúc", "")))


def test_briefing_contains_the_flagged_streams_with_real_quotes(replayed):
    store, replay, burst = replayed
    data = briefing.make(store, DAY)
    growing = next(s for s in data["sections"] if s["key"] == "growing")["streams"]
    wage = [s for s in growing if s["topic"] == "Tiền lương và thu nhập"]
    assert wage, "the wage burst must be in the growing section"
    burst_texts = {i["text"] for i in store.items_by_ids(burst)}
    assert wage[0]["quotes"] and all(any(q["text"].rstrip(" …") in t for t in burst_texts) for q in wage[0]["quotes"])
    spreading = next(s for s in data["sections"] if s["key"] == "spreading")["streams"]
    assert spreading and sorted(spreading[0]["units"]) == ["Công đoàn ngành Giáo dục tỉnh", "Công đoàn ngành Y tế tỉnh", "Liên đoàn Lao động thành phố Cao Bằng"]
    spread = next(f for f in store.flags() if f["kind"] == "spread")
    assert "Công đoàn ngành Y tế tỉnh" in spread["reason"] and "cb-yte" not in spread["reason"], "units by name"
    assert data["watch"] and "«nợ lương»" in data["watch"][0]["reason"]
    assert data["numbers"]["total"]["count"] == 14 + 26 + 3


def test_docx_opens_and_has_its_sections_in_order(replayed):
    store, *_ = replayed
    data = briefing.make(store, DAY)
    text = text_of_docx(briefing.to_docx(data))
    assert "BÁO CÁO NHANH" in text.splitlines()
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Độc lập - Tự do - Hạnh phúc" in text
    assert f"Tình hình dư luận xã hội ngày {DAY.strftime('%d/%m/%Y')}" in text.splitlines()
    headings = [line for line in text.splitlines() if re.match(r"^[IVX]+\. ", line)]
    assert headings == ["I. TÌNH HÌNH CHUNG TRONG NGÀY", "II. CÁC LUỒNG DƯ LUẬN CẦN CHÚ Ý",
                        "III. CÁC LUỒNG ĐÃ XÁC NHẬN, BÁO CÁO VÀ ĐỀ XUẤT ĐỊNH HƯỚNG", "IV. TỪ KHÓA THEO DÕI",
                        "V. CHỦ ĐỀ VÀ SẮC THÁI"]
    document = docx.Document(io.BytesIO(briefing.to_docx(data)))
    assert document.styles["Normal"].font.name == "Times New Roman"
    assert len(document.inline_shapes) == 2, "both charts are in the document"


def test_html_and_docx_agree_on_every_number(replayed):
    store, *_ = replayed
    event_flag = store.flags(status="open")[0]
    store.add_flag_event(event_flag["id"], "staff1", "orientation", "Đề nghị công đoàn cơ sở đối thoại với 3 doanh nghiệp.",
                         new_status="escalated")
    data = briefing.make(store, DAY)
    assert data["reviewed"] and data["reviewed"][0]["orientation"]
    html_numbers = numbers(text_of_html(briefing.to_html(data)))
    docx_numbers = numbers(text_of_docx(briefing.to_docx(data)))
    assert html_numbers == docx_numbers
    assert len(html_numbers) > 30


def test_a_quiet_day_still_gets_a_briefing(store):
    init(store)
    data = briefing.make(store, DAY)
    text = text_of_docx(briefing.to_docx(data))
    assert data["quiet"] and "không ghi nhận tin" in text
    assert "Không có luồng dư luận nào cần chú ý trong ngày." in text


def test_a_source_outage_is_said(store):
    init(store)
    Replay(store).add(DAY, "tien_luong", 2)
    at = datetime(DAY.year, DAY.month, DAY.day, 3, tzinfo=timezone.utc).isoformat()
    store.record_run("dantri.com.vn", at, at, ok=False, found=0, new=0, not_modified=False, errors=["HTTP 503"],
                     duration=1)
    data = briefing.make(store, DAY)
    assert data["sources_down"] == ["dantri.com.vn"]
    assert "dantri.com.vn" in text_of_docx(briefing.to_docx(data))


def test_a_stream_with_one_item(store):
    init(store)
    [item] = Replay(store).add(DAY, "tien_luong", 1, title="Người lao động bức xúc vì bị nợ lương",
                             text="Người lao động bức xúc vì bị nợ lương hai tháng.")
    trends.detect(store, DAY, DAY)
    data = briefing.make(store, DAY)
    assert len(data["watch"]) >= 1 and data["watch"][0]["count"] == 1
    assert data["watch"][0]["quotes"][0]["id"] == item
    briefing.to_docx(data)


def test_monthly_report_rolls_up_the_subtree(replayed):
    store, *_ = replayed
    data = briefing.period_report(store, "caobang", "month", DAY)
    assert data["period_label"] == f"tháng {DAY.month:02d}/{DAY.year}"
    assert set(data["units"]) >= {"caobang", "cb-yte", "cb-giaoduc", "cb-thanhpho"}
    assert data["numbers"]["by_kind"]["Cộng tác viên phản ánh"] == 3
    assert any(s["kind"] == "spread" for s in data["streams"])
    one_unit = briefing.period_report(store, "cb-yte", "month", DAY)
    assert one_unit["numbers"]["by_kind"] == {"Cộng tác viên phản ánh": 1}
    text = text_of_docx(briefing.to_docx(briefing.period_report(store, "caobang", "year", DAY)))
    assert f"Tình hình dư luận xã hội và công tác nắm bắt dư luận năm {DAY.year}" in text.splitlines()


def test_the_0700_job_is_idempotent_and_catches_up(store):
    init(store)
    settings = Settings()
    Replay(store).add(DAY, "tien_luong", 2)
    # 06:59 local on the next day: yesterday's briefing is not due yet
    with time_machine.travel(datetime(DAY.year, DAY.month, DAY.day, 23, 59, tzinfo=timezone.utc), tick=False):
        made_early = briefing.run_due(store, settings)
    assert DAY not in made_early
    at_seven = datetime(DAY.year, DAY.month, DAY.day, 0, 0, tzinfo=timezone.utc) + timedelta(days=1)
    with time_machine.travel(at_seven, tick=False):
        assert DAY in briefing.run_due(store, settings)
        assert briefing.run_due(store, settings) == []
    assert store.briefing_days().count(DAY.isoformat()) == 1
    # the server was down for three mornings: when it comes back, the missed days are made
    with time_machine.travel(at_seven + timedelta(days=3, hours=5), tick=False):
        made = briefing.run_due(store, settings)
    assert [d.isoformat() for d in made] == [(DAY + timedelta(days=k)).isoformat() for k in (1, 2, 3)]
    briefing.make(store, DAY)
    assert store.briefing_days().count(DAY.isoformat()) == 1
