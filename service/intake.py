"""Collaborators' submissions after they are stored: annotate, place in a stream, run the detectors for their day.

A request only stores the submission (one transaction) and nudges the worker; the worker reads what is pending from
the store, so nothing is lost when it is busy, fails or the process restarts: pending submissions wait in the store.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import date
from typing import Callable

from service import pipeline, trends
from service.config import Settings
from service.store import Store

log = logging.getLogger("pulse.intake")


class SubmissionWorker:
    """One background thread that owns the loaded models (loaded once, at start) and drains pending submissions."""

    def __init__(self, settings: Settings, annotator_loader: Callable | None = None, poll_seconds: float = 5.0,
                 retry_load_seconds: float = 60.0):
        self.settings = settings
        self.loader = annotator_loader or (lambda: pipeline.load_annotator(settings.models_dir))
        self.poll_seconds, self.retry_load_seconds = poll_seconds, retry_load_seconds
        self.state = "stopped"            # stopped | loading | ready | unavailable
        self.processed = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="pulse-intake", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.state = "stopped"

    def notify(self) -> None:
        """A submission was stored: process it now rather than at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        store = Store(self.settings.db_path)
        annotator = versions = None
        try:
            while not self._stop.is_set():
                if annotator is None:
                    self.state = "loading"
                    try:
                        annotator, versions = self.loader()
                        self.state = "ready"
                    except Exception as exc:  # models missing or broken: submissions stay pending, stored
                        self.state = "unavailable"
                        log.warning("models could not be loaded (%s); submissions wait in the store", exc)
                        self._stop.wait(self.retry_load_seconds)
                        continue
                try:
                    while not self._stop.is_set() and self.drain(store, annotator, versions):
                        pass
                except Exception:
                    log.exception("processing submissions failed; they stay pending and are retried")
                    self._stop.wait(self.poll_seconds)
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
        finally:
            store.close()

    def drain(self, store: Store, annotator, versions: dict[str, str]) -> int:
        """Process one batch of pending submissions; returns how many were done (0 when nothing waits)."""
        pending = store.pending_submissions(limit=500)
        if not pending:
            return 0
        t0 = time.monotonic()
        pipeline.process(store, annotator, versions, stream_settings=self.settings.streams)
        placed = [p for p in pending if store.is_placed(p["item_id"])]
        for day in sorted({p["day"] for p in placed}):
            d = date.fromisoformat(day)
            trends.detect(store, d, d, self.settings.trends)
        store.mark_submissions_processed([p["id"] for p in placed])
        self.processed += len(placed)
        log.info("%d submissions processed in %.2f s", len(placed), time.monotonic() - t0)
        if len(placed) < len(pending):
            log.warning("%d submissions could not be placed; they stay pending", len(pending) - len(placed))
            return 0
        return len(placed)
