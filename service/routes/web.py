"""What every page and API route shares: the store of the request's thread, who is asking (session cookie or API
token), the role and unit-scope checks, CSRF, templates and plain Vietnamese errors."""
from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable

from fastapi import HTTPException, Request
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from nlp.normalize import clean_text  # noqa: F401  (the routes import it from here)
from service.auth import token_hash
from service.scope import Scope
from service.store import Store, utcnow
from service.timeutil import show
from service.trends import KIND_NAMES

HERE = Path(__file__).resolve().parent.parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["localtime"] = show


def http_url(url: str | None) -> str:
    """A link taken from the outside world, only when it is http(s): never `javascript:` or `data:` from a feed."""
    url = (url or "").strip()
    return url if url.lower().startswith(("http://", "https://")) else "#"


templates.env.filters["http_url"] = http_url


def _vn_number(value, decimals: int = 0) -> str:
    from service.vnformat import number

    try:
        return number(float(value or 0), decimals)
    except (TypeError, ValueError):
        return str(value)


def _vn_day(value: str | None) -> str:
    """2026-11-27 → 27/11/2026."""
    value = value or ""
    return f"{value[8:10]}/{value[5:7]}/{value[:4]}" if len(value) >= 10 else value


templates.env.filters["vn_number"] = _vn_number
templates.env.filters["vn_day"] = _vn_day

SESSION_COOKIE = "pulse_session"
LOGIN_COOKIE = "pulse_login"          # double-submit CSRF token of the login form (there is no session yet)
SESSION_HOURS = 12                    # a session ends this long after login, whatever happens
SESSION_IDLE_MINUTES = 120            # and sooner when unused this long

ROLES = ("admin", "staff", "analyst", "collaborator")
ROLE_NAMES = {"admin": "Quản trị", "staff": "Cán bộ Ban", "analyst": "Phân tích viên", "collaborator": "Cộng tác viên"}
REVIEWERS = ("admin", "staff", "analyst")        # may read flags and items
DECIDERS = ("admin", "staff")                    # may decide on flags
SUBMITTERS = ("admin", "staff", "collaborator")  # may send observations

STATUS_NAMES = {"open": "Đang mở", "confirmed": "Đã xác nhận", "dismissed": "Đã bác bỏ", "escalated": "Đã báo cáo lên"}
SENTIMENT_NAMES = {"negative": "Tiêu cực", "neutral": "Trung lập", "positive": "Tích cực"}
CHANNELS = {
    "truc-tiep": "Trực tiếp",
    "hoi-nghi": "Hội nghị / đối thoại",
    "mang-xa-hoi": "Mạng xã hội",
    "bao-chi": "Báo chí",
    "khac": "Khác",
}
LEVEL_NAMES = {"province": "Tỉnh", "district": "Huyện / thành phố", "sector": "Ngành", "grassroots": "Cơ sở"}
templates.env.globals.update(kind_names=KIND_NAMES, status_names=STATUS_NAMES, sentiment_names=SENTIMENT_NAMES,
                             channels=CHANNELS, role_names=ROLE_NAMES, level_names=LEVEL_NAMES)

ERRORS = {
    400: "Yêu cầu không hợp lệ.",
    401: "Bạn cần đăng nhập.",
    403: "Bạn không có quyền thực hiện việc này.",
    404: "Không tìm thấy nội dung bạn cần.",
    405: "Thao tác này không được hỗ trợ.",
    413: "Nội dung gửi lên quá lớn.",
    422: "Dữ liệu gửi lên không hợp lệ.",
    429: "Bạn thao tác quá nhanh, vui lòng thử lại sau ít phút.",
    500: "Hệ thống gặp sự cố, vui lòng thử lại sau.",
}


class StorePool:
    """One store (one SQLite connection) per thread: a connection is never shared by two requests at once."""

    def __init__(self, path: str | Path):
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[Store] = []

    def get(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            store = Store(self.path)
            self._local.store = store
            with self._lock:
                self._all.append(store)
        return store

    def close(self) -> None:
        with self._lock:
            for store in self._all:
                try:
                    store.close()
                except Exception:
                    pass
            self._all.clear()


def get_store(request: Request) -> Store:
    return request.app.state.stores.get()


@dataclass
class Viewer:
    """Who is asking, with the units they may see (their unit and every unit below it)."""

    id: int
    username: str
    role: str
    unit: str | None
    units: list[str] = field(default_factory=list)
    csrf: str = ""
    via: str = "session"   # or "token"
    province: bool = False   # the viewer's unit is the root of the tree: they see and manage the whole province

    def sees_unit(self, code: str | None) -> bool:
        return code in self.units

    @property
    def scope(self) -> Scope:
        return Scope(frozenset(self.units), self.province)

    def sees_item(self, item: dict) -> bool:
        """Public items (no unit: the press, the web) are seen by every reviewer; observations only in scope."""
        return self.scope.sees_item(item)

    def sees_flag(self, flag: dict) -> bool:
        return self.scope.sees_flag(flag)


class LoginRequired(Exception):
    """Raised for an HTML page asked without a session: answered by a redirect to the login page."""

    def __init__(self, next_path: str):
        self.next_path = next_path


def _expired(user: dict) -> bool:
    now = datetime.now(timezone.utc)
    if datetime.fromisoformat(user["expires_at"]) <= now:
        return True
    return datetime.fromisoformat(user["last_seen"]) + timedelta(minutes=SESSION_IDLE_MINUTES) <= now


def identify(request: Request) -> Viewer | None:
    """The viewer behind the request's API token (Authorization: Bearer, on /api/* only) or session cookie, or None."""
    store = get_store(request)
    header = request.headers.get("authorization", "")
    # an API token opens the JSON API only: on a page or an HTML form it is ignored (the session cookie decides)
    if header.lower().startswith("bearer ") and is_api(request):
        row = store.api_token_user(token_hash(header[7:].strip()))
        via = "token"
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            return None
        digest = token_hash(cookie)
        row = store.session_user(digest)
        if row is None:
            return None
        if _expired(row):
            store.delete_session(digest)
            return None
        now = utcnow()
        if row["last_seen"][:16] != now[:16]:  # at most one write a minute per session
            store.touch_session(digest, now)
        via = "session"
    if row is None:
        return None
    units = store.unit_subtree(row["unit"]) if row["unit"] else []
    unit = store.org_unit(row["unit"]) if row["unit"] else None
    return Viewer(id=row["id"], username=row["username"], role=row["role"], unit=row["unit"], units=units,
                  csrf=row.get("csrf") or "", via=via, province=bool(unit and unit["parent_id"] is None))


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"


def access(*roles: str):
    """A dependency: the viewer, who must be logged in with one of `roles` (all roles when none given); a form or
    JSON call that changes something through a session must carry the session's CSRF token."""
    allowed = roles or ROLES

    async def check(request: Request) -> Viewer:
        viewer = await run_in_threadpool(identify, request)  # the store is used from pool threads only
        if viewer is None:
            if is_api(request):
                raise HTTPException(401, "Cần mã truy cập (Authorization: Bearer …) hoặc đăng nhập.")
            raise LoginRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        if viewer.role not in allowed:
            raise HTTPException(403)
        if request.method not in ("GET", "HEAD", "OPTIONS") and viewer.via == "session":
            await check_csrf(request, viewer.csrf)
        return viewer

    return check


async def check_csrf(request: Request, expected: str) -> None:
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
    if not sent or not expected or not secrets.compare_digest(sent, expected):
        raise HTTPException(403, "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ. Vui lòng tải lại trang và thử lại.")


def render(request: Request, name: str, context: dict[str, Any], viewer: Viewer | None = None,
           status_code: int = 200):
    settings = request.app.state.settings
    ctx = {"settings": settings, "viewer": viewer, "csrf": viewer.csrf if viewer else "",
           "unit_name": lambda code: _unit_names(request).get(code, code),
           "unread_alerts": get_store(request).count_unread(viewer.id) if viewer else 0,   # the bell (issue 16.3)
           **context}
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


def _unit_names(request: Request) -> dict[str, str]:
    """Code → name of every org unit, read once per request (templates show names, not codes)."""
    names = getattr(request.state, "unit_names", None)
    if names is None:
        names = {u["code"]: u["name"] for u in get_store(request).org_units()}
        request.state.unit_names = names
    return names


def scoped_units(store: Store, viewer: Viewer) -> list[dict]:
    """The org units the viewer may see, in tree order (for select boxes)."""
    return [u for u in unit_tree(store.org_units()) if u["code"] in viewer.units]


def unit_tree(units: Iterable[dict]) -> list[dict]:
    """Units in depth-first order with a `depth`, so a list reads as the tree."""
    units = list(units)
    children: dict[Any, list[dict]] = {}
    for u in units:
        children.setdefault(u["parent_id"], []).append(u)
    out: list[dict] = []

    def walk(parent, depth):
        for u in children.get(parent, []):
            out.append({**u, "depth": depth})
            walk(u["id"], depth + 1)

    walk(None, 0)
    return out


FIRST_DAY, LAST_DAY = date(1990, 1, 1), date(2100, 12, 31)   # days a page or the API accepts
MAX_ID = 2 ** 63 - 1                                            # the largest id SQLite stores


def parse_day(value: str, what: str = "Ngày") -> date:
    """A day given in a URL or form (YYYY-MM-DD) within the years Pulse deals with, or a plain 400."""
    try:
        day = date.fromisoformat((value or "").strip())
    except ValueError:
        raise HTTPException(400, f"{what} không hợp lệ (dạng YYYY-MM-DD).") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise HTTPException(400, f"{what} phải trong khoảng {FIRST_DAY:%d/%m/%Y} đến {LAST_DAY:%d/%m/%Y}.")
    return day


def topic_names() -> dict[str, str]:
    """Topic code → Vietnamese name from the board's taxonomy, read again after an analyst edits it."""
    from service.datadir import topic_names as current

    return current()
