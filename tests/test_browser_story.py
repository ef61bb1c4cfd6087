"""In a real browser (Debian's Chromium driven by Playwright) against the real app on 127.0.0.1: staff open a story's
flag, see its facets and forecast band, read its cause view (quoted causes marked in their sentences, with links),
start an orientation from the board's playbook template, edit it, record it, and read the story's before and after on
the page (issue 17)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from service.app import create_app
from story_support import build_story
from test_browser import ARTIFACTS, CHROMIUM, CLOSED_NETWORK_ARGS, log_in, playwright_sync
from web_support import LiveServer, free_port

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("PULSE_REQUIRE_BROWSER"),
                       reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
]


def test_staff_read_the_cause_view_and_record_an_orientation_with_its_before_and_after(tmp_path):
    inst, flag, ids, outside, other_flag = build_story(tmp_path)
    app = create_app(inst.settings, start_worker=False)   # no submissions here: pages only
    with LiveServer(app, free_port()) as live, playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CLOSED_NETWORK_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN").new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{live.url}/flags/{flag['id']}")
            log_in(page, live.url, "staff1")
            page.wait_for_url(re.compile(rf".*/flags/{flag['id']}$"))
            facets = page.inner_text("#doi-tuong")      # the story's facets and its forecast with the interval
            assert "Công ty May Alpha Cao Bằng" in facets and "Nghị định 74/2024/NĐ-CP" in facets
            forecast = page.locator("#du-bao")
            assert forecast.locator("polygon.forecast-band").count() == 1
            assert forecast.locator("table.forecast-days tbody tr").count() == 7
            causes = page.locator("#nguyen-nhan")
            assert "Nguyên nhân theo ý kiến được nêu" in causes.inner_text()
            marked = causes.locator("li.cause mark").all_inner_texts()
            assert "vì công ty chậm trả lương hai tháng liền" in marked
            assert "nguyên nhân là do đơn hàng giảm mạnh nên doanh nghiệp thiếu vốn" in marked
            assert "Betaxyz" not in page.inner_text("main"), "unit B's reports are not unit A's to read"
            echo = causes.locator("ul.echoes li").first.inner_text()
            assert "Công ty May Alpha Cao Bằng" in echo and "Nghị định 74/2024/NĐ-CP" in echo
            causes.locator("li.cause a").first.click()            # a quote's link opens the item it came from
            page.wait_for_url(re.compile(r".*/items/\d+$"))
            assert "chậm trả lương" in page.inner_text("main")
            page.go_back()

            page.click("#de-xuat li.template:has-text('Đối thoại với doanh nghiệp về tiền lương') a.button")
            page.wait_for_url(re.compile(r".*\?mau=luong-doi-thoai#dinh-huong$"))
            said = page.locator("#orientation-form textarea[name=said]")
            assert said.input_value().startswith("Công đoàn cấp trên phối hợp")
            said.fill(said.input_value().replace("Công đoàn cấp trên phối hợp với công đoàn cơ sở làm việc",
                                                 "Ngày 18/3, Ban Tuyên giáo đã làm việc"))
            page.fill("#orientation-form input[name=owner]", "Ban Tuyên giáo")
            page.fill("#orientation-form input[name=given_on]", "2026-03-18")
            page.click("#orientation-form button:has-text('Ghi nhận định hướng')")
            page.wait_for_url(re.compile(rf".*/flags/{flag['id']}#dinh-huong$"))
            recorded = page.locator("#dinh-huong li.orientation").first.inner_text()
            assert "18/03/2026 · Hội nghị, đối thoại" in recorded
            assert "Ngày 18/3, Ban Tuyên giáo đã làm việc" in recorded
            table = page.locator("#dinh-huong table.before-after").first
            assert "Trước (04/03/2026–17/03/2026)" in table.inner_text() and "Số tin/ngày" in table.inner_text()
            assert "Kết luận:" in recorded and "So với dự báo" in recorded
            assert "Ghi nhận định hướng" in page.inner_text("#nhat-ky")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "story-orientation.png"), full_page=True)
        finally:
            browser.close()
