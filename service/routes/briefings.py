"""Leaders' and staff's reading: the daily briefing archive (web page, print, DOCX) and the units' period reports."""
from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date, timedelta

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from service import briefing
from service.routes.web import DECIDERS, REVIEWERS, Viewer, access, get_store, parse_day, render, scoped_units
from service.timeutil import today_local

router = APIRouter(include_in_schema=False)
SCOPED_BRIEFINGS_KEPT = 64     # units' copies of stored briefings kept in memory
_CACHE_LOCK = threading.Lock()
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _day(value: str) -> date:
    return parse_day(value)


@router.get("/briefings")
def briefings_page(request: Request, viewer: Viewer = Depends(access(*REVIEWERS))):
    store = get_store(request)
    yesterday = today_local() - timedelta(days=1)
    from service.unitreports import reminders

    due = reminders(store, viewer.unit, request.app.state.settings, today_local()) if viewer.unit else []
    return render(request, "briefings.html", {"days": store.briefing_days(), "yesterday": yesterday.isoformat(),
                                              "units": scoped_units(store, viewer), "reminders": due}, viewer)


def _briefing_for(request: Request, viewer: Viewer, wanted: date, stored: dict | None) -> tuple[dict, str | None]:
    """(data, html or None) of a day's briefing as the viewer may read it: the stored province briefing for the
    province; for a reader of one unit, a copy made from the press and the viewer's units (kept per stored version)."""
    if viewer.province and stored:
        return stored["data"], stored["html"]
    store = get_store(request)
    if not stored:
        return briefing.daily(store, wanted, request.app.state.settings, scope=viewer.scope), None
    # a unit's copy of a stored briefing is made once per version of it (the province's copy is a snapshot too)
    key = (wanted.isoformat(), stored["created_at"], viewer.scope)
    with _CACHE_LOCK:
        cache = getattr(request.app.state, "scoped_briefings", None)
        if cache is None:
            cache = request.app.state.scoped_briefings = OrderedDict()
        made = cache.get(key)
    if made is None:
        data = briefing.daily(store, wanted, request.app.state.settings, scope=viewer.scope)
        made = (data, briefing.to_html(data, standalone=False))
        with _CACHE_LOCK:
            cache[key] = made
            while len(cache) > SCOPED_BRIEFINGS_KEPT:
                cache.popitem(last=False)
    return made


@router.get("/briefings/{day}")
def briefing_page(request: Request, day: str, viewer: Viewer = Depends(access(*REVIEWERS))):
    store = get_store(request)
    wanted = _day(day)
    stored = store.briefing(wanted.isoformat())
    html = None
    if stored:
        data, html = _briefing_for(request, viewer, wanted, stored)
        html = html or briefing.to_html(data, standalone=False)
    return render(request, "briefing.html", {
        "day": wanted, "day_vn": wanted.strftime("%d/%m/%Y"), "stored": stored,
        "html": Markup(html) if html else None,   # drawn by our own template, autoescaped there
        "can_make": viewer.role in DECIDERS}, viewer)


@router.get("/briefings/{day}/docx")
def briefing_docx(request: Request, day: str, viewer: Viewer = Depends(access(*REVIEWERS))):
    store = get_store(request)
    wanted = _day(day)
    stored = store.briefing(wanted.isoformat())
    data, _ = _briefing_for(request, viewer, wanted, stored)
    return Response(briefing.to_docx(data), media_type=DOCX, headers={
        "Content-Disposition": f'attachment; filename="bao-cao-nhanh-{wanted.isoformat()}.docx"'})


@router.post("/briefings/{day}/make")
def briefing_make(request: Request, day: str, viewer: Viewer = Depends(access(*DECIDERS))):
    """Make (or make again, replacing) a day's briefing now."""
    store = get_store(request)
    wanted = _day(day)
    if wanted > today_local():
        raise HTTPException(400, "Không thể lập báo cáo cho một ngày chưa đến.")
    with request.app.state.write_lock:
        briefing.make(store, wanted, request.app.state.settings)
    return RedirectResponse(f"/briefings/{wanted.isoformat()}", status_code=303)


def _report(request: Request, viewer: Viewer, code: str, period: str, ref: str) -> dict:
    store = get_store(request)
    if not viewer.sees_unit(code):
        raise HTTPException(404)
    if period not in ("month", "year"):
        raise HTTPException(400, "Kỳ báo cáo phải là tháng hoặc năm.")
    when = _day(ref) if ref else today_local()
    return briefing.period_report(store, code, period, when, request.app.state.settings)


@router.get("/reports")
def report_form(request: Request, code: str = "", period: str = "month", ref: str = "",
                viewer: Viewer = Depends(access(*REVIEWERS))):
    """The archive page's report form lands here and is sent on to the unit's report."""
    target = code or (viewer.unit or "")
    if not target:
        raise HTTPException(400, "Hãy chọn đơn vị.")
    return RedirectResponse(f"/reports/{target}?period={period}&ref={ref}", status_code=303)


@router.get("/reports/{code}")
def report_page(request: Request, code: str, period: str = "month", ref: str = "",
                viewer: Viewer = Depends(access(*REVIEWERS))):
    data = _report(request, viewer, code, period, ref)
    return render(request, "report.html", {"data": data, "html": Markup(briefing.to_html(data, standalone=False)),
                                           "period": period, "ref": ref}, viewer)


@router.get("/reports/{code}/docx")
def report_docx(request: Request, code: str, period: str = "month", ref: str = "",
                viewer: Viewer = Depends(access(*REVIEWERS))):
    data = _report(request, viewer, code, period, ref)
    name = f"bao-cao-{'thang' if period == 'month' else 'nam'}-{code}-{data['first'][:7]}.docx"
    return Response(briefing.to_docx(data), media_type=DOCX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/briefings")
def briefing_make_form(request: Request, day: str = Form(...), viewer: Viewer = Depends(access(*DECIDERS))):
    """The archive page's form: make the briefing of a chosen day."""
    return briefing_make(request, day, viewer)
