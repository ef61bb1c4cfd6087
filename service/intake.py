"""Collaborators' submissions after they are stored: annotate, place in a stream, run the detectors for their day.

A request only stores the submission (one transaction) and nudges the worker; the worker reads what is pending from
the store, so nothing is lost when it is busy, fails or the process restarts: pending submissions wait in the store.
The worker is a separate process at low priority, holding the models (loaded once, when the app starts): annotating
is CPU work that would otherwise hold the interpreter lock and slow every page of the app.
"""
from __future__ import annotations

import fcntl
import logging
import multiprocessing
import os
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Callable, Iterator

from service import pipeline, trends
from service.config import Settings
from service.store import Store

log = logging.getLogger("pulse.intake")

STATES = ("stopped", "loading", "ready", "unavailable")


@contextmanager
def processing_lock(db_path: str | Path) -> Iterator[None]:
    """Held while items are annotated and placed in streams, so two runs of pipeline.process on one store (this
    worker, the scheduler's cycle, `pulse process`) never place the same items at once. A lock file beside the db."""
    path = Path(str(db_path) + ".processing.lock")
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def drain(store: Store, settings: Settings, annotator, versions: dict[str, str]) -> int:
    """Process one batch of pending submissions; returns how many were done (0 when nothing waits)."""
    pending = store.pending_submissions(limit=500)
    if not pending:
        return 0
    t0 = time.monotonic()
    with processing_lock(settings.db_path):
        # small batches keep each write transaction short, so a request storing a submission never waits long
        pipeline.process(store, annotator, versions, batch_size=32, stream_settings=settings.streams,
                         relevance_settings=settings.relevance)
        placed = [p for p in pending if store.is_placed(p["item_id"])]
        for day in sorted({p["day"] for p in placed}):
            d = date.fromisoformat(day)
            trends.detect(store, d, d, settings.trends)
    store.mark_submissions_processed([p["id"] for p in placed])
    log.info("%d submissions processed in %.2f s", len(placed), time.monotonic() - t0)
    if len(placed) < len(pending):
        log.warning("%d submissions could not be placed; they stay pending", len(pending) - len(placed))
        return 0
    return len(placed)


def _work(settings: Settings, loader: Callable | None, wake, stop, state, poll_seconds: float,
          retry_load_seconds: float) -> None:
    """The worker process: load the models once, then drain pending submissions whenever nudged (or every poll)."""
    try:
        os.nice(10)   # pages first: a submission may wait a second to be annotated, a person should not
    except OSError:
        pass
    store = Store(settings.db_path)
    annotator = versions = None
    parent = os.getppid()
    try:
        while not stop.is_set() and os.getppid() == parent:   # the app is gone: so is its worker
            if annotator is not None and loader is None and _promoted_since(settings, versions):
                annotator = None   # an analyst promoted or rolled back a model: load the active ones
            if annotator is None:
                state.value = STATES.index("loading")
                try:
                    annotator, versions = loader() if loader else pipeline.load_annotator(settings.models_dir)
                    state.value = STATES.index("ready")
                except Exception as exc:  # models missing or broken: submissions stay pending, stored
                    state.value = STATES.index("unavailable")
                    log.warning("models could not be loaded (%s); submissions wait in the store", exc)
                    stop.wait(retry_load_seconds)
                    continue
            wake.clear()
            try:
                while not stop.is_set() and drain(store, settings, annotator, versions):
                    pass
            except Exception:
                log.exception("processing submissions failed; they stay pending and are retried")
                stop.wait(poll_seconds)
            if wake.wait(poll_seconds):
                _settle(wake, stop)
    except KeyboardInterrupt:
        pass
    finally:
        store.close()


def _promoted_since(settings: Settings, versions: dict[str, str] | None) -> bool:
    """Whether the active model versions differ from the ones loaded (the registry is a small JSON file)."""
    from service.registry import ModelsMissing, active_versions

    try:
        return active_versions(settings.models_dir) != versions
    except (ModelsMissing, OSError, ValueError):
        return False


def _settle(wake, stop, quiet: float = 0.25, longest: float = 1.5) -> None:
    """While submissions keep arriving (a burst), wait for a quiet moment, at most `longest` seconds: then one batch
    does them all, and the worker's writes do not slow the requests that are storing them."""
    deadline = time.monotonic() + longest
    while time.monotonic() < deadline and not stop.is_set():
        wake.clear()
        if not wake.wait(quiet):
            return


class SubmissionWorker:
    """Starts and stops the worker process; `notify` nudges it after a submission is stored."""

    def __init__(self, settings: Settings, annotator_loader: Callable | None = None, poll_seconds: float = 5.0,
                 retry_load_seconds: float = 60.0):
        self.settings = settings
        self.loader = annotator_loader          # a module-level function (it crosses to the worker process)
        self.poll_seconds, self.retry_load_seconds = poll_seconds, retry_load_seconds
        self._ctx = multiprocessing.get_context("spawn")   # a clean interpreter: no inherited threads or sockets
        self._wake = self._stop = self._state = None        # made at start: an app that never starts it holds none
        self._process = None

    @property
    def state(self) -> str:
        if self._process is None:
            return "stopped"
        return STATES[self._state.value]

    def start(self) -> None:
        if self._process is None:
            self._wake, self._stop = self._ctx.Event(), self._ctx.Event()
            self._state = self._ctx.Value("i", STATES.index("loading"))
            self._process = self._ctx.Process(
                target=_work, name="pulse-intake", daemon=True,
                args=(self.settings, self.loader, self._wake, self._stop, self._state, self.poll_seconds,
                      self.retry_load_seconds))
            self._process.start()

    def stop(self, timeout: float = 15.0) -> None:
        if self._process is None:
            return
        self._stop.set()
        self._wake.set()
        self._process.join(timeout)
        if self._process.is_alive():   # in the middle of a long batch: what it had not finished stays pending
            self._process.terminate()
            self._process.join(5)
        self._process = None

    def notify(self) -> None:
        """A submission was stored: process it now rather than at the next poll."""
        if self._wake is not None:
            self._wake.set()
