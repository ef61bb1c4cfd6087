"""The items page: search like press-monitoring tools (service/search.py: diacritics matched as typed, phrases, OR,
exclusions, prefixes), ranked by relevance or newest first, with filters, snippets and CSV/XLSX exports."""
from __future__ import annotations

from dataclasses import dataclass, field

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from service import exports
from service.routes.web import (KIND_NAMES, REVIEWERS, SENTIMENT_NAMES, Viewer, access, clean_text, get_store,
                                parse_day, render, scoped_units, topic_names)
from service.scope import scoped_flags, scoped_stream_label
from service.search import SearchError, highlight, parse
from service.store import Store

router = APIRouter(include_in_schema=False)
PAGE = 50
MAX_EXPORT = 5_000   # rows in one export file
ORDERS = ("relevance", "newest")


def _day(value: str) -> str | None:
    if not value:
        return None
    return parse_day(value, "Ngày lọc").isoformat()


@dataclass
class Found:
    total: int = 0
    rows: list[dict] = field(default_factory=list)
    error: str = ""
    query: object = None


def search(store: Store, viewer: Viewer, q: str = "", kind: str = "", topic: str = "", unit: str = "",
           source: str = "", since: str = "", until: str = "", limit: int = PAGE, offset: int = 0,
           tone: str = "", channel: str = "", order: str = "relevance") -> Found:
    """Items the viewer may see: public ones, and observations of the units in scope (or of one chosen unit).

    A malformed query is a Vietnamese message in `error`, never an exception.
    """
    try:
        node = parse(q)
    except SearchError as exc:
        return Found(error=str(exc))
    units = None if viewer.province else viewer.units   # the province also sees items of units not (yet) known
    if unit:
        units = [u for u in store.unit_subtree(unit) if u in viewer.units]
    total, rows = store.search(node, kind=kind or None, topic=topic or None,
                               tone=tone or None, source=source or None, channel=channel or None, units=units,
                               include_public=not unit, since_day=_day(since), until_day=_day(until),
                               order=order if order in ORDERS else "relevance", limit=limit, offset=offset)
    visible = [r for r in rows if viewer.sees_item(r)]   # the store's scope, checked again on every row
    return Found(total=total - (len(rows) - len(visible)), rows=visible, query=node)


def _filters(q, kind, topic, unit, source, since, until, tone, channel, order) -> dict:
    return {"q": q, "kind": kind, "topic": topic, "unit": unit, "source": source, "since": since, "until": until,
            "tone": tone, "channel": channel, "order": order if order in ORDERS else ""}


@router.get("/items")
def items_page(request: Request, q: str = Query("", max_length=200), kind: str = "", topic: str = "", unit: str = "",
               source: str = "", since: str = "", until: str = "", tone: str = "", channel: str = "",
               order: str = "", page: int = Query(1, ge=1, le=1000), saved: str = Query("", max_length=200),
               viewer: Viewer = Depends(access(*REVIEWERS))):
    store = get_store(request)
    found = search(store, viewer, q, kind, topic, unit, source, since, until, limit=PAGE,
                   offset=(page - 1) * PAGE, tone=tone, channel=channel, order=order or "relevance")
    for row in found.rows:
        row["snippet"] = highlight(row["text"], found.query)
        row["title_marked"] = highlight(row["title"], found.query, width=400)
    names = topic_names()
    return render(request, "items.html", {
        "rows": found.rows, "total": found.total, "error": found.error, "more": found.total > page * PAGE,
        "page": page, "filters": _filters(q, kind, topic, unit, source, since, until, tone, channel, order),
        "topic_names": names, "topics": sorted(names.items(), key=lambda x: x[1]),
        "units": scoped_units(store, viewer), "sources": store.item_sources(), "channels": store.item_channels(),
        "saved_searches": [{**s, "query": urlencode(s["params"])} for s in store.saved_searches(viewer.id)],
        "saved": saved},
        viewer)   # a query that cannot be read is a page saying what to change (an export or the API answers 400)


def _export(request: Request, viewer: Viewer, fmt: str, q, kind, topic, unit, source, since, until, tone, channel,
            order) -> Response:
    store = get_store(request)
    found = search(store, viewer, q, kind, topic, unit, source, since, until, limit=MAX_EXPORT, tone=tone,
                   channel=channel, order=order or "relevance")
    if found.error:
        return Response(found.error, status_code=400, media_type="text/plain; charset=utf-8")
    units = {u["code"]: u["name"] for u in store.org_units()}
    rows = exports.result_rows(found.rows, topic_names(), units, KIND_NAMES, SENTIMENT_NAMES)
    if fmt == "csv":
        body, media = exports.csv_bytes(rows), "text/csv; charset=utf-8"
    else:
        body, media = exports.xlsx_bytes(rows), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="pulse-tim-kiem.{fmt}"'})


@router.get("/items.csv")
def items_csv(request: Request, q: str = Query("", max_length=200), kind: str = "", topic: str = "", unit: str = "",
              source: str = "", since: str = "", until: str = "", tone: str = "", channel: str = "", order: str = "",
              viewer: Viewer = Depends(access(*REVIEWERS))):
    """The search's results (up to MAX_EXPORT) as CSV, UTF-8 with a BOM."""
    return _export(request, viewer, "csv", q, kind, topic, unit, source, since, until, tone, channel, order)


@router.get("/items.xlsx")
def items_xlsx(request: Request, q: str = Query("", max_length=200), kind: str = "", topic: str = "", unit: str = "",
               source: str = "", since: str = "", until: str = "", tone: str = "", channel: str = "", order: str = "",
               viewer: Viewer = Depends(access(*REVIEWERS))):
    """The search's results (up to MAX_EXPORT) as an Excel workbook."""
    return _export(request, viewer, "xlsx", q, kind, topic, unit, source, since, until, tone, channel, order)


@router.get("/items/{item_id}")
def item_page(request: Request, item_id: int, viewer: Viewer = Depends(access(*REVIEWERS))):
    store = get_store(request)
    item = store.item(item_id)
    if item is None or not viewer.sees_item(item):
        raise HTTPException(404)
    flags = scoped_flags(store, viewer.scope,
                         [f for f in (store.flag(x["id"]) for x in store.flags_citing([item_id]).get(item_id, [])) if f],
                         topic_names())
    stream = scoped_stream_label(store, viewer.scope, store.stream(item["stream_id"]) if item["stream_id"] else None)
    return render(request, "item.html", {"item": item, "flags": flags, "stream": stream,
                                         "topic_names": topic_names(),
                                         "relevance": relevance_view(store.relevance_of([item_id]).get(item_id))},
                  viewer)


def relevance_view(rel: dict | None) -> dict | None:
    """What the item page says of an item's relevance: the level about workers, the locality, excluded news."""
    from nlp.relevance import EXCLUDED_NAMES, workers_level

    if rel is None:
        return None
    places = rel["places"]
    if rel["local"] >= 0.8:
        local = "thuộc địa bàn tỉnh" + (f" ({', '.join(places[:3])})" if places else "")
    elif rel["local"] > 0:
        local = "khu vực lân cận" + (f" ({', '.join(places[:2])})" if places else "")
    else:
        local = "không"
    return {"workers": workers_level(rel["workers"]), "local": local,
            "excluded": EXCLUDED_NAMES.get(rel["excluded"], rel["excluded"]) if rel["excluded"] else None,
            "reasons": rel["reasons"]}


# --- saved searches (each user's own) ------------------------------------------------------------------------------
MAX_SAVED = 50
SAVED_FIELDS = ("q", "kind", "topic", "unit", "source", "since", "until", "tone", "channel", "order")


@router.post("/items/saved")
def save_search(request: Request, name: str = Form("", max_length=200), q: str = Form("", max_length=200),
                kind: str = Form(""), topic: str = Form(""), unit: str = Form(""), source: str = Form(""),
                since: str = Form(""), until: str = Form(""), tone: str = Form(""), channel: str = Form(""),
                order: str = Form(""), viewer: Viewer = Depends(access(*REVIEWERS))):
    """Save the page's search under a name (the same name replaces it); it is listed on the page for its owner only."""
    store = get_store(request)
    name = clean_text(name, 100).strip()
    if not name:
        raise HTTPException(400, "Vui lòng đặt tên cho tìm kiếm cần lưu.")
    try:
        parse(q)
    except SearchError as exc:
        raise HTTPException(400, str(exc)) from None
    values = dict(zip(SAVED_FIELDS, (q, kind, topic, unit, source, since, until, tone, channel, order)))
    params = {k: clean_text(v, 200) for k, v in values.items() if v}
    mine = store.saved_searches(viewer.id)
    if len(mine) >= MAX_SAVED and name not in {s["name"] for s in mine}:
        raise HTTPException(400, f"Mỗi người lưu được tối đa {MAX_SAVED} tìm kiếm; hãy xoá bớt.")
    store.save_search(viewer.id, name, params)
    return RedirectResponse("/items?" + urlencode({**params, "saved": name}), status_code=303)


@router.post("/items/saved/{search_id}/delete")
def delete_saved_search(request: Request, search_id: int, viewer: Viewer = Depends(access(*REVIEWERS))):
    if not get_store(request).delete_saved_search(viewer.id, search_id):
        raise HTTPException(404)
    return RedirectResponse("/items", status_code=303)
