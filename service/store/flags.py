"""Flags (one per story), events, review decisions and orientations."""
from __future__ import annotations

import json
import re
from typing import Any

from nlp.normalize import fold
from service.store.common import _decode_flag, utcnow


class FlagsRepository:
    """Flags (one per story), events, review decisions and orientations."""

    # --- flags -----------------------------------------------------------------------------------
    def upsert_flag(self, flag: dict[str, Any]) -> int:
        """Store a flag under its key; detecting the same thing again updates it, never duplicates it."""
        now = utcnow()
        values = [flag["kind"], flag.get("stream_id"), flag.get("topic"), flag["score"], flag["window_start"],
                  flag["window_end"], flag["count"], flag["baseline"], flag["reason"],
                  json.dumps(flag.get("keyphrases", []), ensure_ascii=False),
                  json.dumps(flag.get("evidence", {}), ensure_ascii=False), int(bool(flag.get("degraded")))]
        with self.transaction():
            self.db.execute(
                "INSERT INTO flags (key, kind, stream_id, topic, score, window_start, window_end, count, baseline,"
                " reason, keyphrases, evidence, degraded, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET kind = excluded.kind, stream_id = excluded.stream_id,"
                " topic = excluded.topic, score = excluded.score, window_start = excluded.window_start,"
                " window_end = excluded.window_end, count = excluded.count, baseline = excluded.baseline,"
                " reason = excluded.reason, keyphrases = excluded.keyphrases,"
                " evidence = excluded.evidence, degraded = excluded.degraded, updated_at = excluded.updated_at",
                [flag["key"], *values, now, now],
            )
            flag_id = self.db.execute("SELECT id FROM flags WHERE key = ?", [flag["key"]]).fetchone()[0]
            self._set_flag_items(flag_id, flag.get("item_ids", []))
            return flag_id

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
        return self._decode_flags(rows)

    def flag(self, flag_id: int) -> dict | None:
        rows = list(self.db.query("SELECT * FROM flags WHERE id = ?", [flag_id]))
        return self._decode_flags(rows)[0] if rows else None

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
            " GROUP BY si.stream_id, s.label ORDER BY n DESC, si.stream_id", [event_id]))

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
        return self._decode_flags(rows)[0] if rows else None

    def flag_by_key(self, key: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM flags WHERE key = ?", [key]))
        return self._decode_flags(rows)[0] if rows else None

    def save_story_flag(self, flag: dict[str, Any], reopen_factor: float = 1.5) -> tuple[int, bool]:
        """Create or update a story's one living flag; returns (id, whether it is new or reopened).

        A dismissed flag stays dismissed while the story stays below `reopen_factor` × its size when dismissed; past
        that it opens again. Confirmed and escalated flags keep their status.
        """
        now = utcnow()
        cols = ("kind", "stream_id", "topic", "score", "window_start", "window_end", "count", "baseline", "reason",
                "keyphrases", "evidence", "degraded", "severity", "title", "event_id")
        values = [flag["kind"], flag.get("stream_id"), flag.get("topic"), flag["score"], flag["window_start"],
                  flag["window_end"], flag["count"], flag["baseline"], flag["reason"],
                  json.dumps(flag.get("keyphrases", []), ensure_ascii=False),
                  json.dumps(flag.get("evidence", {}), ensure_ascii=False), int(bool(flag.get("degraded"))),
                  float(flag.get("severity") or 0.0), flag.get("title") or "", flag.get("event_id")]
        with self.transaction():
            row = self.db.execute("SELECT id, status, dismissed_count FROM flags WHERE key = ?",
                                  [flag["key"]]).fetchone()
            if row is None:
                cur = self.db.execute(
                    f"INSERT INTO flags (key, {', '.join(cols)}, created_at, updated_at)"
                    f" VALUES (?, {', '.join('?' * len(cols))}, ?, ?)", [flag["key"], *values, now, now])
                self._set_flag_items(cur.lastrowid, flag.get("item_ids", []))
                return cur.lastrowid, True
            flag_id, status, dismissed_count = row
            sets = ", ".join(f"{c} = ?" for c in cols)
            self.db.execute(f"UPDATE flags SET {sets}, updated_at = ? WHERE id = ?", [*values, now, flag_id])
            self._set_flag_items(flag_id, flag.get("item_ids", []))
            reopened = (status == "dismissed" and dismissed_count is not None
                        and flag["count"] >= max(dismissed_count * reopen_factor, dismissed_count + 3))
            if reopened:
                self.db.execute("UPDATE flags SET status = 'open', dismissed_count = NULL WHERE id = ?", [flag_id])
                self.db.execute("INSERT INTO flag_events (flag_id, username, action, note, at) VALUES (?, ?, ?, ?, ?)",
                                [flag_id, "pulse", "reopen",
                                 f"Câu chuyện tăng trở lại: {flag['count']} tin (khi bác bỏ: {dismissed_count}).", now])
            return flag_id, reopened

    # --- a flag's items: link rows in their order (issue 18.1) --------------------------------------------------
    def _flag_items(self, flag_ids: list[int]) -> dict[int, list[int]]:
        """flag id → its item ids in their order, for many flags in one query a chunk."""
        out: dict[int, list[int]] = {}
        ids = list(dict.fromkeys(flag_ids))
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for flag_id, item_id in self.db.execute(
                    f"SELECT flag_id, item_id FROM flag_items WHERE flag_id IN ({marks}) ORDER BY flag_id, position",
                    chunk).fetchall():
                out.setdefault(flag_id, []).append(item_id)
        return out

    def _set_flag_items(self, flag_id: int, item_ids: list[int]) -> None:
        """Make a flag's link rows the given items in this order (an item named twice keeps its first place); call
        inside the transaction that writes the flag. Rows are rewritten only when the list changed."""
        wanted = list(dict.fromkeys(int(i) for i in item_ids or []))
        if self._flag_items([flag_id]).get(flag_id, []) == wanted:
            return
        self.db.execute("DELETE FROM flag_items WHERE flag_id = ?", [flag_id])
        self.db.conn.executemany("INSERT INTO flag_items (flag_id, item_id, position) VALUES (?, ?, ?)",
                                 [(flag_id, item_id, n) for n, item_id in enumerate(wanted)])

    def _decode_flags(self, rows: list[dict]) -> list[dict]:
        """Flag rows as callers read them: JSON fields decoded and `item_ids` (in order) from the link rows."""
        items = self._flag_items([row["id"] for row in rows])
        for row in rows:
            _decode_flag(row)
            row["item_ids"] = items.get(row["id"], [])
        return rows

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
            match, values = self._folded_match(words, phrase=False)
            clauses.append(match)
            params.extend(values)
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
