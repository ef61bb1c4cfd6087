"""The one HTTP client of Pulse: every fetch goes through `HttpClient`.

It owns the User-Agent, timeouts, retries with backoff, conditional GET, robots.txt, per-host pacing, the size cap,
redirects and text decoding. Failures come back as a `Response` with `error` set, never as an exception, so one bad
source cannot stop the others. Sleeping and the clock are injectable so tests run fast and can see every wait.
"""
from __future__ import annotations

import random
import threading
import time
import urllib.robotparser
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from collectors.encoding import decode_bytes

USER_AGENT = "Pulse/0.2 (public-opinion monitoring for Vietnamese trade unions; contact: the operator of this Pulse)"
ROBOTS_AGENT = "Pulse"  # the product token robots.txt rules are matched against
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


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
    _text: str | None = field(default=None, repr=False)
    _encoding: str | None = field(default=None, repr=False)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def text(self) -> str:
        """The body decoded: charset header, then BOM / meta tag / XML declaration, then detection; NFC."""
        if self._text is None:
            content_type = next((v for k, v in (self.headers or {}).items() if k.lower() == "content-type"), "")
            self._text, self._encoding = decode_bytes(self.content, content_type)
        return self._text

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
    """A polite HTTP client: one instance per collection run (it keeps robots.txt and per-host pacing state)."""

    def __init__(self, connect_timeout: float = 5.0, read_timeout: float = 20.0, max_bytes: int = 10_000_000,
                 retries: int = 3, backoff: float = 1.0, max_backoff: float = 60.0, max_retry_after: float = 300.0,
                 min_interval: float = 1.0, max_redirects: int = 5, total_timeout: float = 120.0,
                 respect_robots: bool = True, robots_ttl: float = 24 * 3600, user_agent: str = USER_AGENT,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 jitter: Callable[[], float] = random.random):
        self.timeout = (connect_timeout, read_timeout)
        self.max_bytes = max_bytes
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.min_interval = min_interval
        self.max_redirects = max_redirects
        self.total_timeout = total_timeout
        self.respect_robots = respect_robots
        self.robots_ttl = robots_ttl
        self.sleep = sleep
        self.clock = clock
        self.jitter = jitter
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self.session.headers["Accept-Encoding"] = "gzip, deflate"
        self._robots: dict[str, _Robots] = {}
        self._last_request: dict[str, float] = {}
        self._lock = threading.Lock()

    # ---- public -------------------------------------------------------------------------------------------------

    def get(self, url: str, etag: str | None = None, last_modified: str | None = None) -> Response:
        """GET `url` politely; conditional when `etag` / `last_modified` are given (304 → `not_modified`)."""
        try:
            return self._get(url, etag, last_modified)
        except Exception as exc:  # a client that raises would stop every other source; say what happened instead
            return Response(url=url, error=f"{url} could not be fetched ({type(exc).__name__}: {exc}).")

    def allowed(self, url: str) -> tuple[bool, str]:
        """Whether robots.txt lets Pulse fetch `url`, and why not when it does not."""
        if not self.respect_robots:
            return True, ""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
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

    def _get(self, url: str, etag: str | None, last_modified: str | None) -> Response:
        if urlsplit(url).scheme not in ("http", "https"):
            return Response(url=url, error=f"{url!r} is not an http(s) address.")
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _hop in range(self.max_redirects + 1):
            ok, reason = self.allowed(current)
            if not ok:
                return Response(url=url, final_url=current, error=reason)
            resp = self._with_retries(current, headers)
            resp.url = url
            resp.final_url = current
            if resp.status in REDIRECT_STATUSES and resp.headers and resp.headers.get("Location"):
                current = urljoin(current, resp.headers["Location"].strip())
                if urlsplit(current).scheme not in ("http", "https"):
                    return Response(url=url, final_url=current, status=resp.status,
                                    error=f"{url} redirected to {current!r}, which is not an http(s) address.")
                continue
            if resp.error is None and resp.status >= 400:
                resp.error = f"{url} answered HTTP {resp.status}."
            return resp
        return Response(url=url, final_url=current, error=f"{url} redirected more than {self.max_redirects} times.")

    def _with_retries(self, url: str, headers: dict[str, str]) -> Response:
        attempt = 0
        while True:
            attempt += 1
            resp = self._once(url, headers)
            resp.attempts = attempt
            retryable = resp.status in RETRY_STATUSES or (resp.status == 0 and resp.error and not resp.truncated)
            if not retryable or attempt > self.retries:
                return resp
            self.sleep(self._delay(resp, attempt))

    def _delay(self, resp: Response, attempt: int) -> float:
        """Retry-After when the server gave one (capped), otherwise exponential backoff with jitter."""
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
        host = urlsplit(url).netloc
        interval = self._interval(url)
        with self._lock:
            last = self._last_request.get(host)
            now = self.clock()
            if last is not None and now - last < interval:
                self.sleep(interval - (now - last))
            self._last_request[host] = self.clock()

    def _once(self, url: str, headers: dict[str, str]) -> Response:
        self._pace(url)
        started = self.clock()
        try:
            with self.session.get(url, headers=headers, timeout=self.timeout, stream=True,
                                  allow_redirects=False) as r:
                resp_headers = CaseInsensitiveDict(r.headers)
                declared = _int(resp_headers.get("Content-Length"))
                if declared is not None and declared > self.max_bytes:
                    return Response(url=url, status=r.status_code, headers=resp_headers, truncated=True,
                                    error=f"{url} is {declared} bytes, over the {self.max_bytes}-byte limit; "
                                          "not downloaded.")
                body = bytearray()
                truncated = False
                for chunk in r.iter_content(65536):
                    body += chunk
                    if len(body) > self.max_bytes:
                        del body[self.max_bytes:]
                        truncated = True
                        break
                    if self.clock() - started > self.total_timeout:
                        return Response(url=url, status=r.status_code, headers=resp_headers,
                                        error=f"{url} was still sending after {self.total_timeout:.0f} s; gave up.")
                resp = Response(url=url, status=r.status_code, content=bytes(body), headers=resp_headers,
                                truncated=truncated)
                if truncated:
                    resp.error = f"{url} is larger than the {self.max_bytes}-byte limit; stopped reading there."
                return resp
        except requests.Timeout:
            return Response(url=url, error=f"{url} did not answer in time.")
        except requests.RequestException as exc:
            return Response(url=url, error=f"{url} could not be reached ({type(exc).__name__}).")

    def _load_robots(self, origin: str) -> _Robots:
        """Fetch and parse robots.txt (RFC 9309): 4xx allows all, 5xx or unreachable disallows all for a while."""
        robots_url = origin + "/robots.txt"
        resp = self._with_retries(robots_url, {})
        hops = 0
        while resp.status in REDIRECT_STATUSES and resp.headers and resp.headers.get("Location") and hops < 5:
            hops += 1
            robots_url = urljoin(robots_url, resp.headers["Location"])
            resp = self._with_retries(robots_url, {})
        now = self.clock()
        if 400 <= resp.status < 500:
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


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
