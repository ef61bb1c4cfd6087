"""Processing shared by several workers: annotation in claimed batches, placement by one writer.

Annotating is most of the work and needs no shared state, so any number of workers do it at once: a worker claims a
batch of queued items with a lease (`Store.claim_to_annotate`), annotates it outside any transaction, then writes the
annotations and releases the claim in one (`Store.write_claimed_annotations`: an item another worker took after the
lease ran out is left to it; UNIQUE(item_id, model_version) keeps one annotation an item). A worker that dies
leaves its claims behind: they come back when their lease runs out, or at once when its process is seen dead on
this machine (`release_dead_claims`).

Placement in streams keeps state (service/streams.py StreamPlacer) and stays one writer: only an EXCLUSIVE job
(`process`, `intake`: service/jobs.py) places, taking the annotated rows in queue order up to the first one not
annotated yet (`Store.ready_to_place`), so streams come out as one worker alone would have made them.
"""
from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timedelta, timezone
from typing import Callable

from nlp.annotate import Annotation
from service import streams
from service.config import RelevanceSettings
from service.relevance import relevance_rows
from service.store import Store

log = logging.getLogger("pulse.pipeline")

CLAIM_LEASE_SECONDS = float(os.environ.get("PULSE_CLAIM_LEASE", "300"))   # a batch comes back after this long
PLACE_LIMIT = 1024   # items placed in one transaction at most
MODEL_CHECK_SECONDS = 1.0   # a run asks its worker again for the active models at most this often (a promotion
                            # on another machine is followed from the next batch on: service/modelsync.py)


Models = Callable[[], tuple]   # () -> (annotator, versions): the worker's models, synced with the store's registry


def models_due(models: Models | None) -> Callable[[], bool]:
    """For a long run: whether to ask `models` (the worker's) again before the next batch: at once the first time,
    then when MODEL_CHECK_SECONDS have passed. The run lets go of the models it holds before asking, so a worker that
    loads new ones (the active versions changed) never holds two copies."""
    state = {"at": None}

    def due() -> bool:
        if models is None or (state["at"] is not None and time.monotonic() - state["at"] < MODEL_CHECK_SECONDS):
            return False
        state["at"] = time.monotonic()
        return True
    return due


def lease_until(seconds: float | None = None) -> str:
    seconds = CLAIM_LEASE_SECONDS if seconds is None else seconds
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).replace(microsecond=0).isoformat()


def release_dead_claims(store: Store) -> int:
    """Give back at once the batches held by processes of this machine that no longer run (killed, crashed)."""
    from service.jobs import _dead_here

    dead = [w for w in store.claim_holders() if _dead_here(w)]
    released = store.release_claims(dead)
    if released:
        log.warning("%d queued items held by ended processes (%s) are free to annotate again", released,
                    ", ".join(dead))
    return released


def annotate_batch(store: Store, annotator, model_version: str, worker: str, batch_size: int,
                   relevance_settings: RelevanceSettings | None = None, place: Callable[[], list] | None = None
                   ) -> tuple[int, int, list]:
    """Claim one batch, annotate it (no transaction open), write it. With `place` (the one placing writer), what
    is ready is placed in the same transaction as the annotations are written, so a run that is alone leaves
    nothing annotated and unplaced at any commit. Returns (items claimed, items written, what `place` returned)."""
    if annotator is None:   # the models were not loaded (nothing was queued when the job began): claim nothing
        return 0, 0, []
    batch = store.claim_to_annotate(worker, lease_until(), batch_size)
    if not batch:
        return 0, 0, []
    annotations = annotator.annotate([streams.item_text(r) for r in batch])
    rows = [{**ann.to_dict(), "item_id": item["id"]} for item, ann in zip(batch, annotations)]
    relevance = relevance_rows(batch, annotations, relevance_settings)
    with store.transaction():
        written = store.write_claimed_annotations(worker, model_version, rows, relevance)
        placed = place() if place else []
    if len(written) < len(batch):
        log.info("%d of %d claimed items were taken by another worker after the lease ran out",
                 len(batch) - len(written), len(batch))
    return len(batch), len(written), placed


def place_ready(store: Store, placer: "streams.StreamPlacer", limit: int = PLACE_LIMIT) -> list[dict]:
    """Place the annotated items at the head of the queue and take them out of it (call inside a transaction, as
    the one placing writer). Returns the placed items' rows."""
    ready = store.ready_to_place(limit)
    if not ready:
        return []
    pairs = [(item, Annotation(**ann)) for item, ann in ready]
    with store.transaction():
        placer.assign(pairs)
        store.mark_processed([item["id"] for item, _ in pairs])
    return [item for item, _ in pairs]


def annotate_claimed(store: Store, annotator, versions: dict[str, str], worker: str, batch_size: int = 256,
                     relevance_settings: RelevanceSettings | None = None,
                     progress: Callable[[int, "int | None"], None] | None = None,
                     stop: Callable[[], bool] = lambda: False, models: Models | None = None) -> int:
    """A helper's share: claim and annotate batches until nothing is left to claim (placement is the EXCLUSIVE
    job's); how many items this worker annotated. With `models` (the worker's), a change of the active models
    (a promotion on any machine) is followed from the next batch on."""
    from service.registry import model_version_key

    due = models_due(models)
    model_version = model_version_key(versions)
    release_dead_claims(store)
    done = 0
    while not stop():
        if due():
            annotator = None   # let go first (see models_due)
            annotator, versions = models()
            model_version = model_version_key(versions)
        claimed, written, _ = annotate_batch(store, annotator, model_version, worker, batch_size,
                                             relevance_settings)
        if not claimed:
            break
        done += written
        if progress:
            progress(done, None)
    return done


def enqueue_help(store: Store) -> int | None:
    """Queue an `annotate` job when a processing run (an EXCLUSIVE job with a live heartbeat) is going on, items
    wait to be claimed and no such job waits already; the new job's id, or None. Check and insert in one
    transaction, so idle workers asking together queue one."""
    from service import jobs

    if not store.has_claimable():
        return None
    fresh = jobs._ago(jobs.LEASE_SECONDS)
    with store.transaction():
        open_jobs = store.open_jobs(["annotate", *jobs.EXCLUSIVE])
        if not any(j["kind"] in jobs.EXCLUSIVE and j["status"] == "running" and (j["heartbeat_at"] or "") >= fresh
                   for j in open_jobs):
            return None
        if any(j["kind"] == "annotate" and j["status"] == "queued" for j in open_jobs):
            return None
        return jobs.enqueue(store, "annotate", {}, "worker")
