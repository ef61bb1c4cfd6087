"""One-click labels from a flag's page: staff correct the topic or sentiment of its representative items."""
from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from replay_support import BACKGROUND, DAY0, Replay
from service import trends
from service.app import create_app
from web_support import csrf_of, login, make_installation

DAY = DAY0 + timedelta(days=29)


def test_staff_label_a_flags_items_from_its_page(tmp_path):
    inst = make_installation(tmp_path)
    replay = Replay(inst.store)
    replay.background(29, BACKGROUND)
    replay.add(DAY, "tien_luong", 14)
    flag = next(f for f in trends.detect(inst.store, DAY, DAY) if f.topic == "tien_luong")
    client = TestClient(create_app(inst.settings, start_worker=False), follow_redirects=False)
    assert login(client, "staff1").status_code == 303
    page = client.get(f"/flags/{flag.id}").text
    assert "Gán nhãn chủ đề" in page and 'class="suggested"' in page
    item_id = flag.evidence["representative"][0]
    answer = client.post("/analyst/label", data={"csrf_token": csrf_of(page), "item_id": item_id, "task": "topic",
                                                 "label": "viec_lam", "next": f"/flags/{flag.id}"})
    assert answer.status_code == 303 and answer.headers["location"] == f"/flags/{flag.id}"
    rows = list(inst.store.db.query("SELECT label, username FROM labels WHERE item_id = ? AND task = 'topic'",
                                    [item_id]))
    assert rows == [{"label": "viec_lam", "username": "staff1"}]
    away = client.post("/analyst/label", data={"csrf_token": csrf_of(page), "item_id": item_id, "task": "sentiment",
                                               "label": "negative", "next": "/\\evil.example"})
    assert away.status_code == 303 and not away.headers["location"].startswith("/\\")
