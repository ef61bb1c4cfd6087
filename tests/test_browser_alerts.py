"""In a real browser (Debian's Chromium driven by Playwright) against the real app on 127.0.0.1: a serious flag of the
reader's unit rings the bell (its unread count on the dashboard, on a desktop and on a phone, with the charts and the
banner of a failing source), the reader opens the notification, lands on the flag, and the bell goes quiet."""
from __future__ import annotations

import os
import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from service import alerts
from service.app import create_app
from test_browser import CHROMIUM, CLOSED_NETWORK_ARGS, log_in, shot
from web_support import OWN, LiveServer, free_port, make_installation, observation

import playwright.sync_api as playwright_sync  # noqa: E402  (a dev dependency: its absence is an install error)

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("PULSE_REQUIRE_BROWSER"),
                       reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
]


@pytest.fixture
def site(tmp_path):
    inst = make_installation(tmp_path)
    store = inst.store
    sid, _ = store.add_submission(inst.users["collab1"], uuid.uuid4().hex,
                                  observation("Công nhân bệnh viện phản ánh nợ lương ca đêm hai tháng.", OWN))
    item = store.submissions(ids=[sid])[0]["item_id"]
    now = datetime.now(timezone.utc)
    flag_id, _ = store.save_story_flag({
        "key": "story:bell", "kind": "new_stream", "stream_id": None, "topic": "tien_luong", "score": 4.0,
        "window_start": (now - timedelta(days=1)).isoformat(), "window_end": now.isoformat(), "count": 1,
        "baseline": 0.0, "reason": "Cộng tác viên phản ánh nợ lương ca đêm.", "keyphrases": [], "item_ids": [item],
        "severity": 77.0, "title": "Bệnh viện nợ lương ca đêm",
        "evidence": {"units": {OWN: 1}, "timeline": [{"day": now.date().isoformat(), "count": 1}]}})
    # staff1 chose serious flags only, so the bell counts this flag alone whatever the day: the reports' reminders
    # (report_due) fall on days of the calendar
    store.set_alert_prefs(inst.users["staff1"], "", ["new_flag"], 60.0, False)
    source = store.sources()[0]          # a source whose last run failed: the dashboard's banner says so
    store.record_run(source["name"], now.isoformat(), now.isoformat(), False, 0, 0, False, ["timeout"], 1.0)
    assert alerts.scan(store, inst.settings)["new_flag"] >= 1
    with LiveServer(create_app(inst.settings, start_worker=False), free_port()) as live:
        yield inst, live, flag_id


def test_the_bell_rings_for_a_serious_flag_and_goes_quiet_once_read(site):
    inst, live, flag_id = site
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CLOSED_NETWORK_ARGS)
        try:
            phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, locale="vi-VN")
            page = phone.new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{live.url}/")
            log_in(page, live.url, "staff1")
            page.wait_for_url(f"{live.url}/")
            assert page.inner_text("#bell-count") == "1"
            assert page.locator("svg.chart").count() == 2 and page.locator("#don-vi table").is_visible()
            banner = page.locator("p.banner.failing")
            assert banner.is_visible() and "nguồn tin đang lỗi" in banner.inner_text()
            shot(page, "dashboard-phone")
            phone.close()

            desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN").new_page()
            desk.set_default_timeout(15_000)
            desk.goto(f"{live.url}/")
            log_in(desk, live.url, "staff1")
            desk.wait_for_url(f"{live.url}/")
            assert desk.inner_text("#bell-count") == "1"
            assert desk.locator("svg.chart").count() == 2 and desk.locator("p.banner.failing").is_visible()
            shot(desk, "dashboard-desktop")
            desk.click("#bell")
            desk.wait_for_url(f"{live.url}/alerts")
            note = desk.locator("ul.notes li.unread")
            assert note.count() == 1 and "Cảnh báo mới, mức độ 77: Bệnh viện nợ lương ca đêm" in note.inner_text()
            shot(desk, "alerts-list")
            note.locator("button").click()
            desk.wait_for_url(re.compile(rf".*/flags/{flag_id}$"))
            assert desk.locator("#bell-count").count() == 0
            desk.goto(f"{live.url}/alerts")
            assert desk.locator("ul.notes li.read").count() == 1 and desk.locator("ul.notes li.unread").count() == 0
        finally:
            browser.close()
