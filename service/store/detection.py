"""What the detectors count, watch terms, relevance and the queue of items left to process."""
from __future__ import annotations

import json
import re
from typing import Any

from nlp.normalize import fold
from service.store.common import utcnow
from service.timeutil import sql_day_modifier


class DetectionRepository:
    """What the detectors count, watch terms, relevance and the queue of items left to process."""

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
        match, values = self._folded_match(words, phrase=True)
        return list(self.db.query(
            "SELECT si.* FROM items_fts f JOIN stream_items si ON si.item_id = f.rowid"
            f" WHERE {match} AND si.day >= ? AND si.day <= ? ORDER BY si.item_id LIMIT ?",
            [*values, since_day, until_day, limit]))

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
        match, values = self._folded_match([w.replace('"', "") for w in folded_words], phrase=True)
        return list(self.db.query(
            "SELECT i.id AS item_id, i.title, i.text, i.day, i.kind, i.source, i.org_unit, si.stream_id, si.topic,"
            " r.workers, r.excluded"
            " FROM items_fts f JOIN items i ON i.id = f.rowid LEFT JOIN stream_items si ON si.item_id = i.id"
            " LEFT JOIN item_relevance r ON r.item_id = i.id"
            f" WHERE {match} AND i.day >= ? AND i.day <= ? ORDER BY i.day, i.id LIMIT ?",
            [*values, since_day, until_day, limit]))

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
