"""The analysts' pages through the real app: one-click labels from the queue, training in the background with its
report, promotion with the worse-candidate confirmation, taxonomy edits; roles and CSRF enforced."""
from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from service import registry, retrain
from service.app import create_app
from service.datadir import models_home
from service.pipeline import load_annotator, process
from retrain_support import SEED_CACHE, SEED_SAMPLE, copy_models, label_all, seed_cache, store_gold_items
from web_support import OWN, csrf_of, login, make_installation


@pytest.fixture
def site(tmp_path, monkeypatch):
    inst = make_installation(tmp_path)
    inst.settings.models_dir = copy_models(tmp_path)
    gold = store_gold_items(inst.store, 200)
    annotator, versions = load_annotator(inst.settings.models_dir)
    process(inst.store, annotator, versions)
    seed_cache()
    for cached in SEED_CACHE.glob(f"seed-leads-*-{SEED_SAMPLE}-*.jsonl.gz"):
        shutil.copy(cached, tmp_path / cached.name)
    monkeypatch.setattr(retrain, "SEED_LEADS", SEED_SAMPLE)
    app = create_app(inst.settings, start_worker=False)
    with TestClient(app, follow_redirects=False) as client:
        yield inst, client, gold


def as_user(client, name):
    assert login(client, name).status_code == 303
    return client


def run_worker(client) -> list[dict]:
    """The web app only queues jobs: the job worker (service/worker.py) runs them, here in the test's process until
    the queue is empty."""
    from service.worker import Worker

    worker = Worker(client.app.state.settings)
    try:
        return worker.run_until_idle()
    finally:
        worker.close()


def report_of(client, version: str) -> str:
    """A model's page: the worker compares it with the active model (a `compare` job), then the page shows it."""
    first = client.get(f"/analyst/models/{version}").text
    assert "Đang so sánh với mô hình đang dùng" in first and "F1 chênh lệch" not in first
    assert [j["kind"] for j in run_worker(client)] == ["compare"]
    page = client.get(f"/analyst/models/{version}").text
    assert "Đang so sánh" not in page
    return page


def wait_for_job(client) -> str:
    """Run the queued job; the page shows the outcome read from the job's row."""
    run_worker(client)
    page = client.get("/analyst").text
    assert "Đang chạy…" not in page and "Đang chờ đến lượt…" not in page, page
    return page


def test_one_click_label_from_the_queue_keeps_who_and_when(site):
    inst, client, gold = site
    as_user(client, "staff1")
    first = client.get("/analyst/queue")   # the worker scores the items with the model, never the web app
    assert first.status_code == 200 and "Đang chuẩn bị danh sách" in first.text and "mô hình gợi ý" not in first.text
    (scored,) = run_worker(client)
    assert scored["kind"] == "label_pool" and scored["status"] == "done" and scored["counts"]["items"] > 0
    page = client.get("/analyst/queue")
    assert page.status_code == 200 and "mô hình gợi ý" in page.text and 'class="suggested"' in page.text
    item_id = int(page.text.split('name="item_id" value="')[1].split('"')[0])
    answer = client.post("/analyst/label", data={"item_id": item_id, "task": "topic", "label": "viec_lam",
                                                 "csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303 and answer.headers["location"] == "/analyst/queue"
    (label,) = inst.store.latest_labels("topic")
    assert (label["item_id"], label["label"], label["username"]) == (item_id, "viec_lam", "staff1") and label["at"]
    assert f'value="{item_id}"' not in client.get("/analyst/queue").text          # labelled: out of the queue
    no_csrf = client.post("/analyst/label", data={"item_id": item_id, "task": "topic", "label": "khac"})
    assert no_csrf.status_code == 403
    assert client.get("/analyst").status_code == 403                               # staff label, analysts train


def test_collaborators_cannot_label(site):
    inst, client, gold = site
    as_user(client, "collab1")
    assert client.get("/analyst/queue").status_code == 403


def test_training_in_the_background_then_report_and_guarded_promotion(site):
    inst, client, gold = site
    as_user(client, "analyst1")
    page = client.get("/analyst")
    assert page.status_code == 200 and "quá ít nhãn" in page.text
    client.post("/analyst/train", data={"csrf_token": csrf_of(page.text)})
    page = wait_for_job(client)
    assert "Không thành công: Chưa đủ nhãn để huấn luyện" in page and "Not enough board labels" in page
    failed = inst.store.jobs(kind="train")[0]   # the background work is a row of the jobs table (service/jobs.py)
    assert failed["status"] == "failed" and "Not enough board labels" in failed["error"]
    assert (failed["requested_by"], failed["org_unit"]) == ("analyst1", OWN)

    label_all(inst.store, gold)
    client.post("/analyst/train", data={"csrf_token": csrf_of(page)})
    page = wait_for_job(client)
    assert "Đã xong: v2" in page and "topic: fitted in" in page
    assert [j["status"] for j in inst.store.jobs(kind="train")] == ["done", "failed"]
    assert "topic: fitted in" in inst.store.jobs(kind="train")[0]["log_excerpt"]
    report = report_of(client, "v2")
    assert "Ma trận nhầm lẫn" in report and "các vấn đề xã hội khác" in report and "F1 chênh lệch" in report
    assert "Chủ đề Bảo hiểm xã hội, y tế, thất nghiệp còn quá ít nhãn: 1 nhãn" in report
    assert ("KÉM HƠN" in report) == retrain.compare_with_active(inst.store, models_home(inst.settings),
                                                                 "v2")["difference"]["worse"]
    client.post("/analyst/models/v2/promote", data={"csrf_token": csrf_of(report), "force": "1"})
    page = wait_for_job(client)
    assert "Mô hình chủ đề v2 đang được dùng" in page, page
    assert registry.read_registry(models_home(inst.settings))["topic"]["active"] == "v2"
    assert [j["status"] for j in inst.store.jobs(kind="promote")] == ["done"]
    assert registry.read_registry(inst.settings.models_dir)["topic"]["active"] == "v1"   # the shipped one: unchanged
    assert "Quay lại phiên bản dùng trước đó" in page


def test_taxonomy_page_merges_and_refuses_to_delete_a_labelled_topic(site):
    from service.auth import hash_password
    from web_support import PASSWORD

    inst, client, gold = site
    # the taxonomy is the whole province's: edited by an analyst of the province (the root unit)
    inst.store.add_user("analyst0", hash_password(PASSWORD), "analyst", "caobang")
    as_user(client, "analyst0")
    label_all(inst.store, gold)
    page = client.get("/analyst/taxonomy").text
    n = inst.store.label_counts("topic")["nha_o_doi_song"]
    answer = client.post("/analyst/taxonomy", data={"action": "delete", "code": "nha_o_doi_song",
                                                    "csrf_token": csrf_of(page)})
    assert answer.status_code == 303
    assert "không thể xoá" in client.get(answer.headers["location"]).text
    asked = client.post("/analyst/taxonomy", data={"action": "merge", "code": "nha_o_doi_song",
                                                   "target": "tien_luong", "csrf_token": csrf_of(page)})
    assert asked.status_code == 200 and "Không thể hoàn tác" in asked.text and 'name="confirmed" value="1"' in asked.text
    assert inst.store.label_counts("topic")["nha_o_doi_song"] == n   # nothing moved before the confirmation
    answer = client.post("/analyst/taxonomy", data={"action": "merge", "code": "nha_o_doi_song", "confirmed": "1",
                                                    "target": "tien_luong", "csrf_token": csrf_of(asked.text)})
    assert f"{n} nhãn được chuyển theo" in client.get(answer.headers["location"]).text
    assert "nha_o_doi_song" not in inst.store.label_counts("topic")
    added = client.post("/analyst/taxonomy", data={"action": "add", "code": "thu_nghiem", "name": "Thử nghiệm",
                                                   "strong": "thử nghiệm", "csrf_token": csrf_of(page)})
    assert "Thử nghiệm" in client.get(added.headers["location"]).text
    asked = client.post("/analyst/taxonomy", data={"action": "delete", "code": "thu_nghiem", "csrf_token": csrf_of(page)})
    assert asked.status_code == 200 and "Xoá chủ đề <strong>Thử nghiệm</strong>" in asked.text
    assert "thu_nghiem" in client.get("/analyst/taxonomy").text   # still there until confirmed
    answer = client.post("/analyst/taxonomy", data={"action": "delete", "code": "thu_nghiem", "confirmed": "1",
                                                    "csrf_token": csrf_of(page)})
    assert "Đã xoá chủ đề thu_nghiem" in client.get(answer.headers["location"]).text


def test_an_item_page_labels_with_one_click_and_comes_back(site):
    inst, client, gold = site
    as_user(client, "analyst1")
    item_id = gold[0][0]
    page = client.get(f"/items/{item_id}")
    assert page.status_code == 200 and "Gán nhãn cho tin này" in page.text
    answer = client.post("/analyst/label", data={"item_id": item_id, "task": "sentiment", "label": "negative",
                                                 "next": f"/items/{item_id}", "csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303 and answer.headers["location"] == f"/items/{item_id}"
    assert inst.store.label_history(item_id, "sentiment")[0]["label"] == "negative"
    evil = client.post("/analyst/label", data={"item_id": item_id, "task": "topic", "label": "khac",
                                               "next": "//evil.example", "csrf_token": csrf_of(page.text)})
    assert evil.headers["location"] == "/analyst/queue"


def test_a_worse_candidate_is_marked_and_not_promoted_without_the_confirmation(site):
    import random

    inst, client, gold = site
    as_user(client, "analyst1")
    codes = sorted({y for _, y in gold})
    rng = random.Random(3)
    label_all(inst.store, [(i, rng.choice(codes)) for i, _ in gold])
    retrain.train_candidate(inst.store, inst.settings.models_dir, seed_cache(), "analyst1", seed_leads_n=SEED_SAMPLE)
    label_all(inst.store, gold)
    report = report_of(client, "v2")
    assert "KÉM HƠN" in report and 'name="force"' in report
    client.post("/analyst/models/v2/promote", data={"csrf_token": csrf_of(report)})
    page = wait_for_job(client)
    assert "Không thành công: Mô hình này kém hơn mô hình đang dùng" in page
    assert registry.read_registry(inst.settings.models_dir)["topic"]["active"] == "v1"


def test_the_boards_label_counts_are_in_vietnamese_numbers(tmp_path):
    """Thousands of labels: the analysts' page says «1.500 tin đã được gán nhãn» and its per-topic counts «1.2xx»,
    never «1500»."""
    import re

    from web_support import observation

    inst = make_installation(tmp_path)
    ids = inst.store.add_items([observation(f"Ý kiến số {i} của công nhân về tiền lương tháng này.", OWN)
                                for i in range(1500)])
    inst.store.add_labels([(i, "topic", "tien_luong", "analyst1", "2026-02-01T00:00:00+00:00") for i in ids])
    app = create_app(inst.settings, start_worker=False)
    with TestClient(app, follow_redirects=False) as client:
        login(client, "analyst1")
        page = client.get("/analyst").text
    assert "1.500 tin đã được gán nhãn chủ đề" in page
    row = page.split("Tiền lương và thu nhập <small>(tien_luong)</small>")[1].split("</tr>")[0]
    train, heldout = re.findall(r"<td>([\d.]+)</td>", row)
    assert re.fullmatch(r"1\.\d{3}", train), train          # about four in five are for training
    assert int(train.replace(".", "")) + int(heldout.replace(".", "")) == 1500
    inst.store.close()
