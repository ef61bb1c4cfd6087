"""Repair of what earlier versions left behind (service/doctor.py)."""
from __future__ import annotations

import json

from nlp.normalize import fold
from service.search import index_forms


class RepairRepository:
    """Repair of what earlier versions left behind (service/doctor.py)."""

    # --- repair: what earlier versions (one commit per statement) left behind (service/doctor.py) ---------------
    def annotated_unplaced_items(self, limit: int = 256) -> list[dict]:
        """Items annotated by some model set but placed in no stream and no longer in the processing queue (left
        stranded: an item still queued waits for the processing run, which places it), with their latest annotation
        (oldest first)."""
        rows = list(self.db.query(
            "SELECT i.id, i.title, i.text, i.published_at, i.day, i.source, i.org_unit, i.kind, a.topic, a.topic_score,"
            " a.news_topic, a.sentiment, a.sentiment_score, a.toxicity, a.keyphrases FROM items i"
            " JOIN annotations a ON a.id = (SELECT MAX(id) FROM annotations WHERE item_id = i.id)"
            " WHERE NOT EXISTS (SELECT 1 FROM stream_items si WHERE si.item_id = i.id)"
            " AND NOT EXISTS (SELECT 1 FROM process_queue q WHERE q.item_id = i.id) ORDER BY i.id LIMIT ?",
            [limit]))
        for row in rows:
            row["keyphrases"] = json.loads(row["keyphrases"] or "[]")
        return rows

    def count_annotated_unplaced(self, queued: bool = False) -> int:
        """Annotated items placed in no stream: those left stranded (out of the processing queue), or with `queued`
        those waiting in the queue for the placing run (annotated by a shared worker, or by a run killed between
        its annotation and placement; the next processing run places them)."""
        return self.db.execute(
            "SELECT COUNT(DISTINCT a.item_id) FROM annotations a"
            " WHERE NOT EXISTS (SELECT 1 FROM stream_items si WHERE si.item_id = a.item_id) AND "
            + ("" if queued else "NOT ") + "EXISTS (SELECT 1 FROM process_queue q WHERE q.item_id = a.item_id)"
        ).fetchone()[0]

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
            for table, column in self._references_to_items():
                self.db.conn.executemany(f'DELETE FROM "{table}" WHERE "{column}" = ?', ids)
            self.db.conn.executemany("DELETE FROM items_fts WHERE rowid = ?", ids)
            self.db.conn.executemany("DELETE FROM items_search WHERE rowid = ?", ids)
            self.db.conn.executemany("DELETE FROM search_backfill WHERE item_id = ?", ids)
            cur = self.db.conn.executemany("DELETE FROM items WHERE id = ?", ids)
            deleted = cur.rowcount
            self.db.conn.executemany("DELETE FROM flag_items WHERE item_id = ?", ids)   # flags' lists keep their order
            self.db.conn.executemany("UPDATE streams SET size = (SELECT COUNT(*) FROM stream_items"
                                     " WHERE stream_id = ?1), topic_counts = NULL, phrase_counts = NULL WHERE id = ?1",
                                     [(s,) for s in streams])
        return deleted

    def _references_to_items(self) -> list[tuple[str, str]]:
        """(table, column) of every foreign key to items, from the schema itself."""
        if self.backend == "postgresql":
            return [tuple(r) for r in self.db.execute(
                "SELECT c.relname, a.attname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid"
                " JOIN pg_class p ON p.oid = k.confrelid"
                " JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]"
                " WHERE k.contype = 'f' AND p.relname = 'items'"
                " AND k.connamespace = CAST(current_schema() AS regnamespace) ORDER BY 1, 2").fetchall()]
        return [(table, fk[3]) for table in self.db.table_names()
                for fk in self.db.execute(f"PRAGMA foreign_key_list([{table}])").fetchall() if fk[2] == "items"]

    def streams_with_wrong_size(self) -> list[int]:
        return [r[0] for r in self.db.execute(
            "SELECT s.id FROM streams s WHERE s.status != 'merged' AND s.size !="
            " (SELECT COUNT(*) FROM stream_items si WHERE si.stream_id = s.id) ORDER BY s.id").fetchall()]

    def recount_streams(self, stream_ids: list[int]) -> None:
        with self.transaction():
            self.db.conn.executemany("UPDATE streams SET size = (SELECT COUNT(*) FROM stream_items"
                                     " WHERE stream_id = ?1), topic_counts = NULL, phrase_counts = NULL"
                                     " WHERE id = ?1", [(s,) for s in stream_ids])

    def foreign_key_violations(self) -> list[tuple]:
        """Rows whose reference points at no row: (table, its rowid on SQLite or its missing key on PostgreSQL,
        referenced table); [] when sound. SQLite's
        `PRAGMA foreign_key_check`; on PostgreSQL each foreign key is checked by a query (its constraint is held off
        while a whole-store copy writes, service/store/copy.py)."""
        if self.backend == "sqlite":
            return [tuple(r[:3]) for r in self.db.execute("PRAGMA foreign_key_check").fetchall()]
        out = []
        for table, column, parent, key in self.db.execute(
                "SELECT c.relname, a.attname, p.relname, b.attname FROM pg_constraint k"
                " JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid"
                " JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]"
                " JOIN pg_attribute b ON b.attrelid = k.confrelid AND b.attnum = k.confkey[1]"
                " WHERE k.contype = 'f' AND k.connamespace = CAST(current_schema() AS regnamespace)"
                " ORDER BY 1, 2").fetchall():
            out += [(table, r[0], parent) for r in self.db.execute(
                f'SELECT t."{column}" FROM "{table}" t WHERE t."{column}" IS NOT NULL AND NOT EXISTS'
                f' (SELECT 1 FROM "{parent}" r WHERE r."{key}" = t."{column}")').fetchall()]
        return out

    def integrity_check(self) -> list[str]:
        """SQLite's own check of the file; ['ok'] when sound."""
        if self.backend == "postgresql":
            # PostgreSQL guards its own pages (WAL, checksums); what it can leave half-made is an index a failed build
            # marked invalid, which the planner then ignores
            bad = [f"invalid index {r[0]}" for r in self.db.execute(
                "SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid"
                " WHERE c.relnamespace = CAST(current_schema() AS regnamespace) AND NOT x.indisvalid"
                " ORDER BY 1").fetchall()]
            return bad or ["ok"]
        return [r[0] for r in self.db.execute("PRAGMA integrity_check").fetchall()]
