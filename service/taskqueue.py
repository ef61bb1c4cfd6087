"""The multi-machine mode on PostgreSQL: Pulse's jobs run as procrastinate tasks (issue 18.4).

The jobs table stays the record an operator reads (who asked, when, progress, outcome, the worker and its
heartbeat: `pulse jobs`, /admin/jobs). Procrastinate, whose tables live in the same PostgreSQL schema, carries the
work between machines: every queued Pulse job is deferred as one `pulse.job` task (its id kept on the job,
`jobs.task_id`), which a `pulse worker` on any machine takes, marks running in the jobs table and runs with the
models it holds. Procrastinate gives what it is good at:

- `queueing_lock` `pulse-job-<id>`: a job is never waiting twice in the task queue;
- `lock` `pulse-processing` for the EXCLUSIVE kinds (annotate-and-place runs): one at a time over every machine,
  the others wait in the queue instead of polling;
- retries: a task that finds an exclusive run going on (started outside the task queue, e.g. `pulse process`) is
  retried a few seconds later;
- worker heartbeats: a task whose worker stopped beating is found (`get_stalled_jobs`) and finished, releasing its
  lock; the Pulse job itself is repaired by `jobs.repair_stale` (queued again, which defers a new task, or failed
  with a message in Vietnamese) as in the embedded mode.

Each `pulse worker` also runs a small feeder beside procrastinate's worker loop: it defers queued jobs (the web app,
the scheduler and the CLI only insert rows, and need no procrastinate), repairs jobs whose worker died, and queues an
`annotate` job when a processing run could use help (service/batches.py).
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any, Callable

from service import jobs
from service.batches import enqueue_help
from service.store import Store

log = logging.getLogger("pulse.taskqueue")

QUEUE = "pulse"
TASK = "pulse.job"
PROCESSING_LOCK = "pulse-processing"
FEED_SECONDS = float(os.environ.get("PULSE_FEED_SECONDS", "1"))          # between two looks for jobs to defer
HEARTBEAT_SECONDS = float(os.environ.get("PULSE_TASK_HEARTBEAT", "10"))   # procrastinate worker heartbeat
STALLED_SECONDS = float(os.environ.get("PULSE_TASK_STALLED", "30"))      # no heartbeat this long: worker gone
BUSY_RETRY_SECONDS = 3


class Busy(Exception):
    """An exclusive job found another processing run going on: the task is retried later."""


def available() -> bool:
    try:
        import procrastinate  # noqa: F401
    except ImportError:
        return False
    return True


def store_url(store: Store) -> str:
    """The libpq URL of a PostgreSQL store (with its schema as search_path, so procrastinate's tables sit beside
    Pulse's)."""
    return store.db.conn.url


def make_app(url: str, runner_of: Callable[[], Any]):
    """A procrastinate App on this database with Pulse's one task; `runner_of()` gives the process's Worker."""
    from procrastinate import App, PsycopgConnector, RetryStrategy

    app = App(connector=PsycopgConnector(conninfo=url, min_size=1, max_size=4))

    @app.task(name=TASK, queue=QUEUE, retry=RetryStrategy(max_attempts=1000, wait=BUSY_RETRY_SECONDS,
                                                           retry_exceptions={Busy}))
    def run_job(job_id: int) -> str:
        return run_pulse_job(runner_of(), job_id)

    return app


def run_pulse_job(runner, job_id: int) -> str:
    """Take the Pulse job `job_id` (queued → running, held by this worker) and run it; what happened, in a word.
    A job no longer queued (run by another worker, cancelled) is left alone; an exclusive one that must wait for
    another processing run raises Busy (procrastinate retries it)."""
    store = runner.store
    job = store.claim_job_by_id(job_id, runner.id, jobs.EXCLUSIVE, jobs._ago(jobs.LEASE_SECONDS))
    if job is None:
        row = store.job(job_id)
        if row is not None and row["status"] == "queued" and not row["cancel_requested"]:
            raise Busy(f"job {job_id} ({row['kind']}) waits for another processing run")
        return "skipped"
    try:
        final = runner.run_claimed(job)
    finally:
        runner.after_job()
    return final["status"]


def defer_one(app, job: dict) -> int | None:
    """Defer the Pulse job as a task; its task id (None when it already waits in the queue)."""
    from procrastinate.exceptions import AlreadyEnqueued

    options: dict[str, Any] = {"queueing_lock": f"pulse-job-{job['id']}"}
    if job["kind"] in jobs.EXCLUSIVE:
        options["lock"] = PROCESSING_LOCK
    try:
        return app.configure_task(TASK, **options).defer(job_id=job["id"])
    except AlreadyEnqueued:
        return None


def ensure_schema(store: Store, app) -> bool:
    """Procrastinate's tables in the store's database (through its own schema manager), once."""
    with app.open():
        created = store.ensure_task_queue_schema(app.schema_manager.apply_schema)
    if created:
        log.info("the task queue's tables were created in the store's database")
    return created


def feed_once(store: Store, app, repair: bool) -> dict[str, int]:
    """One round of the feeder: repair jobs whose worker died, queue help for a processing run, defer what is
    queued. Counts of what it did."""
    repaired = jobs.repair_stale(store) if repair else []
    helper = enqueue_help(store)
    intake = _enqueue_intake(store)
    deferred = store.defer_queued_jobs(lambda job: defer_one(app, job))
    for job_id, task_id in deferred:
        log.info("job %d deferred as task %d", job_id, task_id)
    return {"repaired": len(repaired), "helpers": int(bool(helper)), "intake": int(bool(intake)),
            "deferred": len(deferred)}


def _enqueue_intake(store: Store) -> int | None:
    """An `intake` job for the collaborators' pending submissions, unless a processing run is open (it places
    them, or the next round queues one): what the embedded worker's `drain_submissions` does between jobs."""
    if not store.count_pending_submissions():
        return None
    with store.transaction():
        if store.open_jobs(list(jobs.EXCLUSIVE)):
            return None
        return jobs.enqueue(store, "intake", {}, "worker")


async def _finish_stalled(app) -> int:
    """Finish the tasks whose worker stopped beating (killed, machine down), so their locks are released; the Pulse
    jobs they ran are repaired by `jobs.repair_stale`."""
    from procrastinate.jobs import Status

    stalled = await app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=STALLED_SECONDS)
    for job in stalled:
        log.warning("task %s (%s) lost its worker; finished as failed", job.id, job.task_kwargs)
        await app.job_manager.finish_job(job, Status.FAILED, delete_job=False)
    return len(stalled)


async def _feeder(store: Store, app, stopping: Callable[[], bool], worker_task: asyncio.Task) -> None:
    from service.worker import REPAIR_EVERY

    repaired_at = 0.0
    while not stopping() and not worker_task.done():
        try:
            repair = time.monotonic() - repaired_at >= REPAIR_EVERY
            if repair:
                repaired_at = time.monotonic()
                await _finish_stalled(app)
            await asyncio.to_thread(feed_once, store, app, repair)
        except Exception:
            log.exception("the task queue feeder's round failed; it tries again")
        await asyncio.sleep(FEED_SECONDS)


def run_worker(runner, stopping: Callable[[], bool]) -> None:
    """Run this process's procrastinate worker (one task at a time: the models are held once) and its feeder
    until `stopping()`; a SIGTERM lets the running task end first."""
    feeder_store = Store(runner.store.location)
    app = make_app(store_url(runner.store), lambda: runner)
    ensure_schema(feeder_store, app)

    async def main():
        async with app.open_async():
            worker_task = asyncio.create_task(app.run_worker_async(
                queues=[QUEUE], concurrency=1, name=runner.id, install_signal_handlers=False,
                update_heartbeat_interval=HEARTBEAT_SECONDS, stalled_worker_timeout=STALLED_SECONDS,
                delete_jobs="successful", fetch_job_polling_interval=FEED_SECONDS))
            feeder = asyncio.create_task(_feeder(feeder_store, app, stopping, worker_task))
            while not stopping() and not worker_task.done():
                await asyncio.sleep(0.2)
            feeder.cancel()
            if not worker_task.done():
                worker_task.cancel()   # procrastinate stops taking tasks and waits for the running one
            for task in (worker_task, feeder):
                try:
                    await task
                except (asyncio.CancelledError, Exception) as exc:
                    if not isinstance(exc, asyncio.CancelledError):
                        log.warning("the task queue worker ended with %r", exc)

    try:
        asyncio.run(main())
    finally:
        feeder_store.close()
