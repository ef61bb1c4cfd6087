"""The web application: FastAPI + Jinja2, server-rendered pages in Vietnamese, a JSON API with tokens.

Requests use one SQLite connection per thread; a collaborator's submission is stored by its request, then annotated,
streamed and counted by the detectors in a background worker process that holds the models (service/intake.py).
"""
from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Callable
from urllib.parse import quote

import anyio.to_thread

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.auth import LoginThrottle, RateLimiter
from service.config import Settings
from service.intake import SubmissionWorker
from service.routes import admin, api, auth, collaborator, items, review
from service.routes.web import ERRORS, LoginRequired, StorePool, identify, is_api, render

HERE = Path(__file__).resolve().parent
MAX_BODY_BYTES = 256 * 1024   # a 5,000-character observation, percent-encoded, is under 50 KB
UPLOAD_PATHS = ("/imports",)  # office files uploaded by a unit's staff (service/routes/imports.py) …
MAX_UPLOAD_BYTES = 10 * 1024 * 1024   # … may be larger: a DOCX report with a logo is a few hundred KB
REQUEST_THREADS = 12          # measured with bench/web_load.py: 8–16 threads give the shortest tails on 2 cores
log = logging.getLogger("pulse.web")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none';"
     b" form-action 'self'; base-uri 'none'; object-src 'none'"),
]


class BodyLimit:
    """Refuse a request body over `limit` bytes with 413, whether it announces its length or streams it."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = MAX_UPLOAD_BYTES if scope["path"] in UPLOAD_PATHS else self.limit
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return await _too_large(scope, send)
        received = 0
        started = refused = False

        async def limited_receive():
            nonlocal received, started, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # answer 413 now and tell the app the client is gone, so it stops reading and its answer is dropped
                    refused = True
                    if not started:
                        started = True
                        await _too_large(scope, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise


async def _too_large(scope, send):
    api = scope["path"].startswith("/api/")
    body = ('{"detail": "Nội dung gửi lên quá lớn."}' if api else
            "<!doctype html><meta charset=utf-8><title>Quá lớn</title><p>Nội dung gửi lên quá lớn.</p>").encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json" if api else b"text/html; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Headers every answer carries; pages that show private data are not cached."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        static = scope["path"].startswith("/static/")

        async def add_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + SECURITY_HEADERS
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, add_headers)


def create_app(settings: Settings, start_worker: bool = True, annotator_loader: Callable | None = None) -> FastAPI:
    """Build the app over one store file. `start_worker=False` serves pages only (submissions wait, stored)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Few request threads: with many, they mostly wait for the interpreter lock and every answer comes later.
        anyio.to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS
        if start_worker:
            app.state.worker.start()
        try:
            yield
        finally:
            app.state.worker.stop()
            app.state.stores.close()

    app = FastAPI(title="Pulse API", version="1", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan,
                  description="API JSON của Pulse cho các hệ thống tích hợp. Gửi mã truy cập trong tiêu đề "
                              "`Authorization: Bearer <mã>`; mã do quản trị viên cấp và chỉ hiện một lần.")
    app.state.settings = settings
    from service.datadir import use

    use(settings)   # topic names of pages, flags and briefings: the board's taxonomy in the data folder
    app.state.stores = StorePool(settings.db_path)
    app.state.write_lock = threading.Lock()   # serialises the request threads' busiest write (submissions)
    app.state.verifying = threading.BoundedSemaphore(2)   # password checks at once (argon2: 64 MiB, a core each)
    # failed logins slow their address down (never lock an account); submissions per user: both counted in the store,
    # so every web process of it (on every machine) shares them
    app.state.login_throttle = LoginThrottle(app.state.stores.get)
    app.state.submit_limiter = RateLimiter(app.state.stores.get, limit=60, window=10 * 60, scope="submit")
    app.state.worker = SubmissionWorker(settings, annotator_loader=annotator_loader)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (auth, review, items, collaborator, admin, api):
        app.include_router(module.router)
    app.include_router(api.docs_router)
    from service.routes import analyst  # the analysts' labelling, taxonomy and retraining pages
    app.include_router(analyst.router)
    from service.routes import briefings  # the daily briefing archive and the units' reports
    app.include_router(briefings.router)
    from service.routes import alerts, dashboard  # the home page's overview; notifications and e-mail (issue 16)
    app.include_router(dashboard.router)
    app.include_router(alerts.router)
    from service.routes import dialogues, imports, unitreports  # units' reports, dialogues, office file uploads
    for module in (unitreports, dialogues, imports):
        app.include_router(module.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz(request: Request):
        """The truth for a monitor: 503 with the problems when submissions are not being processed (the intake worker
        is dead, restarting, frozen or without models); whether and how it was restarted. Counts and process ids only
        for a logged-in admin."""
        worker = request.app.state.worker
        health = worker.health()
        problems = []
        if start_worker:
            if not health["alive"]:
                problems.append("the intake worker is not running; it is being restarted")
            elif (health["heartbeat_age_seconds"] or 0) > worker.stale_seconds:
                problems.append("the intake worker gives no heartbeat")
            elif health["state"] == "unavailable":
                problems.append("the models could not be loaded; submissions wait in the store")
        last = health["last_exit"]
        body = {"ok": not problems, "problems": problems, "annotator": health["state"],
                "worker": {"alive": health["alive"], "state": health["state"],
                           "heartbeat_age_seconds": health["heartbeat_age_seconds"], "restarts": health["restarts"],
                           "last_exit": {"how": last["how"], "at": last["at"]} if last else None}}
        viewer = identify(request)
        if viewer is not None and viewer.role == "admin":
            store = request.app.state.stores.get()
            body["worker"] = health
            body["counts"] = {"items": store.count_items(), "flags": store.count_flags(),
                              "pending_submissions": store.count_pending_submissions()}
        return JSONResponse(body, status_code=200 if body["ok"] else 503)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        return RedirectResponse(f"/login?next={quote(exc.next_path, safe='/')}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) and not exc.detail.isascii() else ERRORS.get(
            exc.status_code, "Đã có lỗi xảy ra.")
        if is_api(request):
            return JSONResponse({"detail": message}, status_code=exc.status_code, headers=exc.headers)
        return render(request, "error.html", {"status": exc.status_code, "message": message},
                      status_code=exc.status_code)

    @app.exception_handler(OverflowError)
    async def out_of_range(request: Request, exc: OverflowError):
        """An id beyond what SQLite stores or a date beyond the calendar: the request is wrong, not the server."""
        message = "Giá trị gửi lên nằm ngoài khoảng cho phép."
        if is_api(request):
            return JSONResponse({"detail": message}, status_code=400)
        return render(request, "error.html", {"status": 400, "message": message}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        if is_api(request):
            fields = sorted({".".join(str(p) for p in e.get("loc", ())[1:]) for e in exc.errors()})
            return JSONResponse({"detail": "Dữ liệu gửi lên không hợp lệ.", "fields": fields}, status_code=422)
        return render(request, "error.html", {"status": 400, "message": ERRORS[422]}, status_code=400)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        if is_api(request):
            return JSONResponse({"detail": ERRORS[500]}, status_code=500)
        return HTMLResponse(f"<!doctype html><meta charset=utf-8><title>Lỗi</title><p>{ERRORS[500]}</p>",
                            status_code=500)

    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    return app


def route_table(app: FastAPI) -> list[tuple[str, frozenset[str], object]]:
    """(path, methods, route) of every route the app answers, flattened across included routers (newer FastAPI
    versions keep included routers as lazy branches of `app.routes`). A mount has no methods."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before lazy inclusion: app.routes is already flat
        return [(r.path, frozenset(getattr(r, "methods", None) or ()), r) for r in app.routes]
    return [(ctx.path, frozenset(getattr(ctx.original_route, "methods", None) or ()), ctx.original_route)
            for ctx in iter_route_contexts(app.routes)]
