"""One real feed travels collect → process → trends through the CLI, and its flags show on the served page."""
from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import requests

from conftest import FIXTURES, ROOT, free_port, wait_for

FEED = (FIXTURES / "rss" / "vnexpress_tin-moi-nhat_2017-07-26.rss.xml").read_bytes()
WATCHED = "13 CLB Trung Quốc có thể bị cấm thi đấu vì nợ lương cầu thủ"
FLAG_KEYS = {"id", "kind", "stream_id", "topic", "score", "window_start", "window_end", "keyphrases", "count",
             "baseline", "reason", "item_ids"}


def pulse(db: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PULSE_DB": str(db)}
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_feed_to_flag_on_the_page(tmp_path, local_server):
    db = tmp_path / "pulse.db"
    url = local_server.serve("/tin-moi-nhat.rss", FEED)
    initialised = pulse(db, "init")
    assert initialised.returncode == 0
    admin_password = re.search(r"First admin account: admin / (\S+)", initialised.stdout).group(1)
    for name in [line.split()[0] for line in pulse(db, "sources", "list").stdout.splitlines() if line[:1].strip()]:
        assert pulse(db, "sources", "disable", name).returncode == 0
    assert pulse(db, "sources", "add", "vnexpress-local", url).returncode == 0

    collected = pulse(db, "collect")
    assert collected.returncode == 0, collected.stderr
    assert "vnexpress-local: 25 found, 25 new" in collected.stdout
    processed = pulse(db, "process")
    assert processed.returncode == 0, processed.stderr
    assert "25 items annotated" in processed.stdout

    detected = pulse(db, "trends", "--since", "2017-07-26", "--until", "2017-07-26", "--json")
    assert detected.returncode == 0, detected.stderr
    flags = json.loads(detected.stdout)
    for flag in flags:
        assert set(flag) == FLAG_KEYS
        assert flag["count"] == len(flag["item_ids"]) >= 1
        assert flag["window_end"] == "2017-07-26T17:00:00+00:00"
    from service.store import Store

    store = Store(db)
    watched = [f for f in flags if f["kind"] == "watch_term" and "«nợ lương»" in f["reason"]]
    assert len(watched) == 1, "the default watch term `nợ lương` must flag the day's item that mentions it"
    assert [i["title"] for i in store.items_by_ids(watched[0]["item_ids"])] == [WATCHED]
    again = json.loads(pulse(db, "trends", "--date", "2017-07-26", "--json").stdout)
    assert [f["id"] for f in again] == [f["id"] for f in flags], "re-running detection must not duplicate flags"

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--no-scheduler"],
                              cwd=ROOT, env={**os.environ, "PULSE_DB": str(db)}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
        browser = requests.Session()
        login_form = browser.get(f"http://127.0.0.1:{port}/login", timeout=10).text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login_form).group(1)
        page = browser.post(f"http://127.0.0.1:{port}/login", timeout=10,
                            data={"username": "admin", "password": admin_password, "csrf_token": csrf})
        assert page.status_code == 200
        body = page.text
        assert "Luồng dư luận cần chú ý" in body
        assert f"{len(flags)} cảnh báo đang mở" in body
        assert "Từ khóa theo dõi" in body and WATCHED in body
        for flag in flags:
            assert html.escape(flag["reason"], quote=False) in body
            for item in store.items_by_ids(flag["item_ids"]):
                assert f'href="{html.escape(item["url"])}"' in body
                assert html.escape(item["title"], quote=False) in body
    finally:
        server.terminate()
        server.wait(timeout=10)
