"""Ids beyond what SQLite stores, days beyond the calendar Pulse deals with and control characters in the taxonomy
form are refused with a plain 400 (422 with its fields on the API), never a server error."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from web_support import csrf_of, login, make_installation

BIG = str(2 ** 64)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    inst = make_installation(tmp_path_factory.mktemp("inputs"))
    client = TestClient(create_app(inst.settings, start_worker=False), follow_redirects=False)
    assert login(client, "root").status_code == 303
    return client


@pytest.mark.parametrize("url", [
    f"/flags/{BIG}", f"/items/{BIG}", f"/submissions/{BIG}", f"/admin/users/{BIG}", "/briefings/9999-12-31",
    "/briefings/0001-01-01/docx", "/items?since=0001-01-01", "/api/items?until=9999-12-31", "/?day=0001-01-01",
    "/api/flags?day=9999-12-31", "/reports/caobang?ref=0001-01-01", "/reports/caobang/docx?ref=9999-12-31&period=year",
])
def test_out_of_range_gets_are_plain_400s(root, url):
    answer = root.get(url)
    assert answer.status_code == 400, (url, answer.status_code)
    assert "Traceback" not in answer.text and ("khoảng" in answer.text or "không hợp lệ" in answer.text)


@pytest.mark.parametrize("url", [f"/api/flags/{BIG}", f"/api/submissions/{BIG}", f"/api/items?offset={BIG}"])
def test_out_of_range_api_ids_are_refused_with_their_fields(root, url):
    answer = root.get(url)
    assert answer.status_code == 422 and answer.json()["fields"]


@pytest.mark.parametrize("path, form", [
    (f"/admin/tokens/{BIG}/revoke", {}), (f"/admin/terms/{BIG}/delete", {}),
    (f"/flags/{BIG}/action", {"action": "note", "note": "x"}), (f"/admin/users/{BIG}/password", {}),
    ("/briefings/0001-01-01/make", {}), ("/flags/bulk", {"action": "confirm", "ids": [BIG]}),
    ("/analyst/label", {"item_id": BIG, "label": "khac"}),
])
def test_out_of_range_posts_are_plain_400s(root, path, form):
    csrf = csrf_of(root.get("/account").text)
    assert root.post(path, data={"csrf_token": csrf, **form}).status_code == 400


def test_a_control_character_in_a_topic_name_never_breaks_the_taxonomy(root):
    csrf = csrf_of(root.get("/account").text)
    answer = root.post("/analyst/taxonomy", data={"csrf_token": csrf, "action": "rename", "code": "khac",
                                                  "name": "Khác\x7f\x00 nữa"})
    assert answer.status_code == 303
    page = root.get("/analyst/taxonomy")
    assert page.status_code == 200 and "Khác nữa" in page.text
