"""Sources, their collection runs and the boilerplate learned per outlet."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from service.store.common import iso, utcnow


class SourcesRepository:
    """Sources, their collection runs and the boilerplate learned per outlet."""

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
        with self.transaction():   # the config read and written back in one unit of work, on either backend
            row = self.db.execute("SELECT config FROM sources WHERE name = ?", [name]).fetchone()
            if row is None:
                return
            config = json.loads(row[0] or "{}")
            if (config.get("retry_after") or None) == (until or None):
                return
            if until:
                config["retry_after"] = until
            else:
                config.pop("retry_after", None)
            self.db.execute("UPDATE sources SET config = ? WHERE name = ?",
                            [json.dumps(config, ensure_ascii=False), name])

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
