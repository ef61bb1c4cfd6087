"""The store: schema, forward migrations and every SQL statement of Pulse.

SQLite through sqlite-utils, WAL on. Times are UTC ISO 8601 strings. Nothing outside this module writes SQL, so a
national deployment can move the store to PostgreSQL by replacing this one file.
"""
from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

import sqlite_utils

from collectors.items import RawItem
from nlp.normalize import fold
from service.search import index_forms
from service.timeutil import local_day, sql_day_modifier

# Each migration is applied once, in order; never edit one that has shipped, add a new one. Each runs statement by
# statement inside one transaction with its version row (Store.migrate): no BEGIN/COMMIT in a migration, and
# `PRAGMA foreign_keys` has no effect inside it.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE org_units (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        parent_id INTEGER REFERENCES org_units(id),
        level TEXT NOT NULL DEFAULT 'grassroots'
    );
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'staff', 'analyst', 'collaborator')),
        org_unit_id INTEGER REFERENCES org_units(id),
        active INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL
    );
    CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        last_used_at TEXT,
        revoked_at TEXT
    );
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        url TEXT NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        config TEXT NOT NULL DEFAULT '{}',
        verified INTEGER NOT NULL DEFAULT 1,
        enabled INTEGER NOT NULL DEFAULT 1,
        etag TEXT,
        last_modified TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        ok INTEGER NOT NULL,
        found INTEGER NOT NULL DEFAULT 0,
        new INTEGER NOT NULL DEFAULT 0,
        not_modified INTEGER NOT NULL DEFAULT 0,
        errors TEXT NOT NULL DEFAULT '[]',
        duration REAL NOT NULL DEFAULT 0
    );
    CREATE INDEX runs_source ON runs(source, started_at);
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        url TEXT UNIQUE,
        content_hash TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('article', 'comment', 'observation')),
        title TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT '',
        author TEXT,
        org_unit TEXT,
        channel TEXT,
        published_at TEXT NOT NULL,
        day TEXT NOT NULL,
        collected_at TEXT NOT NULL,
        simhash TEXT,
        extra TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX items_published ON items(published_at);
    CREATE INDEX items_day ON items(day);
    CREATE VIRTUAL TABLE items_fts USING fts5(folded, tokenize = 'unicode61');
    CREATE TABLE model_versions (
        task TEXT NOT NULL,
        version TEXT NOT NULL,
        card TEXT NOT NULL DEFAULT '',
        metrics TEXT NOT NULL DEFAULT '{}',
        trained_by TEXT,
        trained_at TEXT,
        promoted_by TEXT,
        promoted_at TEXT,
        PRIMARY KEY (task, version)
    );
    CREATE TABLE annotations (
        id INTEGER PRIMARY KEY,
        item_id INTEGER NOT NULL REFERENCES items(id),
        model_version TEXT NOT NULL,
        topic TEXT NOT NULL,
        topic_score REAL NOT NULL,
        news_topic TEXT,
        sentiment TEXT NOT NULL,
        sentiment_score REAL NOT NULL,
        toxicity REAL,
        keyphrases TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        UNIQUE (item_id, model_version)
    );
    CREATE TABLE streams (
        id INTEGER PRIMARY KEY,
        topic TEXT NOT NULL DEFAULT 'khac',
        label TEXT NOT NULL DEFAULT '',
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        size INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed', 'merged')),
        merged_into INTEGER REFERENCES streams(id),
        centroid TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
    );
    CREATE INDEX streams_status ON streams(status, last_seen);
    -- one row per item placed in a stream, with the facts the detectors count (denormalised for speed)
    CREATE TABLE stream_items (
        item_id INTEGER PRIMARY KEY REFERENCES items(id),
        stream_id INTEGER NOT NULL REFERENCES streams(id),
        story_id INTEGER NOT NULL,
        day TEXT NOT NULL,
        topic TEXT NOT NULL,
        sentiment TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        org_unit TEXT,
        kind TEXT NOT NULL
    );
    CREATE INDEX stream_items_stream ON stream_items(stream_id, day);
    CREATE INDEX stream_items_day ON stream_items(day, topic, sentiment);
    CREATE TABLE term_df (
        term TEXT PRIMARY KEY,
        df INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE flags (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        stream_id INTEGER REFERENCES streams(id),
        topic TEXT,
        score REAL NOT NULL,
        window_start TEXT NOT NULL,
        window_end TEXT NOT NULL,
        count INTEGER NOT NULL,
        baseline REAL NOT NULL,
        reason TEXT NOT NULL,
        keyphrases TEXT NOT NULL DEFAULT '[]',
        item_ids TEXT NOT NULL DEFAULT '[]',
        evidence TEXT NOT NULL DEFAULT '{}',
        degraded INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'open',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE flag_events (
        id INTEGER PRIMARY KEY,
        flag_id INTEGER NOT NULL REFERENCES flags(id),
        username TEXT NOT NULL,
        action TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL
    );
    CREATE TABLE labels (
        id INTEGER PRIMARY KEY,
        item_id INTEGER NOT NULL REFERENCES items(id),
        task TEXT NOT NULL,
        label TEXT NOT NULL,
        username TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX flags_status ON flags(status, score);
    CREATE INDEX labels_item_task ON labels(item_id, task, at);
    CREATE TABLE watch_terms (
        id INTEGER PRIMARY KEY,
        term TEXT NOT NULL,
        folded TEXT NOT NULL UNIQUE,
        created_by TEXT,
        created_at TEXT NOT NULL
    );
    -- web: a login session (the cookie holds a random token; only its hash is stored), a collaborator's submission
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        csrf TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    CREATE TABLE submissions (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        idempotency_key TEXT NOT NULL,
        item_id INTEGER NOT NULL UNIQUE REFERENCES items(id),
        org_unit TEXT,
        created_at TEXT NOT NULL,
        processed_at TEXT,
        UNIQUE (user_id, idempotency_key)
    );
    CREATE INDEX submissions_pending ON submissions(processed_at);
    CREATE TABLE briefings (
        id INTEGER PRIMARY KEY,
        day TEXT NOT NULL UNIQUE,
        html TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
    );
    """,
    # web security: API tokens expire (NULL = an older token, treated as created with the default lifetime)
    """
    ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
    """,
    # signal: events (bursty terms that rise together), living flags per story with a severity, the term counts of days
    """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        first_day TEXT NOT NULL,
        last_day TEXT NOT NULL,
        terms TEXT NOT NULL DEFAULT '{}',
        title TEXT NOT NULL DEFAULT '',
        size INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX events_last_day ON events(last_day);
    CREATE TABLE event_items (
        event_id INTEGER NOT NULL REFERENCES events(id),
        item_id INTEGER NOT NULL REFERENCES items(id),
        day TEXT NOT NULL,
        PRIMARY KEY (event_id, item_id)
    ) WITHOUT ROWID;
    CREATE INDEX event_items_item ON event_items(item_id);
    CREATE TABLE term_days (
        day TEXT PRIMARY KEY,
        items INTEGER NOT NULL,
        version INTEGER NOT NULL DEFAULT 1,
        computed_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE term_day_df (
        term TEXT NOT NULL,
        day TEXT NOT NULL,
        df INTEGER NOT NULL,
        PRIMARY KEY (term, day)
    ) WITHOUT ROWID;
    CREATE INDEX term_day_df_day ON term_day_df(day);
    ALTER TABLE flags ADD COLUMN severity REAL NOT NULL DEFAULT 0;
    ALTER TABLE flags ADD COLUMN title TEXT NOT NULL DEFAULT '';
    ALTER TABLE flags ADD COLUMN event_id INTEGER REFERENCES events(id);
    ALTER TABLE flags ADD COLUMN dismissed_count INTEGER;
    CREATE INDEX flags_severity ON flags(status, severity);
    """,
    # relevance: how much an item is about workers and about the province (nlp/relevance.py); watch terms' excluded
    # contexts (a comma-separated list of phrases whose presence voids a hit, e.g. «Định Công, Al Nassr»)
    """
    CREATE TABLE item_relevance (
        item_id INTEGER PRIMARY KEY REFERENCES items(id),
        workers REAL NOT NULL,
        local REAL NOT NULL,
        excluded TEXT,
        places TEXT NOT NULL DEFAULT '[]',
        reasons TEXT NOT NULL DEFAULT '[]'
    );
    ALTER TABLE watch_terms ADD COLUMN excluded_contexts TEXT NOT NULL DEFAULT '';
    """,
    # what is left to process: a queue every new item joins (by trigger, whatever stored it) and leaves in the
    # transaction that annotates and places it, so `pulse process` with nothing to do reads one empty index; a
    # promotion re-annotates its window itself and leaves the rest of history alone. Items never placed join it now.
    """
    CREATE TABLE process_queue (item_id INTEGER PRIMARY KEY);
    INSERT INTO process_queue (item_id)
        SELECT i.id FROM items i WHERE NOT EXISTS (SELECT 1 FROM stream_items s WHERE s.item_id = i.id);
    CREATE TRIGGER items_queue_for_processing AFTER INSERT ON items
    BEGIN
        INSERT OR IGNORE INTO process_queue (item_id) VALUES (new.id);
    END;
    CREATE TRIGGER items_leave_processing_queue AFTER DELETE ON items
    BEGIN
        DELETE FROM process_queue WHERE item_id = old.id;
    END;
    CREATE TABLE relevance_gaps (item_id INTEGER PRIMARY KEY);
    INSERT INTO relevance_gaps (item_id)
        SELECT i.id FROM items i WHERE EXISTS (SELECT 1 FROM annotations a WHERE a.item_id = i.id)
        AND NOT EXISTS (SELECT 1 FROM item_relevance r WHERE r.item_id = i.id);
    CREATE TRIGGER relevance_gap AFTER DELETE ON item_relevance
    BEGIN
        INSERT OR IGNORE INTO relevance_gaps (item_id) VALUES (old.item_id);
    END;
    CREATE TRIGGER relevance_gap_filled AFTER INSERT ON item_relevance
    BEGIN
        DELETE FROM relevance_gaps WHERE item_id = new.item_id;
    END;
    """,
    # search over the original text as well as the folded one (service/search.py): a word typed with diacritics
    # matches with them. Title and body apart, so bm25 can weigh the title. Items stored before it wait in
    # search_backfill until Store.backfill_search_index writes their rows (forms computed in Python).
    """
    CREATE VIRTUAL TABLE items_search USING fts5(title, body, title_folded, body_folded,
        tokenize = 'unicode61 remove_diacritics 0');
    CREATE TABLE search_backfill (item_id INTEGER PRIMARY KEY);
    INSERT INTO search_backfill (item_id) SELECT id FROM items;
    """,
    # outlets' boilerplate learned per source (service/boilerplate.py): how many of a source's press items carry
    # each short line, opening and closing word run; source_segment_totals: how many press items it has sent
    """
    CREATE TABLE source_segments (
        source TEXT NOT NULL, place TEXT NOT NULL, segment TEXT NOT NULL,
        items INTEGER NOT NULL DEFAULT 0, last_seen TEXT NOT NULL,
        PRIMARY KEY (source, place, segment)
    ) WITHOUT ROWID;
    CREATE INDEX source_segments_seen ON source_segments (items, last_seen);
    CREATE TABLE source_segment_totals (source TEXT PRIMARY KEY, items INTEGER NOT NULL DEFAULT 0);
    """,
    # jobs (service/jobs.py): every piece of work a row an operator can list, retry and cancel
    """
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        params TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL DEFAULT 'queued'
            CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        requested_by TEXT NOT NULL DEFAULT 'system',
        org_unit TEXT,
        queued_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        counts TEXT NOT NULL DEFAULT '{}',
        progress_done INTEGER,
        progress_total INTEGER,
        error TEXT,
        log_excerpt TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        retry_of INTEGER REFERENCES jobs(id)
    );
    CREATE INDEX jobs_status ON jobs (status, id);
    CREATE INDEX jobs_kind ON jobs (kind, id);
    """,
    # saved searches of the items page (service/routes/items.py), each its owner's
    """
    CREATE TABLE saved_searches (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        name TEXT NOT NULL,
        params TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        UNIQUE (user_id, name)
    );
    """,
    # the units' monthly and annual reports (service/unitreports.py): every revision a row; a revision that was sent
    # is frozen (the trigger refuses a change of its words); dialogues and field visits with the opinions raised,
    # the answers and the commitments; office files uploaded on the web, kept until their rows are imported
    """
    CREATE TABLE unit_reports (
        id INTEGER PRIMARY KEY,
        org_unit TEXT NOT NULL,
        period TEXT NOT NULL CHECK (period IN ('month', 'year')),
        first_day TEXT NOT NULL,
        revision INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'sent', 'received')),
        data TEXT NOT NULL DEFAULT '{}',
        narrative TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL,
        sent_at TEXT,
        sent_by TEXT,
        received_at TEXT,
        received_by TEXT,
        UNIQUE (org_unit, period, first_day, revision)
    );
    CREATE INDEX unit_reports_period ON unit_reports (period, first_day, org_unit);
    CREATE TRIGGER unit_reports_frozen BEFORE UPDATE OF data, narrative, org_unit, period, first_day, revision
        ON unit_reports WHEN old.status != 'draft'
    BEGIN
        SELECT RAISE(ABORT, 'a report that was sent is frozen');
    END;
    CREATE TABLE dialogues (
        id INTEGER PRIMARY KEY,
        org_unit TEXT NOT NULL,
        held_on TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'dialogue' CHECK (kind IN ('dialogue', 'meeting', 'visit')),
        enterprise TEXT NOT NULL DEFAULT '',
        place TEXT NOT NULL DEFAULT '',
        participants TEXT NOT NULL DEFAULT '',
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (org_unit, held_on, kind, enterprise)
    );
    CREATE INDEX dialogues_day ON dialogues (held_on, org_unit);
    CREATE TABLE dialogue_points (
        id INTEGER PRIMARY KEY,
        dialogue_id INTEGER NOT NULL REFERENCES dialogues(id),
        position INTEGER NOT NULL,
        question TEXT NOT NULL,
        answer TEXT NOT NULL DEFAULT '',
        commitment TEXT NOT NULL DEFAULT '',
        done_at TEXT,
        done_by TEXT,
        item_id INTEGER REFERENCES items(id) ON DELETE SET NULL
    );
    CREATE INDEX dialogue_points_dialogue ON dialogue_points (dialogue_id, position);
    CREATE TABLE pending_imports (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        org_unit TEXT,
        filename TEXT NOT NULL,
        content BLOB NOT NULL,
        created_at TEXT NOT NULL
    );
    """,
    # orientation tracking (issue 17.4, service/orientation.py): what the board said about a story, where, to whom,
    # who owns it and the day it was given; the same words recorded twice are one row
    """
    CREATE TABLE orientations (
        id INTEGER PRIMARY KEY,
        flag_id INTEGER NOT NULL REFERENCES flags(id),
        username TEXT NOT NULL,
        org_unit TEXT,
        owner TEXT NOT NULL,
        given_on TEXT NOT NULL,
        channel TEXT NOT NULL,
        audience TEXT NOT NULL DEFAULT '',
        said TEXT NOT NULL,
        template TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        UNIQUE (flag_id, given_on, channel, said)
    );
    CREATE INDEX orientations_day ON orientations (given_on, flag_id);
    """,
    # jobs claimed by a worker (service/worker.py): who holds a running job and when it last gave a sign of life, so
    # a job whose worker died is repaired (re-queued or failed), never left running
    """
    ALTER TABLE jobs ADD COLUMN worker TEXT;
    ALTER TABLE jobs ADD COLUMN heartbeat_at TEXT;
    CREATE INDEX jobs_open ON jobs (status, kind) WHERE status IN ('queued', 'running');
    """,
    # a stream's topic and keyphrase counts kept with it, so placing an item never re-reads the stream's items
    # (NULL: not known yet; recomputed from the stream's items the next time it is saved)
    """
    ALTER TABLE streams ADD COLUMN topic_counts TEXT;
    ALTER TABLE streams ADD COLUMN phrase_counts TEXT;
    """,
    # alerts (issue 16.3, service/alerts.py, service/mail.py): each user's in-app notifications (one per user and
    # cause: `key`), the e-mails waiting to be sent with their attempts and last error, what each user chose to be told;
    # a saved search may become a watch query (alert its owner when `watch_threshold` new items match)
    """
    CREATE TABLE notifications (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        key TEXT NOT NULL,
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        body TEXT NOT NULL DEFAULT '',
        link TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        read_at TEXT,
        UNIQUE (user_id, key)
    );
    CREATE INDEX notifications_user ON notifications (user_id, read_at, id);
    CREATE TABLE email_outbox (
        id INTEGER PRIMARY KEY,
        notification_id INTEGER NOT NULL UNIQUE REFERENCES notifications(id),
        address TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        next_attempt_at TEXT NOT NULL,
        lease_until TEXT,
        sent_at TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX email_outbox_due ON email_outbox (status, next_attempt_at);
    CREATE TABLE alert_prefs (
        user_id INTEGER PRIMARY KEY REFERENCES users(id),
        email TEXT NOT NULL DEFAULT '',
        kinds TEXT NOT NULL,
        min_severity REAL NOT NULL,
        by_email INTEGER NOT NULL DEFAULT 1
    );
    ALTER TABLE saved_searches ADD COLUMN watch INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE saved_searches ADD COLUMN watch_threshold INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE saved_searches ADD COLUMN watch_seen_id INTEGER NOT NULL DEFAULT 0;
    """,
    # the dashboard's daily counts (service/dashboard.py), kept by triggers so the home page reads a few hundred rows
    # rather than a month of items: items per day, channel group and unit; placed items per day, topic, tone and unit
    # ('' stands for no unit: the press)
    """
    CREATE TABLE dash_item_days (
        day TEXT NOT NULL, grp TEXT NOT NULL, org_unit TEXT NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (day, grp, org_unit)
    ) WITHOUT ROWID;
    CREATE TABLE dash_stream_days (
        day TEXT NOT NULL, topic TEXT NOT NULL, sentiment TEXT NOT NULL, org_unit TEXT NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (day, topic, sentiment, org_unit)
    ) WITHOUT ROWID;
    INSERT INTO dash_item_days (day, grp, org_unit, n)
        SELECT day, CASE WHEN kind != 'observation' THEN 'press' WHEN channel = 'hoi-nghi' THEN 'dialogues'
               ELSE 'collaborators' END, COALESCE(org_unit, ''), COUNT(*) FROM items GROUP BY 1, 2, 3;
    INSERT INTO dash_stream_days (day, topic, sentiment, org_unit, n)
        SELECT day, topic, sentiment, COALESCE(org_unit, ''), COUNT(*) FROM stream_items GROUP BY 1, 2, 3, 4;
    CREATE TRIGGER dash_item_added AFTER INSERT ON items
    BEGIN
        INSERT INTO dash_item_days (day, grp, org_unit, n) VALUES (new.day,
            CASE WHEN new.kind != 'observation' THEN 'press' WHEN new.channel = 'hoi-nghi' THEN 'dialogues'
            ELSE 'collaborators' END, COALESCE(new.org_unit, ''), 1)
            ON CONFLICT (day, grp, org_unit) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER dash_item_removed AFTER DELETE ON items
    BEGIN
        UPDATE dash_item_days SET n = n - 1 WHERE day = old.day AND org_unit = COALESCE(old.org_unit, '')
            AND grp = CASE WHEN old.kind != 'observation' THEN 'press' WHEN old.channel = 'hoi-nghi' THEN 'dialogues'
                      ELSE 'collaborators' END;
    END;
    CREATE TRIGGER dash_item_changed AFTER UPDATE OF day, kind, channel, org_unit ON items
    BEGIN
        UPDATE dash_item_days SET n = n - 1 WHERE day = old.day AND org_unit = COALESCE(old.org_unit, '')
            AND grp = CASE WHEN old.kind != 'observation' THEN 'press' WHEN old.channel = 'hoi-nghi' THEN 'dialogues'
                      ELSE 'collaborators' END;
        INSERT INTO dash_item_days (day, grp, org_unit, n) VALUES (new.day,
            CASE WHEN new.kind != 'observation' THEN 'press' WHEN new.channel = 'hoi-nghi' THEN 'dialogues'
            ELSE 'collaborators' END, COALESCE(new.org_unit, ''), 1)
            ON CONFLICT (day, grp, org_unit) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER dash_placed AFTER INSERT ON stream_items
    BEGIN
        INSERT INTO dash_stream_days (day, topic, sentiment, org_unit, n)
            VALUES (new.day, new.topic, new.sentiment, COALESCE(new.org_unit, ''), 1)
            ON CONFLICT (day, topic, sentiment, org_unit) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER dash_unplaced AFTER DELETE ON stream_items
    BEGIN
        UPDATE dash_stream_days SET n = n - 1 WHERE day = old.day AND topic = old.topic
            AND sentiment = old.sentiment AND org_unit = COALESCE(old.org_unit, '');
    END;
    CREATE TRIGGER dash_replaced AFTER UPDATE OF day, topic, sentiment, org_unit ON stream_items
    BEGIN
        UPDATE dash_stream_days SET n = n - 1 WHERE day = old.day AND topic = old.topic
            AND sentiment = old.sentiment AND org_unit = COALESCE(old.org_unit, '');
        INSERT INTO dash_stream_days (day, topic, sentiment, org_unit, n)
            VALUES (new.day, new.topic, new.sentiment, COALESCE(new.org_unit, ''), 1)
            ON CONFLICT (day, topic, sentiment, org_unit) DO UPDATE SET n = n + 1;
    END;
    """,
    # placement's memory between runs (service/streams.py StreamPlacer.resume): any write to streams, their items or
    # the near-duplicate signatures clears the token, so a worker keeps its in-memory streams only while it alone
    # has written them since its last batch
    """
    CREATE TABLE placement_state (id INTEGER PRIMARY KEY CHECK (id = 1), token TEXT);
    INSERT INTO placement_state (id, token) VALUES (1, NULL);
    CREATE TRIGGER placement_streams_insert AFTER INSERT ON streams BEGIN UPDATE placement_state SET token = NULL; END;
    CREATE TRIGGER placement_streams_update AFTER UPDATE ON streams BEGIN UPDATE placement_state SET token = NULL; END;
    CREATE TRIGGER placement_streams_delete AFTER DELETE ON streams BEGIN UPDATE placement_state SET token = NULL; END;
    CREATE TRIGGER placement_members_insert AFTER INSERT ON stream_items
        BEGIN UPDATE placement_state SET token = NULL; END;
    CREATE TRIGGER placement_members_update AFTER UPDATE ON stream_items
        BEGIN UPDATE placement_state SET token = NULL; END;
    CREATE TRIGGER placement_members_delete AFTER DELETE ON stream_items
        BEGIN UPDATE placement_state SET token = NULL; END;
    CREATE TRIGGER placement_signatures AFTER UPDATE OF simhash ON items
        BEGIN UPDATE placement_state SET token = NULL; END;
    CREATE TRIGGER placement_items_delete AFTER DELETE ON items BEGIN UPDATE placement_state SET token = NULL; END;
    """,
]

_SPACES = re.compile(r"\s+")


def utcnow() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def iso(dt: datetime) -> str:
    """An aware datetime as a UTC ISO 8601 string (seconds precision)."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return dt.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def item_hash(item: RawItem) -> str:
    """The dedupe key of an item: its content and source; an observation's also carries its unit, so two units
    reporting the same words stay two reports, while the same report imported again (renamed file or not) is one."""
    if item.kind == "observation":
        return content_hash(item.title, item.text, f"{item.source}\n{item.org_unit or ''}")
    return content_hash(item.title, item.text, item.source)


def content_hash(title: str, text: str, source: str = "") -> str:
    """Hash of a source's item, insensitive to case and spacing, so a re-sent copy is recognised.

    The source is part of it: the same article carried by five sites is five items (one story with five sources,
    see service/streams.py), while the same site sending it twice is one.
    """
    canon = _SPACES.sub(" ", f"{source}\n{title}\n{text}".lower()).strip()
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def sql_statements(script: str) -> list[str]:
    """The statements of an SQL script, one by one (comments and string literals respected by SQLite itself)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(ln.strip().startswith("--") or not ln.strip() for ln in buffer.splitlines()):
        raise ValueError(f"incomplete SQL statement in a migration: {buffer.strip()[:80]!r}")
    return statements


@dataclass
class StoredItem:
    id: int
    title: str
    text: str
    url: str | None
    source: str
    kind: str
    published_at: str


class Store:
    """All reads and writes of Pulse's data."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # autocommit mode: the driver opens no hidden transaction; a unit of work is `with store.transaction():`
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30, isolation_level=None)
        self.db = sqlite_utils.Database(conn)
        self._savepoints = 0
        self._use_wal(conn)
        self.db.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a power cut may lose the last commit only
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA busy_timeout=30000")

    @staticmethod
    def _use_wal(conn: sqlite3.Connection, patience: float = 30.0) -> None:
        """Switch a database to write-ahead logging, waiting for other openers.

        The switch needs the database to itself and SQLite answers «database is locked» at once rather than waiting
        on the busy timeout, so two processes opening a new database together (`pulse serve` and a `pulse process`
        from cron) would make one of them fail. Once a database is in WAL mode the switch is a no-op that locks
        nothing.
        """
        deadline = time.monotonic() + patience
        pause = 0.005
        while True:
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                    return
                conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.2)

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- schema ----------------------------------------------------------------------------------
    def schema_version(self) -> int:
        if not self.db["schema_version"].exists():
            return 0
        row = self.db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return row[0] or 0

    def migrate(self, migrations: list[str] | None = None) -> int:
        """Apply every migration not yet applied; returns the schema version reached.

        Each migration runs statement by statement inside one transaction with its version row (`executescript`
        would commit on its own), so a migration that fails leaves the schema and the version as they were.
        """
        migrations = MIGRATIONS if migrations is None else migrations
        for number, script in enumerate(migrations, start=1):
            with self.transaction():
                self.db.conn.execute("CREATE TABLE IF NOT EXISTS schema_version"
                                     " (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
                if number <= self.schema_version():   # read inside the write lock: two processes never both apply it
                    continue
                for statement in sql_statements(script):
                    self.db.conn.execute(statement)
                self.db.conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                                     [number, utcnow()])
        # items stored before items_search existed are indexed by the `search_backfill` job (service/job_kinds.py),
        # which `pulse init` and a restore run after migrating: a large store is not indexed inside a migration
        return self.schema_version()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One unit of work: everything written inside commits together or not at all.

        `BEGIN IMMEDIATE` takes the write lock at once (other processes wait up to the busy timeout, never fail
        half-way); a transaction opened inside another one is a savepoint, so an inner failure that is caught undoes
        only the inner part. Compute before entering: the lock is held until the block ends.
        """
        conn = self.db.conn
        if conn.in_transaction:
            self._savepoints += 1
            name = f"pulse_sp{self._savepoints}"
            conn.execute(f"SAVEPOINT {name}")
            try:
                yield
            except BaseException:
                if conn.in_transaction:
                    conn.execute(f"ROLLBACK TO {name}")
                    conn.execute(f"RELEASE {name}")
                raise
            else:
                conn.execute(f"RELEASE {name}")
            finally:
                self._savepoints -= 1
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if not conn.in_transaction:
            raise RuntimeError("a unit of work was committed half-way by a nested commit (`with db.conn:`?)")
        conn.execute("COMMIT")

    @property
    def is_initialised(self) -> bool:
        return self.schema_version() == len(MIGRATIONS)

    # --- org units and users ---------------------------------------------------------------------
    def add_org_unit(self, code: str, name: str, parent_code: str | None = None, level: str = "grassroots") -> int:
        parent_id = self.org_unit_id(parent_code) if parent_code else None
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO org_units (code, name, parent_id, level) VALUES (?, ?, ?, ?)",
                [code, name, parent_id, level],
            )
        return self.org_unit_id(code)

    def org_unit_id(self, code: str) -> int | None:
        row = self.db.execute("SELECT id FROM org_units WHERE code = ?", [code]).fetchone()
        return row[0] if row else None

    def org_units(self) -> list[dict]:
        return list(self.db.query("SELECT * FROM org_units ORDER BY id"))

    def add_user(self, username: str, password_hash: str, role: str, org_unit_code: str | None = None) -> int:
        unit_id = self.org_unit_id(org_unit_code) if org_unit_code else None
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO users (username, password_hash, role, org_unit_id, created_at) VALUES (?, ?, ?, ?, ?)",
                [username, password_hash, role, unit_id, utcnow()],
            )
        return cur.lastrowid

    def user(self, username: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM users WHERE username = ?", [username]))
        return rows[0] if rows else None

    def count_users(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM users").fetchone()[0]

    # --- sources and runs ------------------------------------------------------------------------
    def upsert_source(self, name: str, kind: str, url: str, title: str = "", config: dict | None = None,
                      verified: bool = True, enabled: bool = True) -> None:
        """Add a source, or leave an existing one of that name as the board configured it."""
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO sources (name, kind, url, title, config, verified, enabled, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [name, kind, url, title, json.dumps(config or {}, ensure_ascii=False), int(verified), int(enabled),
                 utcnow()],
            )

    def sources(self, enabled_only: bool = False) -> list[dict]:
        sql = "SELECT * FROM sources" + (" WHERE enabled = 1" if enabled_only else "") + " ORDER BY id"
        rows = list(self.db.query(sql))
        for row in rows:
            row["config"] = json.loads(row["config"] or "{}")
        return rows

    def source(self, name: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM sources WHERE name = ?", [name]))
        for row in rows:
            row["config"] = json.loads(row["config"] or "{}")
        return rows[0] if rows else None

    def set_source_enabled(self, name: str, enabled: bool) -> bool:
        with self.transaction():
            cur = self.db.execute("UPDATE sources SET enabled = ? WHERE name = ?", [int(enabled), name])
        return cur.rowcount > 0

    def set_source_retry_after(self, name: str, until: str | None) -> None:
        """Remember (UTC ISO time) or forget that a source asked not to be fetched before a time (Retry-After)."""
        with self.transaction():
            if until:
                self.db.execute("UPDATE sources SET config = json_set(COALESCE(config, '{}'), '$.retry_after', ?)"
                                " WHERE name = ?", [until, name])
            else:
                self.db.execute("UPDATE sources SET config = json_remove(config, '$.retry_after')"
                                " WHERE name = ? AND json_extract(config, '$.retry_after') IS NOT NULL", [name])

    def set_source_validators(self, name: str, etag: str | None, last_modified: str | None) -> None:
        with self.transaction():
            self.db.execute("UPDATE sources SET etag = ?, last_modified = ? WHERE name = ?", [etag, last_modified, name])

    def record_run(self, source: str, started_at: str, finished_at: str, ok: bool, found: int, new: int,
                   not_modified: bool, errors: list[str], duration: float) -> int:
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO runs (source, started_at, finished_at, ok, found, new, not_modified, errors, duration)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [source, started_at, finished_at, int(ok), found, new, int(not_modified),
                 json.dumps(errors, ensure_ascii=False), duration],
            )
        return cur.lastrowid

    def runs(self, source: str | None = None, limit: int = 100) -> list[dict]:
        if source:
            sql, params = "SELECT * FROM runs WHERE source = ? ORDER BY id DESC LIMIT ?", [source, limit]
        else:
            sql, params = "SELECT * FROM runs ORDER BY id DESC LIMIT ?", [limit]
        rows = list(self.db.query(sql, params))
        for row in rows:
            row["errors"] = json.loads(row["errors"])
        return rows

    # --- items -----------------------------------------------------------------------------------
    def add_items(self, items: Iterable[RawItem], collected_at: str | None = None) -> list[int]:
        """Store items once: an item whose url or content hash is already stored changes nothing.

        Returns the ids of the items that were new.
        """
        collected_at = collected_at or utcnow()
        rows = []
        for item in items:   # computed before the write lock is taken, so the transaction stays short
            published = iso(item.published_at) if item.published_at else collected_at
            rows.append(([item.url or None, item_hash(item), item.kind, item.title,
                          item.text, item.source, item.author, item.org_unit, item.channel, published,
                          local_day(published), collected_at, json.dumps(item.extra, ensure_ascii=False, default=str)],
                         fold(f"{item.title}\n{item.text}"), index_forms(item.title, item.text)))
        new_ids: list[int] = []
        with self.transaction():   # the items and their search rows together: no item is ever unfindable
            for values, folded, forms in rows:
                cur = self.db.execute(
                    "INSERT OR IGNORE INTO items (url, content_hash, kind, title, text, source, author, org_unit,"
                    " channel, published_at, day, collected_at, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    values)
                if cur.rowcount == 1:
                    new_ids.append(cur.lastrowid)
                    self.db.execute("INSERT INTO items_fts (rowid, folded) VALUES (?, ?)", [cur.lastrowid, folded])
                    self._index_search(cur.lastrowid, forms)
        return new_ids

    def has_url(self, url: str) -> bool:
        return self.db.execute("SELECT 1 FROM items WHERE url = ?", [url]).fetchone() is not None

    def source_daily_new(self, source: str, since: str) -> dict[str, int]:
        """New items per local day that a source's runs brought since a UTC time."""
        return dict(self.db.execute(
            # the zone's offset at the range's start (exact for zones without daylight saving, like Vietnam's)
            "SELECT date(started_at, ?) AS day, SUM(new) FROM runs WHERE source = ? AND started_at >= ?"
            " GROUP BY day", [sql_day_modifier(since), source, since]).fetchall())

    def count_items(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM items").fetchone()[0]

    def items_by_ids(self, ids: list[int]) -> list[dict]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = {r["id"]: r for r in self.db.query(f"SELECT * FROM items WHERE id IN ({marks})", ids)}
        return [rows[i] for i in ids if i in rows]

    def unannotated_items(self, model_version: str, batch_size: int = 256) -> Iterator[list[dict]]:
        """Batches of items with no annotation for this model version, oldest first."""
        last_id = 0
        while True:
            rows = list(self.db.query(
                "SELECT i.id, i.title, i.text, i.published_at, i.day, i.source, i.org_unit, i.kind FROM items i"
                " WHERE i.id > ? AND NOT EXISTS"
                " (SELECT 1 FROM annotations a WHERE a.item_id = i.id AND a.model_version = ?)"
                " ORDER BY i.id LIMIT ?",
                [last_id, model_version, batch_size],
            ))
            if not rows:
                return
            yield rows
            last_id = rows[-1]["id"]

    def count_unannotated(self, model_version: str) -> int:
        return self.db.execute(
            "SELECT COUNT(*) FROM items i WHERE NOT EXISTS"
            " (SELECT 1 FROM annotations a WHERE a.item_id = i.id AND a.model_version = ?)", [model_version]).fetchone()[0]

    def search_items(self, query: str, limit: int = 50) -> list[dict]:
        """Full-text search without regard to diacritics: `luong` finds `lương`."""
        words = [w for w in re.findall(r"\w+", fold(query))]
        if not words:
            return []
        match = " ".join(f'"{w}"' for w in words)
        return list(self.db.query(
            "SELECT i.* FROM items_fts f JOIN items i ON i.id = f.rowid WHERE items_fts MATCH ?"
            " ORDER BY i.published_at DESC LIMIT ?",
            [match, limit],
        ))

    # --- search over the original and the folded text (service/search.py builds the MATCH expression) ---------
    def _index_search(self, item_id: int, forms: tuple[str, str, str, str]) -> None:
        self.db.execute("INSERT INTO items_search (rowid, title, body, title_folded, body_folded)"
                        " VALUES (?, ?, ?, ?, ?)", [item_id, *forms])

    def count_search_backfill(self) -> int:
        """Items stored before items_search existed whose search rows are not written yet."""
        return self.db.execute("SELECT COUNT(*) FROM search_backfill").fetchone()[0]

    def backfill_search_index(self, batch_size: int = 500, progress=None) -> int:
        """Write the search rows of items stored before items_search existed, a batch per transaction (resumable);
        returns how many were written. `progress(done, total)` is called after each batch (a job's progress)."""
        written = 0
        total = self.count_search_backfill() if progress else 0
        while True:
            if progress:
                progress(written, total)
            ids = [r[0] for r in self.db.execute("SELECT item_id FROM search_backfill ORDER BY item_id LIMIT ?",
                                                 [batch_size]).fetchall()]
            if not ids:
                return written
            items = self.items_by_ids(ids)
            forms = [(r["id"], *index_forms(r["title"], r["text"])) for r in items]
            with self.transaction():
                self.db.conn.executemany(
                    "INSERT INTO items_search (rowid, title, body, title_folded, body_folded)"
                    " SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM items_search WHERE rowid = ?1)", forms)
                self.db.conn.executemany("DELETE FROM search_backfill WHERE item_id = ?", [(i,) for i in ids])
            written += len(forms)

    def search(self, match: str | None = None, *, kind: str | None = None, topic: str | None = None,
               tone: str | None = None, source: str | None = None, channel: str | None = None,
               units: list[str] | None = None, include_public: bool = True, since_day: str | None = None,
               until_day: str | None = None, order: str = "relevance", limit: int = 50,
               offset: int = 0, after_id: int | None = None) -> tuple[int, list[dict]]:
        """(how many items match, one page of them) for an FTS5 expression over items_search and filters.

        `order`: "relevance" (bm25, the title weighing three times the body; newest first among equals) or "newest".
        `units`: when given, observations only of those units; items with no unit (the press) too unless
        `include_public` is False. Rows carry the whole text (for the snippet) and their stream facts.
        """
        clauses, params = [], []
        source_sql = "items i"
        rank = "0"
        if match:
            source_sql = "items_search s JOIN items i ON i.id = s.rowid"
            clauses.append("items_search MATCH ?")
            params.append(match)
            rank = "bm25(items_search, 3.0, 1.0, 3.0, 1.0)"
        for column, value in (("i.kind", kind), ("si.topic", topic), ("si.sentiment", tone), ("i.source", source),
                              ("i.channel", channel)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if since_day:
            clauses.append("i.day >= ?")
            params.append(since_day)
        if until_day:
            clauses.append("i.day <= ?")
            params.append(until_day)
        if after_id is not None:   # a watch query: only items stored after the last one it counted
            clauses.append("i.id > ?")
            params.append(after_id)
        if units is not None:
            public = "i.org_unit IS NULL OR " if include_public else ""
            clauses.append(f"({public}i.org_unit IN ({','.join('?' * len(units))}))")
            params.extend(units)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        joins = f"{source_sql} LEFT JOIN stream_items si ON si.item_id = i.id"
        total = self.db.execute(f"SELECT COUNT(*) FROM {joins}{where}", params).fetchone()[0]
        order_sql = ("score, i.published_at DESC, i.id DESC" if order == "relevance" and match
                     else "i.published_at DESC, i.id DESC")
        rows = list(self.db.query(
            f"SELECT i.id, i.url, i.kind, i.title, i.text, i.source, i.org_unit, i.channel, i.author, i.published_at,"
            f" i.day, si.stream_id, si.topic, si.sentiment, {rank} AS score FROM {joins}{where}"
            f" ORDER BY {order_sql} LIMIT ? OFFSET ?", [*params, limit, offset]))
        return total, rows

    def save_search(self, user_id: int, name: str, params: dict[str, str]) -> int:
        """Save (or, under the same name, replace) one of a user's searches; returns its id."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO saved_searches (user_id, name, params, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (user_id, name) DO UPDATE SET params = excluded.params, created_at = excluded.created_at",
                [user_id, name, json.dumps(params, ensure_ascii=False), utcnow()])
            return self.db.execute("SELECT id FROM saved_searches WHERE user_id = ? AND name = ?",
                                   [user_id, name]).fetchone()[0]

    def saved_searches(self, user_id: int) -> list[dict]:
        rows = list(self.db.query("SELECT * FROM saved_searches WHERE user_id = ? ORDER BY name", [user_id]))
        for row in rows:
            row["params"] = json.loads(row["params"])
        return rows

    def delete_saved_search(self, user_id: int, search_id: int) -> bool:
        """Delete one of the user's saved searches; False when it is not theirs (or not there)."""
        with self.transaction():
            cur = self.db.execute("DELETE FROM saved_searches WHERE id = ? AND user_id = ?", [search_id, user_id])
        return cur.rowcount == 1

    def item_channels(self) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT channel FROM items WHERE channel IS NOT NULL AND channel != '' ORDER BY channel")]

    # --- annotations -----------------------------------------------------------------------------
    def add_annotations(self, rows: list[dict[str, Any]]) -> None:
        now = utcnow()
        with self.transaction():
            for r in rows:
                self.db.execute(
                    "INSERT OR REPLACE INTO annotations (item_id, model_version, topic, topic_score, news_topic,"
                    " sentiment, sentiment_score, toxicity, keyphrases, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [r["item_id"], r["model_version"], r["topic"], r["topic_score"], r.get("news_topic"),
                     r["sentiment"], r["sentiment_score"], r.get("toxicity"),
                     json.dumps(r.get("keyphrases") or [], ensure_ascii=False), now],
                )

    def annotation(self, item_id: int, model_version: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM annotations WHERE item_id = ? AND model_version = ?",
                                  [item_id, model_version]))
        if not rows:
            return None
        rows[0]["keyphrases"] = json.loads(rows[0]["keyphrases"])
        return rows[0]

    # --- streams ---------------------------------------------------------------------------------
    def is_placed(self, item_id: int) -> bool:
        return self.db.execute("SELECT 1 FROM stream_items WHERE item_id = ?", [item_id]).fetchone() is not None

    def active_streams(self, since: str) -> list[dict]:
        """Active streams seen since a UTC time, with their centroids."""
        rows = list(self.db.query(
            "SELECT id, topic, label, first_seen, last_seen, size, centroid, topic_counts, phrase_counts FROM streams"
            " WHERE status = 'active' AND last_seen >= ?", [since]))
        for row in rows:
            row["centroid"] = json.loads(row["centroid"])
        return rows

    def create_stream(self, topic: str, seen_at: str) -> int:
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO streams (topic, first_seen, last_seen, created_at) VALUES (?, ?, ?, ?)",
                [topic, seen_at, seen_at, utcnow()])
        return cur.lastrowid

    def place_item(self, item_id: int, stream_id: int, story_id: int, day: str, topic: str, sentiment: str,
                   source: str, org_unit: str | None, kind: str) -> bool:
        """Put an item in a stream with the facts the detectors count; an item is placed once."""
        with self.transaction():
            cur = self.db.execute(
                "INSERT OR IGNORE INTO stream_items (item_id, stream_id, story_id, day, topic, sentiment, source,"
                " org_unit, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [item_id, stream_id, story_id, day, topic, sentiment, source or "", org_unit, kind])
        return cur.rowcount == 1

    def place_items(self, rows: list[tuple]) -> None:
        """Bulk form of `place_item`: (item_id, stream_id, story_id, day, topic, sentiment, source, org_unit, kind)."""
        with self.transaction():
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO stream_items (item_id, stream_id, story_id, day, topic, sentiment, source,"
                " org_unit, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def update_streams(self, rows: list[tuple]) -> None:
        """Write streams as the placer keeps them: (topic, label, first_seen, last_seen, centroid, size,
        topic_counts, phrase_counts, id), the dicts as JSON."""
        with self.transaction():
            self.db.conn.executemany(
                "UPDATE streams SET topic = ?, label = ?, first_seen = ?, last_seen = ?, centroid = ?, size = ?,"
                " topic_counts = ?, phrase_counts = ? WHERE id = ?",
                [(topic, label, first, last, json.dumps(centroid, ensure_ascii=False), size,
                  json.dumps(topics, ensure_ascii=False), json.dumps(phrases, ensure_ascii=False), sid)
                 for topic, label, first, last, centroid, size, topics, phrases, sid in rows])

    def streams_topic_counts(self, stream_ids: list[int]) -> dict[int, dict[str, int]]:
        """Items per topic of each given stream (every stream asked for is in the answer)."""
        out: dict[int, dict[str, int]] = {sid: {} for sid in stream_ids}
        for i in range(0, len(stream_ids), 500):
            chunk = stream_ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for sid, topic, n in self.db.execute(
                    f"SELECT stream_id, topic, COUNT(*) FROM stream_items WHERE stream_id IN ({marks})"
                    " GROUP BY stream_id, topic", chunk).fetchall():
                out[sid][topic] = n
        return out

    def merge_stream(self, source_id: int, target_id: int) -> None:
        """Move every item of one stream into another; the emptied stream points at the one it joined."""
        with self.transaction():
            self.db.execute("UPDATE stream_items SET stream_id = ? WHERE stream_id = ?", [target_id, source_id])
            self.db.execute("UPDATE streams SET status = 'merged', merged_into = ?, size = 0 WHERE id = ?",
                            [target_id, source_id])
            self.db.execute("UPDATE streams SET size = (SELECT COUNT(*) FROM stream_items WHERE stream_id = ?)"
                            " WHERE id = ?", [target_id, target_id])

    def close_quiet_streams(self, before: str) -> int:
        with self.transaction():
            cur = self.db.execute("UPDATE streams SET status = 'closed' WHERE status = 'active' AND last_seen < ?",
                                  [before])
        return cur.rowcount

    def resolve_stream(self, stream_id: int) -> int:
        """The stream an id now lives in (following merges), so an old link still finds its stream."""
        seen = set()
        while stream_id not in seen:
            seen.add(stream_id)
            row = self.db.execute("SELECT merged_into FROM streams WHERE id = ?", [stream_id]).fetchone()
            if not row or row[0] is None:
                return stream_id
            stream_id = row[0]
        return stream_id

    def stream(self, stream_id: int) -> dict | None:
        rows = list(self.db.query("SELECT * FROM streams WHERE id = ?", [stream_id]))
        if not rows:
            return None
        rows[0]["centroid"] = json.loads(rows[0]["centroid"])
        return rows[0]

    def stream_of_item(self, item_id: int) -> int | None:
        row = self.db.execute("SELECT stream_id FROM stream_items WHERE item_id = ?", [item_id]).fetchone()
        return row[0] if row else None

    def stream_recent_item_ids(self, stream_id: int, limit: int) -> list[int]:
        """The ids of a stream's latest items (newest placed first)."""
        return [r[0] for r in self.db.execute(
            "SELECT item_id FROM stream_items WHERE stream_id = ? ORDER BY item_id DESC LIMIT ?",
            [stream_id, limit]).fetchall()]

    def item_facts(self, item_ids: list[int]) -> list[dict]:
        """The placed facts of given items (any stream)."""
        out = []
        for i in range(0, len(item_ids), 500):
            chunk = item_ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            out.extend(self.db.query(
                "SELECT si.*, i.title, i.url, i.published_at FROM stream_items si JOIN items i ON i.id = si.item_id"
                f" WHERE si.item_id IN ({marks})", chunk))
        return out

    def stream_item_ids(self, stream_id: int, day: str | None = None) -> list[int]:
        sql = "SELECT si.item_id FROM stream_items si JOIN items i ON i.id = si.item_id WHERE si.stream_id = ?"
        params: list[Any] = [stream_id]
        if day:
            sql += " AND si.day = ?"
            params.append(day)
        return [r[0] for r in self.db.execute(sql + " ORDER BY i.published_at, i.id", params).fetchall()]

    def recent_simhashes(self, since: str) -> list[tuple[int, int, int]]:
        """(item id, simhash, story id) of placed items published since a UTC time."""
        rows = self.db.execute(
            "SELECT i.id, i.simhash, si.story_id FROM items i JOIN stream_items si ON si.item_id = i.id"
            " WHERE i.published_at >= ? AND i.simhash IS NOT NULL", [since]).fetchall()
        return [(r[0], int(r[1], 16), r[2]) for r in rows]

    def set_simhash(self, item_id: int, value: int) -> None:
        with self.transaction():
            self.db.execute("UPDATE items SET simhash = ? WHERE id = ?", [f"{value:016x}", item_id])

    def term_document_frequencies(self, terms: Iterable[str]) -> dict[str, int]:
        terms = list(set(terms))
        out: dict[str, int] = {}
        for i in range(0, len(terms), 500):
            chunk = terms[i:i + 500]
            marks = ",".join("?" * len(chunk))
            out.update(self.db.execute(f"SELECT term, df FROM term_df WHERE term IN ({marks})", chunk).fetchall())
        return out

    def add_term_document_frequencies(self, counts: dict[str, int]) -> None:
        with self.transaction():
            self.db.conn.executemany(
                "INSERT INTO term_df (term, df) VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = df + excluded.df",
                list(counts.items()))

    def placement_token(self) -> str | None:
        """The token the last placement batch left, or None when anything changed streams since."""
        row = self.db.execute("SELECT token FROM placement_state WHERE id = 1").fetchone()
        return row[0] if row else None

    def set_placement_token(self, token: str) -> None:
        with self.transaction():
            self.db.execute("UPDATE placement_state SET token = ? WHERE id = 1", [token])

    def placed_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM stream_items").fetchone()[0]

    # --- placement in batches: one query per batch, not per item (issue 12.7) ---------------------
    def placed_item_ids(self, item_ids: list[int]) -> set[int]:
        """Those of the given items that are already in a stream."""
        out: set[int] = set()
        for i in range(0, len(item_ids), 500):
            chunk = item_ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            out.update(r[0] for r in self.db.execute(
                f"SELECT item_id FROM stream_items WHERE item_id IN ({marks})", chunk).fetchall())
        return out

    def streams_of_items(self, item_ids: list[int]) -> dict[int, int]:
        """item id → the stream it lives in now (merges followed); items not placed are left out."""
        placed: dict[int, int] = {}
        for i in range(0, len(item_ids), 500):
            chunk = item_ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            placed.update(self.db.execute(
                f"SELECT item_id, stream_id FROM stream_items WHERE item_id IN ({marks})", chunk).fetchall())
        merged: dict[int, int | None] = {}
        todo = set(placed.values())
        while todo:
            ids = list(todo)
            todo = set()
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                marks = ",".join("?" * len(chunk))
                for sid, into in self.db.execute(
                        f"SELECT id, merged_into FROM streams WHERE id IN ({marks})", chunk).fetchall():
                    merged[sid] = into
                    if into is not None and into not in merged:
                        todo.add(into)

        def resolve(sid: int) -> int:
            seen = set()
            while merged.get(sid) is not None and sid not in seen:
                seen.add(sid)
                sid = merged[sid]
            return sid

        return {item_id: resolve(sid) for item_id, sid in placed.items()}

    def recent_signatures(self, since: str) -> list[tuple[int, int, int, int, str]]:
        """(item id, simhash, story id, stream id, published_at) of placed items published since a UTC time."""
        rows = self.db.execute(
            "SELECT i.id, i.simhash, si.story_id, si.stream_id, i.published_at FROM items i"
            " JOIN stream_items si ON si.item_id = i.id"
            " WHERE i.published_at >= ? AND i.simhash IS NOT NULL ORDER BY i.published_at, i.id", [since]).fetchall()
        return [(r[0], int(r[1], 16), r[2], r[3], r[4]) for r in rows]

    def set_simhashes(self, rows: list[tuple[int, int]]) -> None:
        """Bulk form of `set_simhash`: (item id, signature)."""
        with self.transaction():
            self.db.conn.executemany("UPDATE items SET simhash = ? WHERE id = ?",
                                     [(f"{value:016x}", item_id) for item_id, value in rows])

    # --- what the detectors count ------------------------------------------------------------------
    def day_totals(self, since_day: str, until_day: str) -> dict[str, int]:
        """Items placed per local day."""
        rows = self.db.execute(
            "SELECT day, COUNT(*) FROM stream_items WHERE day >= ? AND day <= ? GROUP BY day",
            [since_day, until_day]).fetchall()
        return dict(rows)

    def topic_day_counts(self, since_day: str, until_day: str) -> list[dict]:
        """(topic, day, n, negative) between two local days inclusive."""
        return list(self.db.query(
            "SELECT topic, day, COUNT(*) AS n, SUM(sentiment = 'negative') AS negative FROM stream_items"
            " WHERE day >= ? AND day <= ? GROUP BY topic, day", [since_day, until_day]))

    def stream_day_counts(self, streams_seen_since: str, since_day: str, until_day: str) -> list[dict]:
        """(stream, day, n, negative, stories) for the streams with an item on or after `streams_seen_since`."""
        return list(self.db.query(
            "SELECT stream_id, day, COUNT(*) AS n, SUM(sentiment = 'negative') AS negative,"
            " COUNT(DISTINCT story_id) AS stories FROM stream_items"
            " WHERE day >= ? AND day <= ? AND stream_id IN"
            " (SELECT DISTINCT stream_id FROM stream_items WHERE day >= ? AND day <= ?)"
            " GROUP BY stream_id, day", [since_day, until_day, streams_seen_since, until_day]))

    def stream_window_facts(self, stream_id: int, since_day: str, until_day: str) -> list[dict]:
        """Every placed item of a stream between two days: source, unit, kind, story, sentiment."""
        return list(self.db.query(
            "SELECT si.item_id, si.story_id, si.day, si.source, si.org_unit, si.kind, si.sentiment, si.topic"
            " FROM stream_items si WHERE si.stream_id = ? AND si.day >= ? AND si.day <= ?",
            [stream_id, since_day, until_day]))

    def observation_facts(self, since_day: str, until_day: str) -> list[dict]:
        """Collaborators' observations placed in streams between two days: stream, day, unit, item."""
        return list(self.db.query(
            "SELECT stream_id, day, org_unit, item_id FROM stream_items WHERE kind = 'observation'"
            " AND org_unit IS NOT NULL AND day >= ? AND day <= ?", [since_day, until_day]))

    def topic_items(self, topic: str, day: str, limit: int = 200) -> list[int]:
        return [r[0] for r in self.db.execute(
            "SELECT item_id FROM stream_items WHERE topic = ? AND day = ? ORDER BY item_id LIMIT ?",
            [topic, day, limit]).fetchall()]

    def items_matching(self, folded_phrase: str, since_day: str, until_day: str, limit: int = 500) -> list[dict]:
        """Placed items of the days whose folded text holds the phrase (a watch term), with their facts."""
        words = re.findall(r"\w+", folded_phrase)
        if not words:
            return []
        match = '"' + " ".join(words) + '"'
        return list(self.db.query(
            "SELECT si.* FROM items_fts f JOIN stream_items si ON si.item_id = f.rowid"
            " WHERE items_fts MATCH ? AND si.day >= ? AND si.day <= ? ORDER BY si.item_id LIMIT ?",
            [match, since_day, until_day, limit]))

    def item_keyphrases_any(self, item_ids: list[int]) -> list[list[str]]:
        """The keyphrases of each item's latest annotation."""
        if not item_ids:
            return []
        marks = ",".join("?" * len(item_ids))
        rows = self.db.execute(
            f"SELECT keyphrases FROM annotations WHERE id IN (SELECT MAX(id) FROM annotations"
            f" WHERE item_id IN ({marks}) GROUP BY item_id)", item_ids,
        ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def source_outages(self, since: str, until: str) -> list[dict]:
        """Per source and local day: runs that day and how many failed (for source health and outage days)."""
        return list(self.db.query(
            # the zone's offset at the range's start (exact for zones without daylight saving, like Vietnam's)
            "SELECT source, date(started_at, ?) AS day, COUNT(*) AS runs, SUM(ok = 0) AS failed FROM runs"
            " WHERE started_at >= ? AND started_at < ? GROUP BY source, day", [sql_day_modifier(since), since, until]))

    # --- watch terms -------------------------------------------------------------------------------
    def add_watch_term(self, term: str, created_by: str | None = None) -> bool:
        with self.transaction():
            cur = self.db.execute(
                "INSERT OR IGNORE INTO watch_terms (term, folded, created_by, created_at) VALUES (?, ?, ?, ?)",
                [term.strip(), fold(term).strip(), created_by, utcnow()])
        return cur.rowcount == 1

    def remove_watch_term(self, term_id: int) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM watch_terms WHERE id = ?", [term_id])

    def watch_terms(self) -> list[dict]:
        return list(self.db.query("SELECT * FROM watch_terms ORDER BY term"))

    def watch_term(self, term_id: int) -> dict | None:
        rows = list(self.db.query("SELECT * FROM watch_terms WHERE id = ?", [term_id]))
        return rows[0] if rows else None

    def set_watch_term_excluded(self, term_id: int, contexts: str) -> bool:
        """Replace a watch term's excluded contexts (comma-separated phrases); False when there is no such term."""
        with self.transaction():
            cur = self.db.execute("UPDATE watch_terms SET excluded_contexts = ? WHERE id = ?", [contexts, term_id])
        return cur.rowcount == 1

    def watch_candidates(self, folded_words: list[str], since_day: str, until_day: str,
                         limit: int = 5000) -> list[dict]:
        """Items of the days whose folded text holds these words in a row (FTS), with their text, stream facts and
        relevance: candidates that service/watch.py then checks exactly."""
        if not folded_words:
            return []
        match = '"' + " ".join(w.replace('"', "") for w in folded_words) + '"'
        return list(self.db.query(
            "SELECT i.id AS item_id, i.title, i.text, i.day, i.kind, i.source, i.org_unit, si.stream_id, si.topic,"
            " r.workers, r.excluded"
            " FROM items_fts f JOIN items i ON i.id = f.rowid LEFT JOIN stream_items si ON si.item_id = i.id"
            " LEFT JOIN item_relevance r ON r.item_id = i.id"
            " WHERE items_fts MATCH ? AND i.day >= ? AND i.day <= ? ORDER BY i.day, i.id LIMIT ?",
            [match, since_day, until_day, limit]))

    # --- relevance (nlp/relevance.py, service/relevance.py) ----------------------------------------
    def add_relevance(self, rows: list[dict[str, Any]]) -> None:
        """Store (or replace) items' relevance: item_id, workers, local, excluded, places, reasons."""
        with self.transaction():
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO item_relevance (item_id, workers, local, excluded, places, reasons)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(r["item_id"], float(r["workers"]), float(r["local"]), r.get("excluded"),
                  json.dumps(list(r.get("places") or []), ensure_ascii=False),
                  json.dumps(list(r.get("reasons") or []), ensure_ascii=False)) for r in rows])

    def relevance_of(self, item_ids: list[int]) -> dict[int, dict]:
        """Item id → {workers, local, excluded, places, reasons} for the items that have it."""
        out: dict[int, dict] = {}
        ids = list(dict.fromkeys(item_ids))
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.db.query(f"SELECT * FROM item_relevance WHERE item_id IN ({marks})", chunk):
                r["places"] = json.loads(r["places"] or "[]")
                r["reasons"] = json.loads(r["reasons"] or "[]")
                out[r.pop("item_id")] = r
        return out

    def items_lacking_relevance(self, after_id: int = 0, limit: int = 500) -> list[dict]:
        """Annotated items with no relevance yet (processed before relevance existed), oldest first, with the
        facts relevance reads: title, text, kind, source, unit, and the latest annotation's topic and news topic."""
        return list(self.db.query(
            "SELECT i.id, i.title, i.text, i.kind, i.source, i.org_unit, a.topic, a.news_topic FROM items i"
            " JOIN annotations a ON a.id = (SELECT MAX(a2.id) FROM annotations a2 WHERE a2.item_id = i.id)"
            " WHERE i.id > ? AND NOT EXISTS (SELECT 1 FROM item_relevance r WHERE r.item_id = i.id)"
            " ORDER BY i.id LIMIT ?", [after_id, limit]))

    def count_relevance(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM item_relevance").fetchone()[0]

    def count_lacking_relevance(self) -> int:
        return self.db.execute(
            "SELECT COUNT(*) FROM items i WHERE EXISTS (SELECT 1 FROM annotations a WHERE a.item_id = i.id)"
            " AND NOT EXISTS (SELECT 1 FROM item_relevance r WHERE r.item_id = i.id)").fetchone()[0]

    # --- what is left to process (the process_queue table, filled by a trigger on items) -----------------
    def items_to_process(self, batch_size: int = 256) -> Iterator[list[dict]]:
        """Batches of queued items, oldest first; each leaves the queue when `mark_processed` is called for it."""
        last_id = 0
        while True:
            rows = list(self.db.query(
                "SELECT i.id, i.title, i.text, i.published_at, i.day, i.source, i.org_unit, i.kind"
                " FROM process_queue q JOIN items i ON i.id = q.item_id WHERE q.item_id > ? ORDER BY q.item_id LIMIT ?",
                [last_id, batch_size]))
            if not rows:
                return
            yield rows
            last_id = rows[-1]["id"]

    def count_to_process(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM process_queue").fetchone()[0]

    def mark_processed(self, item_ids: list[int]) -> None:
        with self.transaction():
            self.db.conn.executemany("DELETE FROM process_queue WHERE item_id = ?", [(i,) for i in item_ids])

    def queue_for_processing(self, item_ids: list[int]) -> None:
        """Put items back in the queue (annotated and placed again at the next run)."""
        with self.transaction():
            self.db.conn.executemany("INSERT OR IGNORE INTO process_queue (item_id) VALUES (?)",
                                     [(i,) for i in item_ids])

    def has_relevance_gaps(self) -> bool:
        """Whether some item lost its relevance or never had it (an index read, not a scan)."""
        return self.db.execute("SELECT 1 FROM relevance_gaps LIMIT 1").fetchone() is not None

    def clear_relevance_gaps(self) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM relevance_gaps")

    # --- flags -----------------------------------------------------------------------------------
    def upsert_flag(self, flag: dict[str, Any]) -> int:
        """Store a flag under its key; detecting the same thing again updates it, never duplicates it."""
        now = utcnow()
        values = [flag["kind"], flag.get("stream_id"), flag.get("topic"), flag["score"], flag["window_start"],
                  flag["window_end"], flag["count"], flag["baseline"], flag["reason"],
                  json.dumps(flag.get("keyphrases", []), ensure_ascii=False), json.dumps(flag.get("item_ids", [])),
                  json.dumps(flag.get("evidence", {}), ensure_ascii=False), int(bool(flag.get("degraded")))]
        with self.transaction():
            self.db.execute(
                "INSERT INTO flags (key, kind, stream_id, topic, score, window_start, window_end, count, baseline,"
                " reason, keyphrases, item_ids, evidence, degraded, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET kind = excluded.kind, stream_id = excluded.stream_id,"
                " topic = excluded.topic, score = excluded.score, window_start = excluded.window_start,"
                " window_end = excluded.window_end, count = excluded.count, baseline = excluded.baseline,"
                " reason = excluded.reason, keyphrases = excluded.keyphrases, item_ids = excluded.item_ids,"
                " evidence = excluded.evidence, degraded = excluded.degraded, updated_at = excluded.updated_at",
                [flag["key"], *values, now, now],
            )
            return self.db.execute("SELECT id FROM flags WHERE key = ?", [flag["key"]]).fetchone()[0]

    def flags(self, status: str | None = None, since: str | None = None, until: str | None = None) -> list[dict]:
        """Flags, highest score first; `since`/`until` bound the window end (ISO strings)."""
        clauses, params = [], []
        if status:
            clauses.append("status = ?")
            params.append(status)
        if since:
            clauses.append("window_end >= ?")
            params.append(since)
        if until:
            clauses.append("window_start <= ?")
            params.append(until)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = list(self.db.query(f"SELECT * FROM flags{where} ORDER BY severity DESC, score DESC, id", params))
        for row in rows:
            _decode_flag(row)
        return rows

    def flag(self, flag_id: int) -> dict | None:
        rows = list(self.db.query("SELECT * FROM flags WHERE id = ?", [flag_id]))
        return _decode_flag(rows[0]) if rows else None

    def count_flags(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM flags").fetchone()[0]

    # --- events and living flags (service/events.py, service/trends.py) ---------------------------------
    def placed_texts(self, since_day: str, until_day: str) -> list[dict]:
        """Placed items of local days with what event detection reads: title, start of the text, facts."""
        return list(self.db.query(
            "SELECT si.item_id, si.day, si.story_id, si.stream_id, si.source, si.kind, si.org_unit, si.sentiment,"
            " si.topic, i.title, substr(i.text, 1, 400) AS text, i.published_at FROM stream_items si"
            " JOIN items i ON i.id = si.item_id WHERE si.day >= ? AND si.day <= ? ORDER BY si.day, si.item_id",
            [since_day, until_day]))

    def term_days(self, since_day: str, until_day: str, version: int = 1) -> dict[str, int]:
        """Days whose term counts are stored by this version of the term extractor, with the number of items they
        were counted over."""
        return dict(self.db.execute("SELECT day, items FROM term_days WHERE day >= ? AND day <= ? AND version = ?",
                                    [since_day, until_day, version]).fetchall())

    def save_term_day(self, day: str, items: int, counts: dict[str, int], version: int = 1) -> None:
        """Replace a day's term document frequencies (terms in at least two items; rarer ones cannot make a burst)."""
        with self.transaction():
            self.db.execute("DELETE FROM term_day_df WHERE day = ?", [day])
            self.db.conn.executemany("INSERT INTO term_day_df (term, day, df) VALUES (?, ?, ?)",
                                     [(t, day, n) for t, n in counts.items() if n >= 2])
            self.db.execute("INSERT OR REPLACE INTO term_days (day, items, version, computed_at) VALUES (?, ?, ?, ?)",
                            [day, items, version, utcnow()])

    def term_df_sums(self, terms: list[str], days: list[str]) -> dict[str, int]:
        """Each term's document frequency summed over the given days."""
        out: dict[str, int] = {}
        if not terms or not days:
            return out
        day_marks = ",".join("?" * len(days))
        for i in range(0, len(terms), 400):
            chunk = terms[i:i + 400]
            marks = ",".join("?" * len(chunk))
            for term, n in self.db.execute(
                    f"SELECT term, SUM(df) FROM term_day_df WHERE term IN ({marks}) AND day IN ({day_marks})"
                    " GROUP BY term", [*chunk, *days]).fetchall():
                out[term] = n
        return out

    def events_between(self, since_day: str, until_day: str) -> list[dict]:
        """Events whose life (first to last day) touches the days, with their terms."""
        rows = list(self.db.query("SELECT * FROM events WHERE last_day >= ? AND first_day <= ? ORDER BY id",
                                  [since_day, until_day]))
        for row in rows:
            row["terms"] = json.loads(row["terms"])
        return rows

    def event(self, event_id: int) -> dict | None:
        rows = list(self.db.query("SELECT * FROM events WHERE id = ?", [event_id]))
        if not rows:
            return None
        rows[0]["terms"] = json.loads(rows[0]["terms"])
        return rows[0]

    def save_event(self, event_id: int | None, *, first_day: str, last_day: str, terms: dict[str, float],
                   title: str, items: list[tuple[int, str]]) -> int:
        """Create or update an event and add its (item, day) members, in one transaction; returns its id."""
        now = utcnow()
        terms_json = json.dumps(terms, ensure_ascii=False)
        with self.transaction():
            if event_id is None:
                event_id = self.db.execute(
                    "INSERT INTO events (first_day, last_day, terms, title, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)", [first_day, last_day, terms_json, title, now, now]).lastrowid
            else:
                self.db.execute("UPDATE events SET first_day = ?, last_day = ?, terms = ?, title = ?, updated_at = ?"
                                " WHERE id = ?", [first_day, last_day, terms_json, title, now, event_id])
            self.db.conn.executemany("INSERT OR IGNORE INTO event_items (event_id, item_id, day) VALUES (?, ?, ?)",
                                     [(event_id, item_id, day) for item_id, day in items])
            self.db.execute("UPDATE events SET size = (SELECT COUNT(*) FROM event_items WHERE event_id = ?)"
                            " WHERE id = ?", [event_id, event_id])
        return event_id

    def event_items(self, event_id: int) -> list[dict]:
        """An event's members with their facts, oldest first."""
        return list(self.db.query(
            "SELECT ei.item_id, ei.day, si.story_id, si.stream_id, si.source, si.kind, si.org_unit, si.sentiment,"
            " si.topic FROM event_items ei JOIN stream_items si ON si.item_id = ei.item_id WHERE ei.event_id = ?"
            " ORDER BY ei.day, ei.item_id", [event_id]))

    def events_of_items(self, item_ids: list[int]) -> dict[int, int]:
        """item id → the (latest) event holding it."""
        out: dict[int, int] = {}
        for i in range(0, len(item_ids), 500):
            chunk = item_ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for item_id, event_id in self.db.execute(
                    f"SELECT item_id, MAX(event_id) FROM event_items WHERE item_id IN ({marks}) GROUP BY item_id",
                    chunk).fetchall():
                out[item_id] = event_id
        return out

    def event_streams(self, event_id: int) -> list[dict]:
        """The streams an event's items sit in, largest share first."""
        return list(self.db.query(
            "SELECT si.stream_id, s.label, COUNT(*) AS n FROM event_items ei JOIN stream_items si"
            " ON si.item_id = ei.item_id LEFT JOIN streams s ON s.id = si.stream_id WHERE ei.event_id = ?"
            " GROUP BY si.stream_id ORDER BY n DESC, si.stream_id", [event_id]))

    def stream_events(self, stream_id: int) -> list[dict]:
        """The events a stream's items belong to."""
        return list(self.db.query(
            "SELECT e.id, e.title, e.first_day, e.last_day, COUNT(*) AS n FROM stream_items si JOIN event_items ei"
            " ON ei.item_id = si.item_id JOIN events e ON e.id = ei.event_id WHERE si.stream_id = ?"
            " GROUP BY e.id ORDER BY n DESC, e.id", [stream_id]))

    def latest_topic_flag(self, topic: str) -> dict | None:
        """The most recent living flag of a topic's run of days (key `topic:<code>:<first day>`)."""
        rows = list(self.db.query("SELECT * FROM flags WHERE key LIKE ? ORDER BY window_end DESC, id DESC LIMIT 1",
                                  [f"topic:{topic}:%"]))
        return _decode_flag(rows[0]) if rows else None

    def flag_by_key(self, key: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM flags WHERE key = ?", [key]))
        return _decode_flag(rows[0]) if rows else None

    def save_story_flag(self, flag: dict[str, Any], reopen_factor: float = 1.5) -> tuple[int, bool]:
        """Create or update a story's one living flag; returns (id, whether it is new or reopened).

        A dismissed flag stays dismissed while the story stays below `reopen_factor` × its size when dismissed; past
        that it opens again. Confirmed and escalated flags keep their status.
        """
        now = utcnow()
        cols = ("kind", "stream_id", "topic", "score", "window_start", "window_end", "count", "baseline", "reason",
                "keyphrases", "item_ids", "evidence", "degraded", "severity", "title", "event_id")
        values = [flag["kind"], flag.get("stream_id"), flag.get("topic"), flag["score"], flag["window_start"],
                  flag["window_end"], flag["count"], flag["baseline"], flag["reason"],
                  json.dumps(flag.get("keyphrases", []), ensure_ascii=False), json.dumps(flag.get("item_ids", [])),
                  json.dumps(flag.get("evidence", {}), ensure_ascii=False), int(bool(flag.get("degraded"))),
                  float(flag.get("severity") or 0.0), flag.get("title") or "", flag.get("event_id")]
        with self.transaction():
            row = self.db.execute("SELECT id, status, dismissed_count FROM flags WHERE key = ?",
                                  [flag["key"]]).fetchone()
            if row is None:
                cur = self.db.execute(
                    f"INSERT INTO flags (key, {', '.join(cols)}, created_at, updated_at)"
                    f" VALUES (?, {', '.join('?' * len(cols))}, ?, ?)", [flag["key"], *values, now, now])
                return cur.lastrowid, True
            flag_id, status, dismissed_count = row
            sets = ", ".join(f"{c} = ?" for c in cols)
            self.db.execute(f"UPDATE flags SET {sets}, updated_at = ? WHERE id = ?", [*values, now, flag_id])
            reopened = (status == "dismissed" and dismissed_count is not None
                        and flag["count"] >= max(dismissed_count * reopen_factor, dismissed_count + 3))
            if reopened:
                self.db.execute("UPDATE flags SET status = 'open', dismissed_count = NULL WHERE id = ?", [flag_id])
                self.db.execute("INSERT INTO flag_events (flag_id, username, action, note, at) VALUES (?, ?, ?, ?, ?)",
                                [flag_id, "pulse", "reopen",
                                 f"Câu chuyện tăng trở lại: {flag['count']} tin (khi bác bỏ: {dismissed_count}).", now])
            return flag_id, reopened

    # --- briefings and reports ------------------------------------------------------------------------
    def item_counts(self, since_day: str, until_day: str, units: list[str] | None = None,
                    include_public: bool = False) -> list[dict]:
        """Items per (day, kind, channel) between two local days, optionally only those of some org units (and,
        with `include_public`, the items of no unit: the press)."""
        sql = ("SELECT day, kind, COALESCE(channel, '') AS channel, COUNT(*) AS n FROM items"
               " WHERE day >= ? AND day <= ?")
        params: list[Any] = [since_day, until_day]
        if units is not None:
            public = "org_unit IS NULL OR " if include_public else ""
            sql += f" AND ({public}org_unit IN ({','.join('?' * len(units))}))"
            params.extend(units)
        return list(self.db.query(sql + " GROUP BY day, kind, channel", params))

    def topic_sentiment_counts(self, since_day: str, until_day: str) -> list[dict]:
        return list(self.db.query(
            "SELECT topic, sentiment, COUNT(*) AS n FROM stream_items WHERE day >= ? AND day <= ?"
            " GROUP BY topic, sentiment", [since_day, until_day]))

    def flags_ending(self, start: str, end: str) -> list[dict]:
        """Flags whose window ends within (start, end], highest score first."""
        rows = list(self.db.query(
            "SELECT * FROM flags WHERE window_end > ? AND window_end <= ? ORDER BY severity DESC, score DESC, id",
            [start, end]))
        return [_decode_flag(r) for r in rows]

    def flags_decided(self, start: str, end: str, statuses: tuple[str, ...] = ("confirmed", "escalated")) -> list[dict]:
        """Flags in a decided status whose window ends within (start, end]."""
        marks = ",".join("?" * len(statuses))
        rows = list(self.db.query(
            f"SELECT * FROM flags WHERE status IN ({marks}) AND window_end > ? AND window_end <= ?"
            " ORDER BY severity DESC, score DESC, id", [*statuses, start, end]))
        return [_decode_flag(r) for r in rows]

    def flags_touching_units(self, units: list[str], start: str, end: str) -> list[dict]:
        """Flags of a period whose items include observations from the given org units."""
        if not units:
            return []
        marks = ",".join("?" * len(units))
        rows = list(self.db.query(
            "SELECT DISTINCT f.* FROM flags f, json_each(f.item_ids) j JOIN stream_items si ON si.item_id = j.value"
            f" WHERE si.org_unit IN ({marks}) AND f.window_end > ? AND f.window_start < ?"
            " ORDER BY f.severity DESC, f.score DESC, f.id", [*units, start, end]))
        return [_decode_flag(r) for r in rows]

    def collaborator_activity(self, units: list[str], start: str, end: str) -> list[dict]:
        """Each collaborator of the units with the number of submissions in [start, end)."""
        if not units:
            return []
        marks = ",".join("?" * len(units))
        return list(self.db.query(
            "SELECT u.username, o.code AS unit, o.name AS unit_name,"
            " (SELECT COUNT(*) FROM submissions s WHERE s.user_id = u.id AND s.created_at >= ? AND s.created_at < ?)"
            " AS submissions FROM users u LEFT JOIN org_units o ON o.id = u.org_unit_id"
            f" WHERE u.role = 'collaborator' AND o.code IN ({marks}) ORDER BY submissions DESC, u.username",
            [start, end, *units]))

    def org_unit(self, code: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM org_units WHERE code = ?", [code]))
        return rows[0] if rows else None

    def save_briefing(self, day: str, html: str, data: dict) -> int:
        """Store a day's briefing; making it again replaces it."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO briefings (day, html, data, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(day) DO UPDATE"
                " SET html = excluded.html, data = excluded.data, created_at = excluded.created_at",
                [day, html, json.dumps(data, ensure_ascii=False, default=str), utcnow()])
        return self.db.execute("SELECT id FROM briefings WHERE day = ?", [day]).fetchone()[0]

    def briefing(self, day: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM briefings WHERE day = ?", [day]))
        if not rows:
            return None
        rows[0]["data"] = json.loads(rows[0]["data"])
        return rows[0]

    def briefing_days(self, limit: int = 400) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT day FROM briefings ORDER BY day DESC LIMIT ?", [limit])]

    # --- the units' monthly and annual reports (service/unitreports.py) --------------------------------------
    def unit_report(self, report_id: int) -> dict | None:
        rows = list(self.db.query("SELECT * FROM unit_reports WHERE id = ?", [report_id]))
        return _decode_report(rows[0]) if rows else None

    def unit_report_revisions(self, org_unit: str, period: str, first_day: str) -> list[dict]:
        """Every revision of a unit's report of a period, the newest first."""
        return [_decode_report(r) for r in self.db.query(
            "SELECT * FROM unit_reports WHERE org_unit = ? AND period = ? AND first_day = ? ORDER BY revision DESC",
            [org_unit, period, first_day])]

    def unit_reports_of_period(self, period: str, first_day: str, units: list[str]) -> list[dict]:
        """The revisions (without their data) of the given units' reports of one period, newest revision first."""
        if not units:
            return []
        marks = ",".join("?" * len(units))
        return list(self.db.query(
            "SELECT id, org_unit, period, first_day, revision, status, updated_at, updated_by, sent_at, sent_by,"
            f" received_at, received_by FROM unit_reports WHERE period = ? AND first_day = ? AND org_unit IN ({marks})"
            " ORDER BY org_unit, revision DESC", [period, first_day, *units]))

    def unit_reports_of(self, units: list[str], limit: int = 200) -> list[dict]:
        """The latest revision (without its data) of each report of the given units, the newest period first."""
        if not units:
            return []
        marks = ",".join("?" * len(units))
        return list(self.db.query(
            "SELECT r.id, r.org_unit, r.period, r.first_day, r.revision, r.status, r.updated_at, r.updated_by,"
            " r.sent_at, r.sent_by, r.received_at, r.received_by FROM unit_reports r"
            f" WHERE r.org_unit IN ({marks}) AND r.revision = (SELECT MAX(x.revision) FROM unit_reports x"
            " WHERE x.org_unit = r.org_unit AND x.period = r.period AND x.first_day = r.first_day)"
            " ORDER BY r.first_day DESC, r.period, r.org_unit LIMIT ?", [*units, limit]))

    def add_unit_report(self, org_unit: str, period: str, first_day: str, data: dict, narrative: dict,
                        username: str) -> int:
        """A new draft revision (the next number) of a unit's report."""
        now = utcnow()
        with self.transaction():
            revision = self.db.execute(
                "SELECT COALESCE(MAX(revision), 0) + 1 FROM unit_reports WHERE org_unit = ? AND period = ?"
                " AND first_day = ?", [org_unit, period, first_day]).fetchone()[0]
            cur = self.db.execute(
                "INSERT INTO unit_reports (org_unit, period, first_day, revision, status, data, narrative, created_at,"
                " created_by, updated_at, updated_by) VALUES (?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?)",
                [org_unit, period, first_day, revision, json.dumps(data, ensure_ascii=False, default=str),
                 json.dumps(narrative, ensure_ascii=False), now, username, now, username])
        return cur.lastrowid

    def update_unit_report_draft(self, report_id: int, narrative: dict, username: str,
                                 data: dict | None = None) -> bool:
        """Change a draft's words (and its computed part); False when it is no longer a draft."""
        sets, params = ["narrative = ?", "updated_at = ?", "updated_by = ?"], [
            json.dumps(narrative, ensure_ascii=False), utcnow(), username]
        if data is not None:
            sets.append("data = ?")
            params.append(json.dumps(data, ensure_ascii=False, default=str))
        with self.transaction():
            cur = self.db.execute(f"UPDATE unit_reports SET {', '.join(sets)} WHERE id = ? AND status = 'draft'",
                                  [*params, report_id])
        return cur.rowcount == 1

    def mark_unit_report(self, report_id: int, status: str, username: str) -> bool:
        """draft → sent, or sent → received, with who and when; False when the report is not in the step before."""
        before, column = {"sent": ("draft", "sent"), "received": ("sent", "received")}[status]
        with self.transaction():
            cur = self.db.execute(
                f"UPDATE unit_reports SET status = ?, {column}_at = ?, {column}_by = ? WHERE id = ? AND status = ?",
                [status, utcnow(), username, report_id, before])
        return cur.rowcount == 1

    # --- dialogues and field visits (service/dialogues.py) ---------------------------------------------
    def dialogue_exists(self, org_unit: str, held_on: str, kind: str, enterprise: str) -> int | None:
        row = self.db.execute("SELECT id FROM dialogues WHERE org_unit = ? AND held_on = ? AND kind = ?"
                              " AND enterprise = ?", [org_unit, held_on, kind, enterprise]).fetchone()
        return row[0] if row else None

    def add_dialogue(self, org_unit: str, held_on: str, kind: str, enterprise: str, place: str, participants: str,
                     username: str, points: list[dict]) -> int:
        """A dialogue and its points (question, answer, commitment, item_id), together."""
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO dialogues (org_unit, held_on, kind, enterprise, place, participants, created_by,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [org_unit, held_on, kind, enterprise, place, participants, username, utcnow()])
            dialogue_id = cur.lastrowid
            self.db.conn.executemany(
                "INSERT INTO dialogue_points (dialogue_id, position, question, answer, commitment, item_id)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(dialogue_id, n, p["question"], p.get("answer", ""), p.get("commitment", ""), p.get("item_id"))
                 for n, p in enumerate(points, start=1)])
        return dialogue_id

    def dialogue(self, dialogue_id: int) -> dict | None:
        rows = list(self.db.query("SELECT * FROM dialogues WHERE id = ?", [dialogue_id]))
        if not rows:
            return None
        rows[0]["points"] = list(self.db.query(
            "SELECT * FROM dialogue_points WHERE dialogue_id = ? ORDER BY position", [dialogue_id]))
        return rows[0]

    def dialogues(self, units: list[str], since_day: str | None = None, until_day: str | None = None,
                  limit: int = 200) -> list[dict]:
        """Dialogues of the units (between two local days, inclusive), newest first, each with its points."""
        if not units:
            return []
        marks = ",".join("?" * len(units))
        sql, params = f"SELECT * FROM dialogues WHERE org_unit IN ({marks})", list(units)
        if since_day:
            sql += " AND held_on >= ?"
            params.append(since_day)
        if until_day:
            sql += " AND held_on <= ?"
            params.append(until_day)
        rows = list(self.db.query(sql + " ORDER BY held_on DESC, id DESC LIMIT ?", [*params, limit]))
        points: dict[int, list[dict]] = {r["id"]: [] for r in rows}
        if rows:
            for p in self.db.query(f"SELECT * FROM dialogue_points WHERE dialogue_id IN ({','.join('?' * len(rows))})"
                                   " ORDER BY dialogue_id, position", [r["id"] for r in rows]):
                points[p["dialogue_id"]].append(p)
        for r in rows:
            r["points"] = points[r["id"]]
        return rows

    def commitments_open_by(self, units: list[str], until_day: str) -> list[dict]:
        """Commitments of the units' dialogues held on or before `until_day` not yet marked done, oldest first."""
        if not units:
            return []
        marks = ",".join("?" * len(units))
        return list(self.db.query(
            "SELECT p.id, p.question, p.commitment, d.enterprise, d.org_unit, d.held_on, d.kind FROM dialogue_points p"
            f" JOIN dialogues d ON d.id = p.dialogue_id WHERE d.org_unit IN ({marks}) AND d.held_on <= ?"
            " AND p.commitment != '' AND p.done_at IS NULL ORDER BY d.held_on, p.id", [*units, until_day]))

    def mark_commitment_done(self, dialogue_id: int, point_id: int, username: str) -> bool:
        with self.transaction():
            cur = self.db.execute(
                "UPDATE dialogue_points SET done_at = ?, done_by = ? WHERE id = ? AND dialogue_id = ?"
                " AND commitment != '' AND done_at IS NULL", [utcnow(), username, point_id, dialogue_id])
        return cur.rowcount == 1

    # --- office files uploaded on the web, until imported (service/officeimport.py) ------------------------
    def add_pending_import(self, user_id: int, org_unit: str | None, filename: str, content: bytes) -> int:
        with self.transaction():
            # an upload left behind for a day is forgotten
            cutoff = (datetime.now(timezone.utc) - timedelta(days=1)).replace(microsecond=0).isoformat()
            self.db.execute("DELETE FROM pending_imports WHERE created_at < ?", [cutoff])
            cur = self.db.execute("INSERT INTO pending_imports (user_id, org_unit, filename, content, created_at)"
                                  " VALUES (?, ?, ?, ?, ?)", [user_id, org_unit, filename, content, utcnow()])
        return cur.lastrowid

    def pending_import(self, upload_id: int) -> dict | None:
        rows = list(self.db.query("SELECT * FROM pending_imports WHERE id = ?", [upload_id]))
        return rows[0] if rows else None

    def delete_pending_import(self, upload_id: int) -> None:
        """Forget an upload (inside the transaction that imports its rows: the two go together)."""
        with self.transaction():
            self.db.execute("DELETE FROM pending_imports WHERE id = ?", [upload_id])

    def hashes_stored(self, hashes: list[str]) -> set[str]:
        """Which of these content hashes are already items (an upload's rows imported before)."""
        found: set[str] = set()
        for start in range(0, len(hashes), 500):
            chunk = hashes[start:start + 500]
            found.update(r[0] for r in self.db.execute(
                f"SELECT content_hash FROM items WHERE content_hash IN ({','.join('?' * len(chunk))})", chunk))
        return found

    # --- web: sessions, users, units, tokens, reviews ---------------------------------------------
    def create_session(self, token_hash: str, user_id: int, csrf: str, expires_at: str) -> None:
        now = utcnow()
        with self.transaction():
            self.db.execute("DELETE FROM sessions WHERE expires_at < ?", [now])
            self.db.execute(
                "INSERT INTO sessions (token_hash, user_id, csrf, created_at, last_seen, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?)", [token_hash, user_id, csrf, now, now, expires_at])

    def session_user(self, token_hash: str) -> dict | None:
        """The active user behind a session and the session's own fields (csrf, last_seen, expires_at)."""
        rows = list(self.db.query(
            "SELECT u.id, u.username, u.role, u.active, u.org_unit_id, o.code AS unit, s.csrf, s.last_seen,"
            " s.expires_at, s.created_at AS session_created FROM sessions s JOIN users u ON u.id = s.user_id"
            " LEFT JOIN org_units o ON o.id = u.org_unit_id WHERE s.token_hash = ? AND u.active = 1",
            [token_hash]))
        return rows[0] if rows else None

    def touch_session(self, token_hash: str, last_seen: str) -> None:
        with self.transaction():
            self.db.execute("UPDATE sessions SET last_seen = ? WHERE token_hash = ?", [last_seen, token_hash])

    def delete_session(self, token_hash: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM sessions WHERE token_hash = ?", [token_hash])

    def delete_user_sessions(self, user_id: int) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM sessions WHERE user_id = ?", [user_id])

    def user_by_id(self, user_id: int) -> dict | None:
        rows = list(self.db.query(
            "SELECT u.*, o.code AS unit FROM users u LEFT JOIN org_units o ON o.id = u.org_unit_id WHERE u.id = ?",
            [user_id]))
        return rows[0] if rows else None

    def user_login(self, username: str) -> dict | None:
        """A user with the code of their unit, for logging in."""
        rows = list(self.db.query(
            "SELECT u.*, o.code AS unit FROM users u LEFT JOIN org_units o ON o.id = u.org_unit_id"
            " WHERE u.username = ?", [username]))
        return rows[0] if rows else None

    def users_in(self, unit_codes: list[str] | None) -> list[dict]:
        """Users of the given units (every user when None), with their unit code."""
        sql = "SELECT u.*, o.code AS unit FROM users u LEFT JOIN org_units o ON o.id = u.org_unit_id"
        params: list[Any] = []
        if unit_codes is not None:
            sql += f" WHERE o.code IN ({','.join('?' * len(unit_codes))})"
            params = list(unit_codes)
        return list(self.db.query(sql + " ORDER BY u.username", params))

    def update_user(self, user_id: int, role: str, unit_code: str | None, active: bool) -> None:
        unit_id = self.org_unit_id(unit_code) if unit_code else None
        with self.transaction():
            self.db.execute("UPDATE users SET role = ?, org_unit_id = ?, active = ? WHERE id = ?",
                            [role, unit_id, int(active), user_id])
            if not active:
                self.db.execute("DELETE FROM sessions WHERE user_id = ?", [user_id])

    def set_password(self, user_id: int, password_hash: str) -> None:
        with self.transaction():
            self.db.execute("UPDATE users SET password_hash = ? WHERE id = ?", [password_hash, user_id])
            self.db.execute("DELETE FROM sessions WHERE user_id = ?", [user_id])

    def unit_subtree(self, code: str) -> list[str]:
        """The codes of a unit and every unit below it."""
        return [r[0] for r in self.db.execute(
            "WITH RECURSIVE tree(id, code) AS (SELECT id, code FROM org_units WHERE code = ?"
            " UNION SELECT o.id, o.code FROM org_units o JOIN tree t ON o.parent_id = t.id) SELECT code FROM tree",
            [code]).fetchall()]

    def update_org_unit(self, code: str, name: str, level: str) -> bool:
        with self.transaction():
            cur = self.db.execute("UPDATE org_units SET name = ?, level = ? WHERE code = ?", [name, level, code])
        return cur.rowcount > 0

    def add_api_token(self, user_id: int, name: str, token_hash: str, expires_at: str | None = None) -> int:
        """A new API token; it stops working at `expires_at` (UTC ISO), by default API_TOKEN_DAYS from now."""
        now = datetime.now(timezone.utc)
        expires_at = expires_at or iso(now + timedelta(days=API_TOKEN_DAYS))
        with self.transaction():
            cur = self.db.execute("INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at)"
                                  " VALUES (?, ?, ?, ?, ?)", [user_id, name, token_hash, iso(now), expires_at])
        return cur.lastrowid

    def api_token_user(self, token_hash: str) -> dict | None:
        """The active user a live (not revoked) API token belongs to; notes when the token was last used."""
        rows = list(self.db.query(
            "SELECT u.id, u.username, u.role, u.active, u.org_unit_id, o.code AS unit, t.id AS token_id,"
            " t.last_used_at, t.created_at AS token_created, t.expires_at FROM api_tokens t"
            " JOIN users u ON u.id = t.user_id LEFT JOIN org_units o ON o.id = u.org_unit_id"
            " WHERE t.token_hash = ? AND t.revoked_at IS NULL AND u.active = 1", [token_hash]))
        if not rows:
            return None
        now = utcnow()
        if _token_expiry(rows[0]) <= now:
            return None
        if (rows[0]["last_used_at"] or "")[:16] != now[:16]:  # at most one write a minute per token
            with self.transaction():
                self.db.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [now, rows[0]["token_id"]])
        return rows[0]

    def api_tokens(self, user_id: int) -> list[dict]:
        rows = list(self.db.query(
            "SELECT id, user_id, name, created_at, last_used_at, revoked_at, expires_at FROM api_tokens"
            " WHERE user_id = ? ORDER BY id", [user_id]))
        now = utcnow()
        for row in rows:
            row["expires_at"] = _token_expiry(row)
            row["expired"] = row["expires_at"] <= now
        return rows

    def api_token(self, token_id: int) -> dict | None:
        rows = list(self.db.query("SELECT id, user_id, name, created_at, last_used_at, revoked_at FROM api_tokens"
                                  " WHERE id = ?", [token_id]))
        return rows[0] if rows else None

    def revoke_api_token(self, token_id: int) -> None:
        with self.transaction():
            self.db.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                            [utcnow(), token_id])

    def add_submission(self, user_id: int, idempotency_key: str, item: RawItem) -> tuple[int, bool]:
        """Store a collaborator's observation and its submission at once; the same key again stores nothing.

        Returns (submission id, whether it is new). Two collaborators who write the same words both count: the item's
        content hash is salted with the submitter and the key.
        """
        published = iso(item.published_at) if item.published_at else utcnow()
        digest = content_hash(f"submission:{user_id}:{idempotency_key}", item.text)
        folded = fold(f"{item.title}\n{item.text}")
        forms = index_forms(item.title, item.text)
        extra = json.dumps(item.extra, ensure_ascii=False, default=str)
        # one transaction with the write lock taken first: of concurrent requests with one key, the first stores the
        # item and its submission, the others find that submission (the same key resent with edited words: the first
        # one stands) and store nothing
        with self.transaction():
            row = self.db.execute("SELECT id FROM submissions WHERE user_id = ? AND idempotency_key = ?",
                                  [user_id, idempotency_key]).fetchone()
            if row is not None:
                return row[0], False
            now = utcnow()
            cur = self.db.execute(
                "INSERT OR IGNORE INTO items (url, content_hash, kind, title, text, source, author, org_unit,"
                " channel, published_at, day, collected_at, extra) VALUES (NULL, ?, 'observation', ?, ?, ?, ?, ?,"
                " ?, ?, ?, ?, ?)",
                [digest, item.title, item.text, item.source, item.author, item.org_unit, item.channel, published,
                 local_day(published), now, extra])
            if cur.rowcount == 1:
                item_id = cur.lastrowid
                self.db.execute("INSERT INTO items_fts (rowid, folded) VALUES (?, ?)", [item_id, folded])
                self._index_search(item_id, forms)
            else:   # an item an earlier version stored without its submission (a crash between the two): adopt it
                item_id = self.db.execute("SELECT id FROM items WHERE content_hash = ?", [digest]).fetchone()[0]
            cur = self.db.execute(
                "INSERT INTO submissions (user_id, idempotency_key, item_id, org_unit, created_at)"
                " VALUES (?, ?, ?, ?, ?)", [user_id, idempotency_key, item_id, item.org_unit, now])
            return cur.lastrowid, True

    def submissions(self, user_id: int | None = None, ids: list[int] | None = None, limit: int = 100) -> list[dict]:
        """Submissions newest first, with their item, the stream they joined and the flags that cite them."""
        clauses, params = [], []
        if user_id is not None:
            clauses.append("s.user_id = ?")
            params.append(user_id)
        if ids is not None:
            clauses.append(f"s.id IN ({','.join('?' * len(ids))})")
            params.extend(ids)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = list(self.db.query(
            "SELECT s.id, s.user_id, s.idempotency_key, s.item_id, s.created_at, s.processed_at, u.username,"
            " i.text, i.channel, i.org_unit, i.published_at, i.day, i.extra, si.stream_id, si.topic, si.sentiment"
            " FROM submissions s JOIN items i ON i.id = s.item_id JOIN users u ON u.id = s.user_id"
            f" LEFT JOIN stream_items si ON si.item_id = s.item_id{where} ORDER BY s.id DESC LIMIT ?",
            [*params, limit]))
        cited = self.flags_citing([r["item_id"] for r in rows])
        for row in rows:
            row["extra"] = json.loads(row["extra"] or "{}")
            row["flags"] = cited.get(row["item_id"], [])
        return rows

    def count_submissions(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]

    def pending_submissions(self, limit: int = 500) -> list[dict]:
        return list(self.db.query(
            "SELECT s.id, s.item_id, i.day FROM submissions s JOIN items i ON i.id = s.item_id"
            " WHERE s.processed_at IS NULL ORDER BY s.id LIMIT ?", [limit]))

    def count_pending_submissions(self) -> int:
        """Submissions stored but not yet annotated and placed (for /healthz)."""
        return self.db.execute("SELECT COUNT(*) FROM submissions WHERE processed_at IS NULL").fetchone()[0]

    def mark_submissions_processed(self, ids: list[int]) -> None:
        now = utcnow()
        with self.transaction():
            self.db.conn.executemany("UPDATE submissions SET processed_at = ? WHERE id = ?", [(now, i) for i in ids])

    def flags_citing(self, item_ids: list[int]) -> dict[int, list[dict]]:
        """item id → the flags whose item list holds it (id, kind, status)."""
        out: dict[int, list[dict]] = {}
        for i in range(0, len(item_ids), 500):
            chunk = item_ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.db.query(
                    "SELECT j.value AS item_id, f.id, f.kind, f.status FROM flags f, json_each(f.item_ids) j"
                    f" WHERE j.value IN ({marks}) ORDER BY f.id", chunk):
                out.setdefault(r["item_id"], []).append({"id": r["id"], "kind": r["kind"], "status": r["status"]})
        return out

    def add_flag_event(self, flag_id: int, username: str, action: str, note: str = "",
                       new_status: str | None = None) -> int:
        """Record a review decision; a decision that changes the flag's status changes it in the same transaction."""
        now = utcnow()
        with self.transaction():
            cur = self.db.execute("INSERT INTO flag_events (flag_id, username, action, note, at) VALUES (?, ?, ?, ?, ?)",
                                  [flag_id, username, action, note, now])
            if new_status:
                self.db.execute("UPDATE flags SET status = ?, updated_at = ? WHERE id = ?", [new_status, now, flag_id])
            if new_status == "dismissed":   # the size it had when dismissed: it comes back only if it grows past it
                self.db.execute("UPDATE flags SET dismissed_count = count WHERE id = ?", [flag_id])
        return cur.lastrowid

    def flag_events(self, flag_id: int) -> list[dict]:
        return list(self.db.query("SELECT * FROM flag_events WHERE flag_id = ? ORDER BY id", [flag_id]))

    # --- orientations of a story (issue 17.4, service/orientation.py) ---------------------------------------------
    def add_orientation(self, flag_id: int, username: str, org_unit: str | None, owner: str, given_on: str,
                        channel: str, audience: str, said: str, template: str = "") -> tuple[int, bool]:
        """Record an orientation and its line in the flag's audit trail together; (id, whether it is new): the same
        words given the same day on the same channel are one orientation, however often the form is sent."""
        now = utcnow()
        with self.transaction():
            cur = self.db.execute(
                "INSERT OR IGNORE INTO orientations (flag_id, username, org_unit, owner, given_on, channel, audience,"
                " said, template, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [flag_id, username, org_unit, owner, given_on, channel, audience, said, template, now])
            if cur.rowcount == 0:
                row = self.db.execute("SELECT id FROM orientations WHERE flag_id = ? AND given_on = ? AND channel = ?"
                                      " AND said = ?", [flag_id, given_on, channel, said]).fetchone()
                return row[0], False
            self.db.execute("INSERT INTO flag_events (flag_id, username, action, note, at) VALUES (?, ?, ?, ?, ?)",
                            [flag_id, username, "oriented", said, now])
            return cur.lastrowid, True

    def orientations(self, flag_id: int | None = None, since: str | None = None,
                     until: str | None = None) -> list[dict]:
        """Orientations of one flag, or of every flag given between two local days (inclusive), oldest first."""
        clauses, params = [], []
        if flag_id is not None:
            clauses.append("flag_id = ?")
            params.append(flag_id)
        if since:
            clauses.append("given_on >= ?")
            params.append(since)
        if until:
            clauses.append("given_on <= ?")
            params.append(until)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        return list(self.db.query(f"SELECT * FROM orientations{where} ORDER BY given_on, id", params))

    def open_commitments(self, units: list[str] | None = None, limit: int = 200) -> list[dict]:
        """Commitments made in dialogues and not yet marked done, newest dialogue first, with the dialogue's
        enterprise, unit and day; `units`: only those units' dialogues."""
        sql = ("SELECT p.id, p.question, p.answer, p.commitment, d.enterprise, d.org_unit, d.held_on, d.kind"
               " FROM dialogue_points p JOIN dialogues d ON d.id = p.dialogue_id"
               " WHERE p.commitment != '' AND p.done_at IS NULL")
        params: list[Any] = []
        if units is not None:
            sql += f" AND d.org_unit IN ({','.join('?' * len(units))})"
            params.extend(units)
        return list(self.db.query(sql + " ORDER BY d.held_on DESC, p.id LIMIT ?", [*params, limit]))

    def find_items(self, query: str = "", kind: str | None = None, topic: str | None = None,
                   units: list[str] | None = None, source: str | None = None, since_day: str | None = None,
                   until_day: str | None = None, include_public: bool = True, limit: int = 50,
                   offset: int = 0) -> list[dict]:
        """Items newest first, found by words (diacritics-insensitive FTS5) and filters, with their stream facts.

        `units`: when given, observations only of those units; items with no unit (the public press) show too
        unless `include_public` is False.
        """
        clauses, params = [], []
        sql = ("SELECT i.id, i.url, i.kind, i.title, substr(i.text, 1, 400) AS text, i.source, i.org_unit, i.channel,"
               " i.published_at, i.day, si.stream_id, si.topic, si.sentiment FROM items i"
               " LEFT JOIN stream_items si ON si.item_id = i.id")
        words = re.findall(r"\w+", fold(query or ""))
        if words:
            sql = sql.replace("FROM items i", "FROM items_fts f JOIN items i ON i.id = f.rowid")
            clauses.append("items_fts MATCH ?")
            params.append(" ".join(f'"{w}"' for w in words))
        for column, value in (("i.kind", kind), ("si.topic", topic), ("i.source", source)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if since_day:
            clauses.append("i.day >= ?")
            params.append(since_day)
        if until_day:
            clauses.append("i.day <= ?")
            params.append(until_day)
        if units is not None:
            public = "i.org_unit IS NULL OR " if include_public else ""
            clauses.append(f"({public}i.org_unit IN ({','.join('?' * len(units))}))")
            params.extend(units)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        return list(self.db.query(f"{sql}{where} ORDER BY i.published_at DESC, i.id DESC LIMIT ? OFFSET ?",
                                  [*params, limit, offset]))

    def item(self, item_id: int) -> dict | None:
        """One item with its stream facts and its latest annotation."""
        rows = list(self.db.query(
            "SELECT i.*, si.stream_id, si.topic, si.sentiment FROM items i"
            " LEFT JOIN stream_items si ON si.item_id = i.id WHERE i.id = ?", [item_id]))
        if not rows:
            return None
        row = rows[0]
        row["extra"] = json.loads(row["extra"] or "{}")
        ann = list(self.db.query("SELECT * FROM annotations WHERE item_id = ? ORDER BY id DESC LIMIT 1", [item_id]))
        row["annotation"] = ann[0] if ann else None
        if ann:
            ann[0]["keyphrases"] = json.loads(ann[0]["keyphrases"])
        return row

    def item_sources(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT source FROM items ORDER BY source").fetchall()]

    # --- repair: what earlier versions (one commit per statement) left behind (service/doctor.py) ---------------
    def annotated_unplaced_items(self, limit: int = 256) -> list[dict]:
        """Items annotated by some model set but placed in no stream, with their latest annotation (oldest first)."""
        rows = list(self.db.query(
            "SELECT i.id, i.title, i.text, i.published_at, i.day, i.source, i.org_unit, i.kind, a.topic, a.topic_score,"
            " a.news_topic, a.sentiment, a.sentiment_score, a.toxicity, a.keyphrases FROM items i"
            " JOIN annotations a ON a.id = (SELECT MAX(id) FROM annotations WHERE item_id = i.id)"
            " WHERE NOT EXISTS (SELECT 1 FROM stream_items si WHERE si.item_id = i.id) ORDER BY i.id LIMIT ?",
            [limit]))
        for row in rows:
            row["keyphrases"] = json.loads(row["keyphrases"] or "[]")
        return rows

    def count_annotated_unplaced(self) -> int:
        return self.db.execute(
            "SELECT COUNT(DISTINCT a.item_id) FROM annotations a"
            " WHERE NOT EXISTS (SELECT 1 FROM stream_items si WHERE si.item_id = a.item_id)").fetchone()[0]

    def items_missing_search_rows(self) -> list[int]:
        """Items missing from either search index (items waiting for the search backfill are not missing)."""
        return [r[0] for r in self.db.execute(
            "SELECT id FROM items WHERE id NOT IN (SELECT rowid FROM items_fts) OR (id NOT IN"
            " (SELECT rowid FROM items_search) AND id NOT IN (SELECT item_id FROM search_backfill)) ORDER BY id"
        ).fetchall()]

    def stray_search_rows(self) -> list[int]:
        """Search rows whose item is gone."""
        return [r[0] for r in self.db.execute(
            "SELECT rowid FROM items_fts WHERE rowid NOT IN (SELECT id FROM items) UNION"
            " SELECT rowid FROM items_search WHERE rowid NOT IN (SELECT id FROM items) ORDER BY 1").fetchall()]

    def reindex_items(self, item_ids: list[int]) -> int:
        """Write the missing search rows of these items; returns how many were written."""
        items = self.items_by_ids(item_ids)
        rows = [(r["id"], fold(f"{r['title']}\n{r['text']}")) for r in items]
        forms = [(r["id"], *index_forms(r["title"], r["text"])) for r in items]
        with self.transaction():
            self.db.conn.executemany(
                "INSERT INTO items_fts (rowid, folded) SELECT ?1, ?2 WHERE NOT EXISTS"
                " (SELECT 1 FROM items_fts WHERE rowid = ?1)", rows)
            self.db.conn.executemany(
                "INSERT INTO items_search (rowid, title, body, title_folded, body_folded) SELECT ?1, ?2, ?3, ?4, ?5"
                " WHERE NOT EXISTS (SELECT 1 FROM items_search WHERE rowid = ?1)", forms)
        return len(rows)

    def delete_search_rows(self, rowids: list[int]) -> None:
        with self.transaction():
            self.db.conn.executemany("DELETE FROM items_fts WHERE rowid = ?", [(i,) for i in rowids])
            self.db.conn.executemany("DELETE FROM items_search WHERE rowid = ?", [(i,) for i in rowids])

    def orphan_submission_items(self) -> list[int]:
        """Observations from the web form (they alone carry `observed_on` and a user as author) with no submission:
        left by concurrent resends of one key with edited words, or by a crash between the item and its submission."""
        return [r[0] for r in self.db.execute(
            "SELECT i.id FROM items i WHERE i.kind = 'observation' AND i.url IS NULL"
            " AND json_extract(i.extra, '$.observed_on') IS NOT NULL"
            " AND i.author IN (SELECT username FROM users)"
            " AND NOT EXISTS (SELECT 1 FROM submissions s WHERE s.item_id = i.id) ORDER BY i.id").fetchall()]

    def delete_items(self, item_ids: list[int]) -> int:
        """Remove items with every row that refers to them (found from the schema's foreign keys), their search rows
        and their places in flags' item lists; the sizes of the streams they were in are recounted."""
        if not item_ids:
            return 0
        ids = [(i,) for i in item_ids]
        with self.transaction():
            streams: set[int] = set()
            for (item_id,) in ids:
                row = self.db.execute("SELECT stream_id FROM stream_items WHERE item_id = ?", [item_id]).fetchone()
                if row:
                    streams.add(row[0])
            for table in self.db.table_names():
                for fk in self.db.execute(f"PRAGMA foreign_key_list([{table}])").fetchall():
                    if fk[2] == "items":
                        self.db.conn.executemany(f"DELETE FROM [{table}] WHERE [{fk[3]}] = ?", ids)
            self.db.conn.executemany("DELETE FROM items_fts WHERE rowid = ?", ids)
            self.db.conn.executemany("DELETE FROM items_search WHERE rowid = ?", ids)
            self.db.conn.executemany("DELETE FROM search_backfill WHERE item_id = ?", ids)
            cur = self.db.conn.executemany("DELETE FROM items WHERE id = ?", ids)
            deleted = cur.rowcount
            for i in range(0, len(item_ids), 500):
                chunk = item_ids[i:i + 500]
                marks = ",".join("?" * len(chunk))
                self.db.execute(
                    "UPDATE flags SET item_ids = (SELECT json_group_array(j.value) FROM json_each(flags.item_ids) j"
                    f" WHERE j.value NOT IN ({marks})) WHERE EXISTS (SELECT 1 FROM json_each(flags.item_ids) j"
                    f" WHERE j.value IN ({marks}))", [*chunk, *chunk])
            self.db.conn.executemany("UPDATE streams SET size = (SELECT COUNT(*) FROM stream_items"
                                     " WHERE stream_id = ?1), topic_counts = NULL, phrase_counts = NULL WHERE id = ?1",
                                     [(s,) for s in streams])
        return deleted

    def streams_with_wrong_size(self) -> list[int]:
        return [r[0] for r in self.db.execute(
            "SELECT s.id FROM streams s WHERE s.status != 'merged' AND s.size !="
            " (SELECT COUNT(*) FROM stream_items si WHERE si.stream_id = s.id) ORDER BY s.id").fetchall()]

    def recount_streams(self, stream_ids: list[int]) -> None:
        with self.transaction():
            self.db.conn.executemany("UPDATE streams SET size = (SELECT COUNT(*) FROM stream_items"
                                     " WHERE stream_id = ?1), topic_counts = NULL, phrase_counts = NULL"
                                     " WHERE id = ?1", [(s,) for s in stream_ids])

    def integrity_check(self) -> list[str]:
        """SQLite's own check of the file; ['ok'] when sound."""
        return [r[0] for r in self.db.execute("PRAGMA integrity_check").fetchall()]

    # --- labels and model versions ---------------------------------------------------------------
    def add_label(self, item_id: int, task: str, label: str, username: str, at: str | None = None) -> int:
        """Record one label of an item by a person; earlier labels stay (the latest one counts)."""
        with self.transaction():
            cur = self.db.execute("INSERT INTO labels (item_id, task, label, username, at) VALUES (?, ?, ?, ?, ?)",
                                  [item_id, task, label, username, at or utcnow()])
        return cur.lastrowid

    def add_labels(self, rows: list[tuple[int, str, str, str, str]]) -> None:
        """Bulk form of `add_label`: (item_id, task, label, username, at)."""
        with self.transaction():
            self.db.conn.executemany("INSERT INTO labels (item_id, task, label, username, at) VALUES (?, ?, ?, ?, ?)",
                                     rows)

    def latest_labels(self, task: str, item_ids: list[int] | None = None) -> list[dict]:
        """The label that counts for each labelled item of a task (the latest by time, then by entry order),
        with the item's title, text and content hash."""
        where, params = "", [task]
        if item_ids is not None:
            if not item_ids:
                return []
            where = f" AND l.item_id IN ({','.join('?' * len(item_ids))})"
            params += list(item_ids)
        return list(self.db.query(
            "SELECT l.id, l.item_id, l.task, l.label, l.username, l.at, i.title, i.text, i.content_hash"
            " FROM labels l JOIN items i ON i.id = l.item_id"
            " WHERE l.task = ?" + where + " AND l.id = (SELECT l2.id FROM labels l2 WHERE l2.item_id = l.item_id"
            " AND l2.task = l.task ORDER BY l2.at DESC, l2.id DESC LIMIT 1) ORDER BY l.item_id", params))

    def label_history(self, item_id: int, task: str | None = None) -> list[dict]:
        """Every label ever given to an item, newest first."""
        sql, params = "SELECT * FROM labels WHERE item_id = ?", [item_id]
        if task:
            sql, params = sql + " AND task = ?", params + [task]
        return list(self.db.query(sql + " ORDER BY at DESC, id DESC", params))

    def label_counts(self, task: str) -> dict[str, int]:
        """Labelled items per label (latest labels only)."""
        return dict(self.db.execute(
            "SELECT l.label, COUNT(*) FROM labels l WHERE l.task = ? AND l.id = (SELECT l2.id FROM labels l2"
            " WHERE l2.item_id = l.item_id AND l2.task = l.task ORDER BY l2.at DESC, l2.id DESC LIMIT 1)"
            " GROUP BY l.label", [task]).fetchall())

    def count_labels_with(self, task: str, label: str) -> int:
        """Label rows (any time, anyone) that name a label."""
        return self.db.execute("SELECT COUNT(*) FROM labels WHERE task = ? AND label = ?", [task, label]).fetchone()[0]

    def rename_label(self, task: str, old: str, new: str) -> int:
        """Move every label row of `old` to `new` (a topic renamed or merged); who and when stay."""
        with self.transaction():
            cur = self.db.execute("UPDATE labels SET label = ? WHERE task = ? AND label = ?", [new, task, old])
        return cur.rowcount

    def item_ids_by_text(self, text: str) -> list[int]:
        """Items whose text, title, or `title. text` is exactly this (spaces at the ends ignored)."""
        text = text.strip()
        return [r[0] for r in self.db.execute(
            "SELECT id FROM items WHERE trim(text) = ? OR trim(title) = ? OR (title || '. ' || text) = ? ORDER BY id",
            [text, text, text]).fetchall()]

    def unlabelled_items(self, task: str, since_day: str | None = None, limit: int = 500,
                         units: list[str] | None = None) -> list[dict]:
        """Items (newest first) that nobody has labelled for a task, with their simhash and stream facts; with
        `units`, only public items (no unit) and those of the given units."""
        scope, params = "", [since_day or "", task]
        if units is not None:
            scope = f" AND (i.org_unit IS NULL OR i.org_unit IN ({','.join('?' * len(units))}))"
            params += list(units)
        return list(self.db.query(
            "SELECT i.id, i.title, substr(i.text, 1, 3000) AS text, i.kind, i.source, i.day, i.published_at, i.simhash,"
            " i.org_unit, si.stream_id, si.story_id, si.topic, si.sentiment FROM items i"
            " LEFT JOIN stream_items si ON si.item_id = i.id"
            " WHERE i.day >= ? AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.item_id = i.id AND l.task = ?)" + scope +
            " ORDER BY i.published_at DESC, i.id DESC LIMIT ?", [*params, limit]))

    def item_exists(self, item_id: int) -> bool:
        return self.db.execute("SELECT 1 FROM items WHERE id = ?", [item_id]).fetchone() is not None

    def items_since_day(self, since_day: str) -> list[dict]:
        """Items of a local day or later (what a promotion re-annotates), oldest first."""
        return list(self.db.query(
            "SELECT id, title, text, published_at, day, source, org_unit, kind FROM items WHERE day >= ?"
            " ORDER BY published_at, id", [since_day]))

    def annotations_for(self, item_ids: list[int], model_version: str) -> dict[int, dict]:
        """Item id → its annotation by one model version set (items without one are absent)."""
        out: dict[int, dict] = {}
        for i in range(0, len(item_ids), 500):
            chunk = item_ids[i:i + 500]
            for row in self.db.query(
                    f"SELECT * FROM annotations WHERE model_version = ? AND item_id IN ({','.join('?' * len(chunk))})",
                    [model_version, *chunk]):
                row["keyphrases"] = json.loads(row["keyphrases"])
                out[row["item_id"]] = row
        return out

    def update_item_facts(self, rows: list[tuple[str, str, int]]) -> list[int]:
        """Set (topic, sentiment) of placed items, then each touched stream's majority topic; returns those streams."""
        with self.transaction():
            self.db.conn.executemany("UPDATE stream_items SET topic = ?, sentiment = ? WHERE item_id = ?", rows)
            ids = [r[2] for r in rows]
            streams: set[int] = set()
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                streams.update(r[0] for r in self.db.execute(
                    f"SELECT DISTINCT stream_id FROM stream_items WHERE item_id IN ({','.join('?' * len(chunk))})",
                    chunk).fetchall())
            for sid in streams:   # its topic counts changed: recomputed from its items when it is next saved
                self.db.execute(
                    "UPDATE streams SET topic = COALESCE((SELECT topic FROM stream_items WHERE stream_id = ?"
                    " GROUP BY topic ORDER BY COUNT(*) DESC, topic LIMIT 1), topic), topic_counts = NULL WHERE id = ?",
                    [sid, sid])
        return sorted(streams)

    def save_model_version(self, task: str, version: str, card: str, metrics: dict[str, Any],
                           trained_by: str | None, trained_at: str | None = None) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO model_versions (task, version, card, metrics, trained_by, trained_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (task, version) DO UPDATE SET card = excluded.card,"
                " metrics = excluded.metrics, trained_by = excluded.trained_by, trained_at = excluded.trained_at",
                [task, version, card, json.dumps(metrics, ensure_ascii=False), trained_by, trained_at or utcnow()])

    def mark_model_promoted(self, task: str, version: str, promoted_by: str, at: str | None = None) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO model_versions (task, version, promoted_by, promoted_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (task, version) DO UPDATE SET promoted_by = excluded.promoted_by,"
                " promoted_at = excluded.promoted_at", [task, version, promoted_by, at or utcnow()])

    def model_versions(self, task: str) -> list[dict]:
        rows = list(self.db.query("SELECT * FROM model_versions WHERE task = ? ORDER BY trained_at, version", [task]))
        for row in rows:
            row["metrics"] = json.loads(row["metrics"] or "{}")
        return rows

    # --- reader's scope: which unit each item belongs to (service/scope.py) ------------------------------------
    def item_units(self, item_ids: list[int]) -> dict[int, str | None]:
        """item id → its org unit (None for public items: the press, the web)."""
        out: dict[int, str | None] = {}
        ids = list(dict.fromkeys(item_ids))
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            out.update(self.db.execute(f"SELECT id, org_unit FROM items WHERE id IN ({','.join('?' * len(chunk))})",
                                       chunk).fetchall())
        return out

    def stream_units(self, stream_id: int) -> list[str | None]:
        """The distinct org units of a stream's items (None stands for public items)."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT org_unit FROM stream_items WHERE stream_id = ?",
                                              [stream_id]).fetchall()]

    def stream_items_in_scope(self, stream_id: int, units: list[str], limit: int = 200) -> list[int]:
        """A stream's newest items that are public or of the given units."""
        marks = ",".join("?" * len(units)) or "NULL"
        return [r[0] for r in self.db.execute(
            "SELECT item_id FROM stream_items WHERE stream_id = ?"
            f" AND (org_unit IS NULL OR org_unit IN ({marks})) ORDER BY day DESC, item_id DESC LIMIT ?",
            [stream_id, *units, limit]).fetchall()]

    # --- outlets' boilerplate, learned per source (service/boilerplate.py) ---------------------------------
    SEGMENT_FORGET_DAYS = 30   # a segment seen in one item only and not since this many days is forgotten

    def learn_source_segments(self, counts: dict) -> None:
        """Add {source: (press items, Counter{(place, segment): items carrying it})} to the learned counts; segments
        seen once long ago are forgotten, so the table keeps what repeats."""
        now = utcnow()
        forget = iso(datetime.now(timezone.utc) - timedelta(days=self.SEGMENT_FORGET_DAYS))
        with self.transaction():
            for source, (n, counter) in counts.items():
                self.db.execute("INSERT INTO source_segment_totals (source, items) VALUES (?, ?) ON CONFLICT(source)"
                                " DO UPDATE SET items = items + excluded.items", [source, n])
                self.db.conn.executemany(
                    "INSERT INTO source_segments (source, place, segment, items, last_seen) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT(source, place, segment) DO UPDATE SET items = items + excluded.items,"
                    " last_seen = excluded.last_seen",
                    [(source, place, segment, k, now) for (place, segment), k in counter.items()])
            self.db.execute("DELETE FROM source_segments WHERE items = 1 AND last_seen < ?", [forget])

    def source_boilerplate(self, source: str, min_items: int, min_share: float) -> dict[str, list[str]]:
        """A source's segments carried by at least `min_items` items and `min_share` of its press items, by place
        (line, head, tail)."""
        row = self.db.execute("SELECT items FROM source_segment_totals WHERE source = ?", [source]).fetchone()
        if not row:
            return {}
        out: dict[str, list[str]] = {}
        for place, segment in self.db.execute(
                "SELECT place, segment FROM source_segments WHERE source = ? AND items >= ? AND items >= ?",
                [source, min_items, min_share * row[0]]).fetchall():
            out.setdefault(place, []).append(segment)
        return out

    # --- jobs (service/jobs.py): each unit of work a row with its state, counts, progress and error ----------
    JOB_STATUSES = ("queued", "running", "done", "failed", "cancelled")

    def add_job(self, kind: str, params: dict, requested_by: str, org_unit: str | None = None,
                status: str = "queued", retry_of: int | None = None, worker: str | None = None) -> int:
        """A new job row; `status='running'` for work that starts at once (started_at and heartbeat set, one
        attempt, held by `worker`)."""
        now = utcnow()
        running = status == "running"
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO jobs (kind, params, status, requested_by, org_unit, queued_at, started_at, attempts,"
                " retry_of, worker, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [kind, json.dumps(params, ensure_ascii=False, default=str), status, requested_by, org_unit, now,
                 now if running else None, 1 if running else 0, retry_of, worker if running else None,
                 now if running else None])
            return cur.lastrowid

    def claim_job(self, kinds: list[str] | None = None, worker: str | None = None,
                  exclusive: tuple[str, ...] = (), fresh_after: str | None = None) -> dict | None:
        """Atomically take the oldest queued job (of these kinds) and mark it running, held by `worker`; None when
        none is queued. A job of the `exclusive` kinds is not taken while another one of them runs with a heartbeat
        newer than `fresh_after` (one processing run at a time across every process)."""
        where, args = "", []
        if kinds:
            where = f" AND kind IN ({', '.join('?' * len(kinds))})"
            args = list(kinds)
        if exclusive:
            marks = ", ".join("?" * len(exclusive))
            where += (f" AND NOT (kind IN ({marks}) AND EXISTS (SELECT 1 FROM jobs r WHERE r.status = 'running'"
                      f" AND r.kind IN ({marks}) AND r.heartbeat_at >= ?))")
            args += [*exclusive, *exclusive, fresh_after or ""]
        now = utcnow()
        with self.transaction():
            row = self.db.execute(
                "UPDATE jobs SET status = 'running', started_at = ?, attempts = attempts + 1, worker = ?,"
                " heartbeat_at = ? WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND cancel_requested = 0"
                f"{where} ORDER BY id LIMIT 1) AND status = 'queued' RETURNING id",
                [now, worker, now, *args]).fetchone()
        return self.job(row[0]) if row else None

    def set_job_progress(self, job_id: int, done: int, total: int | None) -> bool:
        """Record progress; True when a cancel was asked for this job (the worker then stops)."""
        with self.transaction():
            self.db.execute("UPDATE jobs SET progress_done = ?, progress_total = ? WHERE id = ?",
                            [done, total, job_id])
        row = self.db.execute("SELECT cancel_requested FROM jobs WHERE id = ?", [job_id]).fetchone()
        return bool(row and row[0])

    def finish_job(self, job_id: int, status: str, counts: dict | None = None, error: str | None = None,
                   log_excerpt: str | None = None) -> None:
        if status not in ("done", "failed", "cancelled"):
            raise ValueError(f"a job cannot finish as {status!r}")
        with self.transaction():
            self.db.execute(
                "UPDATE jobs SET status = ?, finished_at = ?, counts = ?, error = ?, log_excerpt = ?,"
                " started_at = COALESCE(started_at, queued_at) WHERE id = ?",
                [status, utcnow(), json.dumps(counts or {}, ensure_ascii=False, default=str), error, log_excerpt,
                 job_id])

    def cancel_job(self, job_id: int) -> str | None:
        """Cancel a queued job at once; mark a running one cancel-requested. The job's status after, or None."""
        with self.transaction():
            self.db.execute("UPDATE jobs SET status = 'cancelled', finished_at = ?, cancel_requested = 1"
                            " WHERE id = ? AND status = 'queued'", [utcnow(), job_id])
            self.db.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND status = 'running'", [job_id])
        row = self.db.execute("SELECT status FROM jobs WHERE id = ?", [job_id]).fetchone()
        return row[0] if row else None

    def job(self, job_id: int) -> dict | None:
        row = self.db.execute("SELECT * FROM jobs WHERE id = ?", [job_id]).fetchone()
        if row is None:
            return None
        return self._job_row(row)

    def jobs(self, status: str | None = None, kind: str | None = None, limit: int = 50,
             org_units: list[str] | None = None) -> list[dict]:
        """Newest first; `org_units` keeps jobs asked for by those units (None: all)."""
        clauses, args = [], []
        if status:
            clauses.append("status = ?")
            args.append(status)
        if kind:
            clauses.append("kind = ?")
            args.append(kind)
        if org_units is not None:
            clauses.append(f"org_unit IN ({', '.join('?' * len(org_units)) or 'NULL'})")
            args.extend(org_units)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        return [self._job_row(r) for r in self.db.execute(
            f"SELECT * FROM jobs{where} ORDER BY id DESC LIMIT ?", [*args, limit]).fetchall()]

    def _job_row(self, row) -> dict:
        names = [d[0] for d in self.db.execute("SELECT * FROM jobs LIMIT 0").description]
        job = dict(zip(names, row))
        job["params"] = json.loads(job["params"] or "{}")
        job["counts"] = json.loads(job["counts"] or "{}")
        return job

    # --- jobs held by workers (service/worker.py): heartbeats, exclusive runs, repair of jobs whose worker died ---
    def start_exclusive_job(self, kind: str, params: dict, requested_by: str, exclusive: tuple[str, ...],
                            fresh_after: str, worker: str | None = None, org_unit: str | None = None,
                            retry_of: int | None = None) -> int | None:
        """A running job of `kind` when no job of the `exclusive` kinds runs with a heartbeat newer than
        `fresh_after` (checked and written in one write transaction); None when one does."""
        marks = ", ".join("?" * len(exclusive))
        with self.transaction():
            busy = self.db.execute(f"SELECT id FROM jobs WHERE status = 'running' AND kind IN ({marks})"
                                   " AND heartbeat_at >= ? LIMIT 1", [*exclusive, fresh_after]).fetchone()
            if busy:
                return None
            return self.add_job(kind, params, requested_by, org_unit=org_unit, status="running", retry_of=retry_of,
                                worker=worker)

    def touch_job(self, job_id: int) -> None:
        """The running job's heartbeat: its worker is alive."""
        with self.transaction():
            self.db.execute("UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND status = 'running'", [utcnow(), job_id])

    def set_job_log(self, job_id: int, excerpt: str) -> None:
        """The last lines a running job logged (shown while it runs)."""
        with self.transaction():
            self.db.execute("UPDATE jobs SET log_excerpt = ? WHERE id = ?", [excerpt, job_id])

    def stale_jobs(self, before: str) -> list[dict]:
        """Running jobs whose last heartbeat (or start, for rows without one) is older than `before`."""
        return [self._job_row(r) for r in self.db.execute(
            "SELECT * FROM jobs WHERE status = 'running' AND COALESCE(heartbeat_at, started_at, queued_at) < ?"
            " ORDER BY id", [before]).fetchall()]

    def running_jobs_of(self, worker_prefix: str) -> list[dict]:
        """Running jobs held by workers whose id starts with `worker_prefix` (one machine's)."""
        return [self._job_row(r) for r in self.db.execute(
            "SELECT * FROM jobs WHERE status = 'running' AND substr(worker, 1, ?) = ? ORDER BY id",
            [len(worker_prefix), worker_prefix]).fetchall()]

    def repair_job(self, job_id: int, requeue: bool, message: str, heartbeat_at: str | None) -> bool:
        """Put back in the queue, or finish as failed with `message`, a running job whose worker died; only if its
        heartbeat is still the one seen (`heartbeat_at`), so a worker that came back in between keeps its job."""
        with self.transaction():
            if requeue:
                cur = self.db.execute(
                    "UPDATE jobs SET status = 'queued', started_at = NULL, worker = NULL, heartbeat_at = NULL,"
                    " error = ? WHERE id = ? AND status = 'running' AND heartbeat_at IS ?",
                    [message, job_id, heartbeat_at])
            else:
                cur = self.db.execute(
                    "UPDATE jobs SET status = 'failed', finished_at = ?, error = ? WHERE id = ? AND status = 'running'"
                    " AND heartbeat_at IS ?", [utcnow(), message, job_id, heartbeat_at])
            return cur.rowcount == 1

    def open_jobs(self, kinds: list[str]) -> list[dict]:
        """Queued and running jobs of these kinds, oldest first."""
        marks = ", ".join("?" * len(kinds))
        return [self._job_row(r) for r in self.db.execute(
            f"SELECT * FROM jobs WHERE status IN ('queued', 'running') AND kind IN ({marks}) ORDER BY id",
            list(kinds)).fetchall()]

    # --- alerts (issue 16.3, service/alerts.py, service/mail.py): notifications, e-mail outbox, preferences --------
    def alert_recipients(self) -> list[dict]:
        """Active users with their unit and their alert choices (None where they never chose)."""
        rows = list(self.db.query(
            "SELECT u.id, u.username, u.role, o.code AS unit, p.email, p.kinds, p.min_severity, p.by_email"
            " FROM users u LEFT JOIN org_units o ON o.id = u.org_unit_id LEFT JOIN alert_prefs p ON p.user_id = u.id"
            " WHERE u.active = 1 ORDER BY u.id"))
        for row in rows:
            row["kinds"] = json.loads(row["kinds"]) if row["kinds"] is not None else None
        return rows

    def alert_prefs(self, user_id: int) -> dict | None:
        rows = list(self.db.query("SELECT * FROM alert_prefs WHERE user_id = ?", [user_id]))
        if not rows:
            return None
        rows[0]["kinds"] = json.loads(rows[0]["kinds"])
        return rows[0]

    def set_alert_prefs(self, user_id: int, email: str, kinds: list[str], min_severity: float,
                        by_email: bool) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO alert_prefs (user_id, email, kinds, min_severity, by_email) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, kinds = excluded.kinds,"
                " min_severity = excluded.min_severity, by_email = excluded.by_email",
                [user_id, email, json.dumps(sorted(kinds)), float(min_severity), int(by_email)])

    def flags_updated_since(self, since: str, min_severity: float) -> list[dict]:
        """Open or escalated flags changed since `since` (UTC ISO) at or above a severity, highest first."""
        rows = list(self.db.query(
            "SELECT * FROM flags WHERE updated_at >= ? AND severity >= ? AND status IN ('open', 'escalated')"
            " ORDER BY severity DESC, score DESC, id", [since, min_severity]))
        return [_decode_flag(r) for r in rows]

    def escalations_since(self, since: str) -> list[dict]:
        """Escalations of flags (review decisions «escalate») since `since`, with the unit of who escalated."""
        return list(self.db.query(
            "SELECT e.id, e.flag_id, e.username, e.note, e.at, o.code AS unit FROM flag_events e"
            " LEFT JOIN users u ON u.username = e.username LEFT JOIN org_units o ON o.id = u.org_unit_id"
            " WHERE e.action = 'escalate' AND e.at >= ? ORDER BY e.id", [since]))

    def reports_sent_since(self, since: str) -> list[dict]:
        """Units' reports sent to the unit above and not yet received, sent since `since`."""
        if not self.db["unit_reports"].exists():
            return []
        return list(self.db.query(
            "SELECT id, org_unit, period, first_day, revision, sent_at, sent_by FROM unit_reports"
            " WHERE status = 'sent' AND sent_at >= ? ORDER BY id", [since]))

    def briefings_since(self, since: str) -> list[dict]:
        return list(self.db.query("SELECT day, created_at FROM briefings WHERE created_at >= ? ORDER BY day",
                                  [since]))

    def notification_keys(self, keys: list[str]) -> set[tuple[int, str]]:
        """(user id, key) of the notifications already made for these causes."""
        out: set[tuple[int, str]] = set()
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            out.update((r[0], r[1]) for r in self.db.execute(
                f"SELECT user_id, key FROM notifications WHERE key IN ({','.join('?' * len(chunk))})", chunk))
        return out

    def add_notifications(self, rows: list[dict], now: str | None = None) -> list[int]:
        """Store notifications (user_id, key, kind, subject, body, link, and `email` when one is to be sent) in one
        transaction; a cause already notified to a user is skipped, so nothing is said twice. Returns new ids."""
        now = now or utcnow()
        made = []
        with self.transaction():
            for r in rows:
                cur = self.db.execute(
                    "INSERT OR IGNORE INTO notifications (user_id, key, kind, subject, body, link, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [r["user_id"], r["key"], r["kind"], r["subject"], r.get("body", ""), r.get("link", ""), now])
                if cur.rowcount != 1:
                    continue
                made.append(cur.lastrowid)
                if r.get("email"):
                    self.db.execute(
                        "INSERT INTO email_outbox (notification_id, address, next_attempt_at, created_at)"
                        " VALUES (?, ?, ?, ?)", [cur.lastrowid, r["email"], now, now])
        return made

    def notifications(self, user_id: int, limit: int = 50, offset: int = 0) -> list[dict]:
        return list(self.db.query("SELECT * FROM notifications WHERE user_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
                                  [user_id, limit, offset]))

    def notification(self, user_id: int, notification_id: int) -> dict | None:
        rows = list(self.db.query("SELECT * FROM notifications WHERE id = ? AND user_id = ?",
                                  [notification_id, user_id]))
        return rows[0] if rows else None

    def count_notifications(self, user_id: int) -> int:
        return self.db.execute("SELECT COUNT(*) FROM notifications WHERE user_id = ?", [user_id]).fetchone()[0]

    def count_unread(self, user_id: int) -> int:
        return self.db.execute("SELECT COUNT(*) FROM notifications WHERE user_id = ? AND read_at IS NULL",
                               [user_id]).fetchone()[0]

    def mark_read(self, user_id: int, notification_id: int | None = None) -> int:
        """Mark one of the user's notifications read (or all of them); returns how many changed."""
        now = utcnow()
        with self.transaction():
            if notification_id is None:
                cur = self.db.execute("UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL",
                                      [now, user_id])
            else:
                cur = self.db.execute("UPDATE notifications SET read_at = COALESCE(read_at, ?)"
                                      " WHERE user_id = ? AND id = ?", [now, user_id, notification_id])
        return cur.rowcount

    def claim_outbox(self, now: str, lease_until: str, limit: int = 100) -> list[dict]:
        """Take the e-mails due now for one sender (a lease, so two senders never send the same one)."""
        with self.transaction():
            rows = list(self.db.query(
                "UPDATE email_outbox SET lease_until = ? WHERE id IN (SELECT id FROM email_outbox"
                " WHERE status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)"
                " ORDER BY id LIMIT ?) RETURNING id", [lease_until, now, now, limit]))
        ids = sorted(r["id"] for r in rows)
        if not ids:
            return []
        return list(self.db.query(
            "SELECT m.id, m.address, m.attempts, m.notification_id, n.subject, n.body, n.link, n.kind, n.user_id"
            f" FROM email_outbox m JOIN notifications n ON n.id = m.notification_id WHERE m.id IN"
            f" ({','.join('?' * len(ids))}) ORDER BY m.id", ids))

    def outbox_sent(self, outbox_id: int, at: str) -> None:
        with self.transaction():
            self.db.execute("UPDATE email_outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
                            " last_error = NULL, lease_until = NULL WHERE id = ?", [at, outbox_id])

    def outbox_failed(self, outbox_id: int, error: str, next_attempt_at: str, give_up: bool) -> None:
        with self.transaction():
            self.db.execute("UPDATE email_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,"
                            " lease_until = NULL, status = ? WHERE id = ?",
                            [error[:1000], next_attempt_at, "failed" if give_up else "pending", outbox_id])

    def outbox(self, statuses: tuple[str, ...] = ("pending", "failed"), limit: int = 200) -> list[dict]:
        """E-mails in these states with their recipient and subject, newest first (the admin's page)."""
        return list(self.db.query(
            "SELECT m.*, n.subject, n.kind, u.username FROM email_outbox m JOIN notifications n"
            " ON n.id = m.notification_id JOIN users u ON u.id = n.user_id"
            f" WHERE m.status IN ({','.join('?' * len(statuses))}) ORDER BY m.id DESC LIMIT ?", [*statuses, limit]))

    def outbox_counts(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self.db.execute("SELECT status, COUNT(*) FROM email_outbox GROUP BY status")}

    def retry_outbox(self, now: str) -> int:
        """Send every failed or waiting e-mail again at the next run (attempts start over for those given up)."""
        with self.transaction():
            cur = self.db.execute(
                "UPDATE email_outbox SET status = 'pending', next_attempt_at = ?, lease_until = NULL,"
                " attempts = CASE WHEN status = 'failed' THEN 0 ELSE attempts END"
                " WHERE status IN ('pending', 'failed')", [now])
        return cur.rowcount

    # --- saved searches as watch queries (service/alerts.py) -----------------------------------------------------
    def set_search_watch(self, user_id: int, search_id: int, watch: bool, threshold: int) -> bool:
        """Make one of the user's saved searches a watch query (counting items stored from now on), or stop it."""
        with self.transaction():
            cur = self.db.execute(
                "UPDATE saved_searches SET watch = ?, watch_threshold = ?,"
                " watch_seen_id = CASE WHEN ? AND NOT watch THEN (SELECT COALESCE(MAX(id), 0) FROM items)"
                " ELSE watch_seen_id END WHERE id = ? AND user_id = ?",
                [int(watch), max(1, int(threshold)), int(watch), search_id, user_id])
        return cur.rowcount == 1

    def watched_searches(self) -> list[dict]:
        rows = list(self.db.query("SELECT * FROM saved_searches WHERE watch = 1 ORDER BY id"))
        for row in rows:
            row["params"] = json.loads(row["params"])
        return rows

    def max_item_id(self) -> int:
        return self.db.execute("SELECT COALESCE(MAX(id), 0) FROM items").fetchone()[0]

    def advance_search_watch(self, search_id: int, seen_id: int, notification: dict | None = None,
                             flag: dict | None = None) -> None:
        """The watch query has counted every item up to `seen_id`; its alert and its board flag (if any) are stored
        in the same unit, so the same matches never raise a second flag."""
        with self.transaction():
            if notification is not None:
                self.add_notifications([notification])
            if flag is not None:
                self.save_story_flag(flag)
            self.db.execute("UPDATE saved_searches SET watch_seen_id = MAX(watch_seen_id, ?) WHERE id = ?",
                            [seen_id, search_id])

    # --- the dashboard (service/dashboard.py): counts by day, tone, topic and unit over the reader's scope ----------
    @staticmethod
    def _scope_sql(units: list[str] | None, column: str = "org_unit") -> tuple[str, list]:
        if units is None:
            return "", []
        return f" AND ({column} IS NULL OR {column} IN ({','.join('?' * len(units))}))", list(units)

    def items_per_day_by_channel(self, since_day: str, until_day: str, units: list[str] | None) -> list[dict]:
        """(day, grp, n): the press and the web, collaborators' reports, dialogues and meetings (daily counts kept
        by triggers)."""
        scope, params = self._scope_sql(units, "NULLIF(org_unit, '')")
        return list(self.db.query(
            "SELECT day, grp, SUM(n) AS n FROM dash_item_days WHERE day >= ? AND day <= ?"
            f"{scope} GROUP BY day, grp", [since_day, until_day, *params]))

    def tone_per_day(self, since_day: str, until_day: str, units: list[str] | None) -> list[dict]:
        scope, params = self._scope_sql(units, "NULLIF(org_unit, '')")
        return list(self.db.query(
            "SELECT day, sentiment, SUM(n) AS n FROM dash_stream_days WHERE day >= ? AND day <= ?"
            f"{scope} GROUP BY day, sentiment", [since_day, until_day, *params]))

    def topic_counts(self, since_day: str, until_day: str, units: list[str] | None) -> dict[str, int]:
        scope, params = self._scope_sql(units, "NULLIF(org_unit, '')")
        return {r[0]: r[1] for r in self.db.execute(
            "SELECT topic, SUM(n) FROM dash_stream_days WHERE day >= ? AND day <= ?"
            f"{scope} GROUP BY topic HAVING SUM(n) > 0", [since_day, until_day, *params])}

    def observations_per_unit(self, since_day: str, units: list[str] | None) -> dict[str, int]:
        scope, params = ("", []) if units is None else (
            f" AND org_unit IN ({','.join('?' * len(units))})", list(units))
        return {r[0]: r[1] for r in self.db.execute(
            "SELECT org_unit, SUM(n) FROM dash_item_days WHERE grp != 'press' AND day >= ? AND org_unit != ''"
            f"{scope} GROUP BY org_unit HAVING SUM(n) > 0", [since_day, *params])}

    def reports_sent_per_unit(self, since: str, units: list[str] | None) -> dict[str, int]:
        if not self.db["unit_reports"].exists():
            return {}
        scope, params = ("", []) if units is None else (
            f" AND org_unit IN ({','.join('?' * len(units))})", list(units))
        return {r[0]: r[1] for r in self.db.execute(
            "SELECT org_unit, COUNT(DISTINCT period || first_day) FROM unit_reports"
            f" WHERE status IN ('sent', 'received') AND sent_at >= ?{scope} GROUP BY org_unit", [since, *params])}


API_TOKEN_DAYS = 90   # an API token's default lifetime


def _token_expiry(row: dict) -> str:
    """When an API token stops working (tokens made before expiry existed: their creation + the default lifetime)."""
    if row.get("expires_at"):
        return row["expires_at"]
    created = row.get("token_created") or row.get("created_at")
    return iso(datetime.fromisoformat(created) + timedelta(days=API_TOKEN_DAYS))


def _decode_report(row: dict) -> dict:
    row["data"] = json.loads(row.get("data") or "{}")
    row["narrative"] = json.loads(row.get("narrative") or "{}")
    return row


def _decode_flag(row: dict) -> dict:
    for key in ("keyphrases", "item_ids", "evidence"):
        row[key] = json.loads(row[key])
    return row


# --- whole-database copies: backup, inspection, restore (used by service/backup.py) -----------------------------

def _read_only(path: str | Path) -> sqlite3.Connection:
    conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True, timeout=30)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def backup_database(source: str | Path, target: str | Path) -> None:
    """Copy the database at `source` into the new file `target` with SQLite's online backup API: one consistent
    snapshot (a read transaction over the whole copy) while other connections go on reading and writing (WAL).
    The copy is one self-contained file (rollback journal, no -wal beside it)."""
    src = _read_only(source)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)   # all pages in one step: never restarted by a concurrent writer
        dst.execute("PRAGMA journal_mode=DELETE")
        dst.commit()
    finally:
        dst.close()
        src.close()


def inspect_database(path: str | Path, integrity: bool = True) -> dict[str, Any]:
    """What a database file is, read-only: {"sqlite": bool, "integrity": ["ok"] or the problems, "schema_version":
    the highest applied Pulse migration or None, "tables": names, "counts": rows of the main tables}.
    `integrity=False` skips PRAGMA integrity_check (it reads every page) and reports ["not checked"]."""
    out: dict[str, Any] = {"sqlite": False, "integrity": [], "schema_version": None, "tables": [], "counts": {}}
    try:
        with open(path, "rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                return out
        out["sqlite"] = True
        conn = _read_only(path)
    except OSError as exc:
        out["integrity"] = [str(exc)]
        return out
    except sqlite3.Error as exc:   # e.g. the file is encrypted or not a database after all
        out["integrity"] = [str(exc)]
        return out
    try:
        out["integrity"] = ([row[0] for row in conn.execute("PRAGMA integrity_check")] if integrity
                            else ["not checked"])
        out["tables"] = sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
        if "schema_version" in out["tables"]:
            out["schema_version"] = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        for table in ("items", "items_fts", "annotations", "stream_items", "flags", "users", "submissions", "labels"):
            if table in out["tables"]:
                out["counts"][table] = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    except sqlite3.Error as exc:   # "database disk image is malformed", "file is not a database"
        out["integrity"] = out["integrity"] if out["integrity"] not in ([], ["ok"], ["not checked"]) else [str(exc)]
    finally:
        conn.close()
    return out


def restore_database(source: str | Path, target: str | Path) -> None:
    """Replace the content of the database at `target` (existing or not) by the one at `source`, page by page with
    the online backup API under SQLite's own locks: a server that has `target` open sees the restored data on its
    next read, never a half-copied file."""
    src = _read_only(source)
    dst = sqlite3.connect(str(target), timeout=30)
    try:
        dst.execute("PRAGMA busy_timeout=30000")
        src.backup(dst)
    finally:
        dst.close()
        src.close()
