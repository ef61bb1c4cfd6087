"""Alerts: notifications, the e-mail outbox, preferences, watch queries."""
from __future__ import annotations

import json

from service.store.common import utcnow


class AlertsRepository:
    """Alerts: notifications, the e-mail outbox, preferences, watch queries."""

    # --- alerts (issue 16.3, service/alerts.py, service/mail.py): notifications, e-mail outbox, preferences --------
    def alert_recipients(self) -> list[dict]:
        """Active users with their unit and their alert choices (None where they never chose)."""
        rows = list(self.db.query(
            "SELECT u.id, u.username, u.role, o.code AS unit, p.email, p.kinds, p.min_severity, p.by_email"
            " FROM users u LEFT JOIN org_units o ON o.id = u.org_unit_id LEFT JOIN alert_prefs p ON p.user_id = u.id"
            " WHERE u.active = 1 ORDER BY u.id"))
        for row in rows:
            row["kinds"] = json.loads(row["kinds"]) if row["kinds"] is not None else None
        return rows

    def alert_prefs(self, user_id: int) -> dict | None:
        rows = list(self.db.query("SELECT * FROM alert_prefs WHERE user_id = ?", [user_id]))
        if not rows:
            return None
        rows[0]["kinds"] = json.loads(rows[0]["kinds"])
        return rows[0]

    def set_alert_prefs(self, user_id: int, email: str, kinds: list[str], min_severity: float,
                        by_email: bool) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO alert_prefs (user_id, email, kinds, min_severity, by_email) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, kinds = excluded.kinds,"
                " min_severity = excluded.min_severity, by_email = excluded.by_email",
                [user_id, email, json.dumps(sorted(kinds)), float(min_severity), int(by_email)])

    def flags_updated_since(self, since: str, min_severity: float) -> list[dict]:
        """Open or escalated flags changed since `since` (UTC ISO) at or above a severity, highest first."""
        rows = list(self.db.query(
            "SELECT * FROM flags WHERE updated_at >= ? AND severity >= ? AND status IN ('open', 'escalated')"
            " ORDER BY severity DESC, score DESC, id", [since, min_severity]))
        return self._decode_flags(rows)

    def escalations_since(self, since: str) -> list[dict]:
        """Escalations of flags (review decisions «escalate») since `since`, with the unit of who escalated."""
        return list(self.db.query(
            "SELECT e.id, e.flag_id, e.username, e.note, e.at, o.code AS unit FROM flag_events e"
            " LEFT JOIN users u ON u.username = e.username LEFT JOIN org_units o ON o.id = u.org_unit_id"
            " WHERE e.action = 'escalate' AND e.at >= ? ORDER BY e.id", [since]))

    def reports_sent_since(self, since: str) -> list[dict]:
        """Units' reports sent to the unit above and not yet received, sent since `since`."""
        if not self.db["unit_reports"].exists():
            return []
        return list(self.db.query(
            "SELECT id, org_unit, period, first_day, revision, sent_at, sent_by FROM unit_reports"
            " WHERE status = 'sent' AND sent_at >= ? ORDER BY id", [since]))

    def briefings_since(self, since: str) -> list[dict]:
        return list(self.db.query("SELECT day, created_at FROM briefings WHERE created_at >= ? ORDER BY day",
                                  [since]))

    def notification_keys(self, keys: list[str]) -> set[tuple[int, str]]:
        """(user id, key) of the notifications already made for these causes."""
        out: set[tuple[int, str]] = set()
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            out.update((r[0], r[1]) for r in self.db.execute(
                f"SELECT user_id, key FROM notifications WHERE key IN ({','.join('?' * len(chunk))})", chunk))
        return out

    def add_notifications(self, rows: list[dict], now: str | None = None) -> list[int]:
        """Store notifications (user_id, key, kind, subject, body, link, and `email` when one is to be sent) in one
        transaction; a cause already notified to a user is skipped, so nothing is said twice. Returns new ids."""
        now = now or utcnow()
        made = []
        with self.transaction():
            for r in rows:
                cur = self.db.execute(
                    "INSERT OR IGNORE INTO notifications (user_id, key, kind, subject, body, link, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [r["user_id"], r["key"], r["kind"], r["subject"], r.get("body", ""), r.get("link", ""), now])
                if cur.rowcount != 1:
                    continue
                made.append(cur.lastrowid)
                if r.get("email"):
                    self.db.execute(
                        "INSERT INTO email_outbox (notification_id, address, next_attempt_at, created_at)"
                        " VALUES (?, ?, ?, ?)", [cur.lastrowid, r["email"], now, now])
        return made

    def notifications(self, user_id: int, limit: int = 50, offset: int = 0) -> list[dict]:
        return list(self.db.query("SELECT * FROM notifications WHERE user_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
                                  [user_id, limit, offset]))

    def notification(self, user_id: int, notification_id: int) -> dict | None:
        rows = list(self.db.query("SELECT * FROM notifications WHERE id = ? AND user_id = ?",
                                  [notification_id, user_id]))
        return rows[0] if rows else None

    def count_notifications(self, user_id: int) -> int:
        return self.db.execute("SELECT COUNT(*) FROM notifications WHERE user_id = ?", [user_id]).fetchone()[0]

    def count_unread(self, user_id: int) -> int:
        return self.db.execute("SELECT COUNT(*) FROM notifications WHERE user_id = ? AND read_at IS NULL",
                               [user_id]).fetchone()[0]

    def mark_read(self, user_id: int, notification_id: int | None = None) -> int:
        """Mark one of the user's notifications read (or all of them); returns how many changed."""
        now = utcnow()
        with self.transaction():
            if notification_id is None:
                cur = self.db.execute("UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL",
                                      [now, user_id])
            else:
                cur = self.db.execute("UPDATE notifications SET read_at = COALESCE(read_at, ?)"
                                      " WHERE user_id = ? AND id = ?", [now, user_id, notification_id])
        return cur.rowcount

    def claim_outbox(self, now: str, lease_until: str, limit: int = 100) -> list[dict]:
        """Take the e-mails due now for one sender (a lease, so two senders never send the same one)."""
        with self.transaction():
            rows = list(self.db.query(
                "UPDATE email_outbox SET lease_until = ? WHERE id IN (SELECT id FROM email_outbox"
                " WHERE status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)"
                " ORDER BY id LIMIT ?) RETURNING id", [lease_until, now, now, limit]))
        ids = sorted(r["id"] for r in rows)
        if not ids:
            return []
        return list(self.db.query(
            "SELECT m.id, m.address, m.attempts, m.notification_id, n.subject, n.body, n.link, n.kind, n.user_id"
            f" FROM email_outbox m JOIN notifications n ON n.id = m.notification_id WHERE m.id IN"
            f" ({','.join('?' * len(ids))}) ORDER BY m.id", ids))

    def outbox_sent(self, outbox_id: int, at: str) -> None:
        with self.transaction():
            self.db.execute("UPDATE email_outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
                            " last_error = NULL, lease_until = NULL WHERE id = ?", [at, outbox_id])

    def outbox_failed(self, outbox_id: int, error: str, next_attempt_at: str, give_up: bool) -> None:
        with self.transaction():
            self.db.execute("UPDATE email_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,"
                            " lease_until = NULL, status = ? WHERE id = ?",
                            [error[:1000], next_attempt_at, "failed" if give_up else "pending", outbox_id])

    def outbox(self, statuses: tuple[str, ...] = ("pending", "failed"), limit: int = 200) -> list[dict]:
        """E-mails in these states with their recipient and subject, newest first (the admin's page)."""
        return list(self.db.query(
            "SELECT m.*, n.subject, n.kind, u.username FROM email_outbox m JOIN notifications n"
            " ON n.id = m.notification_id JOIN users u ON u.id = n.user_id"
            f" WHERE m.status IN ({','.join('?' * len(statuses))}) ORDER BY m.id DESC LIMIT ?", [*statuses, limit]))

    def outbox_counts(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self.db.execute("SELECT status, COUNT(*) FROM email_outbox GROUP BY status")}

    def retry_outbox(self, now: str) -> int:
        """Send every failed or waiting e-mail again at the next run (attempts start over for those given up)."""
        with self.transaction():
            cur = self.db.execute(
                "UPDATE email_outbox SET status = 'pending', next_attempt_at = ?, lease_until = NULL,"
                " attempts = CASE WHEN status = 'failed' THEN 0 ELSE attempts END"
                " WHERE status IN ('pending', 'failed')", [now])
        return cur.rowcount

    # --- saved searches as watch queries (service/alerts.py) -----------------------------------------------------
    def set_search_watch(self, user_id: int, search_id: int, watch: bool, threshold: int) -> bool:
        """Make one of the user's saved searches a watch query (counting items stored from now on), or stop it."""
        with self.transaction():
            cur = self.db.execute(
                "UPDATE saved_searches SET watch = ?, watch_threshold = ?,"
                " watch_seen_id = CASE WHEN ? = 1 AND watch = 0 THEN (SELECT COALESCE(MAX(id), 0) FROM items)"
                " ELSE watch_seen_id END WHERE id = ? AND user_id = ?",
                [int(watch), max(1, int(threshold)), int(watch), search_id, user_id])
        return cur.rowcount == 1

    def watched_searches(self) -> list[dict]:
        rows = list(self.db.query("SELECT * FROM saved_searches WHERE watch = 1 ORDER BY id"))
        for row in rows:
            row["params"] = json.loads(row["params"])
        return rows

    def max_item_id(self) -> int:
        return self.db.execute("SELECT COALESCE(MAX(id), 0) FROM items").fetchone()[0]

    def advance_search_watch(self, search_id: int, seen_id: int, notification: dict | None = None,
                             flag: dict | None = None) -> None:
        """The watch query has counted every item up to `seen_id`; its alert and its board flag (if any) are stored
        in the same unit, so the same matches never raise a second flag."""
        with self.transaction():
            if notification is not None:
                self.add_notifications([notification])
            if flag is not None:
                self.save_story_flag(flag)
            self.db.execute("UPDATE saved_searches SET watch_seen_id = CASE WHEN watch_seen_id < ?1 THEN ?1"
                            " ELSE watch_seen_id END WHERE id = ?2", [seen_id, search_id])
