"""In a real browser (Debian's Chromium driven by Playwright) against the real app on 127.0.0.1: a unit's staff
member drafts the unit's October report, writes its causes and proposals, sends it up; the province's admin sees it
sent, the three other units listed as late by name, opens it and marks it received; the unit then sees «Đã nhận»."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.app import create_app
from test_browser import CHROMIUM, CLOSED_NETWORK_ARGS, log_in, shot
from web_support import OWN, LiveServer, free_port, make_installation

import playwright.sync_api as playwright_sync  # noqa: E402  (a dev dependency: its absence is an install error)

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("PULSE_REQUIRE_BROWSER"),
                       reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
]
LATE = ("Công đoàn ngành Giáo dục tỉnh", "Công đoàn Viên chức tỉnh", "Liên đoàn Lao động thành phố Cao Bằng")


@pytest.fixture
def site(tmp_path):
    inst = make_installation(tmp_path)
    app = create_app(inst.settings, start_worker=False)   # pages only: no models are needed here
    with LiveServer(app, free_port()) as live:
        yield inst, live


def test_draft_edit_send_and_the_parent_marks_it_received(site):
    inst, live = site
    base = live.url
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CLOSED_NETWORK_ARGS)
        try:
            unit = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN").new_page()
            unit.set_default_timeout(15_000)
            unit.goto(f"{base}/unit-reports")
            log_in(unit, base, "staff1")
            unit.wait_for_url(f"{base}/unit-reports")
            unit.fill("#draft-form input[name=ref]", "2026-10-15")   # October 2026: due 05/11, so others are late
            unit.click("#draft-form button:has-text('Lập hoặc mở bản nháp')")
            unit.wait_for_url(lambda url: "/unit-reports/" in url)
            report_url = unit.url.split("?")[0]
            assert unit.inner_text("#report-status") == "Nháp"
            assert "Tình hình dư luận xã hội và công tác nắm bắt dư luận tháng 10/2026" in unit.inner_text("#noi-dung")
            unit.fill("#edit-form textarea[name=causes]", "Bệnh viện thiếu điều dưỡng, trực đêm kéo dài.")
            unit.fill("#edit-form textarea[name=proposals]", "Đề nghị tỉnh xem xét tăng phụ cấp trực đêm.")
            unit.click("#edit-form button:has-text('Lưu')")
            unit.wait_for_selector("text=Đã lưu.")
            assert "Bệnh viện thiếu điều dưỡng, trực đêm kéo dài." in unit.inner_text("#noi-dung")
            shot(unit, "reports-1-draft-edited")
            unit.click("#send-form button:has-text('Gửi lên cấp trên')")
            unit.wait_for_function("document.querySelector('#report-status').innerText === 'Đã gửi'")
            assert unit.locator("#send-form").count() == 0
            shot(unit, "reports-2-sent")

            province = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN").new_page()
            province.set_default_timeout(15_000)
            province.goto(f"{base}/unit-reports?period=month&ref=2026-10-01")
            log_in(province, base, "root")
            province.wait_for_url(lambda url: "/unit-reports" in url and "login" not in url)
            late = province.inner_text("#late-units")
            assert all(name in late for name in LATE) and "Y tế" not in late
            row = province.locator(f"#don-vi-{OWN}")
            assert "Đã gửi" in row.inner_text() and "staff1" in row.inner_text()
            shot(province, "reports-3-parent-overview")
            row.locator("a:has-text('Xem báo cáo')").click()
            province.wait_for_url(report_url)
            assert "Đề nghị tỉnh xem xét tăng phụ cấp trực đêm." in province.inner_text("#noi-dung")
            province.click("button:has-text('Đánh dấu đã nhận')")
            province.wait_for_url(lambda url: url.startswith(f"{base}/unit-reports?"))
            assert "Đã nhận" in province.locator(f"#don-vi-{OWN} .status").inner_text()
            assert "root" in province.locator(f"#don-vi-{OWN}").inner_text()
            shot(province, "reports-4-received")

            unit.reload()
            assert unit.inner_text("#report-status") == "Đã nhận"
        finally:
            browser.close()
