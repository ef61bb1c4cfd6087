"""Board staff: the review queue of flags, a flag with its evidence, decisions (one or many) and the audit trail."""
from __future__ import annotations


from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse

from service.routes.web import (DECIDERS, REVIEWERS, STATUS_NAMES, Viewer, access, clean_text, get_store,
                                parse_day, render, scoped_units, topic_names)
from service.routes.items import relevance_view
from service.scope import scoped_events, scoped_flag, scoped_flags, scoped_stream_label
from service.store import Store
from service.timeutil import day_bounds

router = APIRouter(include_in_schema=False)

ACTIONS = {  # action → (status it sets or None, whether a note is required, how the audit trail names it)
    "confirm": ("confirmed", False, "Xác nhận"),
    "dismiss": ("dismissed", True, "Bác bỏ"),
    "escalate": ("escalated", False, "Báo cáo lên cấp trên"),
    "note": (None, True, "Ghi chú"),
    "orientation": (None, True, "Đề xuất định hướng"),
    "reopen": ("open", False, "Mở lại"),
}
BULK_ACTIONS = ("confirm", "dismiss", "escalate")
MAX_NOTE = 4000
QUEUE_LIMIT = 200
templates_globals = {"action_names": {**{k: v[2] for k, v in ACTIONS.items()},
                                     "oriented": "Ghi nhận định hướng"}}   # a recorded orientation (issue 17.4)


def visible_flags(store: Store, viewer: Viewer, status: str | None = "open", kind: str = "", topic: str = "",
                  unit: str = "", day: str = "") -> list[dict]:
    """Flags the viewer may see, filtered, each as the viewer may read it (service/scope.py); highest score first."""
    flags = scoped_flags(store, viewer.scope, store.flags(status=status or None), topic_names())
    return filter_flags(store, viewer, flags, kind, topic, unit, day)


def filter_flags(store: Store, viewer: Viewer, flags: list[dict], kind: str = "", topic: str = "", unit: str = "",
                 day: str = "") -> list[dict]:
    """The queue's filters: kind, topic, a unit (within the viewer's units) and a local day the flag's window meets."""
    if kind:
        flags = [f for f in flags if f["kind"] == kind]
    if topic:
        flags = [f for f in flags if f["topic"] == topic]
    if unit:
        wanted = set(store.unit_subtree(unit)) & set(viewer.units)
        flags = [f for f in flags if wanted & set((f["evidence"] or {}).get("units") or {})]
    if day:
        start, end = day_bounds(parse_day(day, "Ngày lọc"))
        flags = [f for f in flags if f["window_start"] < end and f["window_end"] > start]
    return flags


def flag_or_404(store: Store, viewer: Viewer, flag_id: int) -> dict:
    """The flag as the viewer may read it (only their units' items and what is made of them), or 404."""
    flag = store.flag(flag_id)
    if flag is None or not viewer.sees_flag(flag):
        raise HTTPException(404)
    return scoped_flag(store, viewer.scope, flag, topic_names())


def _story_links(store: Store, viewer: Viewer, flag: dict) -> dict:
    """An event's streams, or the events a stream belongs to (with their flags), for the flag page."""
    from service.severity import WEIGHTS

    out: dict = {"severity_weights": WEIGHTS, "event_streams": [], "stream_events": []}
    if flag.get("event_id"):
        streams = store.event_streams(flag["event_id"])
        if viewer.scope.province:
            out["event_streams"] = streams
        else:   # a stream's label is made of all its items' words: name only streams wholly in scope
            out["event_streams"] = [{**s, "label": ""} for s in streams]
    elif flag.get("stream_id"):
        for e in store.stream_events(flag["stream_id"]):
            linked = store.flag_by_key(f"event:{e['id']}")
            seen = linked is not None and viewer.sees_flag(linked)
            out["stream_events"].append({**e, "flag_id": linked["id"] if seen else None,
                                         "title": e["title"] if viewer.scope.province else "Sự kiện liên quan"})
    return out


def _facets_and_forecast(store: Store, viewer: Viewer, flag: dict, evidence: dict) -> dict:
    """The story's facets and forecast (issue 17), from the items the viewer sees only."""
    from service.storyview import MAX_FACET_ITEMS, forecast_chart, story_facets, visible_timeline

    seen = [i for i in store.items_by_ids(flag["item_ids"][:MAX_FACET_ITEMS]) if viewer.sees_item(i)]
    timeline = visible_timeline(evidence.get("timeline") or [], seen, bool(flag.get("partial")))
    return {"facets": story_facets(seen), "forecast": forecast_chart(timeline), "story_items": seen}


def _causes_and_response(request: Request, store: Store, viewer: Viewer, flag: dict, story: dict, form: dict,
                         error: str) -> dict:
    """The cause view, the proposals and the orientations with their outcome (issue 17), from what the viewer sees."""
    from service.causeview import cause_view
    from service.orientation import CHANNELS
    from service.storyresponse import orientations_view, proposals_view
    from service.timeutil import today_local

    names = topic_names()
    unit_names = {u["code"]: u["name"] for u in store.org_units()}
    proposals = proposals_view(store, request.app.state.settings, viewer.scope, flag, story["story_items"],
                               story["facets"], names.get(flag["topic"] or "", ""), unit_names)
    chosen = next((t for t in proposals["templates"] if t["id"] == form.get("template")), None)
    if chosen and not form.get("said"):     # «Dùng mẫu này»: the form starts from the board's template
        form = {**form, "said": chosen["text"], "channel": chosen["channel"], "audience": chosen["audience"]}
    return {"causes": cause_view(store, viewer.scope, flag, story["story_items"], names), "proposals": proposals,
            "orientations": orientations_view(store, viewer.scope, flag, today_local()), "channels": CHANNELS,
            "orientation_form": {"given_on": today_local().isoformat(), **form}, "orientation_error": error}


def timeline_chart(timeline: list[dict], width: int = 320, height: int = 90) -> dict:
    """Bars of the flag's timeline, computed here so the page draws them as plain SVG (no script)."""
    if not timeline:
        return {"bars": [], "width": width, "height": height, "max": 0}
    peak = max(max(t["count"] for t in timeline), 1)
    step = width / len(timeline)
    bars = []
    for i, t in enumerate(timeline):
        h = round((height - 14) * t["count"] / peak, 1)
        bars.append({"x": round(i * step + 1, 1), "y": round(height - 12 - h, 1), "w": max(round(step - 2, 1), 1),
                     "h": h, "day": t["day"], "count": t["count"], "total": t.get("total", 0),
                     "last": i == len(timeline) - 1})
    return {"bars": bars, "width": width, "height": height, "max": peak,
            "first": _short(timeline[0]["day"]), "last": _short(timeline[-1]["day"])}


def _short(day: str) -> str:
    """2026-11-27 → 27/11, the way the board writes a day."""
    return f"{day[8:10]}/{day[5:7]}" if len(day) == 10 else day


def _split(counts: dict[str, int]) -> list[tuple[str, int, int, float, float]]:
    """(label, count, percent, x, width) of each sentiment, negative first, for a 100-wide SVG bar."""
    order = ["negative", "neutral", "positive"]
    total = sum(counts.values()) or 1
    out, x = [], 0.0
    for label in sorted(counts, key=lambda k: order.index(k) if k in order else 9):
        width = 100 * counts[label] / total
        out.append((label, counts[label], round(width), round(x, 2), round(width, 2)))
        x += width
    return out


@router.get("/queue")   # the full queue; the home page «/» is the dashboard (routes/dashboard.py)
def queue(request: Request, status: str = "open", kind: str = "", topic: str = "", unit: str = "", day: str = "",
          done: int = 0, viewer: Viewer = Depends(access())):
    if viewer.role not in REVIEWERS:
        return RedirectResponse("/submit", status_code=303)
    if status not in STATUS_NAMES:
        status = "open"
    store = get_store(request)
    flags = visible_flags(store, viewer, status, kind, topic, unit, day)
    shown = flags[:QUEUE_LIMIT]
    names = topic_names()
    for flag in shown:
        flag["items"] = [i for i in store.items_by_ids(flag["item_ids"][:20]) if viewer.sees_item(i)]
        flag["topic_name"] = names.get(flag["topic"], flag["topic"] or "")
    filters = {"status": status, "kind": kind, "topic": topic, "unit": unit, "day": day}
    return render(request, "index.html", {
        "flags": shown, "total": len(flags), "filters": filters, "topics": sorted(names.items(), key=lambda x: x[1]),
        "units": scoped_units(store, viewer), "can_decide": viewer.role in DECIDERS, "done": done,
        "bulk_actions": BULK_ACTIONS, **templates_globals}, viewer)


@router.get("/flags/{flag_id}")
def flag_page(request: Request, flag_id: int, mau: str = Query("", max_length=60),
              viewer: Viewer = Depends(access(*REVIEWERS))):
    return _flag_page(request, viewer, flag_id, {"template": mau} if mau else {})


def _flag_page(request: Request, viewer: Viewer, flag_id: int, form: dict, error: str = "", status_code: int = 200):
    store = get_store(request)
    flag = flag_or_404(store, viewer, flag_id)
    evidence = flag["evidence"] or {}
    representative = [i for i in store.items_by_ids(evidence.get("representative") or []) if viewer.sees_item(i)]
    facts = {f["item_id"]: f for f in store.item_facts([i["id"] for i in representative])}
    relevance = store.relevance_of([i["id"] for i in representative])
    for item in representative:   # the model's topic and sentiment, shown as the suggestion to correct
        item.update(topic=facts.get(item["id"], {}).get("topic"), sentiment=facts.get(item["id"], {}).get("sentiment"),
                    relevance=relevance_view(relevance.get(item["id"])))
    items = [i for i in store.items_by_ids(flag["item_ids"][:100]) if viewer.sees_item(i)]
    story = _facets_and_forecast(store, viewer, flag, evidence)
    unit_names = {u["code"]: u["name"] for u in store.org_units()}
    sentiment = evidence.get("sentiment") or {}
    stream = scoped_stream_label(store, viewer.scope, store.stream(flag["stream_id"]) if flag["stream_id"] else None)
    names = topic_names()
    return render(request, "flag.html", {
        "flag": flag, "evidence": evidence, "chart": timeline_chart(evidence.get("timeline") or []),
        "representative": representative, "items": items, "unit_names": unit_names,
        "sentiment": _split(sentiment),
        "stream": stream, "topic_name": names.get(flag["topic"] or "", flag["topic"] or ""), "topic_names": names,
        **_story_links(store, viewer, flag), **story,
        **_causes_and_response(request, store, viewer, flag, story, form, error),
        "events": scoped_events(store, viewer.scope, store.flag_events(flag_id)),
        "can_decide": viewer.role in DECIDERS, **templates_globals}, viewer, status_code=status_code)


@router.post("/flags/{flag_id}/orientations")
def record_orientation(request: Request, flag_id: int, viewer: Viewer = Depends(access(*DECIDERS)),
                       said: str = Form("", max_length=20000), owner: str = Form("", max_length=2000),
                       given_on: str = Form("", max_length=40), channel: str = Form("", max_length=40),
                       audience: str = Form("", max_length=2000), template: str = Form("", max_length=60)):
    """Record an orientation the board gave about the story (issue 17.4); a form that cannot be recorded comes back
    with its words kept and the reason."""
    from service.orientation import OrientationError, check
    from service.storyresponse import proposals_view
    from service.timeutil import today_local

    store = get_store(request)
    flag = flag_or_404(store, viewer, flag_id)
    form = {"said": said, "owner": owner, "given_on": given_on, "channel": channel, "audience": audience,
            "template": template}
    story = _facets_and_forecast(store, viewer, flag, flag["evidence"] or {})
    unit_names = {u["code"]: u["name"] for u in store.org_units()}
    offered = proposals_view(store, request.app.state.settings, viewer.scope, flag, story["story_items"],
                             story["facets"], topic_names().get(flag["topic"] or "", ""), unit_names)["templates"]
    try:
        fields = check(said, owner, given_on, channel, audience, today_local(), [t["text"] for t in offered])
    except OrientationError as exc:
        return _flag_page(request, viewer, flag_id, form, str(exc), status_code=400)
    template = template if any(t["id"] == template for t in offered) else ""
    store.add_orientation(flag_id, viewer.username, viewer.unit, fields[1], fields[2], fields[3], fields[4],
                          fields[0], template)
    return RedirectResponse(f"/flags/{flag_id}#dinh-huong", status_code=303)


@router.get("/flags/{flag_id}/story.json")
def story_json(request: Request, flag_id: int, viewer: Viewer = Depends(access(*REVIEWERS))):
    """The story's cause view, proposals and orientations with their outcome, as the flag page shows them."""
    from fastapi.responses import JSONResponse

    store = get_store(request)
    flag = flag_or_404(store, viewer, flag_id)
    story = _facets_and_forecast(store, viewer, flag, flag["evidence"] or {})
    extra = _causes_and_response(request, store, viewer, flag, story, {}, "")
    return JSONResponse({"id": flag_id, "causes": extra["causes"], "proposals": extra["proposals"],
                         "orientations": extra["orientations"], "facets": story["facets"],
                         "forecast": story["forecast"]})


def decide(store: Store, viewer: Viewer, flag: dict, action: str, note: str) -> None:
    if action not in ACTIONS:
        raise HTTPException(400, "Thao tác không hợp lệ.")
    status, needs_note, _ = ACTIONS[action]
    if needs_note and not note:
        raise HTTPException(400, "Thao tác này cần ghi rõ lý do hoặc nội dung.")
    store.add_flag_event(flag["id"], viewer.username, action, note, new_status=status)


@router.post("/flags/{flag_id}/action")
def flag_action(request: Request, flag_id: int, viewer: Viewer = Depends(access(*DECIDERS)),
                action: str = Form(..., max_length=30), note: str = Form("", max_length=20000)):
    store = get_store(request)
    flag = flag_or_404(store, viewer, flag_id)
    decide(store, viewer, flag, action, clean_text(note, MAX_NOTE))
    return RedirectResponse(f"/flags/{flag_id}#nhat-ky", status_code=303)


@router.post("/flags/bulk")
def bulk_action(request: Request, viewer: Viewer = Depends(access(*DECIDERS)), ids: list[int] = Form(default=[]),
                action: str = Form(..., max_length=30), note: str = Form("", max_length=20000)):
    if action not in BULK_ACTIONS:
        raise HTTPException(400, "Thao tác hàng loạt không hợp lệ.")
    if not ids:
        raise HTTPException(400, "Chưa chọn cảnh báo nào.")
    store = get_store(request)
    flags = [flag_or_404(store, viewer, i) for i in dict.fromkeys(ids[:500])]  # all visible, or nothing changes
    note = clean_text(note, MAX_NOTE)
    if ACTIONS[action][1] and not note:
        raise HTTPException(400, "Thao tác này cần ghi rõ lý do hoặc nội dung.")
    for flag in flags:
        decide(store, viewer, flag, action, note)
    return RedirectResponse(f"/?done={len(flags)}", status_code=303)
