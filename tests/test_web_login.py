"""Logging in and API tokens under attack: a flood of wrong passwords slows the guesser down and never locks the
real owner out; the province's admin clears throttles; weak passwords are refused in Vietnamese; an API token opens
the JSON API only, expires and shows when it was last used; exported CSV cells never run as spreadsheet formulas."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from collectors.items import RawItem
from service.app import create_app
from service.auth import LoginThrottle, new_api_token, password_problem, token_hash
from service.store import iso
from web_support import OWN, PASSWORD, csrf_of, login, make_installation

ATTACKER, OWNER, OFFICE = ("203.0.113.9", 40000), ("198.51.100.7", 40000), ("192.0.2.44", 40000)


@pytest.fixture
def inst(tmp_path):
    return make_installation(tmp_path)


@pytest.fixture
def app(inst):
    return create_app(inst.settings, start_worker=False)


def client_at(app, address=OWNER) -> TestClient:
    return TestClient(app, follow_redirects=False, client=address)


def test_a_flood_against_the_admin_slows_the_guesser_and_never_locks_the_admin_out(app):
    # the flood arrives within the first one-second wait: the throttle's clock stands still while it does, so a
    # loaded machine (or a slower store) answering 40 requests in more than a second cannot end the wait mid-flood
    app.state.login_throttle = LoginThrottle(app.state.stores.get, clock=lambda: 1000.0)
    attacker = client_at(app, ATTACKER)
    codes = [login(attacker, "root", f"doan-mo-{n}").status_code for n in range(40)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}, codes
    slowed = login(attacker, "root", PASSWORD)
    assert slowed.status_code == 429 and "pulse_session" not in slowed.cookies
    assert "Đăng nhập sai quá nhiều lần" in slowed.text and int(slowed.headers["retry-after"]) >= 1
    # the real admin, from their own address, logs in at once, and so does everyone else behind other addresses
    assert login(client_at(app, OWNER), "root").status_code == 303
    assert login(client_at(app, OFFICE), "staff1").status_code == 303


def test_guessing_many_accounts_from_one_address_slows_that_address_only(app):
    attacker = client_at(app, ATTACKER)
    for n in range(25):
        login(attacker, f"khong-co-{n}", "sai-mat-khau")
    assert login(attacker, "collab1").status_code == 429
    assert login(client_at(app, OFFICE), "collab1").status_code == 303


def test_the_delay_grows_with_each_failure_and_is_forgotten_after_an_hour(store):
    now = [1000.0]
    throttle = LoginThrottle(lambda: store, free_per_account=5, clock=lambda: now[0])
    waits = []
    for _ in range(10):
        throttle.failed("10.0.0.1", "admin")
        waits.append(throttle.wait("10.0.0.1", "admin"))
    assert waits[:4] == [0.0] * 4 and waits[4:] == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    assert [(e["address"], e["username"], e["failures"]) for e in throttle.entries()] == [("10.0.0.1", "admin", 10)]
    assert throttle.wait("10.0.0.2", "admin") == 0.0, "another address is not slowed down"
    assert throttle.wait("10.0.0.1", "staff") == 0.0, "another account from the same address is not slowed down"
    now[0] += 33
    assert throttle.wait("10.0.0.1", "admin") == 0.0, "the delay is a wait, not a lock"
    throttle.failed("10.0.0.1", "admin")
    assert throttle.wait("10.0.0.1", "admin") == 64.0
    now[0] += 3601
    assert throttle.wait("10.0.0.1", "admin") == 0.0 and throttle.entries() == []
    for _ in range(100):
        throttle.failed("10.0.0.3", "admin")
    assert throttle.wait("10.0.0.3", "admin") == 15 * 60, "the delay has a ceiling"


def test_the_province_admin_lets_a_slowed_address_try_again(app):
    attacker = client_at(app, ATTACKER)
    for _ in range(8):
        login(attacker, "staff1", "sai-mat-khau")
    assert login(attacker, "staff1").status_code == 429
    root = client_at(app, OWNER)
    assert login(root, "root").status_code == 303
    page = root.get("/admin/throttles")
    assert page.status_code == 200 and ATTACKER[0] in page.text and "staff1" in page.text
    cleared = root.post("/admin/throttles/clear", data={"csrf_token": csrf_of(page.text), "address": ATTACKER[0]})
    assert cleared.status_code == 303 and "cleared=2" in cleared.headers["location"]
    assert "Không có địa chỉ nào đang bị làm chậm" in root.get("/admin/throttles").text
    assert login(attacker, "staff1").status_code == 303
    unit_admin = client_at(app, OFFICE)
    assert login(unit_admin, "admin1").status_code == 303
    assert unit_admin.get("/admin/throttles").status_code == 403, "a unit's admin does not manage throttles"


@pytest.mark.parametrize("password, message", [
    ("1234567890", "danh sách mật khẩu phổ biến"),
    ("matkhau123456", "danh sách mật khẩu phổ biến"),
    ("anhyeuem2024", "danh sách mật khẩu phổ biến"),
    ("P@ssw0rd123", "danh sách mật khẩu phổ biến"),
    ("Iloveyou!!!!", "danh sách mật khẩu phổ biến"),
    ("qwertyuiopas", "dãy ký tự liên tiếp"),
    ("aaaaaaaaaaaaa", "dãy ký tự liên tiếp"),
    ("abababababab", "dãy ký tự liên tiếp"),
    ("ngắn quá", "ít nhất 10 ký tự"),
    ("collab1-cua-toi", "tên đăng nhập"),
])
def test_a_weak_new_password_is_refused_with_the_reason(app, password, message):
    collab = client_at(app)
    assert login(collab, "collab1").status_code == 303
    csrf = csrf_of(collab.get("/account").text)
    answer = collab.post("/account", data={"csrf_token": csrf, "current": PASSWORD, "new": password,
                                           "repeat": password})
    assert answer.status_code == 400 and message in answer.text
    assert login(client_at(app, OFFICE), "collab1").status_code == 303, "the old password still works"


def test_a_strong_passphrase_is_accepted():
    assert password_problem("Trâu ăn cỏ bên sông Bằng", "collab1") is None
    assert password_problem("hoa-ban-no-tren-nui-7", "collab1") is None
    assert "phổ biến" in password_problem("matkhau", "x") + password_problem("matkhau2026!", "x")


def test_an_api_token_opens_the_api_only_never_the_forms(app, inst):
    token = new_api_token()
    inst.store.add_api_token(inst.users["root"], "tích hợp", token_hash(token))
    bearer = TestClient(app, follow_redirects=False, headers={"Authorization": f"Bearer {token}"})
    assert bearer.get("/api/flags").status_code == 200
    users_before = inst.store.count_users()
    page = bearer.get("/admin/users")
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    made = bearer.post("/admin/users", data={"username": "ke-gian", "role": "admin", "unit": "caobang"})
    assert made.status_code in (303, 403) and "ke-gian" not in made.text
    reset = bearer.post(f"/admin/users/{inst.users['staff1']}/password")
    assert reset.status_code in (303, 403)
    assert inst.store.count_users() == users_before and inst.store.user("ke-gian") is None
    assert login(client_at(app), "staff1").status_code == 303, "staff1's password was not reset"
    assert bearer.get("/analyst/labels.csv").status_code == 303
    assert bearer.post("/account", data={"current": PASSWORD, "new": "mot-mat-khau-moi-9",
                                         "repeat": "mot-mat-khau-moi-9"}).status_code in (303, 403)


def test_tokens_expire_and_show_when_they_were_last_used(app, inst):
    root = client_at(app)
    assert login(root, "root").status_code == 303
    page = root.get(f"/admin/users/{inst.users['collab1']}").text
    assert 'name="days"' in page
    shown = root.post(f"/admin/users/{inst.users['collab1']}/tokens",
                      data={"csrf_token": csrf_of(page), "name": "zalo", "days": "7"})
    token = shown.text.split('id="secret">')[1].split("<")[0]
    (row,) = inst.store.api_tokens(inst.users["collab1"])
    expires = datetime.fromisoformat(row["expires_at"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(timezone.utc) <= timedelta(days=7)
    assert "chưa dùng lần nào" in root.get(f"/admin/users/{inst.users['collab1']}").text
    assert TestClient(app).get("/api/submissions", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listed = root.get(f"/admin/users/{inst.users['collab1']}").text
    assert "dùng lần cuối" in listed and "chưa dùng lần nào" not in listed
    assert root.post(f"/admin/users/{inst.users['collab1']}/tokens",
                     data={"csrf_token": csrf_of(page), "name": "x", "days": "4000"}).status_code == 400

    old = new_api_token()
    inst.store.add_api_token(inst.users["collab1"], "cũ", token_hash(old),
                             expires_at=iso(datetime.now(timezone.utc) - timedelta(minutes=1)))
    refused = TestClient(app).get("/api/submissions", headers={"Authorization": f"Bearer {old}"})
    assert refused.status_code == 401
    assert "đã hết hạn" in root.get(f"/admin/users/{inst.users['collab1']}").text
    default = new_api_token()
    inst.store.add_api_token(inst.users["collab1"], "mặc định", token_hash(default))
    (row,) = [r for r in inst.store.api_tokens(inst.users["collab1"]) if r["name"] == "mặc định"]
    assert timedelta(days=89) < datetime.fromisoformat(row["expires_at"]) - datetime.now(timezone.utc) <= timedelta(days=90)


def test_exported_labels_never_run_as_spreadsheet_formulas(app, inst, tmp_path):
    from service.labels import export_csv, import_csv

    attacks = ['=HYPERLINK("http://evil.example","bấm vào")', "+84 912 345 678 gọi ngay", "-1+1 lương giảm",
               "@SUM(A1:A9) tiền thưởng"]
    ids = []
    for text in attacks:
        [item_id] = inst.store.add_items([RawItem(text=text, source="Cộng tác viên", kind="observation",
                                                  org_unit=OWN, channel="khac")])
        inst.store.add_label(item_id, "sentiment", "negative", "analyst1")
        ids.append(item_id)
    analyst = client_at(app)
    assert login(analyst, "analyst1").status_code == 303
    body = analyst.get("/analyst/labels.csv").text.lstrip("\ufeff")
    rows = {int(r["item_id"]): r for r in csv.DictReader(io.StringIO(body))}
    for item_id, text in zip(ids, attacks):
        assert rows[item_id]["text"] == "'" + text, rows[item_id]
    path = tmp_path / "labels.csv"
    export_csv(inst.store, path)
    with open(path, encoding="utf-8-sig", newline="") as f:
        cells = [cell for row in csv.reader(f) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    # the file goes back in as it came out: the apostrophe is dropped when items are found by their text
    by_text = tmp_path / "by_text.csv"
    by_text.write_text("text,task,label\n" + "".join(f'"\'{t.replace(chr(34), chr(34) * 2)}",sentiment,positive\n'
                                                    for t in attacks), encoding="utf-8")
    outcome = import_csv(inst.store, inst.settings.models_dir, by_text, "analyst1")
    assert outcome.imported == 4 and not outcome.errors


def _login_from(base: str, source: str, username: str, password: str) -> int:
    """Log in over a real socket bound to a chosen loopback address (127.0.0.x): the server sees that address."""
    import http.client
    import re
    from urllib.parse import urlencode, urlparse

    url = urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60, source_address=(source, 0))
    try:
        conn.request("GET", "/login")
        page = conn.getresponse()
        cookie = page.getheader("set-cookie").split(";")[0]
        csrf = re.search(r'name="csrf_token" value="([^"]*)"', page.read().decode()).group(1)
        body = urlencode({"username": username, "password": password, "csrf_token": csrf})
        conn.request("POST", "/login", body=body, headers={"Cookie": cookie,
                                                           "Content-Type": "application/x-www-form-urlencoded"})
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


def test_a_burst_of_guesses_on_a_live_server_is_slowed_and_the_admin_logs_in_from_elsewhere(inst):
    """60 wrong passwords for the province's admin sent at once from 127.0.0.1 to uvicorn: at most a few are even
    checked; the admin, from 127.0.0.2, logs in at once."""
    from concurrent.futures import ThreadPoolExecutor

    from web_support import LiveServer, free_port

    app = create_app(inst.settings, start_worker=False)
    with LiveServer(app, free_port()) as live:
        with ThreadPoolExecutor(max_workers=20) as pool:
            codes = list(pool.map(lambda n: _login_from(live.url, "127.0.0.1", "root", f"doan-{n}"), range(60)))
        assert codes.count(401) <= 7 and codes.count(429) >= 53 and set(codes) == {401, 429}, sorted(codes)
        assert _login_from(live.url, "127.0.0.1", "root", PASSWORD) == 429
        assert _login_from(live.url, "127.0.0.2", "root", PASSWORD) == 303
