"""One real feed and three collaborators' reports travel collect/import → process → trends through the CLI, and the
flags show on the served page: the reports of a local factory's unpaid wages lead; a football club's «nợ lương» in the
feed is a watch-term hit listed on the term's page and raises no flag (issue 12)."""
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
             "baseline", "reason", "item_ids"}   # the contract's keys; new ones may be added, none removed
REPORTS = ("Ngày,Đơn vị,Ý kiến\n"
           "26/07/2017,cb-giaoduc,Công nhân Công ty may Hưng Phát (Cao Bằng) phản ánh bị nợ lương hai tháng.\n"
           "26/07/2017,cb-yte,Công ty may Hưng Phát ở Cao Bằng nợ lương công nhân tháng 5 và tháng 6.\n"
           "26/07/2017,cb-thanhpho,Người lao động may Hưng Phát bức xúc vì công ty nợ lương hai tháng.\n")


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
    (tmp_path / "bao-cao.csv").write_text(REPORTS, encoding="utf-8")
    imported = pulse(db, "import", str(tmp_path / "bao-cao.csv"), "--kind", "observations")
    assert imported.returncode == 0, imported.stderr + imported.stdout
    processed = pulse(db, "process")
    assert processed.returncode == 0, processed.stderr
    assert "28 items annotated" in processed.stdout

    detected = pulse(db, "trends", "--since", "2017-07-26", "--until", "2017-07-26", "--json")
    assert detected.returncode == 0, detected.stderr
    flags = json.loads(detected.stdout)
    assert flags, "the collaborators' reports must raise a flag"
    for flag in flags:
        assert FLAG_KEYS <= set(flag) and {"title", "severity", "severity_parts"} <= set(flag)
        assert flag["count"] == len(flag["item_ids"]) >= 1
        assert flag["window_end"] == "2017-07-26T17:00:00+00:00"
    from service.store import Store
    from service.watch import watch_hits

    store = Store(db)
    top = flags[0]
    assert {i["kind"] for i in store.items_by_ids(top["item_ids"])} == {"observation"} and top["kind"] == "spread"
    assert all(WATCHED not in (f.get("title") or "") for f in flags), "a football club's unpaid players raise no flag"
    hits = watch_hits(store, "2017-07-26", "2017-07-26")
    football = [h for h in hits if h.term == "nợ lương" and store.items_by_ids([h.item_id])[0]["title"] == WATCHED]
    assert football and not football[0].relevant, "the football hit is still found, and marked not about workers"
    again = json.loads(pulse(db, "trends", "--date", "2017-07-26", "--json").stdout)
    assert [f["id"] for f in again] == [f["id"] for f in flags], "re-running detection must not duplicate flags"

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--no-scheduler"],
                              cwd=ROOT, env={**os.environ, "PULSE_DB": str(db)}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", timeout=120)
        browser = requests.Session()
        login_form = browser.get(f"http://127.0.0.1:{port}/login", timeout=10).text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login_form).group(1)
        page = browser.post(f"http://127.0.0.1:{port}/login", timeout=10,
                            data={"username": "admin", "password": admin_password, "csrf_token": csrf})
        assert page.status_code == 200
        body = page.text
        assert "Luồng dư luận cần chú ý" in body
        assert f"{len(flags)} cảnh báo đang mở" in body
        assert WATCHED not in body
        for flag in flags:
            assert html.escape(flag["reason"], quote=False) in body
            assert html.escape(flag["title"], quote=False) in body
            for item in store.items_by_ids(flag["item_ids"]):
                if item["url"]:
                    assert f'href="{html.escape(item["url"])}"' in body
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)   # it stops on SIGTERM with its children (tests/test_lifecycle.py times that)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
