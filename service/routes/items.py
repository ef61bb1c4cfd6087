"""The items page: search without regard to diacritics (`luong` finds `lương`) and filters; one item's page."""
from __future__ import annotations


from fastapi import APIRouter, Depends, HTTPException, Query, Request

from service.routes.web import (REVIEWERS, Viewer, access, get_store, parse_day, render, scoped_units,
                                topic_names)
from service.scope import scoped_flags, scoped_stream_label
from service.store import Store

router = APIRouter(include_in_schema=False)
PAGE = 50


def _day(value: str) -> str | None:
    if not value:
        return None
    return parse_day(value, "Ngày lọc").isoformat()


def search(store: Store, viewer: Viewer, q: str = "", kind: str = "", topic: str = "", unit: str = "",
           source: str = "", since: str = "", until: str = "", limit: int = PAGE, offset: int = 0) -> list[dict]:
    """Items the viewer may see: public ones, and observations of the units in scope (or of one chosen unit)."""
    units = None if viewer.province else viewer.units   # the province also sees items of units not (yet) known
    if unit:
        units = [u for u in store.unit_subtree(unit) if u in viewer.units]
    rows = store.find_items(q, kind=kind or None, topic=topic or None, units=units, source=source or None,
                            since_day=_day(since), until_day=_day(until), include_public=not unit, limit=limit,
                            offset=offset)
    return rows


@router.get("/items")
def items_page(request: Request, q: str = Query("", max_length=200), kind: str = "", topic: str = "", unit: str = "",
               source: str = "", since: str = "", until: str = "", page: int = Query(1, ge=1, le=1000),
               viewer: Viewer = Depends(access(*REVIEWERS))):
    store = get_store(request)
    rows = search(store, viewer, q, kind, topic, unit, source, since, until, limit=PAGE + 1, offset=(page - 1) * PAGE)
    names = topic_names()
    filters = {"q": q, "kind": kind, "topic": topic, "unit": unit, "source": source, "since": since, "until": until}
    return render(request, "items.html", {
        "rows": rows[:PAGE], "more": len(rows) > PAGE, "page": page, "filters": filters, "topic_names": names,
        "topics": sorted(names.items(), key=lambda x: x[1]), "units": scoped_units(store, viewer),
        "sources": store.item_sources()}, viewer)


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
