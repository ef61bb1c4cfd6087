"""The one HTTP client of Pulse: every fetch goes through `HttpClient`.

It owns the User-Agent, timeouts, retries with backoff, conditional GET, robots.txt, per-host pacing, the size cap,
redirects, text decoding and the guard that keeps fetches outside (collectors/netguard.py). Failures come back as a
`Response` with `error` set, never as an exception, so one bad source cannot stop the others.

No server can stall it: every fetch has a wall-clock deadline checked after each small piece it reads (a server that
drips one byte at a time is cut off), each host has a time budget per collection cycle, a timeout is retried at most
once, and a `Retry-After` longer than `max_retry_after` means "skip this host until then" instead of a sleep.
The client is thread-safe and meant to live long: robots.txt stays cached across cycles until it expires.
Sleeping and the pacing clock are injectable so tests run fast and can see every wait; deadlines and budgets use
the real monotonic clock (`timer`).
"""
from __future__ import annotations

import random
import threading
import time
import urllib.robotparser
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from collectors.encoding import decode_bytes
from collectors.netguard import GuardedAdapter, blocked_in, normalise_hosts, url_refusal

DEFAULT_CONTACT = "the operator of this Pulse"
ROBOTS_AGENT = "Pulse"  # the product token robots.txt rules are matched against
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def user_agent(contact: str | None = None) -> str:
    """Pulse's User-Agent, naming who to contact about its visits (a setting of the installation)."""
    return (f"Pulse/0.3 (public-opinion monitoring for Vietnamese trade unions; "
            f"contact: {(contact or '').strip() or DEFAULT_CONTACT})")


USER_AGENT = user_agent()


@dataclass
class Response:
    """What one GET gave: status, body bytes (at most the size cap), headers, and a plain-English error if any."""

    url: str
    status: int = 0
    content: bytes = b""
    headers: Mapping[str, str] | None = None
    error: str | None = None
    final_url: str | None = None  # after redirects
    truncated: bool = False  # the body was cut at the size cap
    attempts: int = 0
    timed_out: bool = False  # no answer within the read/connect timeout
    past_deadline: bool = False  # cut off at the wall-clock deadline of one fetch (never retried)
    blocked: bool = False  # refused: internal address, robots.txt, budget spent or host asked us to wait
    retry_after_until: float | None = None  # epoch seconds: the host asked not to be asked again before this
    _text: str | None = field(default=None, repr=False)
    _encoding: str | None = field(default=None, repr=False)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def text(self) -> str:
        """The body decoded: charset header, then BOM / meta tag / XML declaration, then detection; NFC."""
        if self._text is None:
            self._text, self._encoding = decode_bytes(self.content, self.content_type)
        return self._text

    @property
    def content_type(self) -> str:
        return next((v for k, v in (self.headers or {}).items() if k.lower() == "content-type"), "")

    @property
    def encoding(self) -> str | None:
        """The encoding `text` was decoded with."""
        self.text  # noqa: B018 - decode on first use
        return self._encoding


@dataclass
class _Robots:
    parser: urllib.robotparser.RobotFileParser | None  # None: everything allowed
    disallow_all: bool
    fetched_at: float
    reason: str = ""


class HttpClient:
    """A polite HTTP client, safe to share between threads and to keep across collection cycles."""

    def __init__(self, connect_timeout: float = 5.0, read_timeout: float = 20.0, max_bytes: int = 10_000_000,
                 retries: int = 3, backoff: float = 1.0, max_backoff: float = 60.0, max_retry_after: float = 120.0,
                 min_interval: float = 1.0, max_redirects: int = 5, total_timeout: float = 60.0,
                 host_budget: float = 300.0, timeout_retries: int = 1, chunk_size: int = 16384,
                 respect_robots: bool = True, robots_ttl: float = 24 * 3600, user_agent: str = USER_AGENT,
                 allowed_hosts: Collection[str] | str = (),
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 jitter: Callable[[], float] = random.random, timer: Callable[[], float] = time.monotonic):
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_bytes = max_bytes
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after  # a longer Retry-After: skip the host until then, no sleep
        self.min_interval = min_interval
        self.max_redirects = max_redirects
        self.total_timeout = total_timeout  # wall-clock deadline of one request, body included
        self.host_budget = host_budget  # seconds one host may take in one cycle (see start_cycle)
        self.timeout_retries = timeout_retries
        self.chunk_size = chunk_size
        self.respect_robots = respect_robots
        self.robots_ttl = robots_ttl
        self.allowed_hosts = normalise_hosts(allowed_hosts)
        self.sleep = sleep
        self.clock = clock
        self.jitter = jitter
        self.timer = timer
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy from the environment: the guard must see the real peer
        adapter = GuardedAdapter(self.allowed_hosts, pool_maxsize=32)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = user_agent
        self.session.headers["Accept-Encoding"] = "gzip, deflate"
        self._robots: dict[str, _Robots] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._last_request: dict[str, float] = {}
        self._spent: dict[str, float] = {}
        self._skip_until: dict[str, float] = {}
        self._lock = threading.Lock()

    # ---- public -------------------------------------------------------------------------------------------------

    def get(self, url: str, etag: str | None = None, last_modified: str | None = None) -> Response:
        """GET `url` politely; conditional when `etag` / `last_modified` are given (304 → `not_modified`)."""
        host = _host(url)
        started = self.timer()
        try:
            return self._get(url, etag, last_modified)
        except Exception as exc:  # a client that raises would stop every other source; say what happened instead
            return Response(url=url, error=f"{url} could not be fetched ({type(exc).__name__}: {exc}).")
        finally:
            with self._lock:
                self._spent[host] = self._spent.get(host, 0.0) + (self.timer() - started)

    def start_cycle(self) -> None:
        """A new collection cycle: every host's time budget starts again (robots.txt and Retry-After are kept)."""
        with self._lock:
            self._spent.clear()

    def budget_left(self, url: str) -> float:
        """Seconds the host of `url` may still take in this cycle."""
        with self._lock:
            return self.host_budget - self._spent.get(_host(url), 0.0)

    def allowed(self, url: str) -> tuple[bool, str]:
        """Whether robots.txt lets Pulse fetch `url`, and why not when it does not."""
        if not self.respect_robots:
            return True, ""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            origin_lock = self._robots_locks.setdefault(origin, threading.Lock())
        with origin_lock:  # one fetch of an origin's robots.txt even when threads ask at once
            robots = self._robots.get(origin)
            if robots is None or self.clock() - robots.fetched_at > self.robots_ttl:
                robots = self._load_robots(origin)
                self._robots[origin] = robots
        if robots.disallow_all:
            return False, robots.reason
        if robots.parser is not None and not robots.parser.can_fetch(ROBOTS_AGENT, url):
            return False, f"{origin}/robots.txt does not allow Pulse to fetch {url}."
        return True, ""

    # ---- internals ----------------------------------------------------------------------------------------------

    def _refusal(self, url: str) -> Response | None:
        """A response saying why `url` is not fetched now (not http, internal, host waiting, budget), or None."""
        if urlsplit(url).scheme not in ("http", "https"):
            return Response(url=url, error=f"{url!r} is not an http(s) address.", blocked=True)
        reason = url_refusal(url, self.allowed_hosts)
        if reason:
            return Response(url=url, error=reason, blocked=True)
        host = _host(url)
        with self._lock:
            until = self._skip_until.get(host)
        if until is not None and time.time() < until:
            return Response(url=url, blocked=True, retry_after_until=until,
                            error=f"{host} asked Pulse to wait (Retry-After) until {_utc(until)}; skipped until then.")
        if self.budget_left(url) <= 0:
            return Response(url=url, blocked=True,
                            error=f"{host} has used its {self.host_budget:.0f} s time budget for this cycle; "
                                  f"{url} was not fetched.")
        return None

    def _get(self, url: str, etag: str | None, last_modified: str | None) -> Response:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for hop in range(self.max_redirects + 1):
            refused = self._refusal(current)
            if refused is not None:
                if hop:
                    refused.error = f"{url} redirected to {current}: {refused.error}"
                refused.url, refused.final_url = url, current
                return refused
            ok, reason = self.allowed(current)
            if not ok:
                waiting = self._refusal(current)  # robots.txt itself may have said Retry-After
                if waiting is not None and waiting.retry_after_until is not None:
                    waiting.url, waiting.final_url = url, current
                    return waiting
                return Response(url=url, final_url=current, error=reason, blocked=True)
            resp = self._with_retries(current, headers)
            resp.url = url
            resp.final_url = current
            if resp.status in REDIRECT_STATUSES and resp.headers and resp.headers.get("Location"):
                current = urljoin(current, resp.headers["Location"].strip())
                continue
            if resp.error is None and resp.status >= 400:
                resp.error = f"{url} answered HTTP {resp.status}."
            return resp
        return Response(url=url, final_url=current, error=f"{url} redirected more than {self.max_redirects} times.")

    def _with_retries(self, url: str, headers: dict[str, str]) -> Response:
        attempt = timeouts = 0
        while True:
            attempt += 1
            resp = self._once(url, headers)
            resp.attempts = attempt
            timeouts += resp.timed_out
            if resp.status in RETRY_STATUSES:
                retry_after = parse_retry_after((resp.headers or {}).get("Retry-After"))
                if retry_after is not None and retry_after > self.max_retry_after:
                    return self._skip_host(url, resp, retry_after)
                retryable = True
            elif resp.timed_out:
                retryable = timeouts <= self.timeout_retries
            else:  # refused connections and the like; not a blocked address, a deadline overrun or a cut body
                retryable = resp.status == 0 and bool(resp.error) and not (
                    resp.truncated or resp.blocked or resp.past_deadline)
            if not retryable or attempt > self.retries:
                return resp
            delay = self._delay(resp, attempt)
            if delay >= self.budget_left(url):
                return resp  # waiting would spend the host's whole budget: give up for this cycle
            self.sleep(delay)

    def _skip_host(self, url: str, resp: Response, retry_after: float) -> Response:
        until = time.time() + retry_after
        host = _host(url)
        with self._lock:
            self._skip_until[host] = until
        resp.retry_after_until = until
        resp.blocked = True
        resp.error = (f"{url} answered HTTP {resp.status} and asked Pulse to wait {retry_after:.0f} s (Retry-After); "
                      f"{host} is skipped until {_utc(until)}.")
        return resp

    def _delay(self, resp: Response, attempt: int) -> float:
        """Retry-After when the server gave one (at most max_retry_after), otherwise exponential backoff + jitter."""
        retry_after = parse_retry_after((resp.headers or {}).get("Retry-After"))
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        base = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return base * (0.5 + self.jitter() / 2)  # "equal jitter": between half and the whole of the step

    def _interval(self, url: str) -> float:
        """The minimum gap between two requests to this host: ours, or the site's Crawl-delay (up to 60 s)."""
        parts = urlsplit(url)
        robots = self._robots.get(f"{parts.scheme}://{parts.netloc}")
        delay = None
        if robots is not None and robots.parser is not None:
            try:
                delay = robots.parser.crawl_delay(ROBOTS_AGENT)
            except (TypeError, ValueError):
                delay = None
        return max(self.min_interval, min(float(delay or 0), 60.0))

    def _pace(self, url: str) -> None:
        """Wait for this host's turn; the slot is booked under the lock, the wait happens outside it."""
        host = _host(url)
        interval = self._interval(url)
        with self._lock:
            now = self.clock()
            last = self._last_request.get(host)
            wait = max(0.0, last + interval - now) if last is not None else 0.0
            self._last_request[host] = now + wait
        if wait > 0:
            self.sleep(wait)

    def _once(self, url: str, headers: dict[str, str]) -> Response:
        self._pace(url)
        started = self.timer()
        deadline = started + max(0.05, min(self.total_timeout, self.budget_left(url)))

        def left() -> float:
            return deadline - self.timer()

        timeout = (max(0.05, min(self.connect_timeout, left())), max(0.05, min(self.read_timeout, left())))
        try:
            with self.session.get(url, headers=headers, timeout=timeout, stream=True, allow_redirects=False) as r:
                resp_headers = CaseInsensitiveDict(r.headers)
                declared = _int(resp_headers.get("Content-Length"))
                if declared is not None and declared > self.max_bytes:
                    return Response(url=url, status=r.status_code, headers=resp_headers, truncated=True,
                                    error=f"{url} is {declared} bytes, over the {self.max_bytes}-byte limit; "
                                          "not downloaded.")
                body = bytearray()
                truncated = False
                sock = getattr(getattr(r.raw, "connection", None), "sock", None)
                while True:
                    remaining = left()
                    if remaining <= 0:
                        return Response(url=url, status=r.status_code, headers=resp_headers,
                                        error=self._deadline_error(url), past_deadline=True)
                    if sock is not None:  # no single read may outlive the deadline
                        try:
                            sock.settimeout(max(0.05, min(self.read_timeout, remaining)))
                        except OSError:
                            sock = None
                    piece = r.raw.read1(self.chunk_size, decode_content=True)
                    if not piece:
                        break
                    body += piece
                    if len(body) > self.max_bytes:
                        del body[self.max_bytes:]
                        truncated = True
                        break
                resp = Response(url=url, status=r.status_code, content=bytes(body), headers=resp_headers,
                                truncated=truncated)
                if truncated:
                    resp.error = f"{url} is larger than the {self.max_bytes}-byte limit; stopped reading there."
                return resp
        except Exception as exc:  # requests, urllib3 and socket errors all mean "this fetch failed"
            return self._failure(url, exc, left() <= 0)

    def _deadline_error(self, url: str) -> str:
        return f"{url} did not finish within the deadline of one fetch ({self.total_timeout:g} s); gave up."

    def _failure(self, url: str, exc: Exception, past_deadline: bool) -> Response:
        blocked = blocked_in(exc)
        if blocked is not None:
            return Response(url=url, error=str(blocked), blocked=True)
        if past_deadline:
            return Response(url=url, error=self._deadline_error(url), past_deadline=True)
        timeout_types = (requests.Timeout, TimeoutError)
        chain = [exc, exc.__cause__, exc.__context__, *getattr(exc, "args", ())]
        if any(isinstance(e, timeout_types) or "timed out" in str(e).lower() for e in chain if e is not None):
            return Response(url=url, error=f"{url} did not answer in time.", timed_out=True)
        if isinstance(exc, requests.RequestException):
            return Response(url=url, error=f"{url} could not be reached ({type(exc).__name__}).")
        return Response(url=url, error=f"{url} could not be read ({type(exc).__name__}).")

    def _load_robots(self, origin: str) -> _Robots:
        """Fetch and parse robots.txt (RFC 9309): 4xx allows all, 5xx or unreachable disallows all for a while."""
        robots_url = origin + "/robots.txt"
        resp = self._with_retries(robots_url, {})
        hops = 0
        while resp.status in REDIRECT_STATUSES and resp.headers and resp.headers.get("Location") and hops < 5:
            hops += 1
            robots_url = urljoin(robots_url, resp.headers["Location"])
            refused = self._refusal(robots_url)
            resp = refused if refused is not None else self._with_retries(robots_url, {})
        now = self.clock()
        if 400 <= resp.status < 500 and resp.retry_after_until is None:
            return _Robots(parser=None, disallow_all=False, fetched_at=now)
        if resp.status != 200:
            # retry this origin's robots.txt sooner than the usual TTL
            return _Robots(parser=None, disallow_all=True, fetched_at=now - self.robots_ttl + 300,
                           reason=f"{origin}/robots.txt could not be read "
                                  f"({resp.error or 'HTTP ' + str(resp.status)}); not fetching from that site for now.")
        parser = urllib.robotparser.RobotFileParser(robots_url)
        parser.parse(decode_bytes(resp.content, "text/plain")[0].splitlines())
        return _Robots(parser=parser, disallow_all=False, fetched_at=now)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _host(url: str) -> str:
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return ""


def _utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
