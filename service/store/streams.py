"""Streams and the placement of items in them."""
from __future__ import annotations

import json
from typing import Any, Iterable

from service.store.common import utcnow


class StreamsRepository:
    """Streams and the placement of items in them."""

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
