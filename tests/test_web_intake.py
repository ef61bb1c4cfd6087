"""A submission is stored first and processed after: annotated with the shipped models, placed in a stream and
counted by the detectors within seconds by the app's background worker; nothing waits forever, nothing is lost when
the worker is not running."""
from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from web_support import csrf_of, key_of, login, make_installation, wait_until

TEXTS = ["Công nhân nhà máy xi măng phản ánh bị nợ lương ba tháng, đời sống rất khó khăn.",
         "Giáo viên hợp đồng mong được tăng lương và đóng bảo hiểm xã hội đầy đủ."]


def submit_all(client: TestClient, texts: list[str]) -> list[int]:
    ids = []
    for text in texts:
        page = client.get("/submit").text
        r = client.post("/submit", data={"csrf_token": csrf_of(page), "idempotency_key": key_of(page), "text": text,
                                         "channel": "truc-tiep", "unit": "", "place": "", "observed_on": "",
                                         "people": "5"})
        assert r.status_code == 303
        ids.append(int(r.headers["location"].split("/")[2].split("?")[0]))
    return ids


def test_submissions_wait_in_the_store_until_a_worker_processes_them(tmp_path):
    inst = make_installation(tmp_path)
    with TestClient(create_app(inst.settings, start_worker=False), follow_redirects=False) as client:
        login(client, "collab1")
        ids = submit_all(client, TEXTS)
    assert [r["id"] for r in inst.store.pending_submissions()] == ids   # stored, not yet processed

    app = create_app(inst.settings)   # a restart: the worker loads the models once and drains what waits
    with TestClient(app, follow_redirects=False) as client:
        wait_until(lambda: not inst.store.pending_submissions(), timeout=90, what="pending submissions processed")
        login(client, "collab1")
        started = time.monotonic()
        (new_id,) = submit_all(client, ["Người lao động bức xúc vì công ty chậm trả lương và cắt giảm lao động."])
        wait_until(lambda: not inst.store.pending_submissions(), timeout=30, what="a new submission processed")
        elapsed = time.monotonic() - started
        assert elapsed < 10, f"a submission took {elapsed:.1f} s to be annotated and streamed"
        rows = {r["id"]: r for r in inst.store.submissions()}
        assert set(rows) == {*ids, new_id}
        for row in rows.values():
            assert row["processed_at"] and row["stream_id"] and row["topic"] and row["sentiment"]
        # the detectors ran for the day: the watched terms «nợ lương» and «chậm trả lương» are flagged
        watched = [f for f in inst.store.flags(status="open") if f["kind"] == "watch_term"]
        reasons = " ".join(f["reason"] for f in watched)
        assert "«nợ lương»" in reasons and "«chậm trả lương»" in reasons
        page = client.get("/submissions").text
        assert "Đã phân tích" in page and "Được đưa vào cảnh báo «Từ khóa theo dõi»" in page
        assert client.get("/healthz").json()["annotator"] == "ready"
