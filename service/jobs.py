"""Jobs: every piece of work Pulse does is a row in the store's `jobs` table — kind, parameters, state, who asked,
times, counts, progress, error and the last lines of its traceback — so an operator can list, retry and cancel it.

This module is the whole interface (`run_job`, `record_job`, `enqueue`, `claim_next`, `run_claimed`, `retry`,
`cancel`, `repair_stale`); the table lives in service/store/. It is kept small on purpose: a later step can put a
real task queue behind the same functions for the multi-machine mode.

A running job carries the id of the process that holds it (`host:pid`) and a heartbeat written every
HEARTBEAT_SECONDS by a thread of that process while the work runs; a job whose heartbeat is older than LEASE_SECONDS
has lost its worker (killed, crashed, machine down) and `repair_stale` puts it back in the queue or, for work a person
asked for or work already tried twice, marks it failed with a message in Vietnamese. The work of the EXCLUSIVE kinds
(annotating and placing items in streams) runs one at a time across every process, through the same table (no lock
file).
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from service.store import Store

log = logging.getLogger("pulse.jobs")

Progress = Callable[[int, "int | None"], None]
# a unit of work: fn(params, progress) -> counts (a dict) or None
Work = Callable[[dict, Progress], "dict | None"]

PROGRESS_EVERY = 1.0      # seconds between two progress writes of one job
EXCERPT_LINES = 20        # last lines of a traceback kept on a failed job
HEARTBEAT_SECONDS = float(os.environ.get("PULSE_JOB_HEARTBEAT", "10"))   # a running job's sign of life
LEASE_SECONDS = float(os.environ.get("PULSE_JOB_LEASE", "90"))   # no heartbeat for this long: its worker is gone
MAX_ATTEMPTS = 2          # an automatic job whose worker died is queued again once, then failed
PERSONAL_KINDS = ("train", "promote", "rollback")   # asked for by a person: failed, never re-run behind their back
EXCLUSIVE = ("process", "intake")   # annotate and place items: one run at a time over the whole store


def worker_id() -> str:
    """This process as a job holder: `host:pid`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _ago(seconds: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(seconds=seconds)).replace(microsecond=0).isoformat()


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


class _Progress:
    """The work's progress callback: `progress(done, total)` writes progress at most every PROGRESS_EVERY seconds
    (and always the last step) and raises JobCancelled once a cancel was asked for the job; `progress.log(line)`
    keeps a line of the job's log, shown while it runs and kept when it ends."""

    def __init__(self, store: Store, job_id: int):
        self.store, self.job_id, self.last, self.lines = store, job_id, 0.0, []

    def __call__(self, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY and not (total is not None and done >= total):
            return
        self.last = now
        if self.store.set_job_progress(self.job_id, done, total):
            raise JobCancelled(f"job {self.job_id} was cancelled")

    def log(self, line: str) -> None:
        self.lines.append(str(line))
        self.store.set_job_log(self.job_id, "\n".join(self.lines[-EXCERPT_LINES:]))

    def excerpt(self) -> str | None:
        return "\n".join(self.lines[-EXCERPT_LINES:]) if self.lines else None


def _progress_callback(store: Store, job_id: int) -> Progress:
    return _Progress(store, job_id)


class _Heartbeat:
    """A thread that writes the running job's heartbeat every HEARTBEAT_SECONDS through its own connection, so a
    long step (a model being fitted) still shows a live worker; it ends with the job (or with its process)."""

    def __init__(self, store: Store, job_id: int):
        self.path, self.job_id, self.stop = getattr(store, "path", None), job_id, threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"pulse-job-{job_id}-heartbeat", daemon=True)

    def __enter__(self):
        if self.path is not None:
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(HEARTBEAT_SECONDS + 5)

    def _run(self) -> None:
        own = None
        try:
            own = Store(self.path)
            while not self.stop.wait(HEARTBEAT_SECONDS):
                own.touch_job(self.job_id)
        except Exception as exc:   # a missed heartbeat is repaired by the lease, never a failed job
            log.warning("job %d: heartbeat stopped (%s)", self.job_id, exc)
        finally:
            if own is not None:
                own.close()


def _execute(store: Store, job: dict, fn: Work, reraise: bool = False) -> dict:
    """Run a job that is already marked running; finish it as done, failed or cancelled. Returns the final row."""
    job_id = job["id"]
    started = time.monotonic()
    log.info("job %d %s started", job_id, job["kind"], extra={"pulse": {"job": job_id, "kind": job["kind"],
                                                                           "event": "start"}})
    progress = _Progress(store, job_id)
    try:
        with _Heartbeat(store, job_id):
            counts = fn(job["params"], progress) or {}
    except JobCancelled:
        store.finish_job(job_id, "cancelled", error="cancelled by an operator", log_excerpt=progress.excerpt())
        log.info("job %d %s cancelled", job_id, job["kind"])
        if reraise:
            raise
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        store.finish_job(job_id, "failed", error=error, log_excerpt="\n".join(
            filter(None, [progress.excerpt(), _excerpt(traceback.format_exc())])))
        log.warning("job %d %s failed after %.1f s: %s", job_id, job["kind"], time.monotonic() - started, error,
                    extra={"pulse": {"job": job_id, "kind": job["kind"], "event": "error"}})
        if reraise:
            raise
    else:
        store.finish_job(job_id, "done", counts=counts, log_excerpt=progress.excerpt())
        log.info("job %d %s done in %.1f s: %s", job_id, job["kind"], time.monotonic() - started, counts,
                 extra={"pulse": {"job": job_id, "kind": job["kind"], "event": "end", **counts}})
    return store.job(job_id)


def run_job(store: Store, kind: str, params: dict, fn: Work, requested_by: str = "system",
            org_unit: str | None = None, reraise: bool = False) -> dict:
    """Run `fn(params, progress)` now, recorded as a job: running, then done with its counts or failed with the
    error and a traceback excerpt. The returned row says what happened; with `reraise` the work's error is raised
    again after it is recorded (the CLI turns it into its one-line message)."""
    if kind in EXCLUSIVE:
        job_id = _start_exclusive(store, kind, params, requested_by, org_unit=org_unit)
    else:
        job_id = store.add_job(kind, params, requested_by, org_unit=org_unit, status="running", worker=worker_id())
    return _execute(store, store.job(job_id), fn, reraise=reraise)


EXCLUSIVE_WAIT_SECONDS = 3600.0   # how long an exclusive run waits for another one to end


def _start_exclusive(store: Store, kind: str, params: dict, requested_by: str, org_unit: str | None = None,
                     retry_of: int | None = None) -> int:
    """A running job of an EXCLUSIVE kind, once no other such job runs (a live one: a dead one's lease has run out,
    it does not block). Waits, telling the log once, up to EXCLUSIVE_WAIT_SECONDS."""
    deadline = time.monotonic() + EXCLUSIVE_WAIT_SECONDS
    told = False
    while True:
        job_id = store.start_exclusive_job(kind, params, requested_by, EXCLUSIVE, _ago(LEASE_SECONDS), worker_id(),
                                           org_unit=org_unit, retry_of=retry_of)
        if job_id is not None:
            return job_id
        if time.monotonic() > deadline:
            raise TimeoutError(f"another processing job kept running for {EXCLUSIVE_WAIT_SECONDS:.0f} s")
        if not told:
            log.info("another processing job is running; %s waits for it to end", kind)
            told = True
        time.sleep(0.5)


def record_job(store: Store, kind: str, params: dict, counts: dict, error: str | None = None,
               requested_by: str = "system") -> dict:
    """Record work that ran elsewhere (e.g. one source of a concurrent collection) as a finished job."""
    job_id = store.add_job(kind, params, requested_by, status="running")
    store.finish_job(job_id, "failed" if error else "done", counts=counts, error=error)
    return store.job(job_id)


def enqueue(store: Store, kind: str, params: dict, requested_by: str = "system", org_unit: str | None = None) -> int:
    return store.add_job(kind, params, requested_by, org_unit=org_unit)


def claim_next(store: Store, kinds: list[str] | None = None, worker: str | None = None) -> dict | None:
    """Atomically take the oldest queued job (one UPDATE … RETURNING): two workers never get the same one, and a job
    of the EXCLUSIVE kinds waits in the queue while another one runs."""
    return store.claim_job(kinds, worker=worker or worker_id(), exclusive=EXCLUSIVE,
                           fresh_after=_ago(LEASE_SECONDS))


def run_claimed(store: Store, job: dict, fn: Work | None = None, settings: Any = None,
                result: dict | None = None) -> dict:
    """Run a job taken by `claim_next` with `fn`, or the work registered for its kind (given `result`: what the
    worker lends the work, e.g. its loaded models)."""
    fn = fn or work_for(store, job["kind"], settings, result)
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
    if old["kind"] in EXCLUSIVE:   # one processing run at a time, a retried one too
        new_id = _start_exclusive(store, old["kind"], old["params"], requested_by or old["requested_by"],
                                  org_unit=old["org_unit"], retry_of=job_id)
    else:
        new_id = store.add_job(old["kind"], old["params"], requested_by or old["requested_by"],
                               org_unit=old["org_unit"], status="running", retry_of=job_id, worker=worker_id())
    return _execute(store, store.job(new_id), fn)


def cancel(store: Store, job_id: int) -> str:
    """Cancel a queued job; ask a running one to stop (its progress callback raises). Returns the job's status."""
    status = store.cancel_job(job_id)
    if status is None:
        raise ValueError(f"there is no job {job_id}")
    return status


def _dead_here(worker: str | None) -> bool:
    """Whether `worker` (host:pid) was a process of this machine that no longer runs."""
    host, _, pid = (worker or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    try:   # a zombie has ended too
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in "ZX"
    except (OSError, IndexError):
        return False


def repair_stale(store: Store, lease: float | None = None) -> list[tuple[int, str]]:
    """Running jobs whose worker is gone — no heartbeat for `lease` seconds, or a process of this machine that no
    longer exists — are put back in the queue (automatic work, tried fewer than MAX_ATTEMPTS times) or finished as
    failed with a message in Vietnamese (work a person asked for, or tried enough). Returns (job id, what was done)."""
    lease = LEASE_SECONDS if lease is None else lease
    candidates = {j["id"]: j for j in store.stale_jobs(_ago(lease))}
    for job in store.running_jobs_of(socket.gethostname() + ":"):
        if job["id"] not in candidates and _dead_here(job["worker"]):
            candidates[job["id"]] = job
    repaired = []
    for job in candidates.values():
        requeue = job["kind"] not in PERSONAL_KINDS and job["attempts"] < MAX_ATTEMPTS and not job["cancel_requested"]
        who = job["worker"] or "không rõ"
        message = (f"Tiến trình chạy việc này ({who}) đã dừng đột ngột, không còn tín hiệu hoạt động. "
                   + ("Việc đã được xếp hàng để chạy lại." if requeue else
                      "Việc không được tự động chạy lại; hãy chạy lại nếu vẫn cần."))
        if store.repair_job(job["id"], requeue, message, job["heartbeat_at"]):
            action = "requeued" if requeue else "failed"
            repaired.append((job["id"], action))
            log.warning("job %d %s lost its worker %s; %s", job["id"], job["kind"], who, action,
                        extra={"pulse": {"job": job["id"], "kind": job["kind"], "event": "repaired",
                                         "action": action}})
    return repaired


def open_job(store: Store, kinds: list[str]) -> dict | None:
    """The oldest queued or running job of these kinds, if any (to coalesce: one cycle waiting is enough)."""
    rows = store.open_jobs(kinds)
    return rows[0] if rows else None


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
