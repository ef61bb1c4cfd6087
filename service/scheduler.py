"""The clock of `pulse serve`: every few minutes a collection cycle (collect → process → detect), the daily briefing,
backups — queued as jobs for the job worker (service/worker.py), which runs them. The functions that run them here
and now (`collection_cycle`, `briefing_job`, `backup_job`) serve the tests and one-off runs.

Each run logs its start, its end with its counts, or its error (service/logs.py)."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler

from service import jobs, pipeline
from service.config import Settings
from service.logs import step
from service.store import Store
from service.timeutil import today_local

log = logging.getLogger("pulse.scheduler")


def run_cycle(store: Store, settings: Settings, holder=None) -> dict:
    """One cycle: collect every enabled source, annotate what is new, detect again today and every local day the
    new items fall on (an item published yesterday but collected today changes yesterday's flags). Each source, the
    processing and each day's detection is a job of its own; `holder` is the job worker that lends its models
    (service/worker.py), else they are loaded for this cycle. Returns the cycle's counts."""
    with step(log, "collection cycle") as counts:
        outcomes = pipeline.collect(store, settings=settings.fetch)   # each source logged (pipeline._record)
        counts.update(sources=len(outcomes), new=sum(o.new for o in outcomes),
                      failed=sum(1 for o in outcomes if o.errors))
        for o in outcomes:   # sources are fetched concurrently: each one's outcome is recorded as its job
            jobs.record_job(store, "collect", {"source": o.source},
                            {"found": o.found, "new": o.new, "not_modified": o.not_modified},
                            error="; ".join(o.errors) or None, requested_by="scheduler")
        job, result = jobs.run_kind(store, settings, "process", {}, "scheduler", reraise=True,
                                    result={"worker": holder} if holder is not None else None)
        done = result["outcome"]
        counts["annotated"] = done.annotated
        detected = []
        days = sorted({str(d) for d in [today_local(), *done.days]})
        oldest = str(today_local() - timedelta(days=pipeline.DETECT_BACK_DAYS))
        late = [d for d in days if not oldest <= d <= str(today_local())]
        if late:
            pipeline.detect_days(store, late, settings.trends)   # only says in the log why they are left out
        for day in (d for d in days if d not in late):   # each day detected is one job
            job, _ = jobs.run_kind(store, settings, "detect", {"first": day}, "scheduler")
            if job["status"] == "done":
                detected.append(day)
        counts["days_detected"] = len(detected)
    return {k: counts[k] for k in ("sources", "new", "failed", "annotated", "days_detected")}


def collection_cycle(settings: Settings) -> None:
    """Run one cycle now, in this process, as a `cycle` job (the server's scheduler queues it for the job worker
    instead: `enqueue`)."""
    try:
        with Store(settings.db_path) as store:
            jobs.run_kind(store, settings, "cycle", {}, "scheduler", reraise=True)
    except Exception:  # a failed cycle is logged (by step) and recorded; the next one runs as usual
        pass


def briefing_job(settings: Settings) -> None:
    """Make every daily briefing that is due and missing (so a 07:00 missed while the server was down is made),
    each day detected once more first (briefing.run_due)."""
    try:
        with step(log, "briefing job") as counts, Store(settings.db_path) as store:
            job, result = jobs.run_kind(store, settings, "briefing", {}, "scheduler", reraise=True)
            counts["made"] = len(result["made"])
    except Exception:
        pass   # logged by step; tried again at the next run


def backup_job(settings: Settings) -> None:
    """The daily backup (`[backup] daily = true`), with its retention; a failure is logged, the server goes on."""
    try:
        with Store(settings.db_path) as store:
            jobs.run_kind(store, settings, "backup", {}, "scheduler", reraise=True)
    except Exception:
        log.exception("daily backup failed")


def enqueue(settings: Settings, kind: str, notify: Callable[[], None] | None = None) -> int | None:
    """Queue a job of `kind` for the job worker, unless one is already waiting or running (a cycle that waits
    covers the next one too); `notify` wakes the worker. Returns the new job's id, or None."""
    try:
        with Store(settings.db_path) as store, store.transaction():   # the check and the insert at once
            if jobs.open_job(store, [kind]) is not None:
                log.info("a %s job is already queued or running; none added", kind)
                return None
            job_id = jobs.enqueue(store, kind, {}, requested_by="scheduler")
    except Exception:
        log.exception("could not queue a %s job", kind)
        return None
    if notify is not None:
        notify()
    return job_id


def start(settings: Settings, notify: Callable[[], None] | None = None) -> BackgroundScheduler:
    """The server's clock: it only QUEUES the cycle, the 07:00 briefing and the daily backup as jobs; the job worker
    (service/worker.py, one process holding the models) runs them. `notify` wakes the worker at once."""
    from service.datadir import use

    use(settings)
    scheduler = BackgroundScheduler(timezone=settings.timezone)
    first_cycle = datetime.now(timezone.utc) + timedelta(seconds=30)  # collect soon after start, then regularly
    scheduler.add_job(enqueue, "interval", minutes=settings.collect_every_minutes, args=[settings, "cycle", notify],
                      id="collect", max_instances=1, coalesce=True, next_run_time=first_cycle)
    hour, minute = (int(x) for x in settings.briefing_time.split(":"))
    scheduler.add_job(enqueue, "cron", hour=hour, minute=minute, args=[settings, "briefing", notify], id="briefing",
                      max_instances=1, coalesce=True, misfire_grace_time=3600)
    if settings.backup.daily:
        hour, minute = (int(x) for x in settings.backup.at.split(":"))
        scheduler.add_job(enqueue, "cron", hour=hour, minute=minute, args=[settings, "backup", notify], id="backup",
                          max_instances=1, coalesce=True, misfire_grace_time=3600)
    # alerts (service/alerts.py): notifications and e-mails due, as a job every few minutes
    scheduler.add_job(enqueue, "interval", minutes=settings.alerts.every_minutes, args=[settings, "alerts", notify],
                      id="alerts", max_instances=1, coalesce=True)
    # catch up at start: a briefing missed while the server was down is made now
    scheduler.add_job(enqueue, "date", args=[settings, "briefing", notify], id="briefing-catch-up")
    scheduler.start()
    return scheduler
