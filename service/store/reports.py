"""Briefings, the units' monthly and annual reports, dialogues and uploaded office files."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from service.store.common import _decode_report, utcnow


class ReportsRepository:
    """Briefings, the units' monthly and annual reports, dialogues and uploaded office files."""

    # --- briefings and reports ------------------------------------------------------------------------
    def item_counts(self, since_day: str, until_day: str, units: list[str] | None = None,
                    include_public: bool = False) -> list[dict]:
        """Items per (day, kind, channel) between two local days, optionally only those of some org units (and,
        with `include_public`, the items of no unit: the press)."""
        sql = ("SELECT day, kind, COALESCE(channel, '') AS channel, COUNT(*) AS n FROM items"
               " WHERE day >= ? AND day <= ?")
        params: list[Any] = [since_day, until_day]
        if units is not None:
            public = "org_unit IS NULL OR " if include_public else ""
            sql += f" AND ({public}org_unit IN ({','.join('?' * len(units))}))"
            params.extend(units)
        return list(self.db.query(sql + " GROUP BY day, kind, channel", params))

    def topic_sentiment_counts(self, since_day: str, until_day: str) -> list[dict]:
        return list(self.db.query(
            "SELECT topic, sentiment, COUNT(*) AS n FROM stream_items WHERE day >= ? AND day <= ?"
            " GROUP BY topic, sentiment", [since_day, until_day]))

    def flags_ending(self, start: str, end: str) -> list[dict]:
        """Flags whose window ends within (start, end], highest score first."""
        rows = list(self.db.query(
            "SELECT * FROM flags WHERE window_end > ? AND window_end <= ? ORDER BY severity DESC, score DESC, id",
            [start, end]))
        return self._decode_flags(rows)

    def flags_decided(self, start: str, end: str, statuses: tuple[str, ...] = ("confirmed", "escalated")) -> list[dict]:
        """Flags in a decided status whose window ends within (start, end]."""
        marks = ",".join("?" * len(statuses))
        rows = list(self.db.query(
            f"SELECT * FROM flags WHERE status IN ({marks}) AND window_end > ? AND window_end <= ?"
            " ORDER BY severity DESC, score DESC, id", [*statuses, start, end]))
        return self._decode_flags(rows)

    def flags_touching_units(self, units: list[str], start: str, end: str) -> list[dict]:
        """Flags of a period whose items include observations from the given org units."""
        if not units:
            return []
        marks = ",".join("?" * len(units))
        rows = list(self.db.query(
            "SELECT f.* FROM flags f WHERE EXISTS (SELECT 1 FROM flag_items fi JOIN stream_items si"
            f" ON si.item_id = fi.item_id WHERE fi.flag_id = f.id AND si.org_unit IN ({marks}))"
            " AND f.window_end > ? AND f.window_start < ?"
            " ORDER BY f.severity DESC, f.score DESC, f.id", [*units, start, end]))
        return self._decode_flags(rows)

    def collaborator_activity(self, units: list[str], start: str, end: str) -> list[dict]:
        """Each collaborator of the units with the number of submissions in [start, end)."""
        if not units:
            return []
        marks = ",".join("?" * len(units))
        return list(self.db.query(
            "SELECT u.username, o.code AS unit, o.name AS unit_name,"
            " (SELECT COUNT(*) FROM submissions s WHERE s.user_id = u.id AND s.created_at >= ? AND s.created_at < ?)"
            " AS submissions FROM users u LEFT JOIN org_units o ON o.id = u.org_unit_id"
            f" WHERE u.role = 'collaborator' AND o.code IN ({marks}) ORDER BY submissions DESC, u.username",
            [start, end, *units]))

    def org_unit(self, code: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM org_units WHERE code = ?", [code]))
        return rows[0] if rows else None

    def save_briefing(self, day: str, html: str, data: dict) -> int:
        """Store a day's briefing; making it again replaces it."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO briefings (day, html, data, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(day) DO UPDATE"
                " SET html = excluded.html, data = excluded.data, created_at = excluded.created_at",
                [day, html, json.dumps(data, ensure_ascii=False, default=str), utcnow()])
        return self.db.execute("SELECT id FROM briefings WHERE day = ?", [day]).fetchone()[0]

    def briefing(self, day: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM briefings WHERE day = ?", [day]))
        if not rows:
            return None
        rows[0]["data"] = json.loads(rows[0]["data"])
        return rows[0]

    def briefing_days(self, limit: int = 400) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT day FROM briefings ORDER BY day DESC LIMIT ?", [limit])]

    # --- the units' monthly and annual reports (service/unitreports.py) --------------------------------------
    def unit_report(self, report_id: int) -> dict | None:
        rows = list(self.db.query("SELECT * FROM unit_reports WHERE id = ?", [report_id]))
        return _decode_report(rows[0]) if rows else None

    def unit_report_revisions(self, org_unit: str, period: str, first_day: str) -> list[dict]:
        """Every revision of a unit's report of a period, the newest first."""
        return [_decode_report(r) for r in self.db.query(
            "SELECT * FROM unit_reports WHERE org_unit = ? AND period = ? AND first_day = ? ORDER BY revision DESC",
            [org_unit, period, first_day])]

    def unit_reports_of_period(self, period: str, first_day: str, units: list[str]) -> list[dict]:
        """The revisions (without their data) of the given units' reports of one period, newest revision first."""
        if not units:
            return []
        marks = ",".join("?" * len(units))
        return list(self.db.query(
            "SELECT id, org_unit, period, first_day, revision, status, updated_at, updated_by, sent_at, sent_by,"
            f" received_at, received_by FROM unit_reports WHERE period = ? AND first_day = ? AND org_unit IN ({marks})"
            " ORDER BY org_unit, revision DESC", [period, first_day, *units]))

    def unit_reports_of(self, units: list[str], limit: int = 200) -> list[dict]:
        """The latest revision (without its data) of each report of the given units, the newest period first."""
        if not units:
            return []
        marks = ",".join("?" * len(units))
        return list(self.db.query(
            "SELECT r.id, r.org_unit, r.period, r.first_day, r.revision, r.status, r.updated_at, r.updated_by,"
            " r.sent_at, r.sent_by, r.received_at, r.received_by FROM unit_reports r"
            f" WHERE r.org_unit IN ({marks}) AND r.revision = (SELECT MAX(x.revision) FROM unit_reports x"
            " WHERE x.org_unit = r.org_unit AND x.period = r.period AND x.first_day = r.first_day)"
            " ORDER BY r.first_day DESC, r.period, r.org_unit LIMIT ?", [*units, limit]))

    def add_unit_report(self, org_unit: str, period: str, first_day: str, data: dict, narrative: dict,
                        username: str) -> int:
        """A new draft revision (the next number) of a unit's report."""
        now = utcnow()
        with self.transaction():
            revision = self.db.execute(
                "SELECT COALESCE(MAX(revision), 0) + 1 FROM unit_reports WHERE org_unit = ? AND period = ?"
                " AND first_day = ?", [org_unit, period, first_day]).fetchone()[0]
            cur = self.db.execute(
                "INSERT INTO unit_reports (org_unit, period, first_day, revision, status, data, narrative, created_at,"
                " created_by, updated_at, updated_by) VALUES (?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?)",
                [org_unit, period, first_day, revision, json.dumps(data, ensure_ascii=False, default=str),
                 json.dumps(narrative, ensure_ascii=False), now, username, now, username])
        return cur.lastrowid

    def update_unit_report_draft(self, report_id: int, narrative: dict, username: str,
                                 data: dict | None = None) -> bool:
        """Change a draft's words (and its computed part); False when it is no longer a draft."""
        sets, params = ["narrative = ?", "updated_at = ?", "updated_by = ?"], [
            json.dumps(narrative, ensure_ascii=False), utcnow(), username]
        if data is not None:
            sets.append("data = ?")
            params.append(json.dumps(data, ensure_ascii=False, default=str))
        with self.transaction():
            cur = self.db.execute(f"UPDATE unit_reports SET {', '.join(sets)} WHERE id = ? AND status = 'draft'",
                                  [*params, report_id])
        return cur.rowcount == 1

    def mark_unit_report(self, report_id: int, status: str, username: str) -> bool:
        """draft → sent, or sent → received, with who and when; False when the report is not in the step before."""
        before, column = {"sent": ("draft", "sent"), "received": ("sent", "received")}[status]
        with self.transaction():
            cur = self.db.execute(
                f"UPDATE unit_reports SET status = ?, {column}_at = ?, {column}_by = ? WHERE id = ? AND status = ?",
                [status, utcnow(), username, report_id, before])
        return cur.rowcount == 1

    # --- dialogues and field visits (service/dialogues.py) ---------------------------------------------
    def dialogue_exists(self, org_unit: str, held_on: str, kind: str, enterprise: str) -> int | None:
        row = self.db.execute("SELECT id FROM dialogues WHERE org_unit = ? AND held_on = ? AND kind = ?"
                              " AND enterprise = ?", [org_unit, held_on, kind, enterprise]).fetchone()
        return row[0] if row else None

    def add_dialogue(self, org_unit: str, held_on: str, kind: str, enterprise: str, place: str, participants: str,
                     username: str, points: list[dict]) -> int:
        """A dialogue and its points (question, answer, commitment, item_id), together."""
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO dialogues (org_unit, held_on, kind, enterprise, place, participants, created_by,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [org_unit, held_on, kind, enterprise, place, participants, username, utcnow()])
            dialogue_id = cur.lastrowid
            self.db.conn.executemany(
                "INSERT INTO dialogue_points (dialogue_id, position, question, answer, commitment, item_id)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(dialogue_id, n, p["question"], p.get("answer", ""), p.get("commitment", ""), p.get("item_id"))
                 for n, p in enumerate(points, start=1)])
        return dialogue_id

    def dialogue(self, dialogue_id: int) -> dict | None:
        rows = list(self.db.query("SELECT * FROM dialogues WHERE id = ?", [dialogue_id]))
        if not rows:
            return None
        rows[0]["points"] = list(self.db.query(
            "SELECT * FROM dialogue_points WHERE dialogue_id = ? ORDER BY position", [dialogue_id]))
        return rows[0]

    def dialogues(self, units: list[str], since_day: str | None = None, until_day: str | None = None,
                  limit: int = 200) -> list[dict]:
        """Dialogues of the units (between two local days, inclusive), newest first, each with its points."""
        if not units:
            return []
        marks = ",".join("?" * len(units))
        sql, params = f"SELECT * FROM dialogues WHERE org_unit IN ({marks})", list(units)
        if since_day:
            sql += " AND held_on >= ?"
            params.append(since_day)
        if until_day:
            sql += " AND held_on <= ?"
            params.append(until_day)
        rows = list(self.db.query(sql + " ORDER BY held_on DESC, id DESC LIMIT ?", [*params, limit]))
        points: dict[int, list[dict]] = {r["id"]: [] for r in rows}
        if rows:
            for p in self.db.query(f"SELECT * FROM dialogue_points WHERE dialogue_id IN ({','.join('?' * len(rows))})"
                                   " ORDER BY dialogue_id, position", [r["id"] for r in rows]):
                points[p["dialogue_id"]].append(p)
        for r in rows:
            r["points"] = points[r["id"]]
        return rows

    def commitments_open_by(self, units: list[str], until_day: str) -> list[dict]:
        """Commitments of the units' dialogues held on or before `until_day` not yet marked done, oldest first."""
        if not units:
            return []
        marks = ",".join("?" * len(units))
        return list(self.db.query(
            "SELECT p.id, p.question, p.commitment, d.enterprise, d.org_unit, d.held_on, d.kind FROM dialogue_points p"
            f" JOIN dialogues d ON d.id = p.dialogue_id WHERE d.org_unit IN ({marks}) AND d.held_on <= ?"
            " AND p.commitment != '' AND p.done_at IS NULL ORDER BY d.held_on, p.id", [*units, until_day]))

    def mark_commitment_done(self, dialogue_id: int, point_id: int, username: str) -> bool:
        with self.transaction():
            cur = self.db.execute(
                "UPDATE dialogue_points SET done_at = ?, done_by = ? WHERE id = ? AND dialogue_id = ?"
                " AND commitment != '' AND done_at IS NULL", [utcnow(), username, point_id, dialogue_id])
        return cur.rowcount == 1

    # --- office files uploaded on the web, until imported (service/officeimport.py) ------------------------
    def add_pending_import(self, user_id: int, org_unit: str | None, filename: str, content: bytes) -> int:
        with self.transaction():
            # an upload left behind for a day is forgotten
            cutoff = (datetime.now(timezone.utc) - timedelta(days=1)).replace(microsecond=0).isoformat()
            self.db.execute("DELETE FROM pending_imports WHERE created_at < ?", [cutoff])
            cur = self.db.execute("INSERT INTO pending_imports (user_id, org_unit, filename, content, created_at)"
                                  " VALUES (?, ?, ?, ?, ?)", [user_id, org_unit, filename, content, utcnow()])
        return cur.lastrowid

    def pending_import(self, upload_id: int) -> dict | None:
        rows = list(self.db.query("SELECT * FROM pending_imports WHERE id = ?", [upload_id]))
        return rows[0] if rows else None

    def delete_pending_import(self, upload_id: int) -> None:
        """Forget an upload (inside the transaction that imports its rows: the two go together)."""
        with self.transaction():
            self.db.execute("DELETE FROM pending_imports WHERE id = ?", [upload_id])

    def hashes_stored(self, hashes: list[str]) -> set[str]:
        """Which of these content hashes are already items (an upload's rows imported before)."""
        found: set[str] = set()
        for start in range(0, len(hashes), 500):
            chunk = hashes[start:start + 500]
            found.update(r[0] for r in self.db.execute(
                f"SELECT content_hash FROM items WHERE content_hash IN ({','.join('?' * len(chunk))})", chunk))
        return found
