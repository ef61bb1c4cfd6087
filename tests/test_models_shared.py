"""Several machines on one store use the same models (service/modelsync.py): a version trained in one data folder is
promoted through another's worker, and the first folder's worker then annotates with it; the store holds the registry
and the board's trained versions, never the shipped ones; two machines never store two models under one name."""
from __future__ import annotations

import gc
import json
import shutil
import weakref
from datetime import datetime, timezone
from pathlib import Path

import pytest

from collectors.items import RawItem
from retrain_support import SEED_SAMPLE, copy_models, label_all, seed_cache, store_gold_items
from service import batches, jobs, modelsync, pipeline, registry, retrain
from service.config import Settings
from service.datadir import runtime_models, taxonomy_file, writable_models_home
from service.pipeline import UserError
from service.registry import active_versions, model_version_key
from service.worker import Worker


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _queue_and_run(store, worker: Worker) -> None:
    """Queue a processing job and let `worker` run it."""
    jobs.enqueue(store, "process", {}, "test")
    done = worker.run_until_idle()
    assert [j["status"] for j in done] == ["done"], done


def _checkout(path: Path) -> Path:
    """Every machine's checkout: the shipped v1 of the required tasks only (fewer models to load, same paths)."""
    shipped = copy_models(path)
    kept = {t: e for t, e in registry.read_registry(shipped).items() if t in registry.REQUIRED_TASKS}
    for task in set(registry.read_registry(shipped)) - set(kept):
        shutil.rmtree(shipped / task)
    registry.write_registry(shipped, kept)
    return shipped


def test_a_version_trained_on_machine_a_is_promoted_from_b_and_then_annotates_on_a(store, db_path, tmp_path,
                                                                                     monkeypatch):
    monkeypatch.setattr(batches, "MODEL_CHECK_SECONDS", 0.0)   # a run asks for the active models at every batch
    shipped = _checkout(tmp_path / "checkout")
    a = Settings(db_path=db_path, models_dir=shipped, data_dir=tmp_path / "a")
    b = Settings(db_path=db_path, models_dir=shipped, data_dir=tmp_path / "b")
    gold = store_gold_items(store, 120)
    worker_a = Worker(a)
    try:
        _queue_and_run(store, worker_a)                     # the gold items, annotated on A with the shipped models
        old_key = model_version_key(worker_a.versions)
        assert worker_a.versions["topic"] == "v1"

        label_all(store, gold)                              # machine A trains (the train job's code path)
        summary = retrain.train_candidate(store, writable_models_home(a), seed_cache(), "lan",
                                          seed_leads_n=SEED_SAMPLE, taxonomy_file=taxonomy_file(a))
        assert summary["version"] == "v2"
        home_a, home_b = runtime_models(a), runtime_models(b)
        assert store.stored_model_versions() == {("topic", "v2")}   # the board's version only, never the shipped
        assert store.model_registry()["topic"]["versions"] == ["v1", "v2"]
        assert not (home_b / "topic" / "v2").exists()

        texts = ["Công nhân khu công nghiệp Đề Thám bị nợ lương ba tháng",
                 "Giá xăng tăng, đời sống người lao động khó khăn hơn",
                 "Doanh nghiệp chậm đóng bảo hiểm xã hội cho hơn 200 lao động",
                 "Mưa lũ gây sạt lở đất, nhiều hộ dân phải di dời khẩn cấp",
                 "Công đoàn tổ chức chuyến xe đưa công nhân về quê ăn Tết",
                 "Tuyển sinh lớp 10 năm học mới có nhiều điểm thay đổi"]
        at = datetime(2026, 3, 1, 3, 0, tzinfo=timezone.utc)
        new_ids = store.add_items([RawItem(text=t, source="shared", published_at=at) for t in texts])
        worker_b = Worker(b)
        promoted = []

        def promote_from_b(done, total):
            """After A's first batch: machine B's worker runs the promotion the web app queued."""
            if not promoted:
                jobs.enqueue(store, "promote", {"task": "topic", "version": "v2", "force": True, "user": "hoa",
                                                "since": "2026-03-02"}, "hoa")
                promoted.extend(worker_b.run_until_idle(limit=1))

        held = weakref.ref(worker_a.annotator)
        load = pipeline.load_annotator

        def load_after_letting_go(home):
            gc.collect()
            assert held() is None, "the old models are still held while the new ones load"
            return load(home)

        monkeypatch.setattr(pipeline, "load_annotator", load_after_letting_go)
        try:   # A processes the new items two at a time, as its worker runs a processing job
            job, _ = jobs.run_kind(store, a, "process", {"batch_size": 2}, "test",
                                   result={"worker": worker_a, "on_progress": promote_from_b})
        finally:
            worker_b.close()
        assert job["status"] == "done" and [(j["kind"], j["status"]) for j in promoted] == [("promote", "done")]
        trained, copied = _files(home_a / "topic" / "v2"), _files(home_b / "topic" / "v2")
        assert trained == copied and b"Promoted by hoa" in copied["card.md"]   # the card's new line followed too
        assert set(copied) == {"model.skops", "metrics.json", "card.md"}
        assert not (home_b / "topic" / "v2").is_symlink() and (home_b / "topic" / "v1").is_symlink()
        assert not list((home_b / "topic").glob(".*"))    # no temp folder left behind
        assert store.model_registry()["topic"]["active"] == "v2"
        assert registry.read_registry(home_a) == registry.read_registry(home_b) == modelsync.normal(
            store.model_registry())

        new_key = model_version_key(worker_a.versions)    # A's worker loaded the promoted models for its next batch
        assert held() is None and worker_a.annotator is not None   # … once, after letting go of the old ones
        assert worker_a.versions["topic"] == "v2" and new_key != old_key
        assert model_version_key(active_versions(home_a)) == new_key
        assert set(store.annotations_for(new_ids, old_key)) == set(new_ids[:2])   # before the promotion
        assert set(store.annotations_for(new_ids, new_key)) == set(new_ids[2:])   # every batch after it
    finally:
        worker_a.close()

    retrain.rollback(store, writable_models_home(a), "topic", "lan", since_day="2026-03-02")   # and back, from A
    assert registry.read_registry(modelsync.models_home(store, b))["topic"]["active"] == "v1"


def _folder(path: Path) -> Path:
    """A small models folder: v1 of topic and sentiment (the files are not loaded here)."""
    for task in ("topic", "sentiment"):
        (path / task / "v1").mkdir(parents=True)
        (path / task / "v1" / "model.skops").write_bytes(b"shipped " + task.encode())
    (path / "registry.json").write_text(json.dumps({t: {"active": "v1", "versions": ["v1"]}
                                                    for t in ("topic", "sentiment")}), encoding="utf-8")
    return path


def _trained(home: Path, version: str, content: bytes) -> None:
    (home / "topic" / version).mkdir()
    (home / "topic" / version / "model.skops").write_bytes(content)
    (home / "topic" / version / "card.md").write_text(f"# topic {version}\n", encoding="utf-8")


def test_two_machines_never_store_two_models_under_one_name(store, tmp_path):
    a, b = _folder(tmp_path / "a"), _folder(tmp_path / "b")
    assert modelsync.sync(store, b) is False and store.model_registry() == {}   # nothing stored yet: left alone
    _trained(a, "v2", b"trained on A")
    modelsync.register(store, a, "topic", "v2")
    _trained(b, "v2", b"trained on B at the same time")
    with pytest.raises(UserError, match="another machine"):
        modelsync.register(store, b, "topic", "v2")
    assert store.model_files("topic", "v2") == {"card.md": b"# topic v2\n", "model.skops": b"trained on A"}
    assert modelsync.sync(store, b) is True                 # B's own v2 is gone; the stored one takes its place
    assert (b / "topic" / "v2" / "model.skops").read_bytes() == b"trained on A"
    assert registry.read_registry(b) == registry.read_registry(a) == {
        "topic": {"active": "v1", "versions": ["v1", "v2"]}, "sentiment": {"active": "v1", "versions": ["v1"]}}
    assert modelsync.promote(store, b, "topic", "v2") == "v1"
    assert modelsync.sync(store, a) is True and registry.read_registry(a)["topic"]["active"] == "v2"
    assert modelsync.sync(store, a) is False                # in line: nothing written again
    assert modelsync.rollback(store, a, "topic") == "v1"
    assert modelsync.sync(store, b) is True and registry.read_registry(b)["topic"] == {
        "active": "v1", "versions": ["v1", "v2"]}
