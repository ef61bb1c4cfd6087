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
    def work(params, progress):
        from service.datadir import models_home
        from service.intake import processing_lock
        from service.pipeline import load_annotator, process as run_process
        from service.registry import active_versions

        annotator = result.get("annotator")
        if annotator is not None:   # the scheduler's annotator, kept across cycles
            versions = result["versions"]
        elif store.count_to_process():
            annotator, versions = load_annotator(models_home(settings))
        else:   # nothing queued: the models are not even loaded
            versions = active_versions(models_home(settings))
        hook = result.get("on_progress")

        def both(done, total):
            if hook:
                hook(done, total)
            progress(done, total)

        with processing_lock(settings.db_path):   # the submission worker places items too
            outcome = run_process(store, annotator, versions, batch_size=int(params.get("batch_size", 256)),
                                  stream_settings=settings.streams, relevance_settings=settings.relevance,
                                  progress=both)
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
