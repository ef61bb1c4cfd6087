"""What each kind of user does in the browser, through the real app (TestClient): collaborators' form and list,
staff review (queue, filters, evidence, decisions, bulk, audit trail), the items search, admin pages, the API."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.timeutil import today_local
from web_support import OTHER, OWN, PASSWORD, csrf_of, key_of, login, make_installation, observation


@pytest.fixture
def inst(tmp_path):
    return make_installation(tmp_path)


@pytest.fixture
def app(inst):
    return create_app(inst.settings, start_worker=False)


def as_user(app, username):
    client = TestClient(app, follow_redirects=False)
    assert login(client, username).status_code == 303
    return client


def form_of(client, path="/submit"):
    page = client.get(path).text
    return {"csrf_token": csrf_of(page), "idempotency_key": key_of(page) if "idempotency_key" in page else ""}


def send(client, message, **fields):
    data = {**form_of(client), "text": message, "channel": "hoi-nghi", "unit": OWN, "place": "Nhà văn hóa",
            "observed_on": today_local().isoformat(), "people": "25", **fields}
    return client.post("/submit", data=data)


def flag(store, key, unit, item_ids, kind="watch_term", score=6.0, topic="tien_luong", day="2026-01-02"):
    return store.upsert_flag({
        "key": key, "kind": kind, "stream_id": None, "topic": topic, "score": score,
        "window_start": f"{day}T00:00:00+07:00".replace("T00:00:00+07:00", "T00:00:00+00:00"),
        "window_end": f"{day}T23:59:59+00:00", "count": len(item_ids), "baseline": 0.0,
        "reason": f"Lý do của {key}.", "keyphrases": ["nợ lương", "tăng ca"], "item_ids": item_ids,
        "evidence": {"units": {unit: len(item_ids)}, "sources": {"Cộng tác viên": len(item_ids)},
                     "sentiment": {"negative": 3, "neutral": 1}, "representative": item_ids[:1],
                     "timeline": [{"day": "2026-01-01", "count": 1, "total": 5}, {"day": day, "count": 4, "total": 6}]}})


def test_collaborator_form_stores_once_confirms_and_lists_with_what_happened(app, inst):
    collab = as_user(app, "collab1")
    page = collab.get("/submit").text
    for label in ["Trực tiếp", "Hội nghị / đối thoại", "Mạng xã hội", "Báo chí", "Khác", "Địa điểm",
                  "Ngày nắm bắt", "Khoảng bao nhiêu người cùng ý kiến", 'value="cb-yte" selected']:
        assert label in page
    fields = {**form_of(collab), "text": "Công nhân phản ánh bị nợ lương hai tháng.", "channel": "truc-tiep",
              "unit": "", "place": "KCN Đề Thám", "observed_on": "", "people": "40"}
    first = collab.post("/submit", data=fields)
    again = collab.post("/submit", data=fields)   # the phone resends the same form
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert inst.store.count_submissions() == 1 and inst.store.count_items() == 1
    confirmation = collab.get(first.headers["location"]).text
    assert "Đã nhận ý kiến của bạn" in confirmation and "Đã nhận, đang phân tích" in confirmation
    assert "KCN Đề Thám" in confirmation and "40" in confirmation
    (row,) = inst.store.submissions()
    assert row["org_unit"] == OWN and row["channel"] == "truc-tiep" and row["extra"]["people"] == 40
    inst.store.mark_submissions_processed([row["id"]])
    flag(inst.store, "f1", OWN, [row["item_id"]])
    listing = collab.get("/submissions").text
    assert "Được đưa vào cảnh báo «Từ khóa theo dõi»: Ban đang xem xét" in listing


def test_form_rejects_bad_input_in_plain_vietnamese_and_keeps_what_was_typed(app, inst):
    collab = as_user(app, "collab1")
    cases = [
        ({"text": "ngắn"}, "ít nhất 10 ký tự"),
        ({"text": "x" * 5001}, "tối đa 5.000 ký tự"),
        ({"channel": "fax"}, "chọn kênh"),
        ({"observed_on": (today_local() + timedelta(days=1)).isoformat()}, "tương lai"),
        ({"people": "0"}, "từ 1 trở lên"),
        ({"people": "nhiều"}, "phải là một số"),
        ({"unit": OTHER}, "đơn vị của mình"),
    ]
    for override, message in cases:
        response = send(collab, "Ý kiến hợp lệ đủ dài để gửi.", **override)
        assert response.status_code == 400 and message in response.text, message
    kept = send(collab, "Ý kiến hợp lệ đủ dài", people="0")
    assert "Ý kiến hợp lệ đủ dài" in kept.text
    assert inst.store.count_submissions() == 0
    assert send(collab, "x" * 5000).status_code == 303


def test_collaborator_sees_only_own_submissions(app, inst):
    mine = as_user(app, "collab1")
    send(mine, "Ý kiến của cộng tác viên thứ nhất.")
    peer = as_user(app, "staff1")   # same unit, another person
    send(peer, "Ý kiến của cán bộ cùng đơn vị.")
    listing = mine.get("/submissions").text
    assert "cộng tác viên thứ nhất" in listing and "cán bộ cùng đơn vị" not in listing
    peer_id = inst.store.submissions(user_id=inst.users["staff1"])[0]["id"]
    assert mine.get(f"/submissions/{peer_id}").status_code == 404
    assert mine.get("/").headers["location"] == "/submit"
    assert mine.get("/items").status_code == 403


def test_queue_is_scoped_sorted_and_filtered(app, inst):
    store = inst.store
    own_item, _ = store.add_submission(inst.users["collab1"], uuid.uuid4().hex, observation("Nợ lương ở y tế", OWN))
    other_item, _ = store.add_submission(inst.users["collab2"], uuid.uuid4().hex, observation("Nợ lương giáo dục", OTHER))
    own = store.submissions(ids=[own_item])[0]["item_id"]
    other = store.submissions(ids=[other_item])[0]["item_id"]
    flag(store, "low", OWN, [own], score=3.0, kind="burst", topic="tien_luong")
    flag(store, "high", OWN, [own], score=9.0, kind="watch_term", topic="bao_hiem", day="2026-01-05")
    flag(store, "theirs", OTHER, [other], score=20.0)
    staff = as_user(app, "staff1")
    page = staff.get("/").text
    assert "2 cảnh báo đang mở" in page and "Lý do của theirs." not in page
    assert page.index("Lý do của high.") < page.index("Lý do của low.")
    assert "Lý do của low." not in staff.get("/?kind=watch_term").text
    assert "Lý do của high." not in staff.get("/?topic=tien_luong").text
    assert "Lý do của low." not in staff.get("/?day=2026-01-05").text
    assert "Lý do của high." in staff.get("/?unit=cb-yte").text
    assert "Lý do của theirs." in as_user(app, "root").get("/").text
    assert staff.get("/?day=ngay-sai").status_code == 400


def test_flag_page_shows_evidence_and_decisions_land_in_the_audit_trail(app, inst):
    store = inst.store
    sid, _ = store.add_submission(inst.users["collab1"], uuid.uuid4().hex,
                                  observation("Công nhân bị nợ lương, tăng ca không được trả.", OWN))
    item = store.submissions(ids=[sid])[0]["item_id"]
    flag_id = flag(store, "f", OWN, [item])
    staff = as_user(app, "staff1")
    page = staff.get(f"/flags/{flag_id}").text
    for part in ["Diễn biến theo ngày", "<svg", "<rect", "nợ lương", "tăng ca", f'href="/items/{item}"',
                 "Cộng tác viên: 1", "Công đoàn ngành Y tế tỉnh: 1", "Tiêu cực: 3 (75%)", "Trung lập: 1 (25%)",
                 "Chưa có ai xử lý"]:
        assert part in page, part
    csrf = csrf_of(page)
    post = lambda **data: staff.post(f"/flags/{flag_id}/action", data={"csrf_token": csrf, **data})
    assert post(action="dismiss").status_code == 400             # a dismissal needs its reason
    assert post(action="orientation", note="Đề nghị công đoàn cơ sở đối thoại với doanh nghiệp.").status_code == 303
    assert post(action="note", note="Đã gọi điện xác minh.").status_code == 303
    assert post(action="escalate").status_code == 303
    assert store.flag(flag_id)["status"] == "escalated"
    assert post(action="dismiss", note="Tin trùng lặp.").status_code == 303
    assert store.flag(flag_id)["status"] == "dismissed"
    trail = staff.get(f"/flags/{flag_id}").text
    for part in ["Đề xuất định hướng", "Đề nghị công đoàn cơ sở đối thoại", "Ghi chú", "Báo cáo lên cấp trên",
                 "Bác bỏ", "Tin trùng lặp.", "staff1", "Đã bác bỏ"]:
        assert part in trail, part
    assert [e["action"] for e in store.flag_events(flag_id)] == ["orientation", "note", "escalate", "dismiss"]
    analyst = as_user(app, "analyst1")
    assert "Xác nhận" not in analyst.get(f"/flags/{flag_id}").text.split("Nhật ký")[0].split("Diễn biến")[1]


def test_bulk_actions_change_every_chosen_flag_or_none(app, inst):
    store = inst.store
    a, b = flag(store, "a", OWN, []), flag(store, "b", OWN, [])
    theirs = flag(store, "c", OTHER, [])
    staff = as_user(app, "staff1")
    csrf = csrf_of(staff.get("/").text)
    assert staff.post("/flags/bulk", data={"csrf_token": csrf, "ids": [a, theirs], "action": "confirm"}).status_code == 404
    assert store.flag(a)["status"] == "open"
    assert staff.post("/flags/bulk", data={"csrf_token": csrf, "ids": [a, b], "action": "dismiss"}).status_code == 400
    done = staff.post("/flags/bulk", data={"csrf_token": csrf, "ids": [a, b], "action": "confirm"})
    assert done.headers["location"] == "/?done=2"
    assert store.flag(a)["status"] == store.flag(b)["status"] == "confirmed"
    assert "Đã cập nhật 2 cảnh báo" in staff.get("/?done=2").text
    assert "Đã xác nhận" in staff.get("/?status=confirmed").text


def test_items_search_ignores_diacritics_and_respects_scope(app, inst):
    store = inst.store
    store.add_submission(inst.users["collab1"], uuid.uuid4().hex, observation("Người lao động bị nợ lương ở y tế.", OWN))
    store.add_submission(inst.users["collab2"], uuid.uuid4().hex, observation("Giáo viên bị nợ lương ở giáo dục.", OTHER))
    staff = as_user(app, "staff1")
    page = staff.get("/items", params={"q": "no luong"}).text
    assert "nợ lương ở y tế" in page and "nợ lương ở giáo dục" not in page
    assert "nợ lương ở giáo dục" in as_user(app, "root").get("/items", params={"q": "luong"}).text
    assert "nợ lương ở y tế" not in staff.get("/items", params={"q": "luong", "kind": "article"}).text
    assert "nợ lương ở y tế" in staff.get("/items", params={"unit": OWN}).text
    assert staff.get("/items", params={"since": "hôm qua"}).status_code == 400


def test_admin_manages_users_units_sources_and_watch_terms(app, inst):
    admin = as_user(app, "root")
    csrf = csrf_of(admin.get("/admin/users").text)
    created = admin.post("/admin/users", data={"csrf_token": csrf, "username": "ctv.moi", "role": "collaborator",
                                               "unit": "cb-thanhpho"})
    password = created.text.split('id="secret">')[1].split("<")[0]
    assert "chỉ hiện một lần" in created.text
    newcomer = TestClient(app, follow_redirects=False)
    assert login(newcomer, "ctv.moi", password).headers["location"] == "/submit"
    assert "đã có" in admin.post("/admin/users", data={"csrf_token": csrf, "username": "ctv.moi",
                                                       "role": "staff", "unit": OWN}).text
    assert admin.post("/admin/units", data={"csrf_token": csrf, "code": "cs-benhvien", "name": "Công đoàn Bệnh viện tỉnh",
                                            "parent": OWN, "level": "grassroots"}).status_code == 303
    assert "Công đoàn Bệnh viện tỉnh" in admin.get("/admin/units").text
    assert "cs-benhvien" in inst.store.unit_subtree(OWN)
    assert admin.post("/admin/sources", data={"csrf_token": csrf, "name": "bao-moi", "url": "ftp://x",
                                              "kind": "rss"}).status_code == 400
    assert admin.post("/admin/sources", data={"csrf_token": csrf, "name": "bao-moi", "url": "http://127.0.0.1:9/rss",
                                              "kind": "rss", "title": "Báo Mới"}).status_code == 303
    sources = admin.get("/admin/sources").text
    assert "Báo Mới" in sources and "Chưa thu lần nào" in sources
    for _ in range(3):
        inst.store.record_run("bao-moi", "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:01+00:00", ok=False, found=0,
                              new=0, not_modified=False, errors=["http://127.0.0.1:9/rss answered HTTP 503."],
                              duration=1.0)
    failing = admin.get("/admin/sources").text
    assert "3 lần thu gần nhất đều lỗi." in failing and "answered HTTP 503" in failing
    admin.post("/admin/sources/bao-moi/enabled", data={"csrf_token": csrf, "enabled": "0"})
    assert not inst.store.source("bao-moi")["enabled"]
    assert admin.post("/admin/terms", data={"csrf_token": csrf, "term": "thiếu việc làm"}).status_code == 303
    term = next(t for t in inst.store.watch_terms() if t["term"] == "thiếu việc làm")
    assert "thiếu việc làm" in admin.get("/admin/terms").text
    admin.post(f"/admin/terms/{term['id']}/delete", data={"csrf_token": csrf})
    assert all(t["term"] != "thiếu việc làm" for t in inst.store.watch_terms())


def test_a_district_admin_manages_only_its_subtree(app, inst):
    admin = as_user(app, "admin1")          # admin of cb-yte
    users = admin.get("/admin/users").text
    assert "collab1" in users and "collab2" not in users and "root" not in users
    csrf = csrf_of(users)
    refused = admin.post("/admin/users", data={"csrf_token": csrf, "username": "ngoai", "role": "staff",
                                               "unit": "caobang"})
    assert refused.status_code == 400 and inst.store.user("ngoai") is None
    own_id = inst.users["admin1"]
    assert admin.post(f"/admin/users/{own_id}", data={"csrf_token": csrf, "role": "staff", "unit": OWN,
                                                     "active": "1"}).status_code == 400


def test_json_api_submits_idempotently_and_lists_scoped_data(app, inst):
    admin = as_user(app, "root")
    csrf = csrf_of(admin.get(f"/admin/users/{inst.users['collab1']}").text)
    token = admin.post(f"/admin/users/{inst.users['collab1']}/tokens",
                       data={"csrf_token": csrf}).text.split('id="secret">')[1].split("<")[0]
    api = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    body = {"text": "Công nhân phản ánh nợ lương qua ứng dụng.", "channel": "mang-xa-hoi", "people": 7}
    first = api.post("/api/submissions", json=body, headers={"Idempotency-Key": "khoa-thu-nghiem-1"})
    again = api.post("/api/submissions", json=body, headers={"Idempotency-Key": "khoa-thu-nghiem-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and first.json()["unit"] == OWN
    assert first.json()["processed"] is False and first.json()["people"] == 7
    assert api.post("/api/submissions", json=body).status_code == 400            # no key at all
    short = api.post("/api/submissions", json={**body, "text": "ngắn", "idempotency_key": "khoa-khac-22"})
    assert short.status_code == 422 and "ít nhất 10 ký tự" in short.json()["detail"]
    assert [s["id"] for s in api.get("/api/submissions").json()] == [first.json()["id"]]
    assert api.get("/api/flags").status_code == 403
    docs = admin.get("/docs").text
    assert "POST /api/submissions" in docs and "GET /api/flags" in docs and "Idempotency-Key" in docs
    schema = admin.get("/openapi.json").json()
    assert "/api/submissions" in schema["paths"] and "/submit" not in schema["paths"]
    assert TestClient(app, follow_redirects=False).get("/docs").headers["location"].startswith("/login")


def test_every_page_speaks_vietnamese_to_its_role(app, inst):
    for username, paths in {"root": ["/", "/items", "/admin/users", "/admin/units", "/admin/sources",
                                     "/admin/terms", "/docs", "/account"],
                            "collab1": ["/submit", "/submissions", "/account"]}.items():
        client = as_user(app, username)
        for path in paths:
            page = client.get(path)
            assert page.status_code == 200, path
            assert '<html lang="vi">' in page.text and "Đăng xuất" in page.text, path


def test_changing_password_ends_sessions_and_the_new_one_works(app, inst):
    collab = as_user(app, "collab1")
    csrf = csrf_of(collab.get("/account").text)
    assert collab.post("/account", data={"csrf_token": csrf, "current": "sai", "new": "mat-khau-moi-dai",
                                         "repeat": "mat-khau-moi-dai"}).status_code == 400
    assert collab.post("/account", data={"csrf_token": csrf, "current": PASSWORD, "new": "mat-khau-moi-dai",
                                         "repeat": "mat-khau-moi-dai"}).status_code == 200
    assert collab.get("/submit").status_code == 303
    assert login(TestClient(app, follow_redirects=False), "collab1", "mat-khau-moi-dai").status_code == 303


def test_the_collaborator_form_is_light_enough_for_a_cheap_phone(app):
    collab = as_user(app, "collab1")
    page = collab.get("/submit")
    assets = [collab.get(path) for path in re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)]
    assert {a.status_code for a in assets} == {200} and len(assets) == 2   # one stylesheet, one small script
    total = len(page.content) + sum(len(a.content) for a in assets)
    assert total < 20_000, f"the form weighs {total} bytes with its assets"
    assert "<img" not in page.text and "fonts" not in page.text


def test_admin_sees_source_health_from_its_runs(app, inst):
    from service.store import utcnow

    name = inst.store.sources()[0]["name"]
    for _ in range(3):
        inst.store.record_run(name, utcnow(), utcnow(), ok=False, found=0, new=0, not_modified=False,
                              errors=[f"{name}: HTTP 503"], duration=0.1)
    page = as_user(app, "root").get("/admin/sources").text
    card = page.split(f'id="source-{name}"')[1].split("</li>")[0]
    assert "Cần kiểm tra: 3 lần thu gần nhất đều lỗi." in card and "HTTP 503" in card and "Tắt nguồn" in card
    assert "The last" not in card


def test_a_large_storys_sources_units_and_tones_are_counted_in_vietnamese_numbers(app, inst):
    """A story of thousands of items: the flag page's side cards say «1.234», never «1234»."""
    store = inst.store
    sid, _ = store.add_submission(inst.users["collab1"], uuid.uuid4().hex,
                                  observation("Công nhân bị nợ lương, tăng ca không được trả.", OWN))
    item = store.submissions(ids=[sid])[0]["item_id"]
    flag_id = flag(store, "lon", OWN, [item])
    row = store.flag(flag_id)
    store.upsert_flag({**row, "key": "lon", "evidence": {**row["evidence"], "units": {OWN: 2345},
                                                         "sources": {"vnexpress.net": 1234},
                                                         "sentiment": {"negative": 1500, "neutral": 500}}})
    page = as_user(app, "staff1").get(f"/flags/{flag_id}").text
    for part in ["vnexpress.net: 1.234", "Công đoàn ngành Y tế tỉnh: 2.345", "Tiêu cực: 1.500 (75%)",
                 "Trung lập: 500 (25%)"]:
        assert part in page, part
