"""The dashboard's counts over the reader's scope."""
from __future__ import annotations


class DashboardRepository:
    """The dashboard's counts over the reader's scope."""

    # --- the dashboard (service/dashboard.py): counts by day, tone, topic and unit over the reader's scope ----------
    @staticmethod
    def _scope_sql(units: list[str] | None, column: str = "org_unit") -> tuple[str, list]:
        if units is None:
            return "", []
        return f" AND ({column} IS NULL OR {column} IN ({','.join('?' * len(units))}))", list(units)

    def items_per_day_by_channel(self, since_day: str, until_day: str, units: list[str] | None) -> list[dict]:
        """(day, grp, n): the press and the web, collaborators' reports, dialogues and meetings (daily counts kept
        by triggers)."""
        scope, params = self._scope_sql(units, "NULLIF(org_unit, '')")
        return list(self.db.query(
            "SELECT day, grp, SUM(n) AS n FROM dash_item_days WHERE day >= ? AND day <= ?"
            f"{scope} GROUP BY day, grp", [since_day, until_day, *params]))

    def tone_per_day(self, since_day: str, until_day: str, units: list[str] | None) -> list[dict]:
        scope, params = self._scope_sql(units, "NULLIF(org_unit, '')")
        return list(self.db.query(
            "SELECT day, sentiment, SUM(n) AS n FROM dash_stream_days WHERE day >= ? AND day <= ?"
            f"{scope} GROUP BY day, sentiment", [since_day, until_day, *params]))

    def topic_counts(self, since_day: str, until_day: str, units: list[str] | None) -> dict[str, int]:
        scope, params = self._scope_sql(units, "NULLIF(org_unit, '')")
        return {r[0]: r[1] for r in self.db.execute(
            "SELECT topic, SUM(n) FROM dash_stream_days WHERE day >= ? AND day <= ?"
            f"{scope} GROUP BY topic HAVING SUM(n) > 0", [since_day, until_day, *params])}

    def observations_per_unit(self, since_day: str, units: list[str] | None) -> dict[str, int]:
        scope, params = ("", []) if units is None else (
            f" AND org_unit IN ({','.join('?' * len(units))})", list(units))
        return {r[0]: r[1] for r in self.db.execute(
            "SELECT org_unit, SUM(n) FROM dash_item_days WHERE grp != 'press' AND day >= ? AND org_unit != ''"
            f"{scope} GROUP BY org_unit HAVING SUM(n) > 0", [since_day, *params])}

    def reports_sent_per_unit(self, since: str, units: list[str] | None) -> dict[str, int]:
        if not self.db["unit_reports"].exists():
            return {}
        scope, params = ("", []) if units is None else (
            f" AND org_unit IN ({','.join('?' * len(units))})", list(units))
        return {r[0]: r[1] for r in self.db.execute(
            "SELECT org_unit, COUNT(DISTINCT period || first_day) FROM unit_reports"
            f" WHERE status IN ('sent', 'received') AND sent_at >= ?{scope} GROUP BY org_unit", [since, *params])}
