"""Labels and model versions."""
from __future__ import annotations

import json
from typing import Any

from service.store.common import utcnow


class LabelsRepository:
    """Labels and model versions."""

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
