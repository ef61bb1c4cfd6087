"""The bell (issue 16.3): each user's notifications, marking them read, choosing what to be told and by e-mail;
saved searches made watch queries; the admin's view of e-mails that wait or failed."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse

from service.alerts import KINDS, READERS
from service.routes.web import REVIEWERS, Viewer, access, clean_text, get_store, render
from service.store import iso

router = APIRouter(include_in_schema=False)
PAGE = 30
EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


def _prefs(request: Request, viewer: Viewer) -> dict:
    settings = request.app.state.settings
    prefs = get_store(request).alert_prefs(viewer.id)
    return prefs or {"email": "", "kinds": list(KINDS), "min_severity": settings.alerts.min_severity, "by_email": 1}


def _page(request: Request, viewer: Viewer, page: int = 1, saved: int = 0, error: str = "", status_code: int = 200):
    store = get_store(request)
    total = store.count_notifications(viewer.id)
    settings = request.app.state.settings
    return render(request, "alerts.html", {
        "notes": store.notifications(viewer.id, PAGE, (page - 1) * PAGE), "total": total, "page": page,
        "more": total > page * PAGE, "prefs": _prefs(request, viewer), "kinds": KINDS,
        "reader": viewer.role in READERS, "smtp": bool(settings.smtp.host), "saved": saved, "error": error,
        "searches": store.saved_searches(viewer.id) if viewer.role in REVIEWERS else []}, viewer,
        status_code=status_code)


@router.get("/alerts")
def alerts_page(request: Request, page: int = Query(1, ge=1, le=10_000), saved: int = 0,
                viewer: Viewer = Depends(access())):
    return _page(request, viewer, page, saved)


@router.get("/alerts/unread.json")
def unread(request: Request, viewer: Viewer = Depends(access())):
    """The bell's count, for the page script that refreshes it."""
    return JSONResponse({"unread": get_store(request).count_unread(viewer.id)})


@router.post("/alerts/{notification_id}/read")
def read_one(request: Request, notification_id: int, viewer: Viewer = Depends(access())):
    store = get_store(request)
    note = store.notification(viewer.id, notification_id)
    if note is None:
        raise HTTPException(404)
    store.mark_read(viewer.id, notification_id)
    link = note["link"] or ""
    return RedirectResponse(link if link.startswith("/") and not link.startswith("//") else "/alerts",
                            status_code=303)


@router.post("/alerts/read")
def read_all(request: Request, viewer: Viewer = Depends(access())):
    get_store(request).mark_read(viewer.id)
    return RedirectResponse("/alerts", status_code=303)


@router.post("/alerts/settings")
async def save_settings(request: Request, viewer: Viewer = Depends(access())):
    form = await request.form()
    kinds = [k for k in form.getlist("kinds") if k in KINDS]
    email = clean_text(str(form.get("email") or ""), 200)
    if email and not EMAIL.match(email):
        return _page(request, viewer, error="Địa chỉ thư điện tử không hợp lệ.", status_code=400)
    try:
        severity = float(str(form.get("min_severity") or "0").replace(",", "."))
    except ValueError:
        severity = -1
    if not 0 <= severity <= 100:
        return _page(request, viewer, error="Ngưỡng mức độ phải là một số từ 0 đến 100.", status_code=400)
    get_store(request).set_alert_prefs(viewer.id, email, kinds, severity, form.get("by_email") == "1")
    return RedirectResponse("/alerts?saved=1", status_code=303)


@router.post("/items/saved/{search_id}/watch")
def watch_search(request: Request, search_id: int, viewer: Viewer = Depends(access(*REVIEWERS)),
                 watch: str = Form("1", max_length=2), threshold: int = Form(1, ge=1, le=100_000)):
    """Make one of the user's saved searches a watch query (alert when `threshold` new items match), or stop it."""
    if not get_store(request).set_search_watch(viewer.id, search_id, watch == "1", threshold):
        raise HTTPException(404)
    return RedirectResponse("/alerts#theo-doi", status_code=303)


@router.get("/admin/alerts")
def admin_alerts(request: Request, viewer: Viewer = Depends(access("admin"))):
    """E-mails waiting or failed, with their last error (the whole province's: the province's admins only)."""
    if not viewer.province:
        raise HTTPException(403)
    store = get_store(request)
    settings = request.app.state.settings
    return render(request, "admin_alerts.html", {"rows": store.outbox(), "counts": store.outbox_counts(),
                                                 "smtp": settings.smtp, "kinds": KINDS}, viewer)


@router.post("/admin/alerts/retry")
def admin_retry(request: Request, viewer: Viewer = Depends(access("admin"))):
    if not viewer.province:
        raise HTTPException(403)
    get_store(request).retry_outbox(iso(datetime.now(timezone.utc)))
    return RedirectResponse("/admin/alerts", status_code=303)
