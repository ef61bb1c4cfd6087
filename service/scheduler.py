"""Background jobs of `pulse serve`: collect → process → detect, every few minutes; the daily briefing; backups.

Each run logs its start, its end with its counts, or its error (service/logs.py)."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler

from service import jobs, pipeline
from service.config import Settings
from service.datadir import models_home
from service.logs import step
from service.registry import active_versions
from service.store import Store
from service.timeutil import today_local

log = logging.getLogger("pulse.scheduler")
_models: dict = {}   # the annotator of the last cycle, kept while the same model versions stay active


def _annotator(settings: Settings):
    """The active models, loaded once and again only after a promotion or rollback changes them."""
    home = models_home(settings)
    versions = active_versions(home)
    if _models.get("versions") != versions:
        _models["annotator"], _models["versions"] = pipeline.load_annotator(home)
    return _models["annotator"], _models["versions"]


def collection_cycle(settings: Settings) -> None:
    """One cycle: collect every enabled source, annotate what is new, detect again today and every local day the
    new items fall on (an item published yesterday but collected today changes yesterday's flags)."""
    store = Store(settings.db_path)
    try:
        with step(log, "collection cycle") as counts:
            outcomes = pipeline.collect(store, settings=settings.fetch)   # each source logged (pipeline._record)
            counts.update(sources=len(outcomes), new=sum(o.new for o in outcomes),
                          failed=sum(1 for o in outcomes if o.errors))
            for o in outcomes:   # sources are fetched concurrently: each one's outcome is recorded as its job
                jobs.record_job(store, "collect", {"source": o.source},
                                {"found": o.found, "new": o.new, "not_modified": o.not_modified},
                                error="; ".join(o.errors) or None, requested_by="scheduler")
            if store.count_to_process():
                annotator, versions = _annotator(settings)
            else:   # nothing new: the models are not loaded for nothing (the queue is an index read)
                annotator, versions = None, active_versions(models_home(settings))
            job, result = jobs.run_kind(store, settings, "process", {}, "scheduler", reraise=True,
                                        result={"annotator": annotator, "versions": versions})
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
    except Exception:  # a failed cycle is logged (by step); the next one runs as usual
        pass
    finally:
        store.close()


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


def alerts_job(settings: Settings) -> None:
    """Notifications and e-mails due (service/alerts.py, service/mail.py), as an `alerts` job; a failed send is
    recorded on the job and the e-mail waits for its next attempt."""
    try:
        with Store(settings.db_path) as store:
            jobs.run_kind(store, settings, "alerts", {}, "scheduler")
    except Exception:
        log.exception("alerts job failed")


def start(settings: Settings) -> BackgroundScheduler:
    from service.datadir import use

    use(settings)
    scheduler = BackgroundScheduler(timezone=settings.timezone)
    first_cycle = datetime.now(timezone.utc) + timedelta(seconds=30)  # collect soon after start, then regularly
    scheduler.add_job(collection_cycle, "interval", minutes=settings.collect_every_minutes, args=[settings],
                      id="collect", max_instances=1, coalesce=True, next_run_time=first_cycle)
    hour, minute = (int(x) for x in settings.briefing_time.split(":"))
    scheduler.add_job(briefing_job, "cron", hour=hour, minute=minute, args=[settings], id="briefing",
                      max_instances=1, coalesce=True, misfire_grace_time=3600)
    if settings.backup.daily:
        hour, minute = (int(x) for x in settings.backup.at.split(":"))
        scheduler.add_job(backup_job, "cron", hour=hour, minute=minute, args=[settings], id="backup",
                          max_instances=1, coalesce=True, misfire_grace_time=3600)
    scheduler.add_job(alerts_job, "interval", minutes=settings.alerts.every_minutes, args=[settings], id="alerts",
                      max_instances=1, coalesce=True)
    # catch up at start: a briefing missed while the server was down is made now
    scheduler.add_job(briefing_job, "date", args=[settings], id="briefing-catch-up")
    scheduler.start()
    return scheduler
