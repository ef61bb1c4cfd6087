"""Full-text search over the original and the folded text (service/search.py builds the query)."""
from __future__ import annotations

import json
import math

from service.search import (All, Any_, Node, Not, Phrase, TsMatch, index_forms, to_fts, to_tsqueries, to_tsquery,
                            ts_phrase_queries)
from service.store.common import utcnow

# Relevance on PostgreSQL: bm25 as FTS5 computes it (k1 = 1.2, b = 0.75; the title weighing three times the body), over
# the tsvectors. A phrase's frequency in a row is ts_rank_cd's weighted count of its occurrences (labels {D, C, B, A}:
# body 1/3, title 1, times 3; exact for a word or a prefix), a row's length the bytes of its title and body against their
# average over the rows found (FTS5: its tokens against the whole table's average), a phrase's rarity (when a query has
# several) counted with the GIN index.
_TS_WEIGHTS = "CAST(ARRAY[0, 0, 0.3333, 1] AS float4[])"
_BM25_TF = "3 * ts_rank_cd(" + _TS_WEIGHTS + ", s.{column}, to_tsquery('simple', ?), 0)"
_BM25_LENGTH = "octet_length(s.title) + octet_length(s.body) + 1"
_BM25_NORM = "(0.3 + 0.9 * x.len / avg(x.len) OVER ())"   # over the rows found, their lengths `len` (_bm25_parts)


def _ts_sql(node, params: list) -> str:
    """A to_tsqueries tree as an SQL condition over items_search `s`, its tsquery texts appended to params."""
    if isinstance(node, TsMatch):
        if node.column not in ("original", "folded"):
            raise ValueError(f"no tsvector {node.column!r} in items_search")
        params.append(node.query)
        return f"s.{node.column} @@ to_tsquery('simple', ?)"
    if isinstance(node, Not):
        return f"NOT ({_ts_sql(node.part, params)})"
    joiner = " AND " if isinstance(node, All) else " OR "
    return "(" + joiner.join(_ts_sql(part, params) for part in node.parts) + ")"


class SearchRepository:
    """Full-text search over the original and the folded text (service/search.py builds the query)."""

    # --- search over the original and the folded text (service/search.py builds the MATCH expression) ---------
    def _index_search(self, item_id: int, forms: tuple[str, str, str, str]) -> None:
        self.db.execute("INSERT INTO items_search (rowid, title, body, title_folded, body_folded)"
                        " VALUES (?, ?, ?, ?, ?)", [item_id, *forms])

    def _bm25_parts(self, phrases: list[TsMatch]) -> tuple[list[str], list, str, list]:
        """PostgreSQL: the score (lower is better, as SQLite's bm25) of the phrases a query finds rows by, in two steps:
        (the per-row columns over items_search `s` — each phrase's frequency `tf<k>`, computed once, and the row's
        length `len` —, their values, the score over those columns as `x.…` with the lengths' average as a window,
        its values)."""
        columns, column_values = [], []
        score, score_values = [], []
        total = 0
        if len(phrases) > 1:
            estimate = self.db.execute("SELECT reltuples FROM pg_class WHERE oid = CAST('items_search' AS regclass)"
                                       ).fetchone()[0]
            total = estimate if estimate >= 100_000 else self.db.execute(
                "SELECT COUNT(*) FROM items_search").fetchone()[0]
        for k, phrase in enumerate(phrases):
            if phrase.column not in ("original", "folded"):
                raise ValueError(f"no tsvector {phrase.column!r} in items_search")
            idf = 1.0
            if len(phrases) > 1:
                found = self._phrase_rows(phrase, large=total >= 100_000)
                idf = max(1e-6, math.log((total - found + 0.5) / (found + 0.5)))
            columns.append(_BM25_TF.replace("{column}", phrase.column) + f" AS tf{k}")
            column_values.append(phrase.query)
            score.append(f"? * x.tf{k} * 2.2 / (x.tf{k} + {_BM25_NORM})")
            score_values.append(idf)
        columns.append(f"{_BM25_LENGTH} AS len")
        return columns, column_values, ("-(" + " + ".join(score) + ")" if score else "0"), score_values

    def _phrase_rows(self, phrase: TsMatch, large: bool) -> float:
        """How many rows of items_search hold a phrase (its rarity in the score). On a large table a common phrase's
        count is the planner's estimate (from the tsvector's statistics of most common lexemes; within a few per cent):
        counting it exactly reads every row that holds it (2,000,000 items: 1,2-1,5 s for a word in 224,000 rows,
        bench/scale.py --read). A phrase estimated rarer than 10,000 rows is counted exactly (a cheap count)."""
        where = f"FROM items_search WHERE {phrase.column} @@ to_tsquery('simple', ?)"
        if large:
            plan = self.db.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 {where}", [phrase.query]).fetchone()[0]
            rows = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"]
            if rows >= 10_000:
                return float(rows)
        return self.db.execute(f"SELECT COUNT(*) {where}", [phrase.query]).fetchone()[0]

    def _folded_match(self, words: list[str], phrase: bool) -> tuple[str, list]:
        """(condition, its values) that the folded text of items_fts `f` holds these folded words: in a row when
        `phrase`, else each somewhere. An FTS5 MATCH on SQLite; a tsquery over the folded tsvector on PostgreSQL."""
        if self.backend == "postgresql":
            query = to_tsquery(Phrase(tuple(words), True) if phrase
                               else All(tuple(Phrase((w,), True) for w in words)))
            return ("FALSE", []) if query is None else ("f.tsv @@ to_tsquery('simple', ?)", [query])
        return "items_fts MATCH ?", ['"' + " ".join(words) + '"' if phrase else " ".join(f'"{w}"' for w in words)]

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

    def search(self, match: Node | str | None = None, *, kind: str | None = None, topic: str | None = None,
               tone: str | None = None, source: str | None = None, channel: str | None = None,
               units: list[str] | None = None, include_public: bool = True, since_day: str | None = None,
               until_day: str | None = None, order: str = "relevance", limit: int = 50,
               offset: int = 0, after_id: int | None = None) -> tuple[int, list[dict]]:
        """(how many items match, one page of them) for a parsed query (service.search.parse) and filters.

        `match`: the query's tree, written as an FTS5 MATCH on SQLite (to_fts) and as tsquery conditions over the
        `original` and `folded` tsvectors on PostgreSQL (to_tsqueries); on SQLite an FTS5 expression (a text) too.
        `order`: "relevance" (bm25, the title weighing three times the body, as a score lower for the better match;
        newest first among equals) or "newest" (on PostgreSQL the score is then not computed: 0).
        `units`: when given, observations only of those units; items with no unit (the press) too unless
        `include_public` is False. Rows carry the whole text (for the snippet) and their stream facts.
        """
        clauses, params, rank_params = [], [], []
        source_sql = "items i"
        rank = "0"
        ranked_in_two_steps = False
        if isinstance(match, (Phrase, All, Any_)) and self.backend == "sqlite":
            match = to_fts(match)
        if isinstance(match, str) and self.backend == "postgresql":
            raise TypeError("on PostgreSQL search takes the parsed query (service.search.parse), not an FTS5 text")
        if match is not None and self.backend == "postgresql":
            source_sql = "items_search s JOIN items i ON i.id = s.rowid"
            found = to_tsqueries(match)
            clauses.append("FALSE" if found is None else _ts_sql(found, params))
            # relevance: the rows found are scored over narrow rows (id, time, each phrase's frequency computed once,
            # length), and only the page's rows are then read whole; scoring the joined rows whole made PostgreSQL
            # carry every found row's texts through the window (spilling to disk) and rank each phrase twice
            ranked_in_two_steps = order == "relevance"
        elif match:
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
        if ranked_in_two_steps:
            columns, column_values, score, score_values = self._bm25_parts(ts_phrase_queries(match))
            rows = list(self.db.query(
                "SELECT i.id, i.url, i.kind, i.title, i.text, i.source, i.org_unit, i.channel, i.author,"
                " i.published_at, i.day, si.stream_id, si.topic, si.sentiment, r.score AS score FROM"
                f" (SELECT x.id, x.published_at, {score} AS score FROM"
                # OFFSET 0 keeps PostgreSQL from folding x into the query above (the narrow rows are its point)
                f" (SELECT i.id, i.published_at, {', '.join(columns)} FROM {joins}{where} OFFSET 0) x"
                " ORDER BY score, x.published_at DESC, x.id DESC LIMIT ? OFFSET ?) r"
                " JOIN items i ON i.id = r.id LEFT JOIN stream_items si ON si.item_id = i.id"
                " ORDER BY r.score, r.published_at DESC, r.id DESC",
                [*score_values, *column_values, *params, limit, offset]))
            return total, rows
        rows = list(self.db.query(
            f"SELECT i.id, i.url, i.kind, i.title, i.text, i.source, i.org_unit, i.channel, i.author, i.published_at,"
            f" i.day, si.stream_id, si.topic, si.sentiment, {rank} AS score FROM {joins}{where}"
            f" ORDER BY {order_sql} LIMIT ? OFFSET ?", [*rank_params, *params, limit, offset]))
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
