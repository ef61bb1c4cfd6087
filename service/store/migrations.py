"""The schema: forward migrations, each applied once, in order, in one transaction (StoreBase.migrate)."""
from __future__ import annotations

import re
import sqlite3

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
    # annotation shared by several workers (service/pipeline.py annotate_claimed): a worker claims a batch of queued
    # items with a lease, annotates them outside any transaction, then writes the annotations and marks the rows
    # annotated (with which model version) in one; an expired lease returns the batch. Placement stays one writer
    # and takes the annotated rows in queue order. A job deferred to the task queue keeps its task's id.
    """
    ALTER TABLE process_queue ADD COLUMN claimed_by TEXT;
    ALTER TABLE process_queue ADD COLUMN lease_until TEXT;
    ALTER TABLE process_queue ADD COLUMN annotated_with TEXT;
    CREATE INDEX process_queue_claims ON process_queue(annotated_with, item_id);
    ALTER TABLE jobs ADD COLUMN task_id INTEGER;
    """,
    # a flag's items as link rows in their order (issue 18.1), not a JSON list: SQL finds the flags citing an item
    # through an index on both backends. Filled from the JSON lists (an entry that is not a whole number cannot be an
    # item id and is left out); the next migration drops the JSON column, so the link rows are the one truth.
    # No foreign key to items: a flag may cite an item removed since, as the JSON list could (delete_items clears it).
    """
    CREATE TABLE flag_items (
        flag_id INTEGER NOT NULL REFERENCES flags(id),
        item_id INTEGER NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (flag_id, item_id)
    ) WITHOUT ROWID;
    CREATE INDEX flag_items_item ON flag_items(item_id);
    INSERT OR IGNORE INTO flag_items (flag_id, item_id, position)
        SELECT f.id, j.value, j.key FROM flags f,
            json_each(CASE WHEN json_valid(f.item_ids) AND json_type(f.item_ids) = 'array' THEN f.item_ids
                      ELSE '[]' END) j
        WHERE j.type = 'integer';
    """,
    # (a migration of its own: PostgreSQL's form of the fill above runs at the end of its migration, before this)
    """
    ALTER TABLE flags DROP COLUMN item_ids;
    """,
    # login throttles and rate limits in the store (issue 18.4, service/store/limits.py), so every web process of one
    # store counts the same failed logins and submissions. Times are epoch seconds (REAL, from the limiter's clock);
    # a row is deleted once it no longer counts. rate_events has no key: a frozen test clock may repeat a time.
    """
    CREATE TABLE login_failures (
        kind TEXT NOT NULL,
        address TEXT NOT NULL,
        username TEXT NOT NULL,
        failures INTEGER NOT NULL,
        last_failure REAL NOT NULL,
        PRIMARY KEY (kind, address, username)
    ) WITHOUT ROWID;
    CREATE INDEX login_failures_last ON login_failures(last_failure);
    CREATE TABLE rate_events (
        key TEXT NOT NULL,
        expires REAL NOT NULL
    );
    CREATE INDEX rate_events_key ON rate_events(key, expires);
    CREATE INDEX rate_events_expires ON rate_events(expires);
    """,
    # the model registry in the store (service/modelsync.py): each task's active version, versions and rollback
    # history, and the files of the versions trained by the board (never the shipped ones), so every worker on every
    # machine loads the same models; each data folder's models/ is brought in line with these rows
    """
    CREATE TABLE model_registry (
        task TEXT PRIMARY KEY,
        active TEXT,
        versions TEXT NOT NULL DEFAULT '[]',
        history TEXT NOT NULL DEFAULT '[]',
        updated_at TEXT NOT NULL
    );
    CREATE TABLE model_files (
        task TEXT NOT NULL,
        version TEXT NOT NULL,
        name TEXT NOT NULL,
        content BLOB NOT NULL,
        PRIMARY KEY (task, version, name)
    );
    """,
    # the units of a stream's items read from the index alone (scope.py `scoped_flag` asks it of every flag a unit's
    # reader sees): on a 2,000,000-item store the queue of a unit's staff spent 5,4 s (SQLite) / 3,3 s (PostgreSQL) in
    # `stream_units` reading ~10,000 rows of stream_items per flag (bench/scale.py --read)
    """
    CREATE INDEX stream_items_stream_unit ON stream_items(stream_id, org_unit);
    """,
]



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


# --- the same migrations on PostgreSQL ----------------------------------------------------------------------------
# Each SQLite migration above is also PostgreSQL's: its tables, indexes and data statements are translated by
# `postgres_statements` (types, identity keys, timestamps as timestamptz); what has no common form — FTS5 tables and
# triggers — is written here for PostgreSQL, by migration number, and replaces those statements.
# The text of a search column split into words as SQLite's unicode61 does, not by PostgreSQL's parser (which keeps
# `covid-19`, `tp.hcm`, `5.000`, URLs and e-mail addresses as compound tokens): runs of letters and decimal digits,
# classified by ICU whatever the database's locale (under the "C" locale `[:alnum:]` would hold ASCII alone); the query
# side splits words the same way (service/search.py ts_words). Needs a PostgreSQL built with ICU (Debian's is).
_PG_WORDS = "to_tsvector('simple', regexp_replace({} COLLATE \"und-x-icu\", '[^[:alnum:]]+', ' ', 'g'))"
_PG_DASH_GROUP = ("CASE WHEN {r}.kind <> 'observation' THEN 'press' WHEN {r}.channel = 'hoi-nghi' THEN 'dialogues'"
                  " ELSE 'collaborators' END")
POSTGRES_FORMS: dict[int, list[str]] = {
    1: [
        # SUM over a comparison (SQLite counts true as 1): the same aggregate over booleans
        "CREATE FUNCTION pulse_bool_add(bigint, boolean) RETURNS bigint LANGUAGE sql IMMUTABLE AS"
        " 'SELECT CASE WHEN $2 IS NULL THEN $1 ELSE COALESCE($1, 0) + $2::int END'",
        "CREATE AGGREGATE sum(boolean) (SFUNC = pulse_bool_add, STYPE = bigint)",
        "CREATE TABLE items_fts (rowid BIGINT PRIMARY KEY, folded TEXT NOT NULL DEFAULT '',"
        " tsv tsvector GENERATED ALWAYS AS (" + _PG_WORDS.format("folded") + ") STORED)",
        "CREATE INDEX items_fts_tsv ON items_fts USING GIN (tsv)",
    ],
    5: [
        "CREATE FUNCTION pulse_queue_item() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF TG_OP = 'INSERT' THEN INSERT INTO process_queue (item_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;"
        " ELSE DELETE FROM process_queue WHERE item_id = OLD.id; END IF; RETURN NULL; END $$",
        "CREATE TRIGGER items_queue_for_processing AFTER INSERT ON items FOR EACH ROW EXECUTE FUNCTION pulse_queue_item()",
        "CREATE TRIGGER items_leave_processing_queue AFTER DELETE ON items FOR EACH ROW"
        " EXECUTE FUNCTION pulse_queue_item()",
        "CREATE FUNCTION pulse_relevance_gap() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF TG_OP = 'DELETE' THEN INSERT INTO relevance_gaps (item_id) VALUES (OLD.item_id) ON CONFLICT DO NOTHING;"
        " ELSE DELETE FROM relevance_gaps WHERE item_id = NEW.item_id; END IF; RETURN NULL; END $$",
        "CREATE TRIGGER relevance_gap AFTER DELETE ON item_relevance FOR EACH ROW EXECUTE FUNCTION pulse_relevance_gap()",
        "CREATE TRIGGER relevance_gap_filled AFTER INSERT OR UPDATE ON item_relevance FOR EACH ROW"
        " EXECUTE FUNCTION pulse_relevance_gap()",
    ],
    6: [
        "CREATE TABLE items_search (rowid BIGINT PRIMARY KEY, title TEXT NOT NULL DEFAULT '',"
        " body TEXT NOT NULL DEFAULT '', title_folded TEXT NOT NULL DEFAULT '', body_folded TEXT NOT NULL DEFAULT '',"
        " original tsvector GENERATED ALWAYS AS (setweight(" + _PG_WORDS.format("title") + ", 'A')"
        " || setweight(" + _PG_WORDS.format("body") + ", 'B')) STORED,"
        " folded tsvector GENERATED ALWAYS AS (setweight(" + _PG_WORDS.format("title_folded") + ", 'A')"
        " || setweight(" + _PG_WORDS.format("body_folded") + ", 'B')) STORED)",
        "CREATE INDEX items_search_original ON items_search USING GIN (original)",
        "CREATE INDEX items_search_folded ON items_search USING GIN (folded)",
    ],
    10: [
        "CREATE FUNCTION pulse_report_frozen() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " RAISE EXCEPTION 'a report that was sent is frozen'; END $$",
        "CREATE TRIGGER unit_reports_frozen BEFORE UPDATE OF data, narrative, org_unit, period, first_day, revision"
        " ON unit_reports FOR EACH ROW WHEN (OLD.status <> 'draft') EXECUTE FUNCTION pulse_report_frozen()",
    ],
    15: [
        "CREATE FUNCTION pulse_dash_item() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF TG_OP IN ('DELETE', 'UPDATE') THEN UPDATE dash_item_days SET n = n - 1 WHERE day = OLD.day"
        " AND org_unit = COALESCE(OLD.org_unit, '') AND grp = " + _PG_DASH_GROUP.format(r="OLD") + "; END IF;"
        " IF TG_OP IN ('INSERT', 'UPDATE') THEN INSERT INTO dash_item_days AS d (day, grp, org_unit, n) VALUES"
        " (NEW.day, " + _PG_DASH_GROUP.format(r="NEW") + ", COALESCE(NEW.org_unit, ''), 1)"
        " ON CONFLICT (day, grp, org_unit) DO UPDATE SET n = d.n + 1; END IF; RETURN NULL; END $$",
        "CREATE TRIGGER dash_item_added AFTER INSERT ON items FOR EACH ROW EXECUTE FUNCTION pulse_dash_item()",
        "CREATE TRIGGER dash_item_removed AFTER DELETE ON items FOR EACH ROW EXECUTE FUNCTION pulse_dash_item()",
        "CREATE TRIGGER dash_item_changed AFTER UPDATE OF day, kind, channel, org_unit ON items FOR EACH ROW"
        " EXECUTE FUNCTION pulse_dash_item()",
        "CREATE FUNCTION pulse_dash_stream() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF TG_OP IN ('DELETE', 'UPDATE') THEN UPDATE dash_stream_days SET n = n - 1 WHERE day = OLD.day"
        " AND topic = OLD.topic AND sentiment = OLD.sentiment AND org_unit = COALESCE(OLD.org_unit, ''); END IF;"
        " IF TG_OP IN ('INSERT', 'UPDATE') THEN INSERT INTO dash_stream_days AS d (day, topic, sentiment, org_unit, n)"
        " VALUES (NEW.day, NEW.topic, NEW.sentiment, COALESCE(NEW.org_unit, ''), 1)"
        " ON CONFLICT (day, topic, sentiment, org_unit) DO UPDATE SET n = d.n + 1; END IF; RETURN NULL; END $$",
        "CREATE TRIGGER dash_placed AFTER INSERT ON stream_items FOR EACH ROW EXECUTE FUNCTION pulse_dash_stream()",
        "CREATE TRIGGER dash_unplaced AFTER DELETE ON stream_items FOR EACH ROW EXECUTE FUNCTION pulse_dash_stream()",
        "CREATE TRIGGER dash_replaced AFTER UPDATE OF day, topic, sentiment, org_unit ON stream_items FOR EACH ROW"
        " EXECUTE FUNCTION pulse_dash_stream()",
    ],
    16: [
        "CREATE FUNCTION pulse_placement_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " UPDATE placement_state SET token = NULL WHERE token IS NOT NULL; RETURN NULL; END $$",
        "CREATE TRIGGER placement_streams AFTER INSERT OR UPDATE OR DELETE ON streams FOR EACH STATEMENT"
        " EXECUTE FUNCTION pulse_placement_changed()",
        "CREATE TRIGGER placement_members AFTER INSERT OR UPDATE OR DELETE ON stream_items FOR EACH STATEMENT"
        " EXECUTE FUNCTION pulse_placement_changed()",
        "CREATE TRIGGER placement_signatures AFTER UPDATE OF simhash ON items FOR EACH STATEMENT"
        " EXECUTE FUNCTION pulse_placement_changed()",
        "CREATE TRIGGER placement_items_delete AFTER DELETE ON items FOR EACH STATEMENT"
        " EXECUTE FUNCTION pulse_placement_changed()",
    ],
}


def _migration_number(marker: str) -> int:
    """The number of the migration whose text holds `marker`."""
    return next(n for n, script in enumerate(MIGRATIONS, start=1) if marker in script)


# flags' JSON item lists into link rows, in their order (json_each is SQLite's); a list that is not JSON is read as
# empty, as SQLite's form does (PostgreSQL 15 has no `IS JSON`, hence the session's own parsing function)
POSTGRES_FORMS[_migration_number("CREATE TABLE flag_items")] = [
    "CREATE FUNCTION pg_temp.pulse_json_list(t TEXT) RETURNS jsonb LANGUAGE plpgsql AS $$ BEGIN"
    " RETURN CASE WHEN jsonb_typeof(CAST(t AS jsonb)) = 'array' THEN CAST(t AS jsonb) ELSE CAST('[]' AS jsonb) END;"
    " EXCEPTION WHEN invalid_text_representation THEN RETURN CAST('[]' AS jsonb); END $$",
    "INSERT INTO flag_items (flag_id, item_id, position) SELECT f.id, CAST(j.value AS BIGINT), j.n - 1 FROM flags f"
    " CROSS JOIN LATERAL jsonb_array_elements(pg_temp.pulse_json_list(f.item_ids)) WITH ORDINALITY AS j(value, n)"
    " WHERE jsonb_typeof(j.value) = 'number' AND CAST(j.value AS TEXT) ~ '^-?[0-9]+$' ON CONFLICT DO NOTHING",
    "DROP FUNCTION pg_temp.pulse_json_list(TEXT)",
]

_PG_TYPES = [
    (re.compile(r"\bid INTEGER PRIMARY KEY\b"), "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\b(\w+_at) TEXT\b"), r"\1 TIMESTAMPTZ"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\)\s*WITHOUT ROWID"), ")"),
]


def postgres_statements(number: int, script: str) -> list[str]:
    """Migration `number` (1-based) as PostgreSQL statements."""
    out = []
    for statement in sql_statements(script):
        statement = re.sub(r"^\s*--.*$", "", statement, flags=re.M).strip().rstrip(";")
        head = " ".join(statement.split()[:3]).upper()
        if head.startswith(("CREATE TRIGGER", "CREATE VIRTUAL TABLE")) or re.search(r"\bjson_each\(", statement):
            if number not in POSTGRES_FORMS:
                raise ValueError(f"migration {number} has a statement without a PostgreSQL form: {head}")
            continue
        if head.startswith(("CREATE TABLE", "ALTER TABLE")):
            for pattern, replacement in _PG_TYPES:
                statement = pattern.sub(replacement, statement)
        out.append(statement)
    return out + POSTGRES_FORMS.get(number, [])
