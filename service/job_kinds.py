"""Pulse's kinds of job: each a factory `(store, settings, result) -> work(params, progress) -> counts`, registered
with service/jobs.py so the CLI, the scheduler and `pulse jobs retry` run the same code. What a work produced for
its caller to print (outcomes, flags, files) goes into `result`."""
from __future__ import annotations

import logging
from pathlib import Path

from service.jobs import register
from service.logs import step

log = logging.getLogger("pulse.pipeline")


class SourcesFailed(Exception):
    """Every source of a collection failed: the job is failed (its outcomes are still in `result`)."""


def collect(store, settings, result):
    def work(params, progress):
        from service import pipeline

        outcomes = pipeline.collect(store, source=params.get("source"), settings=settings.fetch)
        result["outcomes"] = outcomes
        if outcomes and all(o.errors for o in outcomes):
            raise SourcesFailed("; ".join(e for o in outcomes for e in o.errors)[:2000])
        return {"sources": len(outcomes), "found": sum(o.found for o in outcomes),
                "new": sum(o.new for o in outcomes), "failed": sum(1 for o in outcomes if o.errors)}
    return work


def process(store, settings, result):
    """Annotate and place what is queued. A process kind is EXCLUSIVE (service/jobs.py): one run at a time over the
    store, whatever process runs it."""
    def work(params, progress):
        from service.modelsync import models_home
        from service.pipeline import process as run_process
        from service.registry import active_versions

        annotator = None
        holder = result.get("worker")   # the job worker's models, loaded once and kept (service/worker.py)
        queued = store.count_to_process()
        if queued and holder:   # the run asks the worker for its models before each batch (never held here: a
            versions = holder.models()[1]   # promotion meanwhile, on any machine, swaps them: batches.models_due)
        elif queued:
            annotator, versions = _load(settings, store)
        else:   # nothing queued: the models are not even loaded
            versions = active_versions(models_home(store, settings))
        hook = result.get("on_progress")

        def both(done, total):
            if hook:
                hook(done, total)
            progress(done, total)

        outcome = run_process(store, annotator, versions, batch_size=int(params.get("batch_size", 256)),
                              stream_settings=settings.streams, relevance_settings=settings.relevance,
                              progress=both, worker=holder.id if holder else None,
                              models=holder.models if holder else None)
        result["outcome"] = outcome
        return {"annotated": outcome.annotated, "days": len(outcome.days)}
    return work


def detect(store, settings, result):
    """Trends over a range of local days (`first`, `last`); the scheduler runs it one day at a time."""
    def work(params, progress):
        from service import trends
        from service.timeutil import parse_day

        first, last = parse_day(params["first"]), parse_day(params.get("last") or params["first"])
        with step(log, "detection", day=first.isoformat() if first == last else f"{first}..{last}") as counts:
            flags = trends.detect(store, first, last, settings.trends)
            counts["flags"] = len(flags)
        result["flags"] = flags
        return {"flags": len(flags)}
    return work


def brief(store, settings, result):
    def work(params, progress):
        from service import briefing
        from service.timeutil import parse_day

        ref = parse_day(params["day"])
        if params.get("period", "day") == "day":
            data = briefing.make(store, ref, settings)
        else:
            data = briefing.period_report(store, params.get("unit") or "caobang", params["period"], ref, settings)
        paths = briefing.write_files(data, Path(params["out"]), list(params["formats"]))
        result["paths"] = paths
        return {"files": len(paths), "items": (data.get("total") or {}).get("count", 0)}
    return work


def daily_briefing(store, settings, result):
    """The scheduler's briefings: every due and missing day, each detected once more first; then the units'
    reports due (service/unitreports.py: on the 1st the month before, ahead of the annual report's day) that have
    no draft yet are drafted."""
    def work(params, progress):
        from service import briefing, unitreports
        from service.timeutil import today_local

        made = briefing.run_due(store, settings)
        result["made"] = made
        drafted = unitreports.draft_due(store, settings, today_local())
        return {"made": len(made), "reports_drafted": drafted}
    return work


def backup(store, settings, result):
    def work(params, progress):
        from service import backup as backups

        if params.get("file"):
            outcome = backups.backup(settings.db_path, params["file"])
        else:
            outcome = backups.daily_backup(settings)
        result["outcome"] = outcome
        return {"bytes": outcome.bytes, "seconds": round(outcome.seconds, 2)}
    return work


for _kind, _factory in {"collect": collect, "process": process, "detect": detect, "brief": brief,
                        "briefing": daily_briefing, "backup": backup}.items():
    register(_kind, _factory)


# --- the kinds the job worker runs for the scheduler and the web app (service/worker.py) ---------------------------


def cycle(store, settings, result):
    """One collection cycle: collect every source, process what is new, detect each day it falls on
    (service/scheduler.run_cycle); each step is a job of its own."""
    def work(params, progress):
        from service import scheduler

        return scheduler.run_cycle(store, settings, result.get("worker"))
    return work


def intake(store, settings, result):
    """A batch of collaborators' submissions: annotated, placed, their days detected (service/intake.py)."""
    def work(params, progress):
        from service.intake import drain_batch

        holder = result.get("worker")
        annotator, versions = holder.models() if holder else _load(settings, store)
        return drain_batch(store, settings, annotator, versions)
    return work


def _load(settings, store):
    """The active models of the data folder, synced with the store's registry first (service/modelsync.py)."""
    from service.modelsync import models_home
    from service.pipeline import load_annotator

    return load_annotator(models_home(store, settings))


TRAIN_STEPS = 4   # the lines train_candidate logs: labels, seed sample, fitted; then the card written


def train(store, settings, result):
    """A topic candidate from the board's labels (service/retrain.py); its log lines are the job's, each a step of
    its progress bar."""
    def work(params, progress):
        from service import retrain
        from service.datadir import data_dir, taxonomy_file, writable_models_home

        if not params.get("from_labels"):   # `pulse train TASK --dataset …` runs in its command, not here
            raise ValueError("this training was started by `pulse train`; run that command again")

        def log_line(line):
            progress.log(line)
            progress(min(len(progress.lines), TRAIN_STEPS - 1), TRAIN_STEPS)

        progress(0, TRAIN_STEPS)
        summary = retrain.train_candidate(
            store, writable_models_home(settings), data_dir(settings), params.get("user") or "system",
            version=params.get("version"), seed_leads_n=int(params.get("seed_leads") or retrain.SEED_LEADS),
            log=log_line, taxonomy_file=taxonomy_file(settings),
            corpus_dir=Path(settings.datasets_dir) / retrain.SEED_CORPUS)
        progress(TRAIN_STEPS, TRAIN_STEPS)
        result["summary"] = summary
        return {"version": summary["version"], "seconds": summary["total_seconds"]}
    return work


def promote(store, settings, result):
    """Make a model version active and re-annotate its window (retrain.REANNOTATE_DAYS), as a job of the worker,
    which lets go of its models first: the re-annotation loads the new ones (one copy in memory at a time)."""
    def work(params, progress):
        from service import retrain
        from service.datadir import writable_models_home

        holder = result.get("worker")
        if holder:
            holder.drop_models()
        progress.log(f"{params.get('task', 'topic')} {params['version']}: re-annotating the items of the last "
                     f"{int(params.get('days') or retrain.REANNOTATE_DAYS)} days")
        out = retrain.promote(store, writable_models_home(settings), params.get("task", "topic"), params["version"],
                              params.get("user") or "system", force=bool(params.get("force")),
                              since_day=params.get("since"), days=int(params.get("days") or retrain.REANNOTATE_DAYS))
        result["outcome"] = out
        return _switched(out)
    return work


def _switched(out) -> dict:
    """The counts of a promotion or rollback job."""
    return {"version": out.version, "previous": out.previous or "", "reannotated": out.reannotated,
            "facts_updated": out.facts_updated}


def rollback(store, settings, result):
    def work(params, progress):
        from service import retrain
        from service.datadir import writable_models_home

        holder = result.get("worker")
        if holder:
            holder.drop_models()
        out = retrain.rollback(store, writable_models_home(settings), params.get("task", "topic"),
                               params.get("user") or "system", since_day=params.get("since"),
                               days=int(params.get("days") or retrain.REANNOTATE_DAYS))
        result["outcome"] = out
        return _switched(out)
    return work


for _kind, _factory in {"cycle": cycle, "intake": intake, "train": train, "promote": promote,
                        "rollback": rollback}.items():
    register(_kind, _factory)


# --- alerts (issue 16.3, service/alerts.py, service/mail.py) ---------------------------------------------------------
def alerts(store, settings, result):
    """Make the notifications that are due, then send the e-mails that are due (a failed send fails the job with
    its reason; the e-mail waits for its next attempt)."""
    def work(params, progress):
        from service import alerts as alerting
        from service.mail import send_due

        counts = alerting.scan(store, settings)
        result["counts"] = counts
        counts.update(send_due(store, settings))
        return counts
    return work


def mail(store, settings, result):
    """Send the e-mails that are due; failed ones wait for their next attempt and the job says why."""
    def work(params, progress):
        from service.mail import send_due

        counts = send_due(store, settings)
        result["counts"] = counts
        return counts
    return work


register("alerts", alerts)
register("mail", mail)


# --- the search index of items stored before it existed (Store.backfill_search_index), run by `pulse init` --------
def search_backfill(store, settings, result):
    def work(params, progress):
        indexed = store.backfill_search_index(progress=progress)
        result["indexed"] = indexed
        return {"indexed": indexed}
    return work


register("search_backfill", search_backfill)


# --- the labelling queue's scores (service/labelqueue.py): the topic model is read by the worker, not the web app ---
def label_pool(store, settings, result):
    def work(params, progress):
        from service.labelqueue import WORKER_POOL, score_pool, write_pool
        from service.modelsync import models_home

        scores = score_pool(store, models_home(store, settings), pool=int(params.get("pool") or WORKER_POOL))
        write_pool(settings, scores)
        return {"items": len(scores["items"]), "version": scores["version"]}
    return work


register("label_pool", label_pool)


# --- a candidate model against the active one on today's held-out labels (the analysts' model page) ---------------
def compare(store, settings, result):
    def work(params, progress):
        import json

        from service import retrain
        from service.datadir import data_dir
        from service.modelsync import models_home

        check = retrain.compare_with_active(store, models_home(store, settings), params["version"])
        path = retrain.comparison_file(data_dir(settings) / "cache", params["version"])
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"check": check, "active": params.get("active"),
                                   "fingerprint": params.get("fingerprint")}, ensure_ascii=False, default=str),
                       encoding="utf-8")
        tmp.replace(path)
        return {"version": params["version"], "items": check["candidate"].get("n", 0)}
    return work


register("compare", compare)


# --- a worker's share of a processing run (service/batches.py): annotate claimed batches; the EXCLUSIVE run places ---
def annotate(store, settings, result):
    """Claim and annotate batches of the processing queue until none is left to claim. Not exclusive: every worker
    may run one beside the `process` or `intake` job that places what they annotate."""
    def work(params, progress):
        from service.batches import annotate_claimed
        from service.jobs import worker_id

        if not store.has_claimable():
            return {"annotated": 0}
        holder = result.get("worker")
        annotator, versions = (None, holder.models()[1]) if holder else _load(settings, store)   # as in `process`
        done = annotate_claimed(store, annotator, versions, holder.id if holder else worker_id(),
                                batch_size=int(params.get("batch_size", 256)), relevance_settings=settings.relevance,
                                progress=progress, stop=result.get("stop") or (lambda: False),
                                models=holder.models if holder else None)
        return {"annotated": done}
    return work


register("annotate", annotate)
