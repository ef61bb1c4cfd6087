"""Passwords and secrets: argon2 hashes, never plain text; random session and API tokens stored only as hashes;
a sliding-window limiter that throttles password guessing and floods of submissions."""
from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import defaultdict, deque

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

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
    """At most `limit` events per key in any `window` seconds; thread-safe, in memory (one process)."""

    def __init__(self, limit: int, window: float):
        self.limit, self.window = limit, window
        self._events: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _trim(self, key: str, now: float) -> deque[float]:
        events = self._events[key]
        while events and events[0] <= now - self.window:
            events.popleft()
        return events

    def blocked_for(self, key: str) -> float:
        """Seconds until `key` may act again (0 when it may act now)."""
        with self._lock:
            now = time.monotonic()
            events = self._trim(key, now)
            if len(events) < self.limit:
                return 0.0
            return max(0.0, events[0] + self.window - now)

    def hit(self, key: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._trim(key, now).append(now)

    def allow(self, key: str) -> bool:
        """Count one event if the key is under its limit; False (and nothing counted) when it is over."""
        with self._lock:
            now = time.monotonic()
            events = self._trim(key, now)
            if len(events) >= self.limit:
                return False
            events.append(now)
            return True

    def reset(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)
