"""Login throttles and rate limits, kept in the store so that every web process of one store (on one machine or many)
counts the same failed logins and the same submissions. The rules are service/auth.py's; these are their rows.

Times are epoch seconds (REAL) from the caller's clock, finer than the `*_at` texts and settable by a test. A row is
deleted in the same transaction that finds it no longer counts, so both tables hold only the last hour or so."""
from __future__ import annotations

Key = tuple[str, str, str]   # (kind, address, username); kind "pair" (address + account) or "address" (username "")


class LimitsRepository:
    """Failed logins per key, and rate-limited events per key with the time each stops counting."""

    # --- failed logins ---------------------------------------------------------------------------------------------
    def login_failures(self, keys: list[Key], since: float) -> dict[Key, tuple[int, float]]:
        """(failures, last failure time) of those of `keys` whose last failure is not older than `since`."""
        if not keys:
            return {}
        where = " OR ".join(["(kind = ? AND address = ? AND username = ?)"] * len(keys))
        rows = self.db.execute(
            f"SELECT kind, address, username, failures, last_failure FROM login_failures"
            f" WHERE last_failure >= ? AND ({where})", [since, *(v for key in keys for v in key)]).fetchall()
        return {(r[0], r[1], r[2]): (r[3], r[4]) for r in rows}

    def add_login_failure(self, keys: list[Key], now: float, since: float) -> None:
        """One more failure at `now` for each key, in one transaction. Failures older than `since` are forgotten
        first (their rows deleted, whichever key), so a key whose last failure is older starts again from one."""
        with self.transaction():
            self.db.execute("DELETE FROM login_failures WHERE last_failure < ?", [since])
            self.db.conn.executemany(
                "INSERT INTO login_failures (kind, address, username, failures, last_failure) VALUES (?, ?, ?, 1, ?)"
                " ON CONFLICT (kind, address, username) DO UPDATE SET failures = login_failures.failures + 1,"
                " last_failure = excluded.last_failure", [(*key, now) for key in keys])

    def slowed_logins(self, since: float) -> list[dict]:
        """Every key with failures not older than `since`: kind, address, username, failures, last_failure."""
        return list(self.db.query(
            "SELECT kind, address, username, failures, last_failure FROM login_failures WHERE last_failure >= ?"
            " ORDER BY last_failure DESC", [since]))

    def clear_login_failures(self, address: str | None = None, username: str | None = None,
                             kind: str | None = None) -> int:
        """Forget the failures of every key matching the given parts (all keys when none is given); how many went."""
        parts = [(c, v) for c, v in (("kind", kind), ("address", address), ("username", username)) if v is not None]
        where = " AND ".join(f"{column} = ?" for column, _ in parts) or "1 = 1"
        with self.transaction():
            return self.db.execute(f"DELETE FROM login_failures WHERE {where}", [v for _, v in parts]).rowcount

    # --- rate-limited events ---------------------------------------------------------------------------------------
    def take_rate_slot(self, key: str, limit: int, now: float, expires: float) -> bool:
        """Count one event of `key` (until `expires`) if fewer than `limit` of its events still count at `now`;
        False, and nothing counted, when it is at the limit. The check and the insert are one transaction under the
        store's write lock, so two processes never both take the last slot. Events that stopped counting go first."""
        with self.transaction():
            self.db.execute("DELETE FROM rate_events WHERE expires <= ?", [now])
            held = self.db.execute("SELECT COUNT(*) FROM rate_events WHERE key = ?", [key]).fetchone()[0]
            if held >= limit:
                return False
            self.db.execute("INSERT INTO rate_events (key, expires) VALUES (?, ?)", [key, expires])
            return True

    def add_rate_event(self, key: str, now: float, expires: float) -> None:
        """Count one event of `key` until `expires`, whatever its count."""
        with self.transaction():
            self.db.execute("DELETE FROM rate_events WHERE expires <= ?", [now])
            self.db.execute("INSERT INTO rate_events (key, expires) VALUES (?, ?)", [key, expires])

    def rate_events(self, key: str, now: float) -> list[float]:
        """When each event of `key` that still counts at `now` stops counting, soonest first."""
        return [r[0] for r in self.db.execute(
            "SELECT expires FROM rate_events WHERE key = ? AND expires > ? ORDER BY expires", [key, now]).fetchall()]

    def clear_rate_events(self, key: str) -> int:
        with self.transaction():
            return self.db.execute("DELETE FROM rate_events WHERE key = ?", [key]).rowcount
