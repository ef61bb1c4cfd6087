"""The work of Pulse: collect → store → annotate → stream. Each step is a function over the store.

A national deployment can run these same functions from a task queue; nothing here holds state between calls
except the long-lived HTTP client (`http_client`), whose robots.txt cache and Retry-After memory outlive a cycle.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from collectors import CollectResult, SourceConfig, collect_source
from collectors.columns import match_unit, parse_mapping
from collectors.dates import parse_report_date
from collectors.files import ImportLimits, ReadOptions, csv_header_fields, read_observations, read_timeline
from collectors.http import HttpClient, user_agent
from collectors.netguard import url_refusal
from service import boilerplate, streams
from service.config import FetchSettings, ImportSettings, RelevanceSettings, StreamSettings
from service.relevance import backfill_relevance
from service.registry import model_version_key
from service.store import Store, utcnow

Progress = Callable[[int, int], None]
log = logging.getLogger("pulse.pipeline")


class UserError(Exception):
    """A mistake a user can make (unknown source, missing file); its message is one plain sentence."""


@dataclass
class SourceOutcome:
    source: str
    found: int = 0
    new: int = 0
    not_modified: bool = False
    errors: list[str] = field(default_factory=list)
    retry_after: datetime | None = None  # the source asked not to be fetched again before this time (UTC)


@dataclass
class ImportOutcome:
    read: int = 0
    new: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: int = 0  # rows that are not data (totals, headings, column numbers)
    warnings: list[str] = field(default_factory=list)  # imported, but something to look at (unknown unit names)


@dataclass
class ProcessOutcome:
    annotated: int = 0
    model_version: str = ""
    days: list[str] = field(default_factory=list)   # the local days the processed items fall on (to detect again)


class StoredUrls:
    """`url in StoredUrls(store)` asks the store, so collectors skip pages already stored without loading every URL."""

    def __init__(self, store: Store):
        self.store = store

    def __contains__(self, url: object) -> bool:
        return isinstance(url, str) and self.store.has_url(url)

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0


def source_config(row: dict) -> SourceConfig:
    config = row.get("config") or {}
    return SourceConfig(name=row["name"], kind=row["kind"], url=row["url"], title=row.get("title", ""),
                        full_text=bool(config.get("full_text")), selectors=config.get("selectors") or {},
                        verified=bool(row.get("verified", 1)), enabled=bool(row.get("enabled", 1)))


def http_client(settings: FetchSettings | None = None) -> HttpClient:
    """The collectors' HTTP client for these settings, kept for the life of the process so robots.txt stays cached
    (until it expires) and a host that said Retry-After stays skipped across cycles."""
    settings = settings or FetchSettings()
    key = repr(settings)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = HttpClient(
                connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout,
                total_timeout=settings.deadline_seconds, host_budget=settings.host_budget_seconds,
                max_retry_after=settings.max_retry_after_seconds, min_interval=settings.min_interval_seconds,
                retries=settings.retries, max_bytes=settings.max_bytes, allowed_hosts=settings.allowed_hosts,
                user_agent=user_agent(settings.contact))
        return client


_clients: dict[str, HttpClient] = {}
_clients_lock = threading.Lock()


def source_url_problem(url: str, settings: FetchSettings | None = None) -> str | None:
    """Why a source address must not be added (it points to an internal address), in English; None when fine."""
    settings = settings or FetchSettings()
    return url_refusal(url, settings.allowed_hosts)


@dataclass
class _Fetched:
    row: dict
    result: CollectResult
    started: str
    finished: str
    duration: float


def _collect_host(store_path: Path, rows: list[dict], client: HttpClient, shared: Store) -> list[_Fetched]:
    """One host's sources, one after the other (politeness); runs on a worker thread and only reads the store,
    through its own connection."""
    reader = Store(store_path) if str(store_path) != ":memory:" else shared
    try:
        done = []
        for row in rows:
            started, t0 = utcnow(), time.monotonic()
            log.info("collecting %s", row["name"],
                     extra={"pulse": {"step": "collection", "event": "start", "source": row["name"]}})
            try:
                result = collect_source(source_config(row), client, etag=row.get("etag"),
                                        last_modified=row.get("last_modified"), known_urls=StoredUrls(reader))
            except Exception as exc:  # a collector bug must not stop the other sources
                result = CollectResult(source=row["name"], errors=[f"{row['name']}: collector failed ({exc!r})."])
            done.append(_Fetched(row, result, started, utcnow(), time.monotonic() - t0))
        return done
    finally:
        if reader is not shared:
            reader.close()


def collect(store: Store, source: str | None = None, client: HttpClient | None = None,
            settings: FetchSettings | None = None) -> list[SourceOutcome]:
    """Run the collectors of every enabled source (or one named source); one failing source never stops the rest.

    Hosts are fetched at the same time (at most `settings.workers`), each host's sources one after another;
    every store write happens here, on the calling thread, as each host finishes.
    """
    settings = settings or FetchSettings()
    if source is not None:
        row = store.source(source)
        if row is None:
            known = ", ".join(r["name"] for r in store.sources()) or "none"
            raise UserError(f"There is no source named {source!r} (known sources: {known}).")
        rows = [row]
    else:
        rows = store.sources(enabled_only=True)
    client = client or http_client(settings)
    client.start_cycle()
    by_host: dict[str, list[dict]] = {}
    outcomes: dict[str, SourceOutcome] = {}
    now = utcnow()
    for row in rows:
        until = (row.get("config") or {}).get("retry_after")
        if until and until > now:  # the site asked not to be fetched before then (a Retry-After, kept in the store)
            outcomes[row["name"]] = SourceOutcome(row["name"], errors=[
                f"{row['name']}: skipped until {until} (the site asked Pulse to wait, Retry-After)."],
                retry_after=datetime.fromisoformat(until))
            continue
        by_host.setdefault(_host_of(row["url"]), []).append(row)
    if by_host:
        with ThreadPoolExecutor(max_workers=max(1, min(settings.workers, len(by_host))),
                                thread_name_prefix="pulse-collect") as pool:
            futures = {pool.submit(_collect_host, store.path, host_rows, client, store): host_rows
                       for host_rows in by_host.values()}
            for future in as_completed(futures):
                try:
                    done = future.result()
                except Exception as exc:  # the host's thread itself failed: its sources say so, others go on
                    now = utcnow()
                    done = [_Fetched(row, CollectResult(source=row["name"], errors=[
                        f"{row['name']}: collection failed ({type(exc).__name__}: {exc})."]), now, now, 0.0)
                        for row in futures[future]]
                for fetched in done:
                    outcomes[fetched.row["name"]] = _record(store, fetched)
    return [outcomes[row["name"]] for row in rows if row["name"] in outcomes]


def _record(store: Store, fetched: _Fetched) -> SourceOutcome:
    row, result = fetched.row, fetched.result
    new_ids = store.add_items(result.items) if result.items else []
    boilerplate.learn_new(store, new_ids)   # outlets' repeated lines, for clean quotes
    if result.etag or result.last_modified:
        store.set_source_validators(row["name"], result.etag, result.last_modified)
    if result.retry_after is not None or (row.get("config") or {}).get("retry_after"):
        store.set_source_retry_after(row["name"], result.retry_after.replace(microsecond=0).isoformat()
                                     if result.retry_after else None)
    store.record_run(row["name"], fetched.started, fetched.finished, ok=result.ok, found=len(result.items),
                     new=len(new_ids), not_modified=result.not_modified, errors=result.errors,
                     duration=fetched.duration)
    fields = {"step": "collection", "source": row["name"], "found": len(result.items), "new": len(new_ids),
              "not_modified": result.not_modified, "errors": len(result.errors), "seconds": round(fetched.duration, 3)}
    for err in result.errors:
        log.warning(err, extra={"pulse": {**fields, "event": "error"}})
    log.info("collected %s in %.1f s: %s, %d error(s)", row["name"], fetched.duration,
             "not modified" if result.not_modified else f"found {len(result.items)}, new {len(new_ids)}",
             len(result.errors), extra={"pulse": {**fields, "event": "end"}})
    return SourceOutcome(row["name"], len(result.items), len(new_ids), result.not_modified, result.errors,
                         retry_after=result.retry_after)


def _host_of(url: str) -> str:
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return url


def source_health(store: Store, days: int = 31) -> list[dict]:
    """Every source with its last run and a health verdict (failed runs in a row, or an unusual daily count)."""
    from datetime import timedelta

    from collectors.health import verdict
    from service.timeutil import day_bounds, days_between, today_local

    today = today_local()
    first = today - timedelta(days=days)
    since, _ = day_bounds(first)
    out = []
    for row in store.sources():
        runs = list(reversed(store.runs(row["name"], limit=50)))
        per_day = store.source_daily_new(row["name"], since)
        since_first_run = min(per_day, default=today.isoformat())   # days before a source existed are not zeros
        counts = [per_day.get(d.isoformat(), 0) for d in days_between(first, today - timedelta(days=1))
                  if d.isoformat() >= since_first_run]
        health = verdict(runs, counts)
        out.append({**row, "last_run": runs[-1] if runs else None, "healthy": health.healthy,
                    "health": health.reason, "verdict": health})
    return out


OBSERVATIONS_SOURCE = "Báo cáo đơn vị"  # source of imported unit reports unless --source says otherwise


def guess_kind(path: Path) -> str | None:
    """What a file holds when `--kind` is not given: a JSONL is a timeline, a DOCX or XLSX a unit's report; a CSV
    is a report unless it has a link column (then it may be news, and we cannot tell)."""
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "timeline"
    if suffix in (".docx", ".xlsx", ".xlsm"):
        return "observations"
    if suffix in (".csv", ".tsv", ".txt"):
        fields = csv_header_fields(path)
        return None if fields is None or "url" in fields else "observations"
    return None


def import_file(store: Store, path: Path, kind: str | None = "timeline", source: str | None = None,
                settings: ImportSettings | None = None, mapping: list[str] | None = None,
                default_date: str | None = None) -> ImportOutcome:
    """Import a timeline JSONL or a collaborators' report file in one store call (one transaction): unreadable
    lines and rows are reported with their numbers, the good ones stored. A file refused as a whole (too big, a zip
    bomb, unreadable, an unknown type) raises UserError and stores nothing.

    `kind` None: guessed from the file (`guess_kind`), UserError when it cannot be told. `mapping` is `--map`
    (["COLUMN=FIELD"]); `default_date` (`--date`) dates the rows that have none. Reports are deduplicated by their
    content and unit, so importing a renamed copy stores nothing twice.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"The file {path} does not exist.")
    if kind is None:
        kind = guess_kind(path)
        if kind is None:
            raise UserError(f"Cannot tell whether {path.name} holds collaborators' observations or news items; "
                            "say which with --kind observations or --kind timeline.")
    settings = settings or ImportSettings()
    limits = ImportLimits(max_file_bytes=settings.max_file_bytes, max_rows=settings.max_rows,
                          max_text_chars=settings.max_text_chars, max_unpacked_bytes=settings.max_unpacked_bytes)
    try:
        options = ReadOptions(mapping=parse_mapping(mapping),
                              default_date=parse_report_date(default_date) if default_date else None)
    except ValueError as exc:
        raise UserError(f"{exc}.") from None
    if kind == "timeline":
        if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
            result = read_timeline(path, default_source=source or path.stem, limits=limits)
        else:
            result = read_observations(path, default_source=source or path.stem, limits=limits, options=options)
            for item in result.items:
                item.kind = "article"
    elif kind == "observations":
        result = read_observations(path, default_source=source or OBSERVATIONS_SOURCE, limits=limits,
                                   options=options)
        for item in result.items:
            item.extra.setdefault("file", path.name)
    else:
        raise UserError(f"Unknown import kind {kind!r}: use observations or timeline.")
    if result.refused:
        raise UserError(" ".join(result.errors))
    warnings = map_units(result.items, [(u["code"], u["name"]) for u in store.org_units()])
    new_ids = store.add_items(result.items) if result.items else []
    boilerplate.learn_new(store, new_ids)   # outlets' repeated lines, for clean quotes
    return ImportOutcome(read=len(result.items), new=len(new_ids), errors=result.errors, skipped=result.skipped,
                         warnings=warnings)


def map_units(items: list, units: list[tuple[str, str]]) -> list[str]:
    """Unit names as typed → unit codes (the name as written kept in extra); one warning per unknown name, which
    stays as written for an admin to map later."""
    unknown: dict[str, list[str]] = {}
    for item in items:
        if not item.org_unit:
            continue
        code = match_unit(item.org_unit, units)
        if code is None:
            where = item.extra.get("row")
            unknown.setdefault(item.org_unit, []).append(str(where) if where else "")
        elif code != item.org_unit:
            item.extra["unit_as_written"] = item.org_unit
            item.org_unit = code
    warnings = []
    for name, rows in unknown.items():
        numbered = [r for r in rows if r]
        at = f" (rows {', '.join(numbered[:10])}{', …' if len(numbered) > 10 else ''})" if numbered else ""
        warnings.append(f"unit «{name}»{at} is not one of Pulse's units; kept as written for an admin to map.")
    return warnings


def process(store: Store, annotator, versions: dict[str, str], batch_size: int = 256,
            progress: Progress | None = None, stream_settings: StreamSettings | None = None,
            relevance_settings: RelevanceSettings | None = None, worker: str | None = None,
            wait_poll: float = 0.2, models: Callable[[], tuple] | None = None) -> ProcessOutcome:
    """Annotate every item waiting in the store's processing queue with the active models, score its relevance,
    place it in its stream. The caller is the one placing writer (an EXCLUSIVE job, service/jobs.py); other workers
    may annotate claimed batches of the same queue meanwhile (service/batches.py): this run places their items too,
    in queue order, and waits for the batches they hold.

    Alone, each batch is annotated and placed in one transaction, so a run killed half-way leaves nothing annotated
    but unplaced. The queue is an index read: with nothing to do this returns at once, whatever the size of the
    history. A change of models re-annotates nothing by itself (a promotion re-annotates its window,
    `retrain.reannotate`); with `models` (the worker's, synced with the store's registry) a run follows a promotion
    made meanwhile, on any machine, from its next batch on (batches.models_due). Items that lack their relevance
    (processed before it existed) get it at the end."""
    from service import batches
    from service.jobs import worker_id

    model_version = model_version_key(versions)
    total = store.count_to_process()
    done = 0
    days: set[str] = set()
    if total == 0:
        if store.has_relevance_gaps():
            backfill_relevance(store, relevance_settings)
            store.clear_relevance_gaps()
        return ProcessOutcome(annotated=0, model_version=model_version)
    log.info("processing %d queued items with %s", total, model_version,
             extra={"pulse": {"step": "process", "event": "start", "queued": total, "model_version": model_version}})
    t0 = time.monotonic()
    worker = worker or worker_id()
    # keeps the active streams in memory for the whole run, and for the next run in this process when nothing else
    # has written streams in between
    placer = streams.StreamPlacer.resume(store, stream_settings)

    def place() -> list[dict]:
        return batches.place_ready(store, placer)

    batches.release_dead_claims(store)
    due = batches.models_due(models)
    while True:
        if due():
            annotator = None   # let go first: the worker never holds two copies (batches.models_due)
            annotator, versions = models()
            model_version = model_version_key(versions)
        claimed, _, placed = batches.annotate_batch(store, annotator, model_version, worker, batch_size,
                                                    relevance_settings, place=place)
        if not claimed:
            with store.transaction():
                placed = place()
            if not placed:
                if not store.claim_holders():
                    break   # nothing to claim, nothing ready, nobody holding a batch: the queue is done
                time.sleep(wait_poll)   # other workers annotate batches: wait for them (or for their leases)
                batches.release_dead_claims(store)
                continue
        done += len(placed)
        days.update(item["day"] for item in placed)
        log.debug("placed a batch of %d items (%d/%d)", len(placed), done, total)
        if progress and placed:
            progress(min(done, total), max(total, done))
    if store.has_relevance_gaps():
        backfill_relevance(store, relevance_settings)
        store.clear_relevance_gaps()
    log.info("processed %d items in %.1f s (days %s)", done, time.monotonic() - t0, ", ".join(sorted(days)),
             extra={"pulse": {"step": "process", "event": "end", "annotated": done, "days": sorted(days),
                              "seconds": round(time.monotonic() - t0, 3), "model_version": model_version}})
    return ProcessOutcome(annotated=done, model_version=model_version, days=sorted(days))


DETECT_BACK_DAYS = 31   # a cycle detects again the days of its new items up to this far back (older: `pulse trends`)


def detect_days(store: Store, days, settings) -> list[str]:
    """Run the detectors over each of these local days (YYYY-MM-DD or date), each logged with its flags; days in the
    future or more than DETECT_BACK_DAYS back are left out. Returns the days detected."""
    from datetime import date, timedelta

    from service import trends
    from service.logs import step
    from service.timeutil import today_local

    today = today_local()
    oldest = today - timedelta(days=DETECT_BACK_DAYS)
    wanted = sorted({d if isinstance(d, date) else date.fromisoformat(d) for d in days})
    skipped = [d for d in wanted if not oldest <= d <= today]
    if skipped:
        log.info("late items of %d day(s) outside the last %d days are not detected again (%s … %s); run "
                 "`pulse trends --since` for them", len(skipped), DETECT_BACK_DAYS, skipped[0], skipped[-1])
    done = []
    for day in wanted:
        if not oldest <= day <= today:
            continue
        with step(log, "detection", day=day.isoformat()) as counts:
            counts["flags"] = len(trends.detect(store, day, day, settings))
        done.append(day.isoformat())
    return done


def load_annotator(models_dir: Path):
    """The active models, loaded once for a run."""
    from nlp.annotate import Annotator

    from service.registry import active_versions

    versions = active_versions(models_dir)
    paths = {task: Path(models_dir) / task / version / "model.skops" for task, version in versions.items()}
    return Annotator(paths), versions
