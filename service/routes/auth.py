"""Logging in and out, and changing one's own password."""
from __future__ import annotations

import asyncio
import secrets
from datetime import datetime, timedelta, timezone

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from service.auth import (hash_password, new_secret, password_problem, token_hash, verify_no_user,
                          verify_password)
from service.store import iso
from service.routes.web import (LOGIN_COOKIE, SESSION_COOKIE, SESSION_HOURS, Viewer, access, get_store, identify,
                                render)

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str | None:
    """Only a path of this site (never `//host` or `http://…`), so the login page cannot send people elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def home_of(role: str) -> str:
    return "/submit" if role == "collaborator" else "/"


def client_address(request: Request) -> str:
    """The address a login comes from (the socket's peer: a proxy in front must pass the real one to uvicorn)."""
    return request.client.host if request.client else "-"


def _wait_words(seconds: float) -> str:
    seconds = max(1, round(seconds))
    if seconds < 60:
        return f"{seconds} giây"
    return f"khoảng {max(1, round(seconds / 60))} phút"


def _login_page(request: Request, error: str = "", status_code: int = 200, next_path: str = "", username: str = "",
                retry_after: float = 0):
    token = request.cookies.get(LOGIN_COOKIE) or new_secret()
    response = render(request, "login.html", {"error": error, "next": next_path, "login_csrf": token,
                                              "username": username}, status_code=status_code)
    if retry_after:
        response.headers["Retry-After"] = str(max(1, round(retry_after)))
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="lax", secure=request.url.scheme == "https",
                        max_age=3600, path="/login")
    return response


@router.get("/login")
def login_form(request: Request, next: str = ""):
    viewer = identify(request)
    if viewer is not None:
        return RedirectResponse(_safe_next(next) or home_of(viewer.role), status_code=303)
    return _login_page(request, next_path=_safe_next(next) or "")


@router.post("/login")
async def login(request: Request, username: str = Form("", max_length=100), password: str = Form("", max_length=200),
                csrf_token: str = Form(""), next: str = Form("")):
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not csrf_token or not expected or not secrets.compare_digest(csrf_token, expected):
        return _login_page(request, "Biểu mẫu đăng nhập đã hết hạn. Vui lòng nhập lại.", 403, _safe_next(next) or "")
    username = username.strip()
    throttle, address = request.app.state.login_throttle, client_address(request)

    def slowed(wait: float):
        return _login_page(request, f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {_wait_words(wait)}.", 429,
                           _safe_next(next) or "", username, retry_after=wait)

    # the throttle's rows are in the store (every web process shares them): read and written in a request thread,
    # never on the event loop
    if (wait := await run_in_threadpool(throttle.wait, address, username)) > 0:
        return slowed(wait)
    # logins wait their turn here, not in a request thread, so a crowd logging in never holds up other pages
    gate = request.app.state.verifying
    while not gate.acquire(blocking=False):
        await asyncio.sleep(0.01)
    try:
        # asked again once it is this login's turn: a burst of guesses sent at once is slowed like a sequence
        if (wait := await run_in_threadpool(throttle.wait, address, username)) > 0:
            return slowed(wait)
        user = await run_in_threadpool(_check_password, request, username, password)
        if user is None:
            await run_in_threadpool(throttle.failed, address, username)
    finally:
        gate.release()
    if user is None:
        return _login_page(request, "Tên đăng nhập hoặc mật khẩu không đúng.", 401, _safe_next(next) or "", username)
    await run_in_threadpool(throttle.succeeded, address, username)
    token = new_secret()
    expires = datetime.now(timezone.utc) + timedelta(hours=SESSION_HOURS)
    await run_in_threadpool(get_store(request).create_session, token_hash(token), user["id"], new_secret(),
                            iso(expires))
    response = RedirectResponse(_safe_next(next) or home_of(user["role"]), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=request.url.scheme == "https",
                        max_age=SESSION_HOURS * 3600, path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


def _check_password(request: Request, username: str, password: str) -> dict | None:
    """The active user with this name and password, or None (as slow for an unknown name as for a wrong password)."""
    user = get_store(request).user_login(username) if username else None
    ok = verify_password(user["password_hash"], password) if user else verify_no_user(password)
    return user if ok and user["active"] else None


@router.post("/logout")
def logout(request: Request, viewer: Viewer = Depends(access())):
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        get_store(request).delete_session(token_hash(cookie))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account")
def account(request: Request, viewer: Viewer = Depends(access())):
    return render(request, "account.html", {"error": "", "done": False}, viewer)


@router.post("/account")
def change_password(request: Request, viewer: Viewer = Depends(access()), current: str = Form("", max_length=200),
                    new: str = Form("", max_length=200), repeat: str = Form("", max_length=200)):
    if viewer.via != "session":
        raise HTTPException(403)
    store = get_store(request)
    user = store.user_by_id(viewer.id)
    error = ""
    if not verify_password(user["password_hash"], current):
        error = "Mật khẩu hiện tại không đúng."
    elif password_problem(new, viewer.username):
        error = password_problem(new, viewer.username)
    elif new != repeat:
        error = "Hai lần nhập mật khẩu mới không khớp."
    if error:
        return render(request, "account.html", {"error": error, "done": False}, viewer, status_code=400)
    store.set_password(viewer.id, hash_password(new))  # ends every session of the user, this one too
    response = render(request, "account.html", {"error": "", "done": True}, None)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
