"""Passwords and secrets: argon2 hashes, never plain text; random session and API tokens stored only as hashes;
a sliding-window limiter of submissions and a throttle of password guessing, both counted in the store."""
from __future__ import annotations

import hashlib
import secrets
import threading
import time
from typing import TYPE_CHECKING, Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

if TYPE_CHECKING:
    from service.store import Store

_hasher = PasswordHasher()
# Verified against when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("pulse-no-such-user")

API_TOKEN_PREFIX = "pulse_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


# Each verification takes 64 MiB and most of a core for a moment: a few at a time, so a crowd of logins (or an attack)
# queues instead of exhausting the memory of a small server.
_VERIFYING = threading.BoundedSemaphore(2)


def verify_password(password_hash: str, password: str) -> bool:
    with _VERIFYING:
        try:
            return _hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def verify_no_user(password: str) -> bool:
    """Spend the time of one verification for a username that does not exist; always False."""
    verify_password(_DUMMY_HASH, password)
    return False


def new_password() -> str:
    """A random password for a new account, shown once."""
    return secrets.token_urlsafe(12)


def new_secret() -> str:
    """A random token for a session cookie or a CSRF field."""
    return secrets.token_urlsafe(32)


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the store keeps of a session or API token: its SHA-256 (the token itself is 256 random bits)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class RateLimiter:
    """At most `limit` events per key in any `window` seconds, counted in the store (service/store/limits.py), so
    every web process of one store, on every machine, shares one count. `stores` gives the calling thread's store
    (the web app's `StorePool.get`); `scope` keeps one limiter's keys apart from another's."""

    def __init__(self, stores: Callable[[], Store], limit: int, window: float, scope: str = "rate",
                 clock: Callable[[], float] = time.time):
        self.stores, self.limit, self.window, self.scope, self.clock = stores, limit, window, scope, clock

    def _key(self, key: str) -> str:
        return f"{self.scope}:{key}"

    def blocked_for(self, key: str) -> float:
        """Seconds until `key` may act again (0 when it may act now)."""
        now = self.clock()
        events = self.stores().rate_events(self._key(key), now)
        if len(events) < self.limit:
            return 0.0
        return max(0.0, events[0] - now)

    def hit(self, key: str) -> None:
        now = self.clock()
        self.stores().add_rate_event(self._key(key), now, now + self.window)

    def allow(self, key: str) -> bool:
        """Count one event if the key is under its limit; False (and nothing counted) when it is over. One small
        transaction: two processes never both pass the last free slot."""
        now = self.clock()
        return self.stores().take_rate_slot(self._key(key), self.limit, now, now + self.window)

    def reset(self, key: str) -> None:
        self.stores().clear_rate_events(self._key(key))


class LoginThrottle:
    """Failed logins slow down the guesser, never lock out the account's owner.

    Two keys: the address with the username (a guesser of one account) and the address alone (a guesser of many
    accounts). Each key has a few free failures; after them every further attempt waits `base * 2**extra` seconds
    after the last failure, up to a cap; an hour without failures forgets the key. Nothing is keyed by the username
    alone, so a flood against `admin` from one place never stops the real admin logging in from another.
    The failures are kept in the store (service/store/limits.py), so every web process of one store sees them;
    `stores` gives the calling thread's store (the web app's `StorePool.get`). Times come from `clock` (wall-clock
    seconds: processes on several machines compare them).
    """

    def __init__(self, stores: Callable[[], Store], free_per_account: int = 5, free_per_address: int = 20,
                 base: float = 1.0, cap_per_account: float = 15 * 60, cap_per_address: float = 5 * 60,
                 forget_after: float = 3600, clock: Callable[[], float] = time.time):
        self.stores, self.clock = stores, clock
        self.free = {"pair": free_per_account, "address": free_per_address}
        self.cap = {"pair": cap_per_account, "address": cap_per_address}
        self.base, self.forget_after = base, forget_after

    @staticmethod
    def _keys(address: str, username: str) -> list[tuple[str, str, str]]:
        return [("pair", address, username.strip().lower()), ("address", address, "")]

    def _delay(self, kind: str, failures: int) -> float:
        extra = failures - self.free[kind]
        if extra < 0:
            return 0.0
        return min(self.cap[kind], self.base * 2 ** min(extra, 30))

    def wait(self, address: str, username: str) -> float:
        """Seconds this address must wait before trying this username again (0: it may try now)."""
        now = self.clock()
        found = self.stores().login_failures(self._keys(address, username), now - self.forget_after)
        return max([0.0] + [last + self._delay(key[0], failures) - now for key, (failures, last) in found.items()])

    def failed(self, address: str, username: str) -> None:
        now = self.clock()
        self.stores().add_login_failure(self._keys(address, username), now, now - self.forget_after)

    def succeeded(self, address: str, username: str) -> None:
        """The right password: this address's failures for this account are forgotten."""
        kind, address, name = self._keys(address, username)[0]
        self.stores().clear_login_failures(address, name, kind)

    def entries(self) -> list[dict]:
        """The keys that are slowed down (past their free failures, not yet forgotten), longest wait first."""
        now = self.clock()
        out = []
        for row in self.stores().slowed_logins(now - self.forget_after):
            kind, failures = row["kind"], row["failures"]
            if failures >= self.free[kind]:
                wait = max(0.0, row["last_failure"] + self._delay(kind, failures) - now)
                out.append({"kind": kind, "address": row["address"], "username": row["username"],
                            "failures": failures, "wait": round(wait)})
        return sorted(out, key=lambda e: (-e["wait"], -e["failures"]))

    def clear(self, address: str | None = None, username: str | None = None) -> int:
        """Forget failures: all of them, or those of an address and/or a username; returns how many keys went."""
        name = username.strip().lower() if username else None
        return self.stores().clear_login_failures(address, name)


# --- password strength ---------------------------------------------------------------------------------------------
MIN_PASSWORD = 10
_COMMON: frozenset[str] | None = None
_LEET = str.maketrans({"@": "a", "4": "a", "3": "e", "1": "i", "!": "i", "0": "o", "$": "s", "5": "s", "7": "t"})
_ROWS = ("01234567890", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm", "1qaz2wsx3edc4rfv5tgb",
         "1234567890qwertyuiop")


def common_passwords() -> frozenset[str]:
    """The shipped list of the most used passwords (English and Vietnamese), lower case."""
    global _COMMON
    if _COMMON is None:
        from pathlib import Path

        text = (Path(__file__).resolve().parent / "common_passwords.txt").read_text(encoding="utf-8")
        _COMMON = frozenset(line.strip().lower() for line in text.splitlines()
                            if line.strip() and not line.startswith("#"))
    return _COMMON


def _is_sequence(text: str) -> bool:
    """Runs along the keyboard or the alphabet, forwards or backwards, or one short block repeated."""
    if len(text) < 4:
        return False
    for row in _ROWS:
        if text in row or text in row[::-1] or text in row * 3 or text in row[::-1] * 3:
            return True
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return True
    return False


def password_problem(password: str, username: str = "") -> str | None:
    """Why a new password is too weak, in one Vietnamese sentence; None when it is acceptable."""
    import unicodedata

    if len(password) < MIN_PASSWORD:
        return f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự."
    lowered = password.lower()
    plain = "".join(ch for ch in unicodedata.normalize("NFD", lowered) if unicodedata.category(ch) != "Mn")
    plain = plain.replace("đ", "d")
    compact = plain.replace(" ", "")
    core = compact.strip("0123456789!@#$%^&*()._-+=?")
    common = common_passwords()
    candidates = {lowered, plain, compact, core, compact.translate(_LEET), core.translate(_LEET)}
    if candidates & common:
        return "Mật khẩu này nằm trong danh sách mật khẩu phổ biến, rất dễ bị dò ra. Vui lòng chọn mật khẩu khác."
    if _is_sequence(compact) or (core and _is_sequence(core) and len(core) >= 6):
        return "Mật khẩu không được là một dãy ký tự liên tiếp hay lặp lại (như 1234567890, aaaaaaaaaa)."
    if len(set(compact)) < 5:
        return "Mật khẩu cần có ít nhất 5 ký tự khác nhau."
    name = username.strip().lower()
    if name and len(name) >= 3 and name in compact:
        return "Mật khẩu không được chứa tên đăng nhập."
    return None
