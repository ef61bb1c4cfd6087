"""Security of the web app: CSRF, escaping, SQL-looking input, body size, login throttling, sessions, tokens."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from service.app import create_app, route_table
from service.auth import new_secret, token_hash
from service.store import iso
from web_support import OWN, PASSWORD, csrf_of, key_of, login, make_installation


@pytest.fixture
def inst(tmp_path):
    return make_installation(tmp_path)


@pytest.fixture
def app(inst):
    return create_app(inst.settings, start_worker=False)


def client_for(app, username: str | None = None) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    if username:
        assert login(client, username).status_code == 303
    return client


def submit(client: TestClient, text: str, key: str | None = None, **fields):
    form = client.get("/submit").text
    data = {"csrf_token": csrf_of(form), "idempotency_key": key or key_of(form), "text": text,
            "channel": "truc-tiep", "unit": OWN, "place": "", "observed_on": "", "people": "1", **fields}
    return client.post("/submit", data=data)


def test_every_form_post_without_csrf_token_is_refused(app, inst):
    client = client_for(app, "root")
    flag = inst.store.upsert_flag({"key": "k", "kind": "burst", "stream_id": None, "topic": "tien_luong", "score": 1,
                                   "window_start": "2026-01-01T00:00:00+00:00", "window_end": "2026-01-02T00:00:00+00:00",
                                   "count": 1, "baseline": 0, "reason": "lý do", "item_ids": [], "evidence": {}})
    posts = [p for p, methods, _ in route_table(app) if "POST" in methods and not p.startswith("/api/")]
    assert len(posts) > 10
    for path in posts:
        url = (path.replace("{flag_id}", str(flag)).replace("{user_id}", str(inst.users["collab1"]))
               .replace("{token_id}", "1").replace("{code}", OWN).replace("{name}", "x").replace("{term_id}", "1"))
        response = client.post(url, data={"action": "confirm", "note": "x", "ids": [flag], "term": "đình công mới"})
        assert response.status_code == 403, f"{url} accepted a form without its CSRF token"
        assert "Phiên làm việc đã hết hạn" in response.text or "Biểu mẫu đăng nhập" in response.text
    assert inst.store.flag(flag)["status"] == "open"
    assert inst.store.flag_events(flag) == []
    wrong = client.post(f"/flags/{flag}/action", data={"action": "confirm", "csrf_token": new_secret()})
    assert wrong.status_code == 403 and inst.store.flag(flag)["status"] == "open"


def test_api_through_a_session_needs_the_csrf_header(app):
    client = client_for(app, "collab1")
    body = {"text": "Ý kiến gửi qua phiên đăng nhập.", "channel": "khac", "idempotency_key": uuid.uuid4().hex}
    assert client.post("/api/submissions", json=body).status_code == 403
    csrf = csrf_of(client.get("/submit").text)
    assert client.post("/api/submissions", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201


def test_login_form_without_its_token_is_refused(app):
    client = TestClient(app, follow_redirects=False)
    response = client.post("/login", data={"username": "collab1", "password": PASSWORD})
    assert response.status_code == 403 and "pulse_session" not in response.cookies


def test_script_in_a_submission_is_shown_escaped_everywhere(app, inst):
    collab = client_for(app, "collab1")
    attack = 'Ý kiến <script>alert("xss")</script> <img src=x onerror=alert(1)>'
    sent = submit(collab, attack)
    assert sent.status_code == 303
    pages = [collab.get(sent.headers["location"]).text, collab.get("/submissions").text]
    staff = client_for(app, "staff1")
    item_id = inst.store.find_items("alert")[0]["id"]
    pages += [staff.get(f"/items/{item_id}").text, staff.get("/items?q=alert").text]
    for page in pages:
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(" in page
    assert inst.store.item(item_id)["text"] == attack


def test_sql_looking_input_is_stored_and_searched_as_text(app, inst):
    collab = client_for(app, "collab1")
    text = "Robert'); DROP TABLE items; -- và \" OR 1=1 -- nợ lương"
    assert submit(collab, text, place="'; DELETE FROM users; --").status_code == 303
    stored = inst.store.find_items("DROP TABLE")[0]
    assert inst.store.item(stored["id"])["text"] == text
    assert inst.store.item(stored["id"])["extra"]["place"] == "'; DELETE FROM users; --"
    assert inst.store.count_users() == 8
    staff = client_for(app, "staff1")
    for q in ["' OR 1=1 --", '"', "luong\" OR \"", "*", "NEAR(", "-"]:
        assert staff.get("/items", params={"q": q}).status_code == 200
    assert "DROP TABLE items" in staff.get("/items", params={"q": "drop table"}).text


def test_oversized_bodies_get_413(app, inst):
    collab = client_for(app, "collab1")
    big = "a" * 400_000
    response = collab.post("/submit", data={"text": big, "channel": "khac"})
    assert response.status_code == 413 and "quá lớn" in response.text

    def chunks():
        for _ in range(100):
            yield b"x" * 10_000

    streamed = collab.post("/submit", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert streamed.status_code == 413
    api = collab.post("/api/submissions", content=b"{" + b" " * 300_000 + b"}",
                      headers={"content-type": "application/json"})
    assert api.status_code == 413 and api.json()["detail"] == "Nội dung gửi lên quá lớn."
    assert inst.store.count_submissions() == 0


def test_brute_force_login_is_throttled(app):
    client = TestClient(app, follow_redirects=False)
    for _ in range(5):
        assert login(client, "staff1", "doan-sai").status_code == 401
    blocked = login(client, "staff1", PASSWORD)
    assert blocked.status_code == 429 and "Đăng nhập sai quá nhiều lần" in blocked.text
    assert "pulse_session" not in blocked.cookies
    assert login(client, "analyst1").status_code == 303, "another account is not locked by staff1's guesser"


def test_guessing_many_accounts_from_one_address_is_throttled(app):
    client = TestClient(app, follow_redirects=False)
    for i in range(30):
        login(client, f"khong-co-{i}", "sai")
    assert login(client, "collab1").status_code == 429


def test_session_cookie_is_httponly_lax_and_expires(app, inst):
    client = TestClient(app, follow_redirects=False)
    response = login(client, "collab1")
    cookie = response.headers["set-cookie"]
    assert "pulse_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Max-Age=43200" in cookie
    token = new_secret()
    past = iso(datetime.now(timezone.utc) - timedelta(minutes=1))
    inst.store.create_session(token_hash(token), inst.users["collab1"], new_secret(), past)
    stale = TestClient(app, follow_redirects=False, cookies={"pulse_session": token})
    assert stale.get("/submit").headers["location"].startswith("/login?next=")
    idle = new_secret()   # a session unused for longer than the idle limit ends too
    inst.store.create_session(token_hash(idle), inst.users["collab1"], new_secret(),
                              iso(datetime.now(timezone.utc) + timedelta(hours=6)))
    inst.store.touch_session(token_hash(idle), iso(datetime.now(timezone.utc) - timedelta(hours=3)))
    idler = TestClient(app, follow_redirects=False, cookies={"pulse_session": idle})
    assert idler.get("/submit").headers["location"].startswith("/login?next=")


def test_logout_and_deactivation_end_the_session(app, inst):
    collab = client_for(app, "collab1")
    assert collab.get("/submit").status_code == 200
    csrf = csrf_of(collab.get("/submit").text)
    assert collab.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert collab.get("/submit").status_code == 303
    collab = client_for(app, "collab1")
    inst.store.update_user(inst.users["collab1"], "collaborator", OWN, active=False)
    assert collab.get("/submit").status_code == 303
    assert login(TestClient(app, follow_redirects=False), "collab1").status_code == 401


def test_api_token_is_shown_once_stored_hashed_and_revocable(app, inst):
    admin = client_for(app, "root")
    page = admin.get(f"/admin/users/{inst.users['collab1']}").text
    shown = admin.post(f"/admin/users/{inst.users['collab1']}/tokens", data={"csrf_token": csrf_of(page),
                                                                           "name": "ứng dụng"})
    token = shown.text.split('id="secret">')[1].split("<")[0]
    assert token.startswith("pulse_") and "chỉ hiện một lần" in shown.text
    assert token not in admin.get(f"/admin/users/{inst.users['collab1']}").text
    (row,) = inst.store.api_tokens(inst.users["collab1"])
    assert inst.store.api_token_user(token_hash(token))["username"] == "collab1"
    api = TestClient(app)
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/submissions", headers=headers).status_code == 200
    assert api.get("/api/submissions", headers={"Authorization": "Bearer pulse_sai"}).status_code == 401
    admin.post(f"/admin/tokens/{row['id']}/revoke", data={"csrf_token": csrf_of(page)})
    assert api.get("/api/submissions", headers=headers).status_code == 401


def test_errors_are_plain_vietnamese_never_a_traceback(app):
    staff = client_for(app, "staff1")
    missing = staff.get("/flags/999999")
    assert missing.status_code == 404 and "Không tìm thấy nội dung bạn cần." in missing.text
    bad = staff.get("/flags/khong-phai-so")
    assert bad.status_code == 400 and "Dữ liệu gửi lên không hợp lệ." in bad.text
    assert "Traceback" not in bad.text and "value_error" not in bad.text
    assert staff.get("/khong-co-trang-nay").text.count("Không tìm thấy") == 1
    api = TestClient(app).get("/api/flags")
    assert api.status_code == 401 and "mã truy cập" in api.json()["detail"]


def test_login_never_redirects_off_site(app):
    for target in ["//evil.example/", "https://evil.example/", "/\\evil.example"]:
        client = TestClient(app, follow_redirects=False)
        page = client.get("/login").text
        response = client.post("/login", data={"username": "staff1", "password": PASSWORD,
                                               "csrf_token": csrf_of(page), "next": target})
        assert response.headers["location"] == "/"


def test_pages_carry_security_headers(app):
    response = client_for(app, "staff1").get("/")
    assert response.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


def test_cli_prints_an_api_token_once_that_the_api_accepts(app, inst, cli):
    result = cli("users", "token", "collab1", "--name", "zalo")
    assert result.exit_code == 0, result.output
    token = result.output.split("API token for collab1: ")[1].split()[0]
    assert token not in str(inst.store.api_tokens(inst.users["collab1"]))
    api = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert api.get("/api/submissions").status_code == 200
    assert cli("users", "token", "khong-co").exit_code == 1


def test_submissions_are_rate_limited_per_user(app, inst):
    from service.auth import RateLimiter

    app.state.submit_limiter = RateLimiter(app.state.stores.get, limit=3, window=600, scope="submit")
    collab = client_for(app, "collab1")
    codes = [submit(collab, f"Ý kiến thử giới hạn số {n}.").status_code for n in range(4)]
    assert codes == [303, 303, 303, 429]
    assert "quá nhiều ý kiến" in submit(collab, "Ý kiến thêm nữa.").text
    assert inst.store.count_submissions() == 3
    assert submit(client_for(app, "staff1"), "Người khác vẫn gửi được.").status_code == 303


def test_links_from_feeds_are_only_http(app, inst):
    from collectors.items import RawItem

    inst.store.add_items([RawItem(text="Bài có đường dẫn độc hại nợ lương.", title="Bài độc hại",
                                  url="javascript:alert(document.cookie)", source="lạ")])
    item_id = inst.store.find_items("độc hại")[0]["id"]
    inst.store.upsert_flag({"key": "x", "kind": "watch_term", "stream_id": None, "topic": "tien_luong", "score": 5,
                            "window_start": "2026-01-01T00:00:00+00:00", "window_end": "2026-01-02T00:00:00+00:00",
                            "count": 1, "baseline": 0, "reason": "lý do", "item_ids": [item_id],
                            "evidence": {"representative": [item_id]}})
    staff = client_for(app, "staff1")
    for page in (staff.get("/").text, staff.get("/flags/1").text, staff.get(f"/items/{item_id}").text):
        assert "javascript:alert" not in page
