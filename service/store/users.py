"""Org units, users, login sessions, API tokens, collaborators' submissions and review decisions."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from collectors.items import RawItem
from nlp.normalize import fold
from service.search import index_forms
from service.store.common import (
    API_TOKEN_DAYS,
    _token_expiry,
    content_hash,
    iso,
    utcnow,
)
from service.timeutil import local_day


class UsersRepository:
    """Org units, users, login sessions, API tokens, collaborators' submissions and review decisions."""

    # --- org units and users ---------------------------------------------------------------------
    def add_org_unit(self, code: str, name: str, parent_code: str | None = None, level: str = "grassroots") -> int:
        parent_id = self.org_unit_id(parent_code) if parent_code else None
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO org_units (code, name, parent_id, level) VALUES (?, ?, ?, ?)",
                [code, name, parent_id, level],
            )
        return self.org_unit_id(code)

    def org_unit_id(self, code: str) -> int | None:
        row = self.db.execute("SELECT id FROM org_units WHERE code = ?", [code]).fetchone()
        return row[0] if row else None

    def org_units(self) -> list[dict]:
        return list(self.db.query("SELECT * FROM org_units ORDER BY id"))

    def add_user(self, username: str, password_hash: str, role: str, org_unit_code: str | None = None) -> int:
        unit_id = self.org_unit_id(org_unit_code) if org_unit_code else None
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO users (username, password_hash, role, org_unit_id, created_at) VALUES (?, ?, ?, ?, ?)",
                [username, password_hash, role, unit_id, utcnow()],
            )
        return cur.lastrowid

    def user(self, username: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM users WHERE username = ?", [username]))
        return rows[0] if rows else None

    def count_users(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM users").fetchone()[0]

    # --- web: sessions, users, units, tokens, reviews ---------------------------------------------
    def create_session(self, token_hash: str, user_id: int, csrf: str, expires_at: str) -> None:
        now = utcnow()
        with self.transaction():
            self.db.execute("DELETE FROM sessions WHERE expires_at < ?", [now])
            self.db.execute(
                "INSERT INTO sessions (token_hash, user_id, csrf, created_at, last_seen, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?)", [token_hash, user_id, csrf, now, now, expires_at])

    def session_user(self, token_hash: str) -> dict | None:
        """The active user behind a session and the session's own fields (csrf, last_seen, expires_at)."""
        rows = list(self.db.query(
            "SELECT u.id, u.username, u.role, u.active, u.org_unit_id, o.code AS unit, s.csrf, s.last_seen,"
            " s.expires_at, s.created_at AS session_created FROM sessions s JOIN users u ON u.id = s.user_id"
            " LEFT JOIN org_units o ON o.id = u.org_unit_id WHERE s.token_hash = ? AND u.active = 1",
            [token_hash]))
        return rows[0] if rows else None

    def touch_session(self, token_hash: str, last_seen: str) -> None:
        with self.transaction():
            self.db.execute("UPDATE sessions SET last_seen = ? WHERE token_hash = ?", [last_seen, token_hash])

    def delete_session(self, token_hash: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM sessions WHERE token_hash = ?", [token_hash])

    def delete_user_sessions(self, user_id: int) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM sessions WHERE user_id = ?", [user_id])

    def user_by_id(self, user_id: int) -> dict | None:
        rows = list(self.db.query(
            "SELECT u.*, o.code AS unit FROM users u LEFT JOIN org_units o ON o.id = u.org_unit_id WHERE u.id = ?",
            [user_id]))
        return rows[0] if rows else None

    def user_login(self, username: str) -> dict | None:
        """A user with the code of their unit, for logging in."""
        rows = list(self.db.query(
            "SELECT u.*, o.code AS unit FROM users u LEFT JOIN org_units o ON o.id = u.org_unit_id"
            " WHERE u.username = ?", [username]))
        return rows[0] if rows else None

    def users_in(self, unit_codes: list[str] | None) -> list[dict]:
        """Users of the given units (every user when None), with their unit code."""
        sql = "SELECT u.*, o.code AS unit FROM users u LEFT JOIN org_units o ON o.id = u.org_unit_id"
        params: list[Any] = []
        if unit_codes is not None:
            sql += f" WHERE o.code IN ({','.join('?' * len(unit_codes))})"
            params = list(unit_codes)
        return list(self.db.query(sql + " ORDER BY u.username", params))

    def update_user(self, user_id: int, role: str, unit_code: str | None, active: bool) -> None:
        unit_id = self.org_unit_id(unit_code) if unit_code else None
        with self.transaction():
            self.db.execute("UPDATE users SET role = ?, org_unit_id = ?, active = ? WHERE id = ?",
                            [role, unit_id, int(active), user_id])
            if not active:
                self.db.execute("DELETE FROM sessions WHERE user_id = ?", [user_id])

    def set_password(self, user_id: int, password_hash: str) -> None:
        with self.transaction():
            self.db.execute("UPDATE users SET password_hash = ? WHERE id = ?", [password_hash, user_id])
            self.db.execute("DELETE FROM sessions WHERE user_id = ?", [user_id])

    def unit_subtree(self, code: str) -> list[str]:
        """The codes of a unit and every unit below it."""
        return [r[0] for r in self.db.execute(
            "WITH RECURSIVE tree(id, code) AS (SELECT id, code FROM org_units WHERE code = ?"
            " UNION SELECT o.id, o.code FROM org_units o JOIN tree t ON o.parent_id = t.id) SELECT code FROM tree",
            [code]).fetchall()]

    def update_org_unit(self, code: str, name: str, level: str) -> bool:
        with self.transaction():
            cur = self.db.execute("UPDATE org_units SET name = ?, level = ? WHERE code = ?", [name, level, code])
        return cur.rowcount > 0

    def add_api_token(self, user_id: int, name: str, token_hash: str, expires_at: str | None = None) -> int:
        """A new API token; it stops working at `expires_at` (UTC ISO), by default API_TOKEN_DAYS from now."""
        now = datetime.now(timezone.utc)
        expires_at = expires_at or iso(now + timedelta(days=API_TOKEN_DAYS))
        with self.transaction():
            cur = self.db.execute("INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at)"
                                  " VALUES (?, ?, ?, ?, ?)", [user_id, name, token_hash, iso(now), expires_at])
        return cur.lastrowid

    def api_token_user(self, token_hash: str) -> dict | None:
        """The active user a live (not revoked) API token belongs to; notes when the token was last used."""
        rows = list(self.db.query(
            "SELECT u.id, u.username, u.role, u.active, u.org_unit_id, o.code AS unit, t.id AS token_id,"
            " t.last_used_at, t.created_at AS token_created, t.expires_at FROM api_tokens t"
            " JOIN users u ON u.id = t.user_id LEFT JOIN org_units o ON o.id = u.org_unit_id"
            " WHERE t.token_hash = ? AND t.revoked_at IS NULL AND u.active = 1", [token_hash]))
        if not rows:
            return None
        now = utcnow()
        if _token_expiry(rows[0]) <= now:
            return None
        if (rows[0]["last_used_at"] or "")[:16] != now[:16]:  # at most one write a minute per token
            with self.transaction():
                self.db.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [now, rows[0]["token_id"]])
        return rows[0]

    def api_tokens(self, user_id: int) -> list[dict]:
        rows = list(self.db.query(
            "SELECT id, user_id, name, created_at, last_used_at, revoked_at, expires_at FROM api_tokens"
            " WHERE user_id = ? ORDER BY id", [user_id]))
        now = utcnow()
        for row in rows:
            row["expires_at"] = _token_expiry(row)
            row["expired"] = row["expires_at"] <= now
        return rows

    def api_token(self, token_id: int) -> dict | None:
        rows = list(self.db.query("SELECT id, user_id, name, created_at, last_used_at, revoked_at FROM api_tokens"
                                  " WHERE id = ?", [token_id]))
        return rows[0] if rows else None

    def revoke_api_token(self, token_id: int) -> None:
        with self.transaction():
            self.db.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                            [utcnow(), token_id])

    def add_submission(self, user_id: int, idempotency_key: str, item: RawItem) -> tuple[int, bool]:
        """Store a collaborator's observation and its submission at once; the same key again stores nothing.

        Returns (submission id, whether it is new). Two collaborators who write the same words both count: the item's
        content hash is salted with the submitter and the key.
        """
        published = iso(item.published_at) if item.published_at else utcnow()
        digest = content_hash(f"submission:{user_id}:{idempotency_key}", item.text)
        folded = fold(f"{item.title}\n{item.text}")
        forms = index_forms(item.title, item.text)
        extra = json.dumps(item.extra, ensure_ascii=False, default=str)
        # one transaction with the write lock taken first: of concurrent requests with one key, the first stores the
        # item and its submission, the others find that submission (the same key resent with edited words: the first
        # one stands) and store nothing
        with self.transaction():
            row = self.db.execute("SELECT id FROM submissions WHERE user_id = ? AND idempotency_key = ?",
                                  [user_id, idempotency_key]).fetchone()
            if row is not None:
                return row[0], False
            now = utcnow()
            cur = self.db.execute(
                "INSERT OR IGNORE INTO items (url, content_hash, kind, title, text, source, author, org_unit,"
                " channel, published_at, day, collected_at, extra) VALUES (NULL, ?, 'observation', ?, ?, ?, ?, ?,"
                " ?, ?, ?, ?, ?)",
                [digest, item.title, item.text, item.source, item.author, item.org_unit, item.channel, published,
                 local_day(published), now, extra])
            if cur.rowcount == 1:
                item_id = cur.lastrowid
                self.db.execute("INSERT INTO items_fts (rowid, folded) VALUES (?, ?)", [item_id, folded])
                self._index_search(item_id, forms)
            else:   # an item an earlier version stored without its submission (a crash between the two): adopt it
                item_id = self.db.execute("SELECT id FROM items WHERE content_hash = ?", [digest]).fetchone()[0]
            cur = self.db.execute(
                "INSERT INTO submissions (user_id, idempotency_key, item_id, org_unit, created_at)"
                " VALUES (?, ?, ?, ?, ?)", [user_id, idempotency_key, item_id, item.org_unit, now])
            return cur.lastrowid, True

    def submissions(self, user_id: int | None = None, ids: list[int] | None = None, limit: int = 100) -> list[dict]:
        """Submissions newest first, with their item, the stream they joined and the flags that cite them."""
        clauses, params = [], []
        if user_id is not None:
            clauses.append("s.user_id = ?")
            params.append(user_id)
        if ids is not None:
            clauses.append(f"s.id IN ({','.join('?' * len(ids))})")
            params.extend(ids)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = list(self.db.query(
            "SELECT s.id, s.user_id, s.idempotency_key, s.item_id, s.created_at, s.processed_at, u.username,"
            " i.text, i.channel, i.org_unit, i.published_at, i.day, i.extra, si.stream_id, si.topic, si.sentiment"
            " FROM submissions s JOIN items i ON i.id = s.item_id JOIN users u ON u.id = s.user_id"
            f" LEFT JOIN stream_items si ON si.item_id = s.item_id{where} ORDER BY s.id DESC LIMIT ?",
            [*params, limit]))
        cited = self.flags_citing([r["item_id"] for r in rows])
        for row in rows:
            row["extra"] = json.loads(row["extra"] or "{}")
            row["flags"] = cited.get(row["item_id"], [])
        return rows

    def count_submissions(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]

    def pending_submissions(self, limit: int = 500) -> list[dict]:
        return list(self.db.query(
            "SELECT s.id, s.item_id, i.day FROM submissions s JOIN items i ON i.id = s.item_id"
            " WHERE s.processed_at IS NULL ORDER BY s.id LIMIT ?", [limit]))

    def count_pending_submissions(self) -> int:
        """Submissions stored but not yet annotated and placed (for /healthz)."""
        return self.db.execute("SELECT COUNT(*) FROM submissions WHERE processed_at IS NULL").fetchone()[0]

    def mark_submissions_processed(self, ids: list[int]) -> None:
        now = utcnow()
        with self.transaction():
            self.db.conn.executemany("UPDATE submissions SET processed_at = ? WHERE id = ?", [(now, i) for i in ids])

    def flags_citing(self, item_ids: list[int]) -> dict[int, list[dict]]:
        """item id → the flags whose item list holds it (id, kind, status)."""
        out: dict[int, list[dict]] = {}
        for i in range(0, len(item_ids), 500):
            chunk = item_ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.db.query(
                    "SELECT fi.item_id, f.id, f.kind, f.status FROM flag_items fi JOIN flags f ON f.id = fi.flag_id"
                    f" WHERE fi.item_id IN ({marks}) ORDER BY f.id, fi.item_id", chunk):
                out.setdefault(r["item_id"], []).append({"id": r["id"], "kind": r["kind"], "status": r["status"]})
        return out

    def add_flag_event(self, flag_id: int, username: str, action: str, note: str = "",
                       new_status: str | None = None) -> int:
        """Record a review decision; a decision that changes the flag's status changes it in the same transaction."""
        now = utcnow()
        with self.transaction():
            cur = self.db.execute("INSERT INTO flag_events (flag_id, username, action, note, at) VALUES (?, ?, ?, ?, ?)",
                                  [flag_id, username, action, note, now])
            if new_status:
                self.db.execute("UPDATE flags SET status = ?, updated_at = ? WHERE id = ?", [new_status, now, flag_id])
            if new_status == "dismissed":   # the size it had when dismissed: it comes back only if it grows past it
                self.db.execute("UPDATE flags SET dismissed_count = count WHERE id = ?", [flag_id])
        return cur.lastrowid

    def flag_events(self, flag_id: int) -> list[dict]:
        return list(self.db.query("SELECT * FROM flag_events WHERE flag_id = ? ORDER BY id", [flag_id]))
