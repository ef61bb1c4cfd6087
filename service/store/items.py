"""Items (stored once), their annotations and the unit each belongs to."""
from __future__ import annotations

import json
import re
from typing import Any, Iterable, Iterator

from collectors.items import RawItem
from nlp.normalize import fold
from service.search import index_forms
from service.store.common import iso, item_hash, utcnow
from service.timeutil import local_day, sql_day_modifier


ANNOTATION_INSERT = (" INTO annotations (item_id, model_version, topic, topic_score, news_topic, sentiment,"
                     " sentiment_score, toxicity, keyphrases, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def annotation_values(r: dict[str, Any], model_version: str, now: str) -> tuple:
    """The values of ANNOTATION_INSERT for one item's annotation row."""
    return (r["item_id"], model_version, r["topic"], r["topic_score"], r.get("news_topic"), r["sentiment"],
            r["sentiment_score"], r.get("toxicity"), json.dumps(r.get("keyphrases") or [], ensure_ascii=False), now)


class ItemsRepository:
    """Items (stored once), their annotations and the unit each belongs to."""

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
        match, values = self._folded_match(words, phrase=False)
        return list(self.db.query(
            f"SELECT i.* FROM items_fts f JOIN items i ON i.id = f.rowid WHERE {match}"
            " ORDER BY i.published_at DESC, i.id DESC LIMIT ?",   # ties in one order whichever the engine
            [*values, limit],
        ))

    # --- annotations -----------------------------------------------------------------------------
    def add_annotations(self, rows: list[dict[str, Any]]) -> None:
        now = utcnow()
        with self.transaction():
            self.db.conn.executemany("INSERT OR REPLACE" + ANNOTATION_INSERT,
                                     [annotation_values(r, r["model_version"], now) for r in rows])

    def annotation(self, item_id: int, model_version: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM annotations WHERE item_id = ? AND model_version = ?",
                                  [item_id, model_version]))
        if not rows:
            return None
        rows[0]["keyphrases"] = json.loads(rows[0]["keyphrases"])
        return rows[0]

    # --- reader's scope: which unit each item belongs to (service/scope.py) ------------------------------------
    def item_units(self, item_ids: list[int]) -> dict[int, str | None]:
        """item id → its org unit (None for public items: the press, the web)."""
        out: dict[int, str | None] = {}
        ids = list(dict.fromkeys(item_ids))
        if self.backend == "postgresql":   # the ids as one array: one round trip per 50,000, not per 500
            for i in range(0, len(ids), 50_000):
                out.update(self.db.execute("SELECT id, org_unit FROM items WHERE id = ANY(?)",
                                           [ids[i:i + 50_000]]).fetchall())
            return out
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
