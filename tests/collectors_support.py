"""Test helpers for the collectors: a loopback HTTP server with ETag support, and where the real fixtures live."""
from __future__ import annotations

import hashlib
import os
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import require_data

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PULSE_SHARED", ROOT.parent / "shared"))
HTML_FIXTURES = SHARED / "fixtures" / "html"
RSS_FIXTURES = SHARED / "fixtures" / "rss" / "vnexpress"
OWN_FIXTURES = ROOT / "tests" / "fixtures" / "collectors"
REFERENCE = OWN_FIXTURES / "reference"

# outlet → article fixture file (shared/fixtures/html) and reference body (tests/fixtures/collectors/reference)
ARTICLES = {
    "vnexpress": "vnexpress_article.html",
    "dantri": "dantri_article.html",
    "nld": "nld_article.html",
    "tuoitre": "tuoitre_article.html",
    "baochinhphu": "baochinhphu_article.html",
    "cafef": "cafef_article.html",
    "cafef_batdongsan": "cafef_article_batdongsan.html",
}


def shared_file(path: Path) -> bytes:
    """Bytes of a file in ../shared/fixtures; skips the test when the shared fixtures are not beside the repo
    (fails under PULSE_REQUIRE_DATA=1: see conftest.require_data)."""
    return require_data(path, "shared fixture").read_bytes()


def reference_lines(outlet: str) -> list[str]:
    return [line for line in (REFERENCE / f"{outlet}.txt").read_text(encoding="utf-8").splitlines() if line.strip()]


Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Hit:
    path: str
    headers: dict[str, str]


@dataclass
class LoopbackServer:
    """A ThreadingHTTPServer on 127.0.0.1 (port 0) serving registered bodies with ETags, or custom handlers."""

    routes: dict[str, Handler] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)

    def __post_init__(self):
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 - http.server's name
                path = self.path.split("?")[0]
                server.hits.append(Hit(self.path, dict(self.headers)))
                route = server.routes.get(path)
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                try:
                    route(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):  # keep test output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def paths_hit(self) -> list[str]:
        return [h.path for h in self.hits]

    def add(self, path: str, body: bytes, content_type: str = "text/html; charset=utf-8",
            extra_headers: dict[str, str] | None = None, last_modified: str | None = None) -> None:
        """Serve `body` at `path` with a strong ETag (and Last-Modified if given); a matching If-None-Match or
        If-Modified-Since gives 304."""
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        extra_headers = dict(extra_headers or {})
        if last_modified:
            extra_headers["Last-Modified"] = last_modified

        def handle(h: BaseHTTPRequestHandler) -> None:
            if h.headers.get("If-None-Match") == etag or (
                    last_modified and h.headers.get("If-Modified-Since") == last_modified):
                h.send_response(304)
                h.send_header("ETag", etag)
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            h.send_response(200)
            h.send_header("Content-Type", content_type)
            h.send_header("Content-Length", str(len(body)))
            h.send_header("ETag", etag)
            for k, v in extra_headers.items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(body)

        self.routes[path] = handle

    def add_handler(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def send(h: BaseHTTPRequestHandler, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
    h.send_response(status)
    h.send_header("Content-Length", str(len(body)))
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.end_headers()
    if body:
        h.wfile.write(body)


class Recorder:
    """An injectable sleep that records the waits asked for instead of sleeping, with a matching fake clock."""

    def __init__(self):
        self.sleeps: list[float] = []
        self.now = 1000.0

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def encode_windows_1258(text: str) -> bytes:
    """Vietnamese text as windows-1258 writes it: base letters precomposed where the code page has them
    (ă â ê ô ơ ư đ), tone marks as combining characters (0xCC 0xEC 0xD2 0xDE 0xF2)."""
    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in tones))
        marks = "".join(c for c in decomposed if c in tones)
        out += (base + marks).encode("cp1258")
    return bytes(out)


def slow_handler(delay: float) -> Handler:
    def handle(h: BaseHTTPRequestHandler) -> None:
        time.sleep(delay)
        send(h, 200, b"late", {"Content-Type": "text/plain"})

    return handle


# The fetch guard refuses internal addresses; these tests allow their own loopback servers by name.
LOOPBACK = ("127.0.0.1",)
