"""Annotation shared by several workers: claims on the processing queue, with leases, and the queue's annotated rows
waiting for the one writer that places them in streams (service/batches.py)."""
from __future__ import annotations

import json
from typing import Any

from service.store.common import utcnow
from service.store.items import ANNOTATION_INSERT, annotation_values

_ITEM_COLUMNS = "i.id, i.title, i.text, i.published_at, i.day, i.source, i.org_unit, i.kind"


class ClaimsRepository:
    """Claims on the processing queue: claim a batch, write its annotations once, release; the placement prefix."""

    def claim_to_annotate(self, worker: str, lease_until: str, limit: int) -> list[dict]:
        """Take up to `limit` queued items that nobody annotated and nobody holds (or whose holder's lease ran out),
        oldest first, for `worker` until `lease_until`; their rows (id, title, text, published_at, day, source, unit,
        kind). One UPDATE … RETURNING inside the write lock: two workers never hold the same item."""
        with self.transaction():
            rows = self.db.execute(
                "UPDATE process_queue SET claimed_by = ?, lease_until = ? WHERE item_id IN (SELECT item_id FROM"
                " process_queue WHERE annotated_with IS NULL AND (lease_until IS NULL OR lease_until < ?)"
                " ORDER BY item_id LIMIT ?) RETURNING item_id", [worker, lease_until, utcnow(), limit]).fetchall()
            ids = sorted(r[0] for r in rows)
            if not ids:
                return []
            marks = ",".join("?" * len(ids))
            return list(self.db.query(f"SELECT {_ITEM_COLUMNS} FROM items i WHERE i.id IN ({marks}) ORDER BY i.id",
                                      ids))

    def write_claimed_annotations(self, worker: str, model_version: str, rows: list[dict[str, Any]],
                                  relevance: list[dict[str, Any]]) -> list[int]:
        """Store the annotations (and relevance) of the items `worker` still holds and mark them annotated with
        `model_version`, releasing the claim; one transaction. An item whose lease ran out and that another worker
        took since is left to that worker. UNIQUE(item_id, model_version) + INSERT OR IGNORE: never twice.
        Returns the ids written."""
        ids = [r["item_id"] for r in rows]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        with self.transaction():
            held = {r[0] for r in self.db.execute(
                f"SELECT item_id FROM process_queue WHERE claimed_by = ? AND annotated_with IS NULL"
                f" AND item_id IN ({marks})", [worker, *ids]).fetchall()}
            if not held:
                return []
            now = utcnow()
            self.db.conn.executemany("INSERT OR IGNORE" + ANNOTATION_INSERT,
                                     [annotation_values(r, model_version, now) for r in rows if r["item_id"] in held])
            self.add_relevance([r for r in relevance if r["item_id"] in held])
            self.db.conn.executemany(
                "UPDATE process_queue SET annotated_with = ?, claimed_by = NULL, lease_until = NULL"
                " WHERE item_id = ? AND claimed_by = ?", [(model_version, i, worker) for i in sorted(held)])
        return sorted(held)

    def release_claims(self, workers: list[str]) -> int:
        """Give back the unannotated items these workers hold (they are gone); how many."""
        if not workers:
            return 0
        marks = ",".join("?" * len(workers))
        with self.transaction():
            return self.db.execute(
                f"UPDATE process_queue SET claimed_by = NULL, lease_until = NULL WHERE annotated_with IS NULL"
                f" AND claimed_by IN ({marks})", list(workers)).rowcount

    def claim_holders(self) -> list[str]:
        """Workers that hold unannotated items with a lease not yet run out."""
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT claimed_by FROM process_queue WHERE annotated_with IS NULL AND claimed_by IS NOT NULL"
            " AND lease_until >= ?", [utcnow()]).fetchall()]

    def has_claimable(self) -> bool:
        """Whether some queued item waits for a worker to annotate it (an index read)."""
        return self.db.execute(
            "SELECT 1 FROM process_queue WHERE annotated_with IS NULL AND (lease_until IS NULL OR lease_until < ?)"
            " LIMIT 1", [utcnow()]).fetchone() is not None

    def ready_to_place(self, limit: int) -> list[tuple[dict, dict]]:
        """(item row, annotation row) of the annotated queue rows that come before the first unannotated one, in
        queue order: placement takes items in the order one worker alone would have, whoever annotated them."""
        rows = list(self.db.query(
            f"SELECT {_ITEM_COLUMNS}, a.topic, a.topic_score, a.news_topic, a.sentiment, a.sentiment_score,"
            " a.toxicity, a.keyphrases FROM process_queue q JOIN items i ON i.id = q.item_id"
            " JOIN annotations a ON a.item_id = q.item_id AND a.model_version = q.annotated_with"
            " WHERE q.annotated_with IS NOT NULL AND q.item_id < COALESCE((SELECT MIN(item_id) FROM process_queue"
            " WHERE annotated_with IS NULL), 9223372036854775807) ORDER BY q.item_id LIMIT ?", [limit]))
        out = []
        for r in rows:
            ann = {k: r.pop(k) for k in ("topic", "topic_score", "news_topic", "sentiment", "sentiment_score",
                                         "toxicity", "keyphrases")}
            ann["keyphrases"] = json.loads(ann["keyphrases"] or "[]")
            out.append((r, ann))
        return out

    def queue_state(self) -> dict[str, int]:
        """Counts of the processing queue: waiting, held by a worker (lease running), annotated (to be placed)."""
        row = self.db.execute(
            "SELECT COUNT(*), SUM(CASE WHEN annotated_with IS NULL AND lease_until >= ? THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN annotated_with IS NOT NULL THEN 1 ELSE 0 END) FROM process_queue", [utcnow()]).fetchone()
        queued, held, annotated = row[0] or 0, row[1] or 0, row[2] or 0
        return {"queued": queued, "held": held, "annotated": annotated, "waiting": queued - held - annotated}
