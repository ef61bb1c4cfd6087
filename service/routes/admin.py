"""Admins: users (with passwords and API tokens shown once), org units, sources with their health, watch terms."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse

from service.auth import hash_password, new_api_token, new_password, token_hash
from service.routes.web import (LEVEL_NAMES, ROLES, Viewer, access, clean_text, get_store, render, scoped_units,
                                unit_tree)
from service.store import Store, iso
from service.timeutil import show

router = APIRouter(prefix="/admin", include_in_schema=False)
ADMIN = access("admin")
_any_admin = access("admin")


async def province_admin(viewer: Viewer = Depends(_any_admin)) -> Viewer:
    """An admin of the province (the root unit): the only one who changes what the whole province shares —
    sources, watch terms, the taxonomy, login throttles."""
    if not viewer.province:
        raise HTTPException(403, "Chỉ quản trị viên cấp tỉnh được thay đổi cấu hình chung của tỉnh.")
    return viewer


PROVINCE_ADMIN = province_admin
TOKEN_DAYS = (7, 30, 90, 180, 365)
_USERNAME = re.compile(r"^[A-Za-z0-9._-]{3,50}$")
_CODE = re.compile(r"^[a-z0-9-]{2,40}$")
_SOURCE = re.compile(r"^[a-z0-9._-]{2,60}$")


def _user_in_scope(store: Store, viewer: Viewer, user_id: int) -> dict:
    user = store.user_by_id(user_id)
    if user is None or not viewer.sees_unit(user["unit"]):
        raise HTTPException(404)
    return user


def _users_page(request: Request, viewer: Viewer, error: str = "", status_code: int = 200):
    store = get_store(request)
    return render(request, "admin_users.html", {"users": store.users_in(viewer.units), "error": error,
                                                "units": scoped_units(store, viewer), "roles": ROLES}, viewer,
                  status_code=status_code)


def _secret(request: Request, viewer: Viewer, title: str, what: str, secret: str, back: str):
    return render(request, "secret.html", {"title": title, "what": what, "secret": secret, "back": back}, viewer)


@router.get("")
def admin_home(viewer: Viewer = Depends(ADMIN)):
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/users")
def users(request: Request, viewer: Viewer = Depends(ADMIN)):
    return _users_page(request, viewer)


@router.post("/users")
def add_user(request: Request, viewer: Viewer = Depends(ADMIN), username: str = Form("", max_length=100),
             role: str = Form("", max_length=20), unit: str = Form("", max_length=100)):
    store = get_store(request)
    username = username.strip()
    if not _USERNAME.match(username):
        return _users_page(request, viewer, "Tên đăng nhập gồm 3–50 chữ cái không dấu, chữ số, dấu chấm, gạch.", 400)
    if role not in ROLES:
        return _users_page(request, viewer, "Vai trò không hợp lệ.", 400)
    if not viewer.sees_unit(unit):
        return _users_page(request, viewer, "Vui lòng chọn một đơn vị thuộc phạm vi quản lý của bạn.", 400)
    if store.user(username):
        return _users_page(request, viewer, f"Tên đăng nhập «{username}» đã có.", 400)
    password = new_password()
    store.add_user(username, hash_password(password), role, unit)
    return _secret(request, viewer, "Đã tạo tài khoản", f"Mật khẩu của {username}", password, "/admin/users")


@router.get("/users/{user_id}")
def user_page(request: Request, user_id: int, viewer: Viewer = Depends(ADMIN)):
    store = get_store(request)
    user = _user_in_scope(store, viewer, user_id)
    return render(request, "admin_user.html", {"user": user, "tokens": store.api_tokens(user_id), "roles": ROLES,
                                               "units": scoped_units(store, viewer), "error": "",
                                               "token_days": TOKEN_DAYS}, viewer)


@router.post("/users/{user_id}")
def update_user(request: Request, user_id: int, viewer: Viewer = Depends(ADMIN), role: str = Form("", max_length=20),
                unit: str = Form("", max_length=100), active: str = Form("")):
    store = get_store(request)
    _user_in_scope(store, viewer, user_id)
    if role not in ROLES or not viewer.sees_unit(unit):
        raise HTTPException(400, "Vai trò hoặc đơn vị không hợp lệ.")
    if user_id == viewer.id and (role != "admin" or not active or unit != viewer.unit):
        raise HTTPException(400, "Bạn không thể tự khóa, đổi vai trò hay đổi đơn vị của chính mình.")
    store.update_user(user_id, role, unit, bool(active))
    return RedirectResponse(f"/admin/users/{user_id}", status_code=303)


@router.post("/users/{user_id}/password")
def reset_password(request: Request, user_id: int, viewer: Viewer = Depends(ADMIN)):
    store = get_store(request)
    user = _user_in_scope(store, viewer, user_id)
    password = new_password()
    store.set_password(user_id, hash_password(password))
    return _secret(request, viewer, "Đã đặt lại mật khẩu", f"Mật khẩu mới của {user['username']}", password,
                   f"/admin/users/{user_id}")


@router.post("/users/{user_id}/tokens")
def create_token(request: Request, user_id: int, viewer: Viewer = Depends(ADMIN), name: str = Form("", max_length=200),
                 days: str = Form("90", max_length=10)):
    store = get_store(request)
    user = _user_in_scope(store, viewer, user_id)
    name = clean_text(name, 100) or "API"
    if not days.strip().isdigit() or not 1 <= int(days) <= 365:
        raise HTTPException(400, "Thời hạn của mã truy cập phải từ 1 đến 365 ngày.")
    expires = datetime.now(timezone.utc) + timedelta(days=int(days))
    token = new_api_token()
    store.add_api_token(user_id, name, token_hash(token), expires_at=iso(expires))
    return _secret(request, viewer, "Đã tạo mã truy cập API",
                   f"Mã truy cập «{name}» của {user['username']} (dùng được đến {show(iso(expires))})", token,
                   f"/admin/users/{user_id}")


@router.post("/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: int, viewer: Viewer = Depends(ADMIN)):
    store = get_store(request)
    token = store.api_token(token_id)
    if token is None:
        raise HTTPException(404)
    _user_in_scope(store, viewer, token["user_id"])
    store.revoke_api_token(token_id)
    return RedirectResponse(f"/admin/users/{token['user_id']}", status_code=303)


def _units_page(request: Request, viewer: Viewer, error: str = "", status_code: int = 200):
    store = get_store(request)
    tree = [u for u in unit_tree(store.org_units()) if u["code"] in viewer.units]
    return render(request, "admin_units.html", {"tree": tree, "error": error, "levels": LEVEL_NAMES}, viewer,
                  status_code=status_code)


@router.get("/units")
def units(request: Request, viewer: Viewer = Depends(ADMIN)):
    return _units_page(request, viewer)


@router.post("/units")
def add_unit(request: Request, viewer: Viewer = Depends(ADMIN), code: str = Form("", max_length=100),
             name: str = Form("", max_length=300), parent: str = Form("", max_length=100),
             level: str = Form("grassroots", max_length=20)):
    store = get_store(request)
    code, name = code.strip().lower(), clean_text(name, 200)
    if not _CODE.match(code):
        return _units_page(request, viewer, "Mã đơn vị gồm 2–40 chữ thường không dấu, chữ số hoặc gạch ngang.", 400)
    if not name or level not in LEVEL_NAMES or not viewer.sees_unit(parent):
        return _units_page(request, viewer, "Vui lòng nhập tên, chọn cấp và đơn vị cấp trên trong phạm vi của bạn.",
                           400)
    if store.org_unit_id(code) is not None:
        return _units_page(request, viewer, f"Mã đơn vị «{code}» đã có.", 400)
    store.add_org_unit(code, name, parent, level)
    return RedirectResponse("/admin/units", status_code=303)


@router.post("/units/{code}")
def rename_unit(request: Request, code: str, viewer: Viewer = Depends(ADMIN), name: str = Form("", max_length=300),
                level: str = Form("", max_length=20)):
    if not viewer.sees_unit(code):
        raise HTTPException(404)
    name = clean_text(name, 200)
    if not name or level not in LEVEL_NAMES:
        raise HTTPException(400, "Vui lòng nhập tên và chọn cấp đơn vị.")
    get_store(request).update_org_unit(code, name, level)
    return RedirectResponse("/admin/units", status_code=303)


HEALTH_STATES = {"failing": "Đang lỗi", "unusual_count": "Số tin khác thường", "last_failed": "Lần gần nhất lỗi",
                 "no_runs": "Chưa thu", "ok": "Bình thường"}


def health_in_words(row: dict) -> str:
    """The collectors' health verdict said in Vietnamese for the page (by its rule, not by its English words)."""
    v = row["verdict"]
    detail = f" Lỗi gần nhất (chi tiết kỹ thuật): {v.last_error}" if v.last_error else ""
    if v.kind == "failing" and v.failed_runs == 1:
        return f"Lần thu gần nhất bị lỗi.{detail}"
    if v.kind == "failing":
        return f"{v.failed_runs} lần thu gần nhất đều lỗi.{detail}"
    if v.kind == "unusual_count":
        return "Số tin của ngày gần nhất khác thường so với mọi ngày: kiểm tra xem trang nguồn có đổi cấu trúc không."
    if v.kind == "last_failed":
        return f"Lần thu gần nhất bị lỗi, các lần trước vẫn thành công.{detail}"
    if v.kind == "no_runs":
        return "Nguồn chưa được thu lần nào."
    return "Nguồn đang hoạt động bình thường."


def _sources_page(request: Request, viewer: Viewer, error: str = "", status_code: int = 200):
    from service.pipeline import source_health

    sources = [{**row, "health_vi": health_in_words(row), "state_vi": HEALTH_STATES.get(row["verdict"].kind, "")}
               for row in source_health(get_store(request))]
    return render(request, "admin_sources.html", {"sources": sources, "error": error}, viewer,
                  status_code=status_code)


@router.get("/sources")
def sources(request: Request, viewer: Viewer = Depends(PROVINCE_ADMIN)):
    return _sources_page(request, viewer)


@router.post("/sources")
def add_source(request: Request, viewer: Viewer = Depends(PROVINCE_ADMIN), name: str = Form("", max_length=100),
               url: str = Form("", max_length=2000), kind: str = Form("rss", max_length=10),
               title: str = Form("", max_length=300)):
    store = get_store(request)
    name, url = name.strip().lower(), url.strip()
    parsed = urlparse(url)
    if not _SOURCE.match(name):
        return _sources_page(request, viewer, "Tên nguồn gồm 2–60 chữ thường không dấu, chữ số, dấu chấm, gạch.", 400)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return _sources_page(request, viewer, "Địa chỉ nguồn phải bắt đầu bằng http:// hoặc https://.", 400)
    from service.pipeline import source_url_problem

    if source_url_problem(url, request.app.state.settings.fetch):
        return _sources_page(request, viewer, "Địa chỉ nguồn trỏ vào mạng nội bộ (máy chủ này, mạng riêng hoặc địa "
                                              "chỉ dành riêng); Pulse chỉ thu tin từ địa chỉ công khai.", 400)
    if kind not in ("rss", "page"):
        return _sources_page(request, viewer, "Loại nguồn không hợp lệ.", 400)
    if store.source(name):
        return _sources_page(request, viewer, f"Nguồn «{name}» đã có.", 400)
    store.upsert_source(name, kind, url, title=clean_text(title, 200))
    return RedirectResponse("/admin/sources", status_code=303)


@router.post("/sources/{name}/enabled")
def set_source_enabled(request: Request, name: str, viewer: Viewer = Depends(PROVINCE_ADMIN), enabled: str = Form("")):
    if not get_store(request).set_source_enabled(name, enabled == "1"):
        raise HTTPException(404)
    return RedirectResponse("/admin/sources", status_code=303)


def _terms_page(request: Request, viewer: Viewer, error: str = "", status_code: int = 200):
    from service.timeutil import today_local
    from service.watch import term_hits

    store = get_store(request)
    today = today_local()
    terms = store.watch_terms()
    for t in terms:   # each term's hits of the last 30 days, relevant or not
        hits = term_hits(store, t, today - timedelta(days=TERM_HIT_DAYS), today, limit=2000)
        t.update(hits=len(hits), relevant=sum(h.relevant for h in hits))
    return render(request, "admin_terms.html", {"terms": terms, "error": error}, viewer, status_code=status_code)


@router.get("/terms")
def terms(request: Request, viewer: Viewer = Depends(PROVINCE_ADMIN)):
    return _terms_page(request, viewer)


@router.post("/terms")
def add_term(request: Request, viewer: Viewer = Depends(PROVINCE_ADMIN), term: str = Form("", max_length=300)):
    term = clean_text(term, 100)
    if len(term) < 2:
        return _terms_page(request, viewer, "Từ khóa cần ít nhất 2 ký tự.", 400)
    if not get_store(request).add_watch_term(term, created_by=viewer.username):
        return _terms_page(request, viewer, f"Từ khóa «{term}» đã có.", 400)
    return RedirectResponse("/admin/terms", status_code=303)


@router.post("/terms/{term_id}/delete")
def delete_term(request: Request, term_id: int, viewer: Viewer = Depends(PROVINCE_ADMIN)):
    get_store(request).remove_watch_term(term_id)
    return RedirectResponse("/admin/terms", status_code=303)


TERM_HIT_DAYS = 30   # a term's page lists its hits of the last this many days


@router.get("/terms/{term_id}")
def term_page(request: Request, term_id: int, viewer: Viewer = Depends(PROVINCE_ADMIN), saved: int = 0):
    """One watch term: its excluded contexts and its hits of the last days (relevant or not), newest first."""
    from service.timeutil import today_local
    from service.watch import term_hits

    store = get_store(request)
    term = store.watch_term(term_id)
    if term is None:
        raise HTTPException(404)
    today = today_local()
    hits = list(reversed(term_hits(store, term, today - timedelta(days=TERM_HIT_DAYS), today, limit=2000)))
    items = {r["id"]: r for r in store.items_by_ids([h.item_id for h in hits[:200]])}
    rows = [{"hit": h, "item": items.get(h.item_id)} for h in hits[:200]]
    return render(request, "admin_term.html", {
        "term": term, "rows": rows, "total": len(hits), "relevant": sum(h.relevant for h in hits),
        "days": TERM_HIT_DAYS, "saved": bool(saved)}, viewer)


@router.post("/terms/{term_id}/excluded")
def set_term_excluded(request: Request, term_id: int, viewer: Viewer = Depends(PROVINCE_ADMIN),
                      contexts: str = Form("", max_length=2000)):
    from service.watch import parse_contexts

    cleaned = ", ".join(clean_text(c, 100) for c in parse_contexts(contexts))
    if not get_store(request).set_watch_term_excluded(term_id, cleaned):
        raise HTTPException(404)
    return RedirectResponse(f"/admin/terms/{term_id}?saved=1", status_code=303)


# --- login throttles ---------------------------------------------------------------------------------------------------
@router.get("/throttles")
def throttles(request: Request, cleared: int = -1, viewer: Viewer = Depends(PROVINCE_ADMIN)):
    """Addresses and accounts whose logins are being slowed down after failed passwords."""
    return render(request, "admin_throttles.html", {"entries": request.app.state.login_throttle.entries(),
                                                    "cleared": cleared}, viewer)


@router.post("/throttles/clear")
def clear_throttles(request: Request, viewer: Viewer = Depends(PROVINCE_ADMIN), address: str = Form("", max_length=100),
                    username: str = Form("", max_length=100)):
    """Let an address (and/or an account) try again at once; with neither given, every throttle is cleared."""
    gone = request.app.state.login_throttle.clear(address.strip() or None, username.strip() or None)
    return RedirectResponse(f"/admin/throttles?cleared={gone}", status_code=303)


# --- jobs ---------------------------------------------------------------------------------------------------------
JOB_KINDS_VI = {"collect": "Thu thập nguồn tin", "process": "Phân tích tin mới", "detect": "Phát hiện xu hướng",
                "brief": "Bản tin, báo cáo", "briefing": "Bản tin hằng ngày (07:00)", "train": "Huấn luyện mô hình",
                "backup": "Sao lưu", "promote": "Đưa mô hình vào sử dụng", "rollback": "Quay lại mô hình trước",
                "cycle": "Chu kỳ thu thập", "intake": "Phân tích tin cộng tác viên",
                "label_pool": "Chấm điểm tin cần gán nhãn", "compare": "So sánh mô hình",
                "alerts": "Thông báo và thư cảnh báo", "mail": "Gửi thư thông báo",
                "search_backfill": "Lập chỉ mục tìm kiếm cho tin cũ", "annotate": "Phân tích tin (chia việc)"}
JOB_STATUSES_VI = {"queued": "Đang chờ", "running": "Đang chạy", "done": "Xong", "failed": "Lỗi",
                   "cancelled": "Đã hủy"}

JOB_COUNTS_VI = {"sources": "nguồn", "found": "tìm thấy", "new": "tin mới", "failed": "nguồn lỗi",
                 "not_modified": "không đổi", "annotated": "tin đã phân tích", "days": "ngày", "flags": "cảnh báo",
                 "made": "bản tin", "files": "tệp", "items": "tin", "bytes": "byte", "seconds": "giây",
                 "version": "phiên bản", "days_detected": "ngày đã phát hiện", "submissions": "tin cộng tác viên",
                 "left": "tin còn chờ", "previous": "thay phiên bản", "reannotated": "tin gán nhãn lại",
                 "facts_updated": "tin cập nhật", "indexed": "tin đã lập chỉ mục", "sent": "thư đã gửi",
                 "new_flag": "thông báo cảnh báo mới", "escalation": "thông báo báo cáo lên",
                 "report_review": "thông báo báo cáo chờ xem xét", "briefing": "thông báo bản tin",
                 "report_due": "thông báo báo cáo đến hạn", "watch_search": "thông báo tìm kiếm theo dõi"}
# a count whose name means something else in one kind of job (a mail job's «failed» are e-mails, not sources)
JOB_COUNTS_KIND_VI = {("alerts", "failed"): "thư gửi lỗi", ("mail", "failed"): "thư gửi lỗi"}


def _count_vi(value) -> str:
    from service.vnformat import number

    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, (int, float)):
        return number(value, 0 if isinstance(value, int) else 2)
    return str(value)


def _job_view(job: dict) -> dict:
    """A job's row said for the page: Vietnamese names, duration, share done (0–1 or None)."""
    from service.jobs import duration_seconds

    done, total = job["progress_done"], job["progress_total"]
    share = min(1.0, done / total) if done is not None and total else None
    seconds = duration_seconds(job)
    source = job["params"].get("source") or job["params"].get("first") or job["params"].get("task") or ""
    return {**job, "kind_vi": JOB_KINDS_VI.get(job["kind"], job["kind"]),
            "status_vi": JOB_STATUSES_VI.get(job["status"], job["status"]), "share": share, "subject": source,
            "seconds": seconds,
            "counts_vi": [(JOB_COUNTS_KIND_VI.get((job["kind"], k)) or JOB_COUNTS_VI.get(k, k), _count_vi(v))
                          for k, v in job["counts"].items()]}


@router.get("/jobs")
def jobs_page(request: Request, status: str = "", viewer: Viewer = Depends(ADMIN)):
    """Every job (collection per source, processing, detection, briefings, training, backups): those running with a
    progress bar, then the history. A unit's admin sees the jobs asked for by their unit and the units below it."""
    store = get_store(request)
    units = None if viewer.province else list(viewer.units)
    status = status if status in JOB_STATUSES_VI else ""
    rows = [_job_view(j) for j in store.jobs(status=status or None, limit=200, org_units=units)]
    running = [j for j in rows if j["status"] == "running"]
    return render(request, "admin_jobs.html", {"running": running, "jobs": rows, "status": status,
                                               "statuses": JOB_STATUSES_VI}, viewer)
