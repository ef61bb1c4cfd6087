"""Shared fixtures: a real HTTP server on 127.0.0.1, a fresh store, the CLI."""
from __future__ import annotations

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = ROOT.parent / "shared"


class Routes(dict):
    """path → (status, headers, body bytes) or a callable(handler) that answers itself."""


def _handler(routes: Routes):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output quiet
            pass

        def do_GET(self):
            route = routes.get(self.path.split("?")[0])
            if route is None:
                self.send_error(404)
                return
            if callable(route):
                route(self)
                return
            status, headers, body = route
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class LocalServer:
    def __init__(self):
        self.routes = Routes()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.routes))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def serve(self, path: str, body: bytes, status: int = 200, content_type: str = "application/rss+xml") -> str:
        self.routes[path] = (status, {"Content-Type": content_type}, body)
        return self.base + path

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def local_server():
    server = LocalServer()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _process_defaults():
    """An app or a command makes its installation's taxonomy and time zone the process's (service.datadir.use);
    each test starts and ends with the shipped taxonomy and the default zone."""
    from nlp.taxonomy import use_taxonomy
    from service.config import LOCAL_TZ
    from service.timeutil import use_timezone

    yield
    use_taxonomy()
    use_timezone(LOCAL_TZ)


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "pulse.db"


@pytest.fixture
def cli(db_path, monkeypatch):
    """Run `pulse --db <tmp> ...` in-process; returns the click Result."""
    from service.cli import app

    monkeypatch.delenv("PULSE_DB", raising=False)
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, ["--db", str(db_path), *args], input=input)

    return run


@pytest.fixture
def store(db_path):
    from service.store import Store

    s = Store(db_path)
    s.migrate()
    yield s
    s.close()


def require_data(path: Path, what: str = "") -> Path:
    """The one way a test asks for data from ../shared: it skips when the data is missing, except under
    PULSE_REQUIRE_DATA=1 (set by .ci/run), where missing data is a failure, as PULSE_REQUIRE_BROWSER does for the
    browser test. Returns the path."""
    if not Path(path).exists():
        message = f"{what or 'shared data'} is not available at {path}"
        if os.environ.get("PULSE_REQUIRE_DATA", "") not in ("", "0"):
            pytest.fail(f"{message}; PULSE_REQUIRE_DATA=1 makes missing ../shared data a failure", pytrace=False)
        pytest.skip(message)
    return Path(path)


def pytest_addoption(parser):
    parser.addoption("--backend", choices=("sqlite", "postgresql"), default=os.environ.get("PULSE_TEST_BACKEND",
                     "sqlite"), help="the store every test uses: SQLite files (default) or PostgreSQL, where each "
                     "test's database path becomes its own schema on the server of `PULSE_TEST_POSTGRES` (or one "
                     "started by .ci/postgres)")


def _postgres_server() -> str:
    import subprocess

    url = os.environ.get("PULSE_TEST_POSTGRES", "")
    if not url:
        url = subprocess.run([str(ROOT / ".ci" / "postgres")], check=True, capture_output=True,
                             text=True).stdout.strip().splitlines()[-1]
    return url


def pytest_configure(config):
    config.addinivalue_line("markers", "shared_data(path, what): the test reads data from ../shared (see "
                                       "require_data)")
    config.addinivalue_line("markers", "sqlite_only(reason): the test is about SQLite itself (its files, its "
                                       "locks); it is reported as skipped, with the reason, on PostgreSQL")
    if config.getoption("--backend") == "postgresql":
        # every Store opened on a path — in this process and in the servers and workers tests start — lives on the
        # PostgreSQL server instead (service/store/postgres.py)
        os.environ["PULSE_DB_SERVER"] = _postgres_server()
    else:
        os.environ.pop("PULSE_DB_SERVER", None)


def pytest_unconfigure(config):
    """The schemas of this session's store paths are dropped when it ends (each test had its own); another session
    running on the same server keeps its own."""
    server = os.environ.get("PULSE_DB_SERVER")
    if not server or config.getoption("--backend") != "postgresql":
        return
    import psycopg

    base = str(config._tmp_path_factory.getbasetemp().resolve())
    with psycopg.connect(server, autocommit=True) as conn:
        schemas = [r[0] for r in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE obj_description(oid, 'pg_namespace') LIKE %s",
            [f"pulse store at {base}%"])]
        for schema in schemas:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def pytest_runtest_setup(item):
    """`@pytest.mark.shared_data(path)` (or a module's `pytestmark`) routes through require_data."""
    for mark in item.iter_markers(name="shared_data"):
        require_data(*mark.args, **mark.kwargs)
    if item.config.getoption("--backend") == "postgresql":
        for mark in item.iter_markers(name="sqlite_only"):
            pytest.skip(f"SQLite only: {mark.args[0] if mark.args else 'about SQLite itself'}")


def wait_for(url: str, timeout: float = 30.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not come up in {timeout} s")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


os.environ.setdefault("PULSE_TEST", "1")
# The fetch guard refuses internal addresses; tests allow their own loopback servers through the setting
# (tests of the guard itself pass an empty allow-list explicitly). Subprocesses inherit it.
os.environ.setdefault("PULSE_ALLOWED_HOSTS", "127.0.0.1")
