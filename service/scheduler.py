"""Background jobs of `pulse serve`: collect → process → detect, every few minutes."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler

from service import pipeline, trends
from service.config import Settings
from service.intake import processing_lock
from service.store import Store
from service.timeutil import today_local

log = logging.getLogger("pulse.scheduler")
_models: dict = {}   # the annotator of the last cycle, kept while the same model versions stay active


def _annotator(settings: Settings):
    """The active models, loaded once and again only after a promotion or rollback changes them."""
    from service.registry import active_versions

    versions = active_versions(settings.models_dir)
    if _models.get("versions") != versions:
        _models["annotator"], _models["versions"] = pipeline.load_annotator(settings.models_dir)
    return _models["annotator"], _models["versions"]


def collection_cycle(settings: Settings) -> None:
    """One cycle: collect every enabled source, annotate what is new, detect trends for today."""
    store = Store(settings.db_path)
    try:
        outcomes = pipeline.collect(store, settings=settings.fetch)
        for o in outcomes:
            for err in o.errors:
                log.warning(err)
        annotator, versions = _annotator(settings)
        with processing_lock(settings.db_path):   # the submission worker places items too
            pipeline.process(store, annotator, versions, stream_settings=settings.streams,
                             relevance_settings=settings.relevance)
        day = today_local()
        trends.detect(store, day, day, settings.trends)
    except Exception:  # a failed cycle is logged; the next one runs as usual
        log.exception("collection cycle failed")
    finally:
        store.close()


def briefing_job(settings: Settings) -> None:
    """Make every daily briefing that is due and missing (so a 07:00 missed while the server was down is made)."""
    from service import briefing

    with Store(settings.db_path) as store:
        made = briefing.run_due(store, settings)
    if made:
        log.info("briefings made: %s", ", ".join(d.isoformat() for d in made))


def backup_job(settings: Settings) -> None:
    """The daily backup (`[backup] daily = true`), with its retention; a failure is logged, the server goes on."""
    from service.backup import daily_backup

    try:
        daily_backup(settings)
    except Exception:
        log.exception("daily backup failed")


def start(settings: Settings) -> BackgroundScheduler:
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
    # catch up at start: a briefing missed while the server was down is made now
    scheduler.add_job(briefing_job, "date", args=[settings], id="briefing-catch-up")
    scheduler.start()
    return scheduler
