"""Settings of a Pulse installation: where the data lives, which models, detector thresholds, schedule.

Defaults suit a province; a TOML file given with `--config` overrides any of them.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from nlp.gazetteer import default_gazetteer_path
from nlp.relevance import EXCLUDED_KINDS

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_TZ = "Asia/Ho_Chi_Minh"


@dataclass
class TrendSettings:
    """Thresholds of the detectors (see service/trends.py)."""

    baseline_days: int = 28           # previous days that make a baseline
    min_history_days: int = 7         # fewer usable days than this: no topic burst is judged
    min_count: int = 3                # a burst needs at least this many items that day
    burst_z: float = 2.5              # robust z-score of the day's share against the baseline shares
    burst_ratio: float = 2.0          # and the raw count must reach this multiple of the usual count
    stream_burst_ratio: float = 3.0   # a stream's day against its own usual day
    stream_min_count: int = 5         # a stream burst needs at least this many items that day
    new_min_items: int = 4            # a new stream: at least this many items within 48 hours
    new_min_sources: int = 1          # independent sources raise a story's severity; they no longer gate it
    negative_min_count: int = 5       # negativity: items that day needed to judge the share
    negative_min_rise: float = 0.20   # negative share must rise at least this much over its baseline
    spread_days: int = 7              # spread: window of collaborators' reports
    spread_min_units: int = 3         # reported by collaborators of at least this many org units
    ignore_topics: tuple[str, ...] = ("khac", "xa_hoi_khac")   # catch-all topics: no topic-level burst
    # events (service/events.py): terms of headlines that rise together, from one outlet or many
    event_min_items: int = 4          # a bursty term and an event need at least this many items (distinct stories)
    event_ratio: float = 3.0          # the day's items with the term against what its baseline share predicts
    event_z: float = 3.0              # and the Poisson strength of that rise
    event_floor: float = 0.5          # expected items a day never taken below this (terms never seen before)
    event_link_days: int = 3          # a day's burst continues an event seen within this many days
    event_max_terms: int = 20         # core terms an event keeps
    event_join_topics: tuple[str, ...] = ("thien_tai",)   # one day's groups of these topics are one event
    # which stories raise a flag and in what order (service/severity.py)
    min_workers: float = 0.45         # a story raises a flag when its items are about workers at least this much …
    min_local: float = 0.5            # … or this share of them is about the province
    max_excluded_share: float = 0.5   # sports, entertainment, markets …: a story mostly made of them raises none
    min_severity: float = 30.0        # and never below this severity (0–100)
    reopen_factor: float = 1.5        # a dismissed story comes back when it grows past this multiple of its size


@dataclass
class StreamSettings:
    """How items are grouped into opinion streams."""

    window_days: float = 3.0          # an item joins only streams seen within this many days of it
    join_threshold: float = 0.22      # cosine to the stream's centroid needed to join it
    merge_threshold: float = 0.55     # cosine between two streams' centroids that merges them
    close_after_days: float = 7.0     # a stream with nothing new for this long closes
    duplicate_days: float = 7.0       # how far back a syndicated copy is looked for
    duplicate_distance: int = 8       # SimHash bits within which two items are one story
    centroid_terms: int = 80


def _env_datasets() -> Path:
    """PULSE_DATASETS, else ../shared/datasets beside the checkout (as nlp.train.datasets_root)."""
    return Path(os.environ.get("PULSE_DATASETS") or PROJECT_ROOT.parent / "shared" / "datasets")


def _env_hosts() -> tuple[str, ...]:
    """PULSE_ALLOWED_HOSTS: internal hosts the collectors may fetch, comma-separated (none by default)."""
    return tuple(h.strip() for h in os.environ.get("PULSE_ALLOWED_HOSTS", "").split(",") if h.strip())


@dataclass
class FetchSettings:
    """How the collectors fetch (collectors/http.py): limits no server can stall, and the internal-address guard."""

    allowed_hosts: tuple[str, ...] = field(default_factory=_env_hosts)  # internal hosts that may still be fetched
    contact: str = ""                 # User-Agent contact: the operator's e-mail or web page
    deadline_seconds: float = 60.0    # wall-clock limit of one request, body included
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    host_budget_seconds: float = 300.0  # one host's share of a collection cycle
    max_retry_after_seconds: float = 120.0  # a longer Retry-After skips the source until then
    min_interval_seconds: float = 1.0  # politeness: the gap between two requests to one host
    retries: int = 3
    workers: int = 4                  # hosts fetched at the same time
    max_bytes: int = 10_000_000


@dataclass
class ImportSettings:
    """Limits of `pulse import` (collectors/files.py): a file that is too big is refused before it is read."""

    max_file_bytes: int = 50_000_000
    max_rows: int = 100_000
    max_text_chars: int = 20_000       # one row's text; a longer one is a row error
    max_unpacked_bytes: int = 200_000_000  # an XLSX/DOCX's declared unpacked size (zip bombs)


@dataclass
class RelevanceSettings:
    """Relevance of items to the board (nlp/relevance.py): the province's gazetteer and what counts as local."""

    gazetteer: Path = field(default_factory=default_gazetteer_path)   # TOML of the province's places
    local_sources: tuple[str, ...] = ("baocaobang", "caobang-portal")  # the province's own outlets (source names)
    employers: tuple[str, ...] = ()          # main employers' names, added to the gazetteer's
    industrial_zones: tuple[str, ...] = ()   # industrial zones' names, added to the gazetteer's
    excluded_news: tuple[str, ...] = EXCLUDED_KINDS   # kinds of news that raise no flag on their own


@dataclass
class BackupSettings:
    """The optional daily backup of `pulse serve` (`[backup]` in the settings file); `pulse backup` works anyway."""

    daily: bool = False       # make a backup every day at `at` (local time)
    at: str = "02:30"
    dir: str = ""             # where; empty: a `backups` folder beside the database (in the data folder)
    keep: int = 7             # the newest this many daily backups are kept, older ones deleted (0: all kept)


@dataclass
class DocumentSettings:
    """How briefings and reports are issued as union documents (`[document]`; service/docheader.py).

    Blank by default: the clerk fills in the number, the signer and the recipients on paper."""

    issuing_department: str = "BAN TUYÊN GIÁO"   # who issues the daily briefing, under the province's federation
    report_number_prefix: str = ""   # e.g. "BC-LĐLĐ": «Số:      /BC-LĐLĐ» (the number itself is left blank)
    place: str = ""                  # the place in «Cao Bằng, ngày …»; empty: the province
    recipients: tuple[str, ...] = ()  # the «Nơi nhận:» lines; empty: the parent body «(để báo cáo)» and «Lưu: VT.»
    signer_authority: str = ""       # e.g. "TM. BAN THƯỜNG VỤ" or "KT. TRƯỞNG BAN"
    signer_position: str = ""        # e.g. "PHÓ CHỦ TỊCH"
    signer_name: str = ""


@dataclass
class ReportSettings:
    """The units' monthly and annual reports (`[reports]`; service/unitreports.py)."""

    draft_day: int = 1               # on this day of a month every unit's report of the month before is drafted
    monthly_due_day: int = 5         # a month's report not sent by the end of this day of the next month is late
    annual_due: str = "02/12"        # the annual report is due before this day (dd/mm) of its year
    annual_remind_days: int = 14     # the annual report is drafted and reminded of this many days before it is due


@dataclass
class SmtpSettings:
    """The mail server alerts are sent through (`[smtp]`; service/mail.py). No host: alerts stay in the app."""

    host: str = ""                # e.g. "mail.ldld.caobang.gov.vn"; empty: no e-mail is sent
    port: int = 25                # 587 with starttls, 465 with ssl
    username: str = ""            # empty: no login
    password: str = ""
    sender: str = "pulse@localhost"   # the From address
    starttls: bool = False        # upgrade the connection with STARTTLS before logging in
    ssl: bool = False             # connect with TLS from the start (port 465)
    timeout_seconds: float = 20.0


@dataclass
class AlertSettings:
    """Who is told what (`[alerts]`; service/alerts.py); each user refines it on their alerts page."""

    min_severity: float = 60.0    # a new flag is announced from this severity (0–100) unless the user chose another
    lookback_hours: int = 48      # causes (flags changed, escalations, reports, briefings) older than this are not announced
    every_minutes: int = 5        # how often `pulse serve` looks for causes and sends e-mails (also after each collection)
    max_attempts: int = 8         # an e-mail is tried this many times (1, 2, 4 … 60 minutes apart), then shown as failed
    base_url: str = "http://127.0.0.1:8000"   # the address of the web app, for the links in e-mails


def db_location(value: str | Path) -> str | Path:
    """Where the store is: an SQLite file path, or a PostgreSQL URL kept as written."""
    text = str(value)
    return text if text.startswith(("postgresql://", "postgres://")) else Path(value)


@dataclass
class Settings:
    db_path: Path | str = field(default_factory=lambda: db_location(os.environ.get("PULSE_DB", "data/pulse.db")))
    models_dir: Path = field(default_factory=lambda: Path(os.environ.get("PULSE_MODELS",
                                                                         PROJECT_ROOT / "classifier_models")))
    # everything the running system writes (trained models, the registry of active ones, the board's taxonomy, logs):
    # this folder, by default the database's (service/datadir.py); the shipped models_dir is only read
    data_dir: Path | None = field(default_factory=lambda: Path(os.environ["PULSE_DATA"])
                                  if os.environ.get("PULSE_DATA") else None)
    datasets_dir: Path = field(default_factory=_env_datasets)   # the labelled corpora (seed sample of training)
    log_format: str = "text"          # text or json (`pulse --log-format`)
    log_level: str = "INFO"           # of the log file; stderr shows warnings (and INFO under `pulse serve`)
    host: str = "127.0.0.1"
    port: int = 8000
    timezone: str = LOCAL_TZ
    collect_every_minutes: int = 30
    briefing_time: str = "07:00"
    province: str = "Cao Bằng"
    trends: TrendSettings = field(default_factory=TrendSettings)
    streams: StreamSettings = field(default_factory=StreamSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    imports: ImportSettings = field(default_factory=ImportSettings)
    relevance: RelevanceSettings = field(default_factory=RelevanceSettings)
    backup: BackupSettings = field(default_factory=BackupSettings)
    document: DocumentSettings = field(default_factory=DocumentSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)


def load_settings(config_file: Path | None = None, db_path: Path | str | None = None) -> Settings:
    """Defaults, then the TOML file (top-level keys, [trends] and [streams] tables), then an explicit db path."""
    settings = Settings()
    if config_file is not None:
        with open(config_file, "rb") as fh:
            data = tomllib.load(fh)
        _apply(settings, data, str(config_file))
    if db_path is not None:
        settings.db_path = db_location(db_path)
    return settings


_PATHS = ("data_dir",)   # path settings whose default is None


def _apply(target, data: dict, where: str, prefix: str = "") -> None:
    known = {f.name: f for f in fields(target)}
    for key, value in data.items():
        if key not in known:
            raise ValueError(f"unknown setting {prefix}{key} in {where}")
        current = getattr(target, key)
        if isinstance(value, dict) and hasattr(current, "__dataclass_fields__"):
            _apply(current, value, where, f"{prefix}{key}.")
        elif key == "db_path":
            setattr(target, key, db_location(value))
        elif isinstance(current, Path) or key in _PATHS:
            setattr(target, key, Path(value))
        elif isinstance(current, tuple):
            setattr(target, key, tuple(value))
        else:
            setattr(target, key, value)
