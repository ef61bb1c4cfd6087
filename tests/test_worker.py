"""The job worker (service/worker.py): a real `pulse worker` process claims queued jobs and runs them; a job whose
worker was killed with SIGKILL is repaired (automatic work queued again and run, work a person asked for failed with
a message in Vietnamese), never left running; training asked for on the web is only queued by the app and run by the
worker process, its progress shown from the job's row."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from collectors_support import LoopbackServer
from conftest import FIXTURES
from service import jobs, retrain
from service.app import create_app
from service.config import Settings
from service.setup import init
from service.store import Store
from web_support import csrf_of, login, make_installation, wait_until

FEED = (FIXTURES / "rss" / "vnexpress_tin-moi-nhat_2017-02-18.rss.xml").read_bytes()


def start_worker(db: Path, cwd: Path, *args: str, models: Path | None = None, **env: str) -> subprocess.Popen:
    environment = {**os.environ, "PULSE_DB": str(db), **env}
    if models is not None:
        environment["PULSE_MODELS"] = str(models)
    return subprocess.Popen([sys.executable, "-m", "service.cli", "worker", *args], cwd=cwd, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.kill()
    out, _ = process.communicate(timeout=30)
    return out


@pytest.fixture
def installation(tmp_path):
    db = tmp_path / "pulse.db"
    store = Store(db)
    init(store)
    for source in store.sources():   # no collection may leave the machine
        store.set_source_enabled(source["name"], False)
    yield db, store
    store.close()


def test_a_worker_process_claims_and_runs_queued_jobs(installation, tmp_path, local_server):
    db, store = installation
    store.upsert_source("vne", "rss", local_server.serve("/vne.rss", FEED))
    collect = jobs.enqueue(store, "collect", {"source": "vne"}, requested_by="root")
    detect = jobs.enqueue(store, "detect", {"first": "2017-02-18"}, requested_by="root")
    worker = start_worker(db, tmp_path, "--poll", "0.2")
    try:
        wait_until(lambda: all(store.job(j)["status"] in ("done", "failed") for j in (collect, detect)), timeout=120,
                   what="both queued jobs run")
        for job_id in (collect, detect):
            job = store.job(job_id)
            assert job["status"] == "done", job
            assert job["worker"] == f"{socket.gethostname()}:{worker.pid}" and job["attempts"] == 1
        assert store.job(collect)["counts"]["new"] == 25 and store.count_items() == 25
        # queued later: the running worker takes it too
        late = jobs.enqueue(store, "detect", {"first": "2017-02-19"})
        wait_until(lambda: store.job(late)["status"] == "done", timeout=60, what="a job queued later run")
        worker.send_signal(signal.SIGTERM)          # stops after its job
        assert worker.wait(30) == 0
    finally:
        print(stop(worker)[-2000:])


def test_a_job_whose_worker_was_killed_is_repaired(installation, tmp_path):
    db, store = installation
    release = threading.Event()
    server = LoopbackServer()
    fetched = []

    def hanging_feed(h):   # answers only once released: the first worker is killed while it waits
        fetched.append(time.monotonic())
        release.wait(60)
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Content-Length", str(len(FEED)))
        h.end_headers()
        h.wfile.write(FEED)

    server.routes["/slow.rss"] = hanging_feed
    store.upsert_source("cham", "rss", server.url("/slow.rss"))
    job_id = jobs.enqueue(store, "collect", {"source": "cham"})
    fast = {"PULSE_JOB_HEARTBEAT": "0.5", "PULSE_JOB_LEASE": "3"}
    first = start_worker(db, tmp_path, "--poll", "0.2", **fast)
    second = None
    try:
        wait_until(lambda: fetched, timeout=60, what="the first worker fetching the hanging feed")
        held = store.job(job_id)
        assert held["status"] == "running" and held["worker"].endswith(f":{first.pid}")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        # work a person asked for, held by the same dead worker (a training it was running)
        training = store.add_job("train", {"task": "topic", "from_labels": True}, "analyst1", status="running",
                                 worker=held["worker"])
        assert store.job(job_id)["status"] == "running"    # nobody has noticed yet
        release.set()

        second = start_worker(db, tmp_path, "--poll", "0.2", **fast)
        wait_until(lambda: store.job(job_id)["status"] == "done", timeout=120, what="the collection run again")
        job = store.job(job_id)
        assert job["attempts"] == 2 and job["worker"].endswith(f":{second.pid}") and job["error"] is None
        assert job["counts"]["new"] == 25 and store.count_items() == 25
        failed = store.job(training)
        assert failed["status"] == "failed" and failed["finished_at"]
        assert failed["error"].startswith("Tiến trình chạy việc này") and "hãy chạy lại" in failed["error"]
        assert not store.jobs(status="running")
    finally:
        release.set()
        for process in (first, second):
            if process is not None:
                print(stop(process)[-2000:])
        server.httpd.shutdown()


def test_a_running_job_without_heartbeat_for_its_lease_is_queued_again_then_failed(installation):
    """Another machine's worker cannot be asked whether it lives: its lease (the heartbeat's age) decides."""
    db, store = installation
    job_id = store.add_job("backup", {}, "scheduler", status="running", worker="may-khac:4242")
    live = store.add_job("detect", {"first": "2026-11-30"}, "scheduler", status="running", worker="may-khac:4243")
    assert jobs.repair_stale(store, lease=60) == []   # heartbeats younger than the lease: left alone
    time.sleep(2.1)   # times are kept to the second
    store.touch_job(live)
    assert jobs.repair_stale(store, lease=1) == [(job_id, "requeued")]
    row = store.job(job_id)
    assert row["status"] == "queued" and row["worker"] is None and "xếp hàng để chạy lại" in row["error"]
    claimed = jobs.claim_next(store, ["backup"])
    assert claimed["id"] == job_id and claimed["attempts"] == 2
    time.sleep(2.1)   # times are kept to the second
    store.touch_job(live)
    assert jobs.repair_stale(store, lease=1) == [(job_id, "failed")]   # tried twice: failed, said in Vietnamese
    assert store.job(job_id)["status"] == "failed" and store.job(live)["status"] == "running"


def test_processing_runs_one_at_a_time_through_the_jobs_table(installation):
    db, store = installation
    holder = store.add_job("intake", {}, "worker", status="running", worker=jobs.worker_id())
    queued = jobs.enqueue(store, "process", {})
    assert jobs.claim_next(store) is None            # an intake batch runs: processing waits in the queue
    store.finish_job(holder, "done")
    assert jobs.claim_next(store)["id"] == queued


def test_a_retried_processing_job_runs_as_one_exclusive_run_with_its_origin(installation):
    db, store = installation

    def broken(params, progress):
        raise OSError("disk full")

    failed = jobs.run_job(store, "process", {}, broken)
    assert failed["status"] == "failed" and failed["worker"] == jobs.worker_id()
    again = jobs.retry(store, failed["id"], settings=Settings(db_path=db))   # nothing queued: no model is loaded
    assert again["status"] == "done" and again["retry_of"] == failed["id"] and again["kind"] == "process"
    assert again["counts"] == {"annotated": 0, "days": 0}


@pytest.fixture
def training_site(tmp_path, monkeypatch):
    from retrain_support import SEED_CACHE, SEED_SAMPLE, copy_models, label_all, seed_cache, store_gold_items

    inst = make_installation(tmp_path)
    inst.settings.models_dir = copy_models(tmp_path)
    label_all(inst.store, store_gold_items(inst.store, 200))
    seed_cache()
    for cached in SEED_CACHE.glob(f"seed-leads-*-{SEED_SAMPLE}-*.jsonl.gz"):
        shutil.copy(cached, tmp_path / cached.name)    # the data folder's seed sample: no corpus needed
    monkeypatch.setattr(retrain, "SEED_LEADS", SEED_SAMPLE)
    app = create_app(inst.settings, start_worker=False)
    with TestClient(app, follow_redirects=False) as client:
        yield inst, client


def test_web_training_is_queued_and_the_worker_process_runs_it(training_site, tmp_path):
    inst, client = training_site
    assert login(client, "analyst1").status_code == 303
    page = client.get("/analyst").text
    answer = client.post("/analyst/train", data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 303
    (job,) = inst.store.jobs(kind="train")
    assert job["status"] == "queued" and job["requested_by"] == "analyst1"
    page = client.get("/analyst").text
    assert "Đang chờ đến lượt…" in page and 'http-equiv="refresh"' in page
    again = client.post("/analyst/train", data={"csrf_token": csrf_of(page)})   # one analysts' job at a time
    assert "Đang có một việc chạy nền" in client.get(again.headers["location"]).text
    assert len(inst.store.jobs(kind="train")) == 1

    worker = start_worker(inst.settings.db_path, tmp_path, "--until-idle", models=inst.settings.models_dir)
    try:
        assert worker.wait(300) == 0, stop(worker)
        out = stop(worker)
    finally:
        stop(worker)
    done = inst.store.job(job["id"])
    assert done["status"] == "done", done
    assert done["worker"] == f"{socket.gethostname()}:{worker.pid}" and f"{job['id']}  train" in out.replace(
        " " * 4, "")
    assert (done["progress_done"], done["progress_total"]) == (4, 4) and done["counts"]["version"] == "v2"
    assert "topic: fitted in" in done["log_excerpt"]
    page = client.get("/analyst").text
    assert "Đã xong: v2" in page and "topic: fitted in" in page and "Đang chạy…" not in page


def test_the_analyst_page_shows_a_running_trainings_progress_from_its_row(tmp_path):
    inst = make_installation(tmp_path)
    running = inst.store.add_job("train", {"task": "topic", "from_labels": True}, "analyst1", status="running",
                                 worker=jobs.worker_id())
    inst.store.set_job_progress(running, 2, 4)
    inst.store.set_job_log(running, "topic: 180 board labels for training, 20 held out")
    with TestClient(create_app(inst.settings, start_worker=False), follow_redirects=False) as client:
        assert login(client, "analyst1").status_code == 303
        page = client.get("/analyst").text
    assert "Đang chạy…" in page and 'aria-label="Đã xong 50%"' in page and 'width="120.0"' in page
    assert "topic: 180 board labels for training" in page
    assert "disabled" in page.split("Huấn luyện mô hình mới từ nhãn của Ban")[0].rsplit("<button", 1)[1]
