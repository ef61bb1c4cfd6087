"""Jobs: every piece of work Pulse does is a row in the store's `jobs` table — kind, parameters, state, who asked,
times, counts, progress, error and the last lines of its traceback — so an operator can list, retry and cancel it.

This module is the whole interface (`run_job`, `record_job`, `enqueue`, `claim_next`, `run_claimed`, `retry`,
`cancel`); the table lives in service/store.py. It is kept small on purpose: a later step can put a real task queue
behind the same functions for the multi-machine mode.
"""
from __future__ import annotations

import logging
import time
import traceback
from typing import Any, Callable

from service.store import Store

log = logging.getLogger("pulse.jobs")

Progress = Callable[[int, "int | None"], None]
# a unit of work: fn(params, progress) -> counts (a dict) or None
Work = Callable[[dict, Progress], "dict | None"]

PROGRESS_EVERY = 1.0      # seconds between two progress writes of one job
EXCERPT_LINES = 20        # last lines of a traceback kept on a failed job


class JobCancelled(Exception):
    """Raised by the progress callback when an operator cancelled the running job."""


# kind -> factory(store, settings, result) -> Work, for jobs that are run from the queue or retried by kind;
# the work may put what it produced (outcomes, files) into `result` for its caller to print
Factory = Callable[[Store, Any, dict], Work]
_registry: dict[str, Factory] = {}


def register(kind: str, factory: Factory) -> None:
    """Make `kind` runnable from the queue (`claim_next` + `run_claimed`) and retryable (`retry`)."""
    _registry[kind] = factory


def work_for(store: Store, kind: str, settings: Any, result: dict | None = None) -> Work | None:
    from service import job_kinds  # noqa: F401  (registers Pulse's own kinds)

    factory = _registry.get(kind)
    return factory(store, settings, {} if result is None else result) if factory else None


def _excerpt(text: str, lines: int = EXCERPT_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _progress_callback(store: Store, job_id: int) -> Progress:
    """Write progress at most every PROGRESS_EVERY seconds (and always the last step); raise JobCancelled once a
    cancel was asked for the job."""
    last = [0.0]

    def progress(done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY and not (total is not None and done >= total):
            return
        last[0] = now
        if store.set_job_progress(job_id, done, total):
            raise JobCancelled(f"job {job_id} was cancelled")

    return progress


def _execute(store: Store, job: dict, fn: Work, reraise: bool = False) -> dict:
    """Run a job that is already marked running; finish it as done, failed or cancelled. Returns the final row."""
    job_id = job["id"]
    started = time.monotonic()
    log.info("job %d %s started", job_id, job["kind"], extra={"pulse": {"job": job_id, "kind": job["kind"],
                                                                           "event": "start"}})
    try:
        counts = fn(job["params"], _progress_callback(store, job_id)) or {}
    except JobCancelled:
        store.finish_job(job_id, "cancelled", error="cancelled by an operator")
        log.info("job %d %s cancelled", job_id, job["kind"])
        if reraise:
            raise
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        store.finish_job(job_id, "failed", error=error, log_excerpt=_excerpt(traceback.format_exc()))
        log.warning("job %d %s failed after %.1f s: %s", job_id, job["kind"], time.monotonic() - started, error,
                    extra={"pulse": {"job": job_id, "kind": job["kind"], "event": "error"}})
        if reraise:
            raise
    else:
        store.finish_job(job_id, "done", counts=counts)
        log.info("job %d %s done in %.1f s: %s", job_id, job["kind"], time.monotonic() - started, counts,
                 extra={"pulse": {"job": job_id, "kind": job["kind"], "event": "end", **counts}})
    return store.job(job_id)


def run_job(store: Store, kind: str, params: dict, fn: Work, requested_by: str = "system",
            org_unit: str | None = None, reraise: bool = False) -> dict:
    """Run `fn(params, progress)` now, recorded as a job: running, then done with its counts or failed with the
    error and a traceback excerpt. The returned row says what happened; with `reraise` the work's error is raised
    again after it is recorded (the CLI turns it into its one-line message)."""
    job_id = store.add_job(kind, params, requested_by, org_unit=org_unit, status="running")
    return _execute(store, store.job(job_id), fn, reraise=reraise)


def record_job(store: Store, kind: str, params: dict, counts: dict, error: str | None = None,
               requested_by: str = "system") -> dict:
    """Record work that ran elsewhere (e.g. one source of a concurrent collection) as a finished job."""
    job_id = store.add_job(kind, params, requested_by, status="running")
    store.finish_job(job_id, "failed" if error else "done", counts=counts, error=error)
    return store.job(job_id)


def enqueue(store: Store, kind: str, params: dict, requested_by: str = "system", org_unit: str | None = None) -> int:
    return store.add_job(kind, params, requested_by, org_unit=org_unit)


def claim_next(store: Store, kinds: list[str] | None = None) -> dict | None:
    """Atomically take the oldest queued job (one UPDATE … RETURNING): two workers never get the same one."""
    return store.claim_job(kinds)


def run_claimed(store: Store, job: dict, fn: Work | None = None, settings: Any = None) -> dict:
    """Run a job taken by `claim_next` with `fn`, or the work registered for its kind."""
    fn = fn or work_for(store, job["kind"], settings)
    if fn is None:
        store.finish_job(job["id"], "failed", error=f"no work is registered for the kind {job['kind']!r}")
        return store.job(job["id"])
    return _execute(store, job, fn)


def retry(store: Store, job_id: int, fn: Work | None = None, requested_by: str | None = None,
          settings: Any = None) -> dict:
    """Run a finished (failed, cancelled or done) job again as a new job with the same kind and parameters.
    `fn` defaults to the work registered for the kind. Returns the new job's row."""
    old = store.job(job_id)
    if old is None:
        raise ValueError(f"there is no job {job_id}")
    if old["status"] in ("queued", "running"):
        raise ValueError(f"job {job_id} is {old['status']}; only a finished job can be retried")
    fn = fn or work_for(store, old["kind"], settings)
    if fn is None:
        raise ValueError(f"job {job_id} ({old['kind']}) cannot be retried from here: run its command again")
    new_id = store.add_job(old["kind"], old["params"], requested_by or old["requested_by"],
                           org_unit=old["org_unit"], status="running", retry_of=job_id)
    return _execute(store, store.job(new_id), fn)


def cancel(store: Store, job_id: int) -> str:
    """Cancel a queued job; ask a running one to stop (its progress callback raises). Returns the job's status."""
    status = store.cancel_job(job_id)
    if status is None:
        raise ValueError(f"there is no job {job_id}")
    return status


def duration_seconds(job: dict) -> float | None:
    from datetime import datetime

    if not job.get("started_at") or not job.get("finished_at"):
        return None
    return (datetime.fromisoformat(job["finished_at"]) - datetime.fromisoformat(job["started_at"])).total_seconds()


def describe(job: dict) -> dict[str, Any]:
    """A job's row with its duration, for pages and the CLI."""
    return {**job, "duration": duration_seconds(job)}


def run_kind(store: Store, settings: Any, kind: str, params: dict, requested_by: str = "system",
             result: dict | None = None, reraise: bool = False, org_unit: str | None = None) -> tuple[dict, dict]:
    """Run one of Pulse's registered kinds now as a job (service/job_kinds.py); returns (job row, result) where
    result holds what the work produced (outcomes, flags, files)."""
    result = {} if result is None else result
    fn = work_for(store, kind, settings, result)
    if fn is None:
        raise ValueError(f"unknown kind of job {kind!r}")
    return run_job(store, kind, params, fn, requested_by, org_unit=org_unit, reraise=reraise), result
