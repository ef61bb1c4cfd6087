"""The job worker: the one process that runs Pulse's queued work and holds the models.

The web app and the scheduler only queue jobs (service/jobs.py `enqueue`); a worker claims them one at a time
(`claim_next`, atomic) and runs the work registered for their kind (service/job_kinds.py): collection cycles, intake
batches of collaborators' submissions, detection, briefings, training, promotion with its bounded re-annotation,
rollback, backups. The models are loaded once, lent to the work that needs them, and loaded again only after a
promotion or rollback changes the active versions, so a machine holds them once. The data folder is synced with the
store's registry before each load or check (service/modelsync.py), so a promotion run by another machine's worker is
seen at the start of this worker's next job.

`pulse serve` runs one worker process beside the web app (service/intake.py supervises it); `pulse worker` runs one on
its own (a second machine over the same database, or a one-off `--until-idle` run). A worker that dies leaves its
running job behind; the next round of any worker repairs it (`jobs.repair_stale`).
"""
from __future__ import annotations

import logging
import os
import time
from typing import Callable

from service import jobs
from service.batches import enqueue_help
from service.config import Settings
from service.store import Store

log = logging.getLogger("pulse.worker")

REPAIR_EVERY = float(os.environ.get("PULSE_REPAIR_EVERY", "15"))   # seconds between two looks for dead workers


def release_memory() -> None:
    """After a job: collect cycles and hand the freed heap back to the system (glibc keeps it otherwise), so the
    worker's resident memory is its models plus what the next job needs, not the peak of the last one."""
    import gc

    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):   # not glibc: nothing to hand back this way
        pass


class Worker:
    """Claims and runs queued jobs over one store; lends its models to the work (`models()`)."""

    def __init__(self, settings: Settings, loader: Callable | None = None, kinds: list[str] | None = None):
        self.settings = settings
        self.loader = loader              # () -> (annotator, versions); default: the active models of the data folder
        self.kinds = kinds                # only these kinds of job (None: every kind)
        self.store = Store(settings.db_path)
        self.id = jobs.worker_id()
        self.annotator = None
        self.versions: dict[str, str] | None = None
        self.load_error: str | None = None
        self._repaired_at = 0.0

    # --- the models ---------------------------------------------------------------------------------------------
    def models(self):
        """(annotator, versions) of the active models, loaded on first use and again after they changed (here or,
        through the store, on another machine: the data folder is synced with the store's registry first)."""
        home = self._home() if self.loader is None else None
        if self.annotator is not None and home is not None and self._changed(home):
            log.info("the active models changed (%s); loading them again", self.versions)
            self.drop_models()
        if self.annotator is None:
            if self.loader is not None:
                self.annotator, self.versions = self.loader()
            else:
                from service.pipeline import load_annotator

                self.annotator, self.versions = load_annotator(home)
            self.load_error = None
        return self.annotator, self.versions

    def try_load(self):
        """`models()`, with a failure kept in `load_error` (and logged) rather than raised."""
        try:
            return self.models()
        except Exception as exc:
            self.load_error = str(exc)
            log.warning("models could not be loaded (%s); submissions wait in the store", exc)
            return None

    def drop_models(self) -> None:
        """Let go of the models (before a promotion loads the new ones: never two copies at once)."""
        self.annotator = self.versions = None
        release_memory()

    def _home(self):
        """The folder to load models from, brought in line with the store's registry and versions."""
        from service.modelsync import models_home

        return models_home(self.store, self.settings)

    def _changed(self, home) -> bool:
        from service.registry import ModelsMissing, active_versions

        try:
            return active_versions(home) != self.versions
        except (ModelsMissing, OSError, ValueError):
            return False

    # --- the work -----------------------------------------------------------------------------------------------
    def repair(self) -> list[tuple[int, str]]:
        self._repaired_at = time.monotonic()
        return jobs.repair_stale(self.store)

    def run_next(self) -> dict | None:
        """Claim the oldest queued job and run it; its final row, or None when nothing was queued."""
        if time.monotonic() - self._repaired_at >= REPAIR_EVERY:
            self.repair()
        job = jobs.claim_next(self.store, self.kinds, worker=self.id)
        if job is None and (self.kinds is None or "annotate" in self.kinds) and enqueue_help(self.store):
            job = jobs.claim_next(self.store, self.kinds, worker=self.id)   # help the running processing job
        if job is None:
            return None
        try:
            return self.run_claimed(job)
        finally:
            self.after_job()

    def run_claimed(self, job: dict) -> dict:
        """Run a job this worker holds (claimed from the table, or by its task: service/taskqueue.py)."""
        return jobs.run_claimed(self.store, job, settings=self.settings, result={"worker": self})

    def after_job(self) -> None:
        release_memory()

    def drain_submissions(self, stop: Callable[[], bool] = lambda: False) -> int:
        """Process the collaborators' pending submissions, a batch (an `intake` job) at a time; how many were placed.
        Nothing is recorded when nothing waits."""
        total = 0
        fresh = jobs._ago(jobs.LEASE_SECONDS)
        if any(j["status"] == "running" and (j["heartbeat_at"] or "") >= fresh
               for j in self.store.open_jobs(list(jobs.EXCLUSIVE))):
            return 0   # another worker is processing: its run places these items too, or the next round does
        while not stop() and self.store.count_pending_submissions():
            job, _ = jobs.run_kind(self.store, self.settings, "intake", {}, "worker", result={"worker": self})
            placed = job["counts"].get("submissions", 0) if job["status"] == "done" else 0
            total += placed
            if job["status"] != "done" or job["counts"].get("left"):
                break   # failed or some could not be placed: they stay pending until the next round
        if total:
            release_memory()
        return total

    def run_until_idle(self, limit: int | None = None) -> list[dict]:
        """Drain the submissions and run queued jobs until none is left (or `limit` jobs ran); the jobs' rows."""
        done = []
        self.repair()
        while limit is None or len(done) < limit:
            if self.store.count_pending_submissions():
                self.drain_submissions()
            job = self.run_next()
            if job is None:
                break
            done.append(job)
        return done

    def run_forever(self, stopping: Callable[[], bool], poll_seconds: float = 2.0) -> None:
        """Rounds of submissions and jobs until `stopping()`; sleeps `poll_seconds` when there was nothing to do."""
        self.repair()
        while not stopping():
            busy = False
            try:
                if self.store.count_pending_submissions() and self.try_load() is not None:
                    busy = self.drain_submissions(stop=stopping) > 0
                busy = self.run_next() is not None or busy
            except Exception:
                log.exception("the worker's round failed; what it was doing stays queued or pending")
            if not busy:
                deadline = time.monotonic() + poll_seconds
                while not stopping() and time.monotonic() < deadline:
                    time.sleep(min(0.2, poll_seconds))

    def close(self) -> None:
        self.store.close()
