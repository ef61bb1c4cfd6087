"""In a real browser (Debian's Chromium driven by Playwright) against the real app on 127.0.0.1: the province's admin
opens a watch term, sees which items it really matched (the place «Định Công» is not «đình công»; the footballer's
strike is listed but not relevant), excludes the club, and the footballer's items leave the term's hits."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from collectors.items import RawItem
from service.app import create_app
from service.pipeline import load_annotator, process
from test_browser import CHROMIUM, CLOSED_NETWORK_ARGS, log_in, shot
from test_watch import FACTORY_REPORT, headline
from web_support import LiveServer, free_port, make_installation, observation

import playwright.sync_api as playwright_sync  # noqa: E402  (a dev dependency: its absence is an install error)

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("PULSE_REQUIRE_BROWSER"),
                       reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
]


@pytest.fixture
def site(tmp_path):
    inst = make_installation(tmp_path)
    now = datetime.now(timezone.utc) - timedelta(hours=1)
    ids = inst.store.add_items([
        RawItem(title=headline("rss-ronaldo-2"), text="", source="24h", url="https://example.test/r", published_at=now),
        RawItem(title=headline("baomoi-dinh-cong"), text="", source="baomoi", url="https://example.test/d",
                published_at=now),
        observation(FACTORY_REPORT, "caobang", day=now)])
    process(inst.store, *load_annotator(inst.settings.models_dir))
    app = create_app(inst.settings, start_worker=False)
    with LiveServer(app, free_port()) as live:
        yield inst, live, ids


def test_admin_excludes_a_club_from_a_watch_term_in_the_browser(site):
    inst, live, (ronaldo, dinh_cong, report) = site
    term = next(t for t in inst.store.watch_terms() if t["term"] == "đình công")
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CLOSED_NETWORK_ARGS)
        try:
            page = browser.new_context(locale="vi-VN").new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{live.url}/admin/terms")
            log_in(page, live.url, "root")
            page.wait_for_url(f"{live.url}/admin/terms")
            assert "2 tin khớp trong 30 ngày, 1 liên quan" in page.inner_text(f"li:has(a[href='/admin/terms/{term['id']}'])")
            page.click(f"a[href='/admin/terms/{term['id']}']")
            page.wait_for_url(f"{live.url}/admin/terms/{term['id']}")
            shot(page, "watch-term-before")
            assert page.locator(f"a[href='/items/{ronaldo}']").count() == 1
            assert page.locator(f"a[href='/items/{report}']").count() == 1
            assert page.locator(f"a[href='/items/{dinh_cong}']").count() == 0
            page.fill("input[name=contexts]", "Al Nassr, Ronaldo")
            page.click("button:has-text('Lưu')")
            page.wait_for_selector("text=Đã lưu ngữ cảnh loại trừ.")
            shot(page, "watch-term-after")
            assert page.input_value("input[name=contexts]") == "Al Nassr, Ronaldo"
            assert page.locator(f"a[href='/items/{ronaldo}']").count() == 0
            assert page.locator(f"a[href='/items/{report}']").count() == 1
            assert "Tin khớp trong 30 ngày qua: 1 tin, 1 tin liên quan" in page.inner_text("h2:has-text('Tin khớp')")
        finally:
            browser.close()
    assert inst.store.watch_term(term["id"])["excluded_contexts"] == "Al Nassr, Ronaldo"
