"""What the flag page shows of a story beyond its evidence: its facets and its forecast, built from the items the
viewer may see (the caller passes only those) when the page is built."""
from __future__ import annotations

from collections import Counter

from nlp.facets import DOCUMENT, ORGANISATION, PLACE, count_facets
from service.forecast import Forecast, forecast

FACET_KINDS = [(ORGANISATION, "Doanh nghiệp, tổ chức"), (PLACE, "Địa bàn"), (DOCUMENT, "Văn bản pháp luật")]
MAX_FACET_ITEMS = 500
MAX_PER_KIND = 12


def story_facets(items: list[dict]) -> list[dict]:
    """Per kind (its Vietnamese heading), each facet with its count and the items carrying it (id, title)."""
    items = items[:MAX_FACET_ITEMS]
    titles = {i["id"]: (i.get("title") or (i.get("text") or "")[:120]) for i in items}
    counted = count_facets({i["id"]: f"{i.get('title') or ''}\n{i.get('text') or ''}" for i in items})
    out = []
    for kind, heading in FACET_KINDS:
        facets = [{**f, "items": [{"id": x, "title": titles[x]} for x in f["item_ids"]]}
                  for f in counted[kind][:MAX_PER_KIND]]
        out.append({"kind": kind, "heading": heading, "facets": facets})
    return out


def visible_timeline(timeline: list[dict], items: list[dict], partial: bool) -> list[dict]:
    """The story's counts a day: the stored timeline when the viewer sees the whole story, else their items' days
    counted over the same days (so a unit's reader never sees counts made of other units' items)."""
    if not partial:
        return timeline
    per_day = Counter(i.get("day") for i in items if i.get("day"))
    days = [t["day"] for t in timeline] or sorted(per_day)
    return [{"day": d, "count": per_day.get(d, 0)} for d in days]


def forecast_chart(timeline: list[dict], width: int = 320, height: int = 90, shown_days: int = 14) -> dict | None:
    """The forecast after the timeline, drawn as the last `shown_days` bars followed by the 7 days ahead: the expected
    line and the 80 % band, on one scale (plain SVG numbers for the template)."""
    result: Forecast | None = forecast(timeline)
    if result is None:
        return None
    past = result.history[-shown_days:]
    slots = len(past) + len(result.mean)
    step = width / slots
    base = height - 12
    peak = max([*past, *result.upper, 1])

    def y(value: float) -> float:
        return round(base - (height - 14) * value / peak, 1)

    bars = [{"x": round(i * step + 1, 1), "y": y(c), "w": max(round(step - 2, 1), 1), "h": round(base - y(c), 1),
             "count": c} for i, c in enumerate(past)]
    xs = [round((len(past) + i + 0.5) * step, 1) for i in range(len(result.mean))]
    band = " ".join(f"{x},{y(u)}" for x, u in zip(xs, result.upper)) + " " + " ".join(
        f"{x},{y(lo)}" for x, lo in reversed(list(zip(xs, result.lower))))
    line = " ".join(f"{x},{y(m)}" for x, m in zip(xs, result.mean))
    days = [{"day": d, "mean": m, "lower": lo, "upper": u, "x": x}
            for d, m, lo, u, x in zip(result.days, result.mean, result.lower, result.upper, xs)]
    return {"width": width, "height": height, "bars": bars, "band": band, "line": line, "days": days,
            "split_x": round(len(past) * step, 1), "max": peak, "label": result.label, "label_vi": result.label_vi,
            "method": result.method, "total": sum(result.mean), "first": _short(result.days[0]),
            "last": _short(result.days[-1])}


def _short(day: str) -> str:
    return f"{day[8:10]}/{day[5:7]}"
