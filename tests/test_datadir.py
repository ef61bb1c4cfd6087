"""Runtime data lives under the data folder (service/datadir.py): training, promoting and editing the taxonomy through
the real app write data/models and data/taxonomy.toml and leave the checkout's classifier_models/ as it was; the
shipped registry is read until the data folder has its own; topic names are read fresh after an edit; a missing
corpus folder gets a Vietnamese message."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import ROOT
from retrain_support import SEED_CACHE, SEED_SAMPLE, label_all, seed_cache, store_gold_items
from service import registry, retrain, taxonomy_edit
from service.app import create_app
from service.config import Settings
from service.datadir import (models_home, runtime_models, taxonomy_file, topic_names, use, writable_models_home,
                             writable_taxonomy)
from service.pipeline import load_annotator, process
from web_support import csrf_of, login, make_installation

SHIPPED = ROOT / "classifier_models"
WRITTEN = re.compile(r"(\.skops|registry\.json|taxonomy\.toml|card\.md|metrics\.json)$")


def _porcelain() -> set[str]:
    out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    return set(out.splitlines())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _wait_for_job(client) -> str:
    """The web app only queues the job: the job worker (service/worker.py) runs it, here in the test's process
    until the queue is empty; then the page shows the outcome read from the job's row."""
    from service.worker import Worker

    worker = Worker(client.app.state.settings)
    try:
        worker.run_until_idle()
    finally:
        worker.close()
    page = client.get("/analyst").text
    assert "Đang chạy…" not in page and "Đang chờ đến lượt…" not in page, page
    return page


@pytest.fixture
def shipped_site(tmp_path, monkeypatch):
    """The real app over the checkout's own classifier_models/ (as an installation runs it), data in tmp_path."""
    monkeypatch.delenv("PULSE_MODELS", raising=False)
    inst = make_installation(tmp_path)
    inst.settings.models_dir = SHIPPED
    gold = store_gold_items(inst.store, 200)
    process(inst.store, *load_annotator(models_home(inst.settings)))
    seed_cache()
    for cached in SEED_CACHE.glob(f"seed-leads-*-{SEED_SAMPLE}-*.jsonl.gz"):
        shutil.copy(cached, tmp_path / cached.name)       # the seed sample cache of the data folder
    monkeypatch.setattr(retrain, "SEED_LEADS", SEED_SAMPLE)
    app = create_app(inst.settings, start_worker=False)
    with TestClient(app, follow_redirects=False) as client:
        yield inst, client, gold


def test_training_promoting_and_editing_the_taxonomy_on_the_web_leave_the_checkout_untouched(shipped_site, tmp_path):
    inst, client, gold = shipped_site
    status_before = _porcelain()
    digests = {name: _digest(SHIPPED / name) for name in ("registry.json", "taxonomy.toml")}
    shipped_active = json.loads((SHIPPED / "registry.json").read_text(encoding="utf-8"))["topic"]["active"]
    assert login(client, "root").status_code == 303              # an admin of the province
    label_all(inst.store, gold)

    page = client.get("/analyst").text
    client.post("/analyst/train", data={"csrf_token": csrf_of(page)})
    page = _wait_for_job(client)
    done = re.search(r"Đã xong: (v\d+)", page)
    assert done, page
    version = done.group(1)
    report = client.get(f"/analyst/models/{version}").text
    client.post(f"/analyst/models/{version}/promote", data={"csrf_token": csrf_of(report), "force": "1"})
    page = _wait_for_job(client)
    assert f"Mô hình chủ đề {version} đang được dùng" in page, page

    page = client.get("/analyst/taxonomy").text
    answer = client.post("/analyst/taxonomy", data={"action": "rename", "code": "tien_luong",
                                                    "name": "Tiền lương, thưởng và thu nhập", "csrf_token": csrf_of(page)})
    assert answer.status_code == 303
    assert "Tiền lương, thưởng và thu nhập" in client.get("/analyst/taxonomy").text

    # the data folder holds what was written …
    runtime = runtime_models(inst.settings)
    assert runtime == tmp_path / "models"
    assert registry.read_registry(runtime)["topic"]["active"] == version
    assert (runtime / "topic" / version / "model.skops").is_file() and not (runtime / "topic" / version).is_symlink()
    assert (runtime / "topic" / shipped_active).is_symlink()     # the shipped versions are links, never copies
    assert "Tiền lương, thưởng và thu nhập" in (tmp_path / "taxonomy.toml").read_text(encoding="utf-8")
    # … and the checkout nothing: no new or changed model, registry, card or taxonomy file anywhere in it
    new = {line for line in _porcelain() - status_before if "classifier_models/" in line or WRITTEN.search(line)}
    assert not new, new
    assert {name: _digest(SHIPPED / name) for name in digests} == digests


def test_topic_names_are_the_boards_and_read_again_after_an_edit(tmp_path):
    from service.trends import topic_names as trend_names

    settings = Settings(db_path=tmp_path / "pulse.db")
    use(settings)
    assert taxonomy_file(settings) == SHIPPED / "taxonomy.toml"   # before the board edits: the shipped one
    shipped_name = topic_names()["tien_luong"]
    board = writable_taxonomy(settings)
    assert board == tmp_path / "taxonomy.toml" and taxonomy_file(settings) == board
    taxonomy_edit.rename_topic(board, "tien_luong", "Lương và thu nhập của công nhân")
    assert topic_names()["tien_luong"] == "Lương và thu nhập của công nhân"   # the pages' names
    assert trend_names()["tien_luong"] == "Lương và thu nhập của công nhân"   # the flags' and briefings' names
    taxonomy_edit.rename_topic(board, "tien_luong", "Tiền lương")
    assert topic_names()["tien_luong"] == trend_names()["tien_luong"] == "Tiền lương"
    assert shipped_name != "Tiền lương" and topic_names()["tien_luong"] != shipped_name


def test_the_shipped_registry_is_read_until_the_data_folder_has_its_own(tmp_path):
    shipped = tmp_path / "shipped"
    for task in ("topic", "sentiment"):
        (shipped / task / "v1").mkdir(parents=True)
        (shipped / task / "v1" / "model.skops").write_bytes(b"model")
    (shipped / "registry.json").write_text(json.dumps(
        {"topic": {"active": "v1", "versions": ["v1"]}, "sentiment": {"active": "v1", "versions": ["v1"]}}))
    settings = Settings(db_path=tmp_path / "data" / "pulse.db", models_dir=shipped)
    assert models_home(settings) == shipped
    assert registry.active_versions(models_home(settings)) == {"topic": "v1", "sentiment": "v1"}
    home = writable_models_home(settings)
    assert home == tmp_path / "data" / "models" and models_home(settings) == home
    assert registry.read_registry(home) == registry.read_registry(shipped)
    assert (home / "topic" / "v1").is_symlink() and (home / "topic" / "v1" / "model.skops").read_bytes() == b"model"
    assert registry.next_version(home, "topic") == "v2"
    # a version shipped later (a new release) appears in the data folder, the board's active choice stays
    (shipped / "topic" / "v2").mkdir()
    (shipped / "topic" / "v2" / "model.skops").write_bytes(b"model 2")
    assert (models_home(settings) / "topic" / "v2" / "model.skops").read_bytes() == b"model 2"
    assert registry.active_versions(models_home(settings))["topic"] == "v1"
    # a data folder set apart from the database's
    elsewhere = Settings(db_path=tmp_path / "pulse.db", models_dir=shipped, data_dir=tmp_path / "var")
    assert writable_models_home(elsewhere) == tmp_path / "var" / "models"


def test_training_without_the_corpora_says_so_in_vietnamese(tmp_path):
    inst = make_installation(tmp_path)
    inst.settings.datasets_dir = tmp_path / "no-corpora"
    app = create_app(inst.settings, start_worker=False)
    with TestClient(app, follow_redirects=False) as client:
        assert login(client, "analyst1").status_code == 303
        page = client.get("/analyst").text
        answer = client.post("/analyst/train", data={"csrf_token": csrf_of(page)})
        assert answer.status_code == 303
        shown = client.get(answer.headers["location"]).text
    assert "Không tìm thấy kho văn bản dùng để huấn luyện" in shown and "datasets_dir" in shown
    assert "Traceback" not in shown and "Đang chạy…" not in shown
