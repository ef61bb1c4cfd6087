"""The units' monthly and annual reports in the browser: draft → edit → send to the parent unit → received.

A unit's staff see and edit their unit's drafts; the unit above sees only what was sent to it (never a draft),
which units are late, and marks each report received. Other units see nothing of it (404).
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from service import briefing, unitreports
from service.routes.web import DECIDERS, REVIEWERS, Viewer, access, get_store, parse_day, render
from service.timeutil import today_local

router = APIRouter(include_in_schema=False)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _parent_code(store, code: str) -> str | None:
    units = store.org_units()
    me = next((u for u in units if u["code"] == code), None)
    parent = next((u for u in units if me and u["id"] == me["parent_id"]), None)
    return parent["code"] if parent else None


def _readable(request: Request, viewer: Viewer, report_id: int) -> tuple[dict, str]:
    """The report and how the viewer stands to it: «own» (their unit's: drafts too) or «parent» (a unit above:
    sent revisions only). Anything else, a draft of another unit included, is 404."""
    store = get_store(request)
    report = store.unit_report(report_id)
    if report is None or not viewer.sees_unit(report["org_unit"]):
        raise HTTPException(404)
    if report["org_unit"] == viewer.unit:
        return report, "own"
    if report["status"] == "draft":
        raise HTTPException(404)
    return report, "parent"


def _own_draftable(viewer: Viewer, code: str) -> None:
    """Only the unit's own staff draft, edit and send its report."""
    if not code or code != viewer.unit:
        raise HTTPException(404)


@router.get("/unit-reports")
def overview(request: Request, period: str = "month", ref: str = "",
             viewer: Viewer = Depends(access(*REVIEWERS))):
    """The viewer's unit's reports and reminders; the units below it with this period's report: sent, received,
    late."""
    store = get_store(request)
    settings = request.app.state.settings
    today = today_local()
    if period not in ("month", "year"):
        raise HTTPException(400, "Kỳ báo cáo phải là tháng hoặc năm.")
    if ref:
        first = unitreports.period_first(period, parse_day(ref))
    else:
        current = dict(unitreports.current_periods(today, settings))
        first = current.get(period) or unitreports.period_first(period, today)
    unit = store.org_unit(viewer.unit) if viewer.unit else None
    children = unitreports.children_status(store, viewer.unit, period, first, settings, today) if unit else []
    return render(request, "unit_reports.html", {
        "unit": unit, "period": period, "first": first.isoformat(),
        "label": unitreports.period_label(period, first), "period_names": unitreports.PERIOD_NAMES,
        "due_vn": unitreports.due_date(period, first, settings).strftime("%d/%m/%Y"),
        "children": children, "late": [c for c in children if c["late"]],
        "reminders": unitreports.reminders(store, viewer.unit, settings, today) if unit else [],
        "mine": store.unit_reports_of([viewer.unit]) if unit else [], "status_names": unitreports.STATUS_NAMES,
        "can_write": viewer.role in DECIDERS}, viewer)


@router.post("/unit-reports")
def start_draft(request: Request, code: str = Form(...), period: str = Form("month"), ref: str = Form(""),
                viewer: Viewer = Depends(access(*DECIDERS))):
    """Open the unit's draft of a period (made now from the unit's data when there is none)."""
    _own_draftable(viewer, code)
    if period not in ("month", "year"):
        raise HTTPException(400, "Kỳ báo cáo phải là tháng hoặc năm.")
    today = today_local()
    first = unitreports.period_first(period, parse_day(ref) if ref else today)
    if first > today:
        raise HTTPException(400, "Không thể lập báo cáo cho một kỳ chưa bắt đầu.")
    store = get_store(request)
    report_id = unitreports.open_draft(store, code, period, first, request.app.state.settings, viewer.username,
                                       today)
    return RedirectResponse(f"/unit-reports/{report_id}", status_code=303)


@router.get("/unit-reports/{report_id}")
def report_page(request: Request, report_id: int, viewer: Viewer = Depends(access(*REVIEWERS))):
    report, stance = _readable(request, viewer, report_id)
    store = get_store(request)
    revisions = store.unit_report_revisions(report["org_unit"], report["period"], report["first_day"])
    if stance == "parent":
        revisions = [r for r in revisions if r["status"] != "draft"]
    data = unitreports.document(report)
    latest = revisions[0]["id"] == report["id"]
    return render(request, "unit_report.html", {
        "report": report, "data": data, "stance": stance, "latest": latest, "revisions": revisions,
        "html": Markup(briefing.to_html(data, standalone=False)),   # drawn by our own template, autoescaped there
        "parts": unitreports.NARRATIVE_PARTS, "status_names": unitreports.STATUS_NAMES,
        "period_names": unitreports.PERIOD_NAMES,
        "can_edit": stance == "own" and viewer.role in DECIDERS and latest,
        "can_receive": (stance == "parent" and report["status"] == "sent" and viewer.role in DECIDERS
                        and _parent_code(store, report["org_unit"]) == viewer.unit)}, viewer)


@router.get("/unit-reports/{report_id}/docx")
def report_docx(request: Request, report_id: int, viewer: Viewer = Depends(access(*REVIEWERS))):
    report, _ = _readable(request, viewer, report_id)
    kind = "thang" if report["period"] == "month" else "nam"
    name = f"bao-cao-{kind}-{report['org_unit']}-{report['first_day'][:7]}-lan-{report['revision']}.docx"
    return Response(briefing.to_docx(unitreports.document(report)), media_type=DOCX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/unit-reports/{report_id}")
def report_save(request: Request, report_id: int, situation: str = Form(""), causes: str = Form(""),
                results: str = Form(""), difficulties: str = Form(""), proposals: str = Form(""),
                refresh: str = Form(""), viewer: Viewer = Depends(access(*DECIDERS))):
    """Save the staff's words: a draft in place; a report already sent stays frozen and a new revision is made."""
    report, stance = _readable(request, viewer, report_id)
    if stance != "own":
        raise HTTPException(404)
    values = {"situation": situation, "causes": causes, "results": results, "difficulties": difficulties,
              "proposals": proposals}
    try:
        draft_id = unitreports.save(get_store(request), report_id, values, viewer.username,
                                    request.app.state.settings, today_local(), refresh=refresh == "1")
    except unitreports.ReportError as exc:
        raise HTTPException(409, str(exc)) from None
    return RedirectResponse(f"/unit-reports/{draft_id}?saved=1", status_code=303)


@router.post("/unit-reports/{draft_id}/send")
def report_send(request: Request, draft_id: int, viewer: Viewer = Depends(access(*DECIDERS))):
    """Send the unit's draft to the parent unit; from then on it is frozen."""
    _, stance = _readable(request, viewer, draft_id)
    if stance != "own":
        raise HTTPException(404)
    try:
        unitreports.send(get_store(request), draft_id, viewer.username, request.app.state.settings, today_local())
    except unitreports.ReportError as exc:
        raise HTTPException(409, str(exc)) from None
    return RedirectResponse(f"/unit-reports/{draft_id}", status_code=303)


@router.post("/unit-reports/{report_id}/receive")
def report_receive(request: Request, report_id: int, viewer: Viewer = Depends(access(*DECIDERS))):
    """The parent unit marks a report sent to it received."""
    store = get_store(request)
    report, stance = _readable(request, viewer, report_id)
    if stance != "parent" or _parent_code(store, report["org_unit"]) != viewer.unit:
        raise HTTPException(404)
    try:
        unitreports.receive(store, report_id, viewer.username)
    except unitreports.ReportError as exc:
        raise HTTPException(409, str(exc)) from None
    return RedirectResponse(f"/unit-reports?period={report['period']}&ref={report['first_day']}", status_code=303)
