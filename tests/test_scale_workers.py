"""Several workers share one processing run (issue 18.4): two real `pulse worker` processes on one store (one
PostgreSQL schema with `--backend postgresql`, one SQLite file otherwise), one of them killed with SIGKILL in the
middle of the backlog and started again, end with every item annotated exactly once and placed exactly once.

The backlog is the hand-labelled gold news (tests/fixtures, real headlines and leads), annotated by the shipped
models through the same code the CLI runs: a queued `process` job (as the scheduler queues it), taken by one worker,
which places; the other worker, idle, joins it with an `annotate` job that claims batches of the queue.
"""
from __future__ import annotations

import signal
import socket

import pytest
from retrain_support import store_gold_items
from test_worker import start_worker, stop
from web_support import wait_until

from service import jobs
from service.setup import init
from service.store import Store

ITEMS = 400
BATCH = 8


@pytest.fixture
def backlog(tmp_path):
    db = tmp_path / "pulse.db"
    store = Store(db)
    init(store)
    for source in store.sources():
        store.set_source_enabled(source["name"], False)
    ids = [i for i, _ in store_gold_items(store, ITEMS)]
    assert len(ids) == ITEMS
    yield db, store, ids
    store.close()


def _annotation_counts(store: Store) -> dict[int, int]:
    return dict(store.db.execute("SELECT item_id, COUNT(*) FROM annotations GROUP BY item_id").fetchall())


def test_two_workers_one_killed_mid_backlog_and_restarted_annotate_and_place_every_item_once(backlog, tmp_path):
    db, store, ids = backlog
    run = jobs.enqueue(store, "process", {"batch_size": BATCH}, requested_by="scheduler")
    # quick repair for a test: look for dead workers every second; on PostgreSQL (procrastinate workers) a task
    # whose worker missed 3 s of heartbeats is finished, releasing its lock
    env = {"PULSE_REPAIR_EVERY": "1", "PULSE_JOB_HEARTBEAT": "1", "PULSE_TASK_HEARTBEAT": "1",
           "PULSE_TASK_STALLED": "3", "PULSE_FEED_SECONDS": "0.2"}
    first = start_worker(db, tmp_path, "--poll", "0.1", **env)
    second = start_worker(db, tmp_path, "--poll", "0.1", **env)
    restarted = None
    try:
        # both workers at work: the process job running on one, an annotate job on the other, items annotated
        def sharing():
            for proc in (first, second):
                assert proc.poll() is None, f"a worker ended early:\n{stop(proc)[-3000:]}"
            held = {j["worker"] for j in store.jobs(status="running") if j["kind"] in ("process", "annotate")}
            return len(held) == 2 and len(_annotation_counts(store)) >= 40
        wait_until(sharing, timeout=240, interval=0.05, what="two workers sharing the backlog")
        holder = store.job(run)["worker"]
        assert holder.startswith(socket.gethostname() + ":")
        victim = first if holder.endswith(f":{first.pid}") else second
        victim.send_signal(signal.SIGKILL)
        victim.wait(30)
        annotated_at_kill = len(_annotation_counts(store))
        assert annotated_at_kill < ITEMS, "the kill came after the whole backlog was annotated"
        restarted = start_worker(db, tmp_path, "--poll", "0.1", **env)

        wait_until(lambda: store.count_to_process() == 0 and not store.open_jobs(["process", "annotate"]),
                   timeout=300, interval=0.2, what="the backlog processed")
        counts = _annotation_counts(store)
        assert sorted(counts) == sorted(ids), "every item annotated"
        assert set(counts.values()) == {1}, {i: n for i, n in counts.items() if n != 1}
        placed = dict(store.db.execute("SELECT item_id, COUNT(*) FROM stream_items GROUP BY item_id").fetchall())
        assert sorted(placed) == sorted(ids) and set(placed.values()) == {1}
        assert store.db.execute("SELECT COUNT(*) FROM item_relevance").fetchone()[0] == ITEMS

        # the killed worker's processing run was put back in the queue and finished by another worker
        rows = store.jobs(kind="process")
        assert [j["status"] for j in rows] == ["done"] and rows[0]["attempts"] == 2, rows
        assert rows[0]["worker"] != holder
        if store.backend == "postgresql":   # procrastinate workers: the job was handed to the task queue
            assert rows[0]["task_id"] is not None
        helpers = [j for j in store.jobs(kind="annotate", limit=500) if j["status"] == "done"]
        assert sum(j["counts"].get("annotated", 0) for j in helpers) > 0, "the idle worker annotated a share"
        assert store.claim_holders() == []
    finally:
        for proc in (first, second, restarted):
            if proc is not None:
                out = stop(proc)
                if proc.returncode not in (0, -signal.SIGKILL, -signal.SIGTERM):
                    print(out[-3000:])
