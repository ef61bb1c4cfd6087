"""The `pulse` command line: each command is a thin shell over a function of the same name."""
from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Optional

import typer

from service.config import Settings, load_settings

app = typer.Typer(help="Pulse: Vietnamese public-opinion monitoring for trade unions.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
sources_app = typer.Typer(help="List, add or disable sources.", no_args_is_help=True)
users_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
models_app = typer.Typer(help="List, promote and roll back model versions.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(sources_app, name="sources")
app.add_typer(users_app, name="users")
labels_app = typer.Typer(help="Import and export the board's labels as CSV.", no_args_is_help=True)
app.add_typer(labels_app, name="labels")


class State:
    db: Optional[Path] = None
    config: Optional[Path] = None
    log_format: Optional[str] = None


def fail(message: str) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(1)


def plain_errors(func):
    """Turn the mistakes a user can make into one sentence and a non-zero exit, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from service.pipeline import UserError
        from service.registry import ModelsMissing

        try:
            return func(*args, **kwargs)
        except (UserError, ModelsMissing, ValueError, FileNotFoundError) as exc:
            fail(str(exc))

    return wrapper


def settings() -> Settings:
    from service.datadir import use

    try:
        s = load_settings(State.config, State.db)
    except (OSError, ValueError) as exc:
        fail(f"the configuration could not be read: {exc}")
    if State.log_format:
        s.log_format = State.log_format
    try:
        use(s)   # the board's taxonomy (data folder) names the topics of flags and briefings; the local zone
    except ValueError as exc:
        fail(f"the configuration could not be used: {exc}")
    return s


def open_store(must_exist: bool = True):
    from service.store import Store
    from service.store import exists as store_exists

    s = settings()
    if must_exist and not store_exists(s.db_path):
        fail(f"no database at {s.db_path}; run `pulse init` first.")
    store = Store(s.db_path)
    if must_exist and not store.is_initialised:
        fail(f"the database at {s.db_path} is not initialised or is outdated; run `pulse init`.")
    return store


@app.callback()
def main(db: Optional[str] = typer.Option(None, "--db", envvar="PULSE_DB",
                                         help="SQLite file (default ./data/pulse.db) or postgresql://user@host/db."),
         config: Optional[Path] = typer.Option(None, "--config", help="TOML settings file."),
         log_format: Optional[str] = typer.Option(None, "--log-format", help="text (default) or json: one JSON "
                                                  "object a line, in the log file (data/logs/pulse.log) and on stderr.")):
    from service.logs import FORMATS, configure

    State.db = db
    State.config = config
    State.log_format = log_format
    if log_format is not None and log_format not in FORMATS:
        fail(f"unknown log format {log_format!r} (use {' or '.join(FORMATS)}).")
    try:
        s = load_settings(config, db)
    except (OSError, ValueError):
        return   # the command itself says what is wrong with the configuration
    if log_format:
        s.log_format = log_format
    try:
        configure(s)
    except ValueError as exc:
        fail(str(exc))


@app.command()
@plain_errors
def init():
    """Create or upgrade the database; on a new one, create the first admin (password printed once)."""
    from service.setup import init as init_store

    store = open_store(must_exist=False)
    outcome = init_store(store, stream_settings=settings().streams)
    typer.echo(f"Database ready at {store.path} (schema version {outcome.schema_version}); "
               f"{outcome.units} org units, {outcome.sources} sources.")
    if outcome.repairs and outcome.repairs.problems:
        for line in outcome.repairs.lines()[:-1]:
            typer.echo(f"  repair: {line}")
    if outcome.admin_password:
        typer.echo(f"First admin account: admin / {outcome.admin_password}  (shown once: write it down)")


@app.command("doctor")
@plain_errors
def doctor_(check: bool = typer.Option(False, "--check", help="Only report; change nothing.")):
    """Find and mend what earlier versions left: unplaced annotated items, missing search rows, orphan observations."""
    from service.doctor import doctor

    store = open_store()
    report = doctor(store, check=check, stream_settings=settings().streams)
    for line in report.lines():
        typer.echo(line)
    if check and report.problems:
        typer.echo(f"{report.problems} problem(s) found; run `pulse doctor` to mend them.")
    if not report.sound or (check and report.problems):
        raise typer.Exit(1)


@app.command()
@plain_errors
def serve(host: Optional[str] = typer.Option(None, help="Address to listen on (default 127.0.0.1)."),
          port: Optional[int] = typer.Option(None, help="Port (default 8000)."),
          no_scheduler: bool = typer.Option(False, "--no-scheduler", help="Serve pages only, run no background jobs.")):
    """Serve the web app and run the scheduler; SIGTERM or Ctrl-C stops it with every process it started."""
    from service.lifecycle import serve as run_server

    s = settings()
    open_store().close()
    s.host, s.port = host or s.host, port or s.port
    from service.logs import configure

    log_file = configure(s, console_level="INFO")
    typer.echo(f"Logs: {log_file}" if log_file else "Logs: stderr only (the data folder cannot be written)")
    run_server(s, with_scheduler=not no_scheduler, echo=typer.echo)


@app.command()
@plain_errors
def worker(until_idle: bool = typer.Option(False, "--until-idle", help="Run what is queued, then exit."),
           kind: Optional[list[str]] = typer.Option(None, "--kind", help="Only jobs of this kind (repeatable)."),
           poll: float = typer.Option(2.0, "--poll", min=0.1, help="Seconds between two looks at an empty queue."),
           task_queue: bool = typer.Option(True, "--task-queue/--no-task-queue",
                                           help="On a PostgreSQL store, take jobs through procrastinate (the "
                                                "multi-machine mode); without it, from the jobs table.")):
    """Run queued jobs (multi-machine mode: `pulse serve` runs one worker already); SIGTERM stops it after its job.

    On a PostgreSQL store the worker is a procrastinate worker (its tables beside Pulse's, created at start) that any
    number of machines can run; on SQLite it claims jobs from the jobs table."""
    import signal

    from service.datadir import use
    from service.logs import configure
    from service.worker import Worker

    s = settings()
    open_store().close()
    use(s)
    if not until_idle:
        log_file = configure(s, console_level="INFO", file_name="worker.log")
        typer.echo(f"Logs: {log_file}" if log_file else "Logs: stderr only (the data folder cannot be written)")
    runner = Worker(s, kinds=list(kind) if kind else None)
    try:
        if until_idle:
            done = runner.run_until_idle()
            for job in done:
                typer.echo(_job_line(job))
            if any(job["status"] == "failed" for job in done):
                raise typer.Exit(1)
            return
        stop = {"now": False}

        def ask_stop(signum, frame):
            stop["now"] = True

        signal.signal(signal.SIGTERM, ask_stop)
        signal.signal(signal.SIGINT, ask_stop)
        from service import taskqueue

        if task_queue and runner.store.backend == "postgresql" and taskqueue.available():
            typer.echo(f"Worker {runner.id} is running queued jobs through the task queue (procrastinate)")
            taskqueue.run_worker(runner, lambda: stop["now"])
            return
        typer.echo(f"Worker {runner.id} is running queued jobs")
        runner.run_forever(lambda: stop["now"], poll_seconds=poll)
    finally:
        runner.close()


@app.command()
@plain_errors
def collect(source: Optional[str] = typer.Option(None, "--source", help="Collect only this source.")):
    """Run the collectors now."""
    from service.job_kinds import SourcesFailed
    from service.jobs import run_kind

    store = open_store()
    result: dict = {}
    try:
        run_kind(store, settings(), "collect", {"source": source}, "cli", reraise=True, result=result)
    except SourcesFailed:   # recorded as a failed job; each source's error is printed below
        pass
    outcomes = result["outcomes"]
    for o in outcomes:
        status = "not modified" if o.not_modified else f"{o.found} found, {o.new} new"
        typer.echo(f"{o.source}: {status}" + (f", {len(o.errors)} error(s)" if o.errors else ""))
        for err in o.errors:
            typer.echo(f"  {err}", err=True)
    if outcomes and all(o.errors for o in outcomes):
        raise typer.Exit(1)


@app.command("import")
@plain_errors
def import_(file: Path = typer.Argument(..., help="CSV, XLSX, DOCX or JSONL file."),
            kind: Optional[str] = typer.Option(None, "--kind", help="observations or timeline (guessed when clear)."),
            source: Optional[str] = typer.Option(None, "--source", help="Source name for the items."),
            mapping: Optional[list[str]] = typer.Option(None, "--map", help="COLUMN=FIELD: which column holds "
                                                        "text, title, date, org_unit, channel, place or author."),
            date: Optional[str] = typer.Option(None, "--date", help="Date of rows that have none (dd/mm/yyyy).")):
    """Import collaborators' observations or a timeline of items from a file."""
    from service.pipeline import import_file

    store = open_store()
    outcome = import_file(store, file, kind=kind, source=source, settings=settings().imports, mapping=mapping,
                          default_date=date)
    for err in outcome.errors:
        typer.echo(f"  {err}", err=True)
    for warning in outcome.warnings:
        typer.echo(f"  warning: {warning}", err=True)
    skipped = f", {outcome.skipped} non-data rows skipped" if outcome.skipped else ""
    typer.echo(f"{file}: {outcome.read} read, {outcome.new} new, {len(outcome.errors)} could not be used{skipped}.")
    if outcome.read == 0:
        fail(f"nothing was imported from {file}.")


@app.command()
@plain_errors
def process(batch_size: int = typer.Option(256, "--batch-size", min=1,
                                          help="Items per unit of work (annotated and placed together).")):
    """Annotate and stream everything not yet processed."""
    from rich.progress import Progress

    from service.jobs import run_kind

    s = settings()
    store = open_store()
    with Progress(transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("Annotating", total=None)
        _, result = run_kind(store, s, "process", {"batch_size": batch_size}, "cli", reraise=True, result={
            "on_progress": lambda done, total: bar.update(task, completed=done, total=total)})
    outcome = result["outcome"]
    typer.echo(f"{outcome.annotated} items annotated with {outcome.model_version}.")


@app.command("trends")
@plain_errors
def trends_(date: Optional[str] = typer.Option(None, "--date", help="One local day (YYYY-MM-DD)."),
            since: Optional[str] = typer.Option(None, "--since", help="First local day."),
            until: Optional[str] = typer.Option(None, "--until", help="Last local day."),
            as_json: bool = typer.Option(False, "--json", help="Print the flags as a JSON list.")):
    """Detect trends over a day or a range of days and print the flags."""
    from service import trends
    from service.timeutil import parse_day, today_local

    if date and (since or until):
        fail("give either --date or --since/--until, not both.")
    first = parse_day(date or since) if (date or since) else today_local()
    last = parse_day(date or until) if (date or until) else (first if (date or since) else today_local())
    if last < first:
        fail("--until is before --since.")
    from service.jobs import run_kind

    store = open_store()
    _, result = run_kind(store, settings(), "detect", {"first": first.isoformat(), "last": last.isoformat()}, "cli",
                         reraise=True)
    flags = result["flags"]
    if as_json:
        typer.echo(json.dumps([f.to_json() for f in flags], ensure_ascii=False, indent=2))
        return
    if not flags:
        typer.echo("No flags.")
    for f in flags:
        typer.echo(f"[{f.kind}] {f.topic} score {f.score:.2f}: {f.reason}")


@app.command()
@plain_errors
def brief(date: Optional[str] = typer.Option(None, "--date", help="Local day of the briefing (default: yesterday)."),
          formats: str = typer.Option("html,docx", "--format", help="Comma-separated: html, docx."),
          out: Path = typer.Option(Path("briefings"), "--out", help="Folder for the files."),
          period: str = typer.Option("day", "--period", help="day, month or year."),
          unit: Optional[str] = typer.Option(None, "--unit", help="Org unit code (month and year reports).")):
    """Make the daily briefing, or a unit's monthly or annual report, as HTML and DOCX files."""
    from datetime import timedelta

    from service.timeutil import parse_day, today_local

    wanted = [f.strip() for f in formats.split(",") if f.strip()]
    bad = [f for f in wanted if f not in ("html", "docx")]
    if bad or not wanted:
        fail("--format takes html, docx or both (html,docx).")
    s = settings()
    store = open_store()
    ref = parse_day(date) if date else today_local() - timedelta(days=1)
    if period not in ("day", "month", "year"):
        fail("--period must be day, month or year.")
    from service.jobs import run_kind

    _, result = run_kind(store, s, "brief", {"day": ref.isoformat(), "period": period, "unit": unit,
                                             "formats": wanted, "out": str(out.resolve())}, "cli", reraise=True)
    for path in result["paths"]:
        typer.echo(str(path))


@app.command()
@plain_errors
def annotate(batch_size: int = typer.Option(256, "--batch-size", help="Texts annotated per call.")):
    """Read texts from stdin (one a line, or JSONL with "text") and print one JSON annotation a line."""
    from service.modelsync import models_home
    from service.pipeline import load_annotator

    annotator, _ = load_annotator(models_home(_store_if_any(), settings()))

    def flush(texts: list[str]) -> None:
        for ann in annotator.annotate(texts):
            typer.echo(json.dumps(ann.to_dict(), ensure_ascii=False))

    batch: list[str] = []
    for lineno, line in enumerate(sys.stdin, start=1):
        line = line.rstrip("\n")
        if line.lstrip().startswith("{"):
            try:
                line = str(json.loads(line).get("text") or "")
            except (json.JSONDecodeError, AttributeError):
                typer.echo(f"line {lineno}: not valid JSON; read as plain text.", err=True)
        batch.append(line)
        if len(batch) >= batch_size:
            flush(batch)
            batch = []
    if batch:
        flush(batch)


@app.command()
@plain_errors
def train(task: str = typer.Argument(..., help="topic, news_topic, sentiment or toxicity."),
          dataset: Optional[Path] = typer.Option(None, "--dataset", help="A corpus folder (default: the task's recipe)."),
          version: Optional[str] = typer.Option(None, "--version", help="Version name (default: the next free one)."),
          limit: Optional[int] = typer.Option(None, "--limit", help="Cap the training texts per corpus (quick runs)."),
          promote: bool = typer.Option(False, "--promote", help="Make the new version active at once."),
          from_labels: bool = typer.Option(False, "--from-labels",
                                           help="topic: train from the board's labels plus a seed-labelled sample."),
          seed_per_class: int = typer.Option(300, "--seed-per-class", help="With --from-labels: seed texts per topic."),
          seed_sample: int = typer.Option(20_000, "--seed-sample", help="With --from-labels: news leads sampled."),
          user: str = typer.Option("cli", "--user", help="With --from-labels: who trains (kept on the card).")):
    """Train a candidate model and register it (promote it with `pulse models promote`)."""
    from nlp.train import train as train_model

    from service import registry
    from service.datadir import data_dir, taxonomy_file, writable_models_home

    s = settings()
    if from_labels:
        if task != "topic":
            fail("--from-labels trains the topic task only.")
        from service.retrain import SEED_CORPUS, train_candidate

        from service.jobs import run_job

        home = writable_models_home(s)
        store = open_store()
        out: dict = {}

        def work(params, progress):
            out["summary"] = train_candidate(store, home, data_dir(s), user, version=version,
                                             seed_leads_n=seed_sample, seed_per_class=seed_per_class,
                                             log=lambda msg: typer.echo(msg, err=True),
                                             taxonomy_file=taxonomy_file(s), corpus_dir=Path(s.datasets_dir) / SEED_CORPUS)
            return {"version": out["summary"]["version"], "seconds": out["summary"]["total_seconds"]}

        run_job(store, "train", {"task": task, "from_labels": True, "version": version}, work, user, reraise=True)
        summary = out["summary"]
        typer.echo(describe_candidate(summary))
        typer.echo(f"Card at {home / 'topic' / summary['version'] / 'card.md'}; promote with "
                   f"`pulse models promote topic {summary['version']}`.")
        return
    if dataset is not None and not dataset.is_dir():
        fail(f"the dataset folder {dataset} does not exist.")
    home = writable_models_home(s)   # the data folder's models: the shipped ones are never written
    from service.jobs import run_job

    out: dict = {}

    from service import modelsync
    from service.store import Store
    from service.store import exists as store_exists

    store = Store(s.db_path) if store_exists(s.db_path) else None
    live = store if store is not None and store.is_initialised else None
    if live is not None:
        modelsync.sync(live, home)   # the versions trained on other machines: the next free name is after theirs
    version = version or registry.next_version(home, task)

    def work(params, progress):
        out["summary"] = train_model(task, dataset, home / task / version, limit=limit,
                                     log=lambda msg: typer.echo(msg, err=True))
        modelsync.register(live, home, task, version)   # with a store: its files and the registry stored too
        if promote:
            modelsync.promote(live, home, task, version)
        return {"version": version, "seconds": out["summary"]["total_seconds"]}

    if live is not None:   # training needs no database; with one, it is a job
        run_job(store, "train", {"task": task, "dataset": str(dataset) if dataset else None, "version": version,
                                 "limit": limit, "promote": promote}, work, "cli", reraise=True)
    else:
        work({}, lambda done, total=None: None)
    summary = out["summary"]
    typer.echo(f"{task} {version} trained in {summary['total_seconds']} s"
               f"{' and promoted' if promote else ''}; card at {home / task / version / 'card.md'}")


@app.command("eval")
@plain_errors
def eval_(task: str = typer.Argument(..., help="topic, news_topic, sentiment or toxicity."),
          dataset: Path = typer.Option(..., "--dataset", help="A corpus folder of ../shared/datasets."),
          as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON.")):
    """Score the active model of a task on a corpus's test split."""
    from nlp.train import evaluate

    if not dataset.is_dir():
        fail(f"the dataset folder {dataset} does not exist.")
    from service.datadir import models_home

    result = evaluate(task, dataset, models_dir=models_home(settings()))
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    against = ("SEED-LEXICON labels (agreement with the taxonomy's seed phrases, not accuracy against labels read "
               "by people)" if result.get("labels_from") == "seed lexicon" else "the corpus's own gold labels")
    typer.echo(f"{task} on {dataset.name}: accuracy {result['accuracy']}, macro F1 {result['macro_f1']}, "
               f"weighted F1 {result['weighted_f1']} (n={result['n']}), scored against {against}")
    for label, row in result["report"].items():
        if isinstance(row, dict) and "f1-score" in row:
            typer.echo(f"  {label:<28} P {row['precision']:.3f}  R {row['recall']:.3f}  F1 {row['f1-score']:.3f}"
                       f"  n={int(row['support'])}")


@models_app.command("list")
@plain_errors
def models_list():
    """Every task's versions, the active one marked."""
    from service import registry
    from service.modelsync import models_home

    home = models_home(_store_if_any(), settings())
    for task, entry in registry.read_registry(home).items():
        for version in entry.get("versions", []):
            mark = "*" if version == entry.get("active") else " "
            metrics_path = home / task / version / "metrics.json"
            typer.echo(f"{mark} {task:<12} {version:<6} {'' if metrics_path.exists() else '(no metrics)'}")


def describe_candidate(summary: dict) -> str:
    """The figures of a board-label candidate, in a few lines."""
    c, a = summary["heldout"]["candidate"], summary["heldout"]["active"]
    lines = [f"topic {summary['version']} trained on {sum(summary['board_train_counts'].values())} board labels and "
             f"{sum(summary['seed_counts'].values())} seed-labelled texts in {summary['total_seconds']} s."]
    if c.get("n"):
        lines.append(f"Held-out board labels (n={c['n']}): macro F1 {c['macro_f1']}"
                     + (f", active {summary['heldout']['active_version']} {a['macro_f1']}, difference "
                        f"{summary['difference']['macro_f1']:+}" if a else ""))
        if summary["difference"].get("worse"):
            lines.append("The candidate is WORSE than the active model on the held-out labels.")
        for topic, row in c["report"].items():
            if isinstance(row, dict) and topic not in ("macro avg", "weighted avg") and "f1-score" in row:
                d = summary["difference"]["per_topic"].get(topic)
                lines.append(f"  {topic:<22} P {row['precision']:.3f}  R {row['recall']:.3f}  F1 {row['f1-score']:.3f}"
                             f"  n={int(row['support'])}" + (f"  ({d:+.3f} vs active)" if d is not None else ""))
    else:
        lines.append("No held-out board labels yet: the candidate cannot be compared with the active model.")
    lines += summary["warnings"]
    return "\n".join(lines)


def _store_if_any():
    """The store when the database exists (a promotion then re-annotates recent items), else None."""
    from service.store import Store
    from service.store import exists as store_exists

    path = settings().db_path
    if not store_exists(path):
        return None
    store = Store(path)
    return store if store.is_initialised else None


@models_app.command("promote")
@plain_errors
def models_promote(task: str, version: str,
                   force: bool = typer.Option(False, "--force", help="Promote even a candidate worse than the active."),
                   days: int = typer.Option(30, "--days", help="Re-annotate the items of the last this many days."),
                   since: Optional[str] = typer.Option(None, "--since", help="Re-annotate from this local day instead."),
                   user: str = typer.Option("cli", "--user", help="Who promotes (kept on the card).")):
    """Make a model version active and re-annotate recent items with it."""
    from service import retrain

    from service.datadir import writable_models_home

    outcome = retrain.promote(_store_if_any(), writable_models_home(settings()), task, version, user, force=force,
                              since_day=since, days=days)
    typer.echo(f"{task}: {version} is active (was {outcome.previous or 'none'}); {outcome.reannotated} items "
               f"re-annotated, {outcome.reused} already annotated, {outcome.facts_updated} stream facts updated.")


@models_app.command("rollback")
@plain_errors
def models_rollback(task: str,
                    days: int = typer.Option(30, "--days", help="Re-annotate the items of the last this many days."),
                    since: Optional[str] = typer.Option(None, "--since", help="Re-annotate from this local day instead."),
                    user: str = typer.Option("cli", "--user", help="Who rolls back.")):
    """Make the previously active version of a task active again and restore its annotations of recent items."""
    from service import retrain

    from service.datadir import writable_models_home

    outcome = retrain.rollback(_store_if_any(), writable_models_home(settings()), task, user, since_day=since,
                               days=days)
    typer.echo(f"{task}: rolled back to {outcome.version} (from {outcome.previous}); {outcome.reannotated} items "
               f"re-annotated, {outcome.reused} already annotated, {outcome.facts_updated} stream facts updated.")


@app.command()
@plain_errors
def extract(target: str = typer.Argument(..., help="A page URL or a saved HTML file.")):
    """Print one page's article as JSON: title, text, author, published_at, url."""
    from collectors.articles import extract as extract_article
    from service.pipeline import http_client

    client = http_client(settings().fetch) if target.startswith(("http://", "https://")) else None
    typer.echo(json.dumps(extract_article(target, client), ensure_ascii=False, indent=2))


@sources_app.command("list")
@plain_errors
def sources_list():
    """List sources with their last run and their health."""
    from service.pipeline import source_health

    store = open_store()
    for row in source_health(store):
        last = row["last_run"]
        state = "enabled" if row["enabled"] else "disabled"
        verified = "" if row["verified"] else " (URL unverified)"
        run = (f"last run {last['started_at']}: {'ok' if last['ok'] else 'FAILED'}, {last['new']} new"
               if last else "never run")
        health = "healthy" if row["healthy"] else "UNHEALTHY"
        typer.echo(f"{row['name']:<28} {row['kind']:<5} {state:<8} {health:<9} {run}  {row['url']}{verified}")
        if not row["healthy"]:
            typer.echo(f"{'':<28} {row['health']}")


@sources_app.command("add")
@plain_errors
def sources_add(name: str, url: str, kind: str = typer.Option("rss", "--kind", help="rss or page."),
                title: str = typer.Option("", "--title")):
    """Add a source."""
    if kind not in ("rss", "page"):
        fail("--kind must be rss or page.")
    from service.pipeline import source_url_problem

    problem = source_url_problem(url, settings().fetch)
    if problem:
        fail(problem)
    store = open_store()
    if store.source(name):
        fail(f"a source named {name!r} already exists.")
    store.upsert_source(name, kind, url, title=title)
    typer.echo(f"Source {name} added.")


@sources_app.command("disable")
@plain_errors
def sources_disable(name: str):
    """Disable a source (its items stay)."""
    store = open_store()
    if not store.set_source_enabled(name, False):
        fail(f"there is no source named {name!r}.")
    typer.echo(f"Source {name} disabled.")


@users_app.command("add")
@plain_errors
def users_add(name: str, role: str = typer.Option(..., "--role", help="admin, staff, analyst or collaborator."),
              unit: Optional[str] = typer.Option(None, "--unit", help="Org unit code.")):
    """Add a user; the password is printed once."""
    from service.auth import hash_password, new_password

    if role not in ("admin", "staff", "analyst", "collaborator"):
        fail("--role must be admin, staff, analyst or collaborator.")
    store = open_store()
    if store.user(name):
        fail(f"a user named {name!r} already exists.")
    if unit and store.org_unit_id(unit) is None:
        fail(f"there is no org unit with code {unit!r}.")
    password = new_password()
    store.add_user(name, hash_password(password), role, unit)
    typer.echo(f"User {name} ({role}) added. Password: {password}  (shown once)")


@users_app.command("token")
@plain_errors
def users_token(name: str, label: str = typer.Option("cli", "--name", help="What the token is for."),
                days: int = typer.Option(90, "--days", min=1, max=365, help="Days until the token expires.")):
    """Create an API token for a user; the token is printed once (only its hash is stored)."""
    from datetime import datetime, timedelta, timezone

    from service.auth import new_api_token, token_hash
    from service.store import iso

    store = open_store()
    user = store.user(name)
    if user is None:
        fail(f"there is no user named {name!r}.")
    token = new_api_token()
    expires = iso(datetime.now(timezone.utc) + timedelta(days=days))
    store.add_api_token(user["id"], label, token_hash(token), expires_at=expires)
    typer.echo(f"API token for {name}: {token}  (shown once; send it as 'Authorization: Bearer <token>'; "
               f"expires {expires})")


@labels_app.command("import")
@plain_errors
def labels_import(file: Path = typer.Argument(..., help="CSV: item_id or text, task, label (username, at optional)."),
                  user: str = typer.Option("cli", "--user", help="Who labelled, for rows without a username.")):
    """Import labels from a CSV; rows that cannot be used are reported by number, the rest imported."""
    from service.labels import import_csv

    store = open_store()
    from service.datadir import taxonomy_file

    outcome = import_csv(store, taxonomy_file(settings()), file, user)
    for err in outcome.errors:
        typer.echo(f"  {err}", err=True)
    typer.echo(f"{file}: {outcome.read} rows read, {outcome.imported} labels imported, "
               f"{len(outcome.errors)} could not be used.")


@labels_app.command("export")
@plain_errors
def labels_export(file: Path = typer.Argument(..., help="CSV file to write.")):
    """Export the labels that count (the latest per item and task) to a CSV."""
    from service.labels import export_csv

    n = export_csv(open_store(), file)
    typer.echo(f"{n} labels written to {file}.")


@app.command("backup")
@plain_errors
def backup_(file: Path = typer.Argument(..., help="New file to write the backup to.")):
    """Back the database up into FILE, consistent while `pulse serve` runs and writes (SQLite's online backup; a
    PostgreSQL store: pg_dump --format=custom of its schema)."""
    from service.jobs import run_kind

    with open_store() as store:
        _, result = run_kind(store, settings(), "backup", {"file": str(file.resolve())}, "cli", reraise=True)
    typer.echo(f"Backup written: {result['outcome'].describe()}")


@app.command("restore")
@plain_errors
def restore_(file: Path = typer.Argument(..., help="A backup made by `pulse backup`."),
             force: bool = typer.Option(False, "--force", help="Replace an existing database (saved beside it first).")):
    """Restore the database from a backup; refuses a damaged or non-Pulse file, and an existing database without --force."""
    from service.backup import restore

    outcome = restore(file, settings().db_path, force=force)
    if outcome.saved_previous:
        typer.echo(f"The replaced database was saved to {outcome.saved_previous}")
    typer.echo(f"Database restored: {outcome.describe()}")


@app.command("migrate-store")
@plain_errors
def migrate_store_(to: str = typer.Option(..., "--to", help="postgresql://user@host/db: an empty database (or a new "
                                          "one) to copy this SQLite store into."),
                   batch: int = typer.Option(5000, "--batch", min=1, help="Rows read and written at a time."),
                   verify_only: bool = typer.Option(False, "--verify-only", help="Copy nothing: compare an earlier "
                                                    "copy with this store, table by table.")):
    """Copy this SQLite store into PostgreSQL in one transaction, verified by row counts and checksums per table."""
    import time

    from service.migrate_store import migrate_store, redacted, verify

    source = settings().db_path
    live = sys.stderr.isatty()
    started: dict[str, float] = {}

    def progress(table: str, done: int, total: int) -> None:
        began = started.setdefault(table, time.monotonic())
        if done >= total:
            took = f" ({time.monotonic() - began:.1f} s)" if done else ""
            typer.echo(("\r" if live else "") + f"  {table}: {done:,} rows{took}", err=True)
        elif live:
            typer.echo(f"\r  {table}: {done:,} / {total:,} rows", err=True, nl=False)

    if verify_only:
        typer.echo(f"Comparing {source} with {redacted(to)} …", err=True)
        report = verify(source, to, batch=batch, progress=progress)
    else:
        typer.echo(f"Copying {source} into {redacted(to)} …", err=True)
        report = migrate_store(source, to, batch=batch, progress=progress)
    for line in report.lines():
        typer.echo(line)
    if not report.ok:
        what = "" if verify_only else " The copy was rolled back: the target holds no data."
        fail(f"the copy does not match its source.{what}")
    if not verify_only:
        typer.echo(f"Copied {report.copied_rows:,} rows in {report.copy_seconds:.1f} s, verified in "
                   f"{report.verify_seconds:.1f} s; {redacted(to)} is ready.")


jobs_app = typer.Typer(help="List, show, retry and cancel jobs (every collection, processing, detection, briefing, "
                            "training and backup is one).", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


def _job_line(job: dict) -> str:
    from service.jobs import describe

    d = describe(job)
    took = f"{d['duration']:.1f} s" if d["duration"] is not None else "-"
    progress = (f" {job['progress_done']}/{job['progress_total'] or '?'}" if job["status"] == "running"
                and job["progress_done"] is not None else "")
    counts = ", ".join(f"{k} {v}" for k, v in job["counts"].items())
    error = f"  error: {job['error'].splitlines()[0][:120]}" if job["error"] else ""
    return (f"{job['id']:>6}  {job['kind']:<9} {job['status']:<9}{progress} {job['queued_at']}  {took:>8}  "
            f"by {job['requested_by']}  {counts}{error}")


@jobs_app.command("list")
@plain_errors
def jobs_list(status: Optional[str] = typer.Option(None, "--status", help="queued, running, done, failed or cancelled."),
              kind: Optional[str] = typer.Option(None, "--kind", help="cycle, collect, process, intake, detect, "
                                                 "brief, briefing, train, promote, rollback or backup."),
              limit: int = typer.Option(50, "--limit", min=1, help="At most this many, newest first.")):
    """The newest jobs with their status, duration, counts and error."""
    from service.store import Store

    if status is not None and status not in Store.JOB_STATUSES:
        fail(f"unknown status {status!r} (use {', '.join(Store.JOB_STATUSES)}).")
    with open_store() as store:
        rows = store.jobs(status=status, kind=kind, limit=limit)
    if not rows:
        typer.echo("No jobs.")
    for job in rows:
        typer.echo(_job_line(job))


@jobs_app.command("show")
@plain_errors
def jobs_show(job_id: int = typer.Argument(..., help="The job's number.")):
    """One job in full: parameters, times, counts, progress, error and the last lines of its log."""
    from service.jobs import describe

    with open_store() as store:
        job = store.job(job_id)
    if job is None:
        fail(f"there is no job {job_id}.")
    d = describe(job)
    typer.echo(f"Job {job['id']}: {job['kind']}, {job['status']}"
               + (" (cancel requested)" if job["cancel_requested"] and job["status"] == "running" else ""))
    typer.echo(f"  parameters:   {json.dumps(job['params'], ensure_ascii=False)}")
    typer.echo(f"  requested by: {job['requested_by']}" + (f" ({job['org_unit']})" if job["org_unit"] else ""))
    typer.echo(f"  queued:       {job['queued_at']}")
    typer.echo(f"  started:      {job['started_at'] or '-'}")
    typer.echo(f"  finished:     {job['finished_at'] or '-'}"
               + (f" ({d['duration']:.1f} s)" if d["duration"] is not None else ""))
    typer.echo(f"  attempts:     {job['attempts']}" + (f" (retry of job {job['retry_of']})" if job["retry_of"] else ""))
    if job.get("worker"):
        typer.echo(f"  worker:       {job['worker']}" + (f" (last heartbeat {job['heartbeat_at']})"
                                                         if job["status"] == "running" and job.get("heartbeat_at")
                                                         else ""))
    if job["progress_done"] is not None:
        typer.echo(f"  progress:     {job['progress_done']}/{job['progress_total'] or '?'}")
    typer.echo(f"  counts:       {json.dumps(job['counts'], ensure_ascii=False)}")
    if job["error"]:
        typer.echo(f"  error:        {job['error']}")
    if job["log_excerpt"]:
        typer.echo("  log (last lines):")
        for line in job["log_excerpt"].splitlines():
            typer.echo(f"    {line}")


@jobs_app.command("retry")
@plain_errors
def jobs_retry(job_id: int = typer.Argument(..., help="A failed, cancelled or done job.")):
    """Run a finished job again, now, with the same parameters (as a new job)."""
    from service.jobs import retry

    with open_store() as store:
        job = retry(store, job_id, requested_by="cli", settings=settings())
    typer.echo(f"Job {job_id} retried as job {job['id']}: {job['status']}"
               + (f" ({job['error']})" if job["error"] else ""))
    if job["status"] != "done":
        raise typer.Exit(1)


@jobs_app.command("cancel")
@plain_errors
def jobs_cancel(job_id: int = typer.Argument(..., help="A queued or running job.")):
    """Cancel a queued job; ask a running one to stop at its next progress step."""
    from service.jobs import cancel

    with open_store() as store:
        before = store.job(job_id)
        status = cancel(store, job_id)
    if before["status"] == "queued":
        typer.echo(f"Job {job_id} cancelled.")
    elif status == "running":
        typer.echo(f"Job {job_id} is running: asked to stop at its next progress step.")
    else:
        typer.echo(f"Job {job_id} is already {status}; nothing to cancel.")


if __name__ == "__main__":
    app()
