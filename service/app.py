"""The web application: FastAPI + Jinja2, server-rendered pages in Vietnamese."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from service.config import Settings
from service.store import Store
from service.timeutil import show
from service.trends import topic_names

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["localtime"] = show

KIND_NAMES = {
    "burst": "Tăng đột biến",
    "new_stream": "Luồng mới",
    "negativity": "Chuyển biến tiêu cực",
    "spread": "Lan rộng nhiều đơn vị",
    "watch_term": "Từ khóa theo dõi",
}
templates.env.globals["kind_names"] = KIND_NAMES


def create_app(settings: Settings) -> FastAPI:
    """Build the app over one store; the store is opened once and shared by the requests."""
    app = FastAPI(title="Pulse", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.store = Store(settings.db_path)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request):
        store: Store = request.app.state.store
        flags = store.flags(status="open")
        names = topic_names()
        for flag in flags:
            flag["items"] = store.items_by_ids(flag["item_ids"][:20])
            flag["topic_name"] = names.get(flag["topic"], flag["topic"] or "")
        return templates.TemplateResponse(request, "index.html", {"flags": flags, "settings": settings})

    @app.get("/healthz")
    def healthz(request: Request):
        store: Store = request.app.state.store
        return JSONResponse({"ok": True, "items": store.count_items(), "flags": store.count_flags()})

    return app
