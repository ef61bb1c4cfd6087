"""The home page of staff and leaders (issue 16.2): first the flags that matter (severity order, compact and paged,
with the queue's filters and bulk decisions), then the overview of the reader's units (service/dashboard.py) and
the sources' health with a banner when some fail. The full review queue is one click away («/queue»)."""
from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse

from service.dashboard import overview, source_states, sparkline
from service.routes.review import BULK_ACTIONS, filter_flags, templates_globals
from service.routes.web import (DECIDERS, REVIEWERS, STATUS_NAMES, Viewer, access, get_store, render, scoped_units,
                                topic_names)
from service.scope import scoped_flags
from service.store import Store
from service.timeutil import today_local

router = APIRouter(include_in_schema=False)
PAGE = 10


def _flags(store: Store, viewer: Viewer, status: str | None = "open", kind: str = "", topic: str = "", unit: str = "",
           day: str = "") -> list[dict]:
    """The flags the viewer sees, filtered as the queue filters them (routes/review.py `visible_flags`), in the store's
    order; only the page shown is then rebuilt in the viewer's scope (`scoped_flags`), which on a large store is
    most of the page's time. The counts per unit use the flags' units in the viewer's scope, the same either way."""
    flags = [f for f in store.flags(status=status or None) if viewer.sees_flag(f)]
    return filter_flags(store, viewer, flags, kind, topic, unit, day)


@router.get("/")
def dashboard(request: Request, status: str = "open", kind: str = "", topic: str = "", unit: str = "", day: str = "",
              done: int = 0, page: int = Query(1, ge=1, le=10_000), viewer: Viewer = Depends(access())):
    if viewer.role not in REVIEWERS:
        return RedirectResponse("/submit", status_code=303)
    from service.pipeline import source_health
    from service.routes.admin import HEALTH_STATES

    if status not in STATUS_NAMES:
        status = "open"
    store = get_store(request)
    flags = _flags(store, viewer, status, kind, topic, unit, day)   # severity, then score (severity.py)
    pages = max(1, -(-len(flags) // PAGE))
    page = min(page, pages)
    names = topic_names()
    shown = scoped_flags(store, viewer.scope, flags[(page - 1) * PAGE:page * PAGE], names)
    for flag in shown:
        flag["topic_name"] = names.get(flag["topic"], flag["topic"] or "")
        flag["spark"] = sparkline((flag.get("evidence") or {}).get("timeline") or [])
    open_flags = flags if status == "open" and not (kind or topic or unit or day) else _flags(store, viewer)
    units = scoped_units(store, viewer)
    # the unit's monthly or annual report still to send, as on the reports page (service/unitreports.py)
    from service.unitreports import reminders

    due = reminders(store, viewer.unit, request.app.state.settings, today_local()) if viewer.unit else []
    filters = {"status": status, "kind": kind, "topic": topic, "unit": unit, "day": day}
    query = urlencode({k: v for k, v in filters.items() if v and not (k == "status" and v == "open")})
    return render(request, "dashboard.html", {
        "flags": shown, "total": len(flags), "page": page, "pages": pages, "query": query, "filters": filters,
        "topics": sorted(names.items(), key=lambda x: x[1]), "units": units, "can_decide": viewer.role in DECIDERS,
        "done": done, "bulk_actions": BULK_ACTIONS, **templates_globals, "reminders": due,
        "overview": overview(store, viewer.scope, today_local(), names, open_flags, units),
        "health": source_states(source_health(store), HEALTH_STATES)}, viewer)
