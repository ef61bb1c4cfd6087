"""The home page's overview (issue 16.2), all of it counted over what the reader's unit may see.

Items per day by channel (the press and the web, collaborators, dialogues), tone over time, topics this week against
last week, units' activity (reports sent, observations, open flags), and the geometry of their server-rendered SVG
charts (no script, no CDN). The flags that matter come first on the page, in the one order of service/severity.py
(severity, then score: `Store.flags`).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

from service.scope import Scope
from service.store import Store
from service.timeutil import day_bounds, days_between
from service.vnformat import number

DAYS = 30
GROUPS = (("press", "Báo chí, mạng", "#2b6cb0"), ("collaborators", "Cộng tác viên", "#dd6b20"),
          ("dialogues", "Đối thoại, hội nghị", "#38a169"))
TONES = (("negative", "Tiêu cực", "#c53030"), ("neutral", "Trung lập", "#718096"), ("positive", "Tích cực", "#2f855a"))


def _short(day: str) -> str:
    return f"{day[8:10]}/{day[5:7]}"


def stacked_days(days: list[str], series: dict[str, dict[str, int]], keys: tuple, width: int = 640,
                 height: int = 160) -> dict:
    """Stacked bars, one per day, of `series[key][day]` for each (key, label, colour) in `keys`."""
    totals = [sum(series.get(k, {}).get(d, 0) for k, _, _ in keys) for d in days]
    peak = max(totals + [1])
    step = width / max(len(days), 1)
    bars = []
    for i, day in enumerate(days):
        y = height - 16
        for key, label, colour in keys:
            n = series.get(key, {}).get(day, 0)
            if not n:
                continue
            h = round((height - 24) * n / peak, 1)
            y -= h
            bars.append({"x": round(i * step + 1, 1), "y": round(y, 1), "w": max(round(step - 2, 1), 1), "h": h,
                         "colour": colour, "title": f"{_short(day)} · {label}: {number(n)}"})
    return {"width": width, "height": height, "bars": bars, "peak": number(peak),
            "first": _short(days[0]) if days else "", "last": _short(days[-1]) if days else "",
            "legend": [{"label": label, "colour": colour,
                        "total": number(sum(series.get(key, {}).values()))} for key, label, colour in keys]}


def lines(days: list[str], series: dict[str, dict[str, int]], keys: tuple, width: int = 640,
          height: int = 160) -> dict:
    """One polyline per key over the days."""
    peak = max([v for s in series.values() for v in s.values()] + [1])
    step = width / max(len(days) - 1, 1)
    out = []
    for key, label, colour in keys:
        points = " ".join(f"{round(i * step, 1)},{round(height - 16 - (height - 24) * series.get(key, {}).get(d, 0) / peak, 1)}"
                          for i, d in enumerate(days))
        out.append({"points": points, "colour": colour, "label": label,
                    "total": number(sum(series.get(key, {}).values()))})
    return {"width": width, "height": height, "lines": out, "peak": number(peak),
            "first": _short(days[0]) if days else "", "last": _short(days[-1]) if days else ""}


def sparkline(timeline: list[dict], width: int = 90, height: int = 22) -> str:
    """The points of a flag's small trend line (its daily counts)."""
    counts = [int(t.get("count") or 0) for t in timeline][-14:]
    if len(counts) < 2:
        counts = [0] + counts if counts else [0, 0]
    peak = max(counts + [1])
    step = width / (len(counts) - 1)
    return " ".join(f"{round(i * step, 1)},{round(height - 2 - (height - 4) * c / peak, 1)}"
                    for i, c in enumerate(counts))


def overview(store: Store, scope: Scope, today: date, topic_names: dict[str, str], open_flags: list[dict],
             units: list[dict]) -> dict:
    """Everything the dashboard draws besides the flags; `open_flags` are the reader's visible open flags and
    `units` the units they may see (tree order)."""
    seen_units = None if scope.province else sorted(scope.units)
    first = today - timedelta(days=DAYS - 1)
    days = [d.isoformat() for d in days_between(first, today)]
    per_channel: dict[str, dict[str, int]] = defaultdict(dict)
    for r in store.items_per_day_by_channel(days[0], days[-1], seen_units):
        per_channel[r["grp"]][r["day"]] = r["n"]
    per_tone: dict[str, dict[str, int]] = defaultdict(dict)
    for r in store.tone_per_day(days[0], days[-1], seen_units):
        per_tone[r["sentiment"]][r["day"]] = r["n"]
    week = store.topic_counts((today - timedelta(days=6)).isoformat(), today.isoformat(), seen_units)
    last_week = store.topic_counts((today - timedelta(days=13)).isoformat(), (today - timedelta(days=7)).isoformat(),
                                   seen_units)
    topics = []
    peak = max(list(week.values()) + list(last_week.values()) + [1])
    for code in sorted(set(week) | set(last_week), key=lambda c: (-week.get(c, 0), -last_week.get(c, 0), c))[:10]:
        now, before = week.get(code, 0), last_week.get(code, 0)
        change = "mới" if not before else f"{'+' if now >= before else '−'}{number(abs(now - before) / before * 100)}%"
        topics.append({"name": topic_names.get(code, code), "now": number(now), "before": number(before),
                       "w_now": round(200 * now / peak, 1), "w_before": round(200 * before / peak, 1),
                       "change": change, "up": now > before})
    since_day = first.isoformat()
    since, _ = day_bounds(first)
    observations = store.observations_per_unit(since_day, seen_units)
    reports = store.reports_sent_per_unit(since, seen_units)
    flags_per_unit: Counter[str] = Counter()
    for f in open_flags:
        flags_per_unit.update(set(((f.get("evidence") or {}).get("units") or {}).keys()))
    activity = [{"code": u["code"], "name": u["name"], "depth": u.get("depth", 0),
                 "reports": reports.get(u["code"], 0), "observations": observations.get(u["code"], 0),
                 "flags": flags_per_unit.get(u["code"], 0)} for u in units]
    top = max([a["observations"] for a in activity] + [1])
    for a in activity:
        a["bar"] = round(220 * a["observations"] / top, 1)
    return {"days": DAYS, "channels": stacked_days(days, per_channel, GROUPS),
            "tone": lines(days, per_tone, TONES), "topics": topics, "activity": activity,
            "totals": {"items": number(sum(sum(s.values()) for s in per_channel.values())),
                       "negative": number(sum(per_tone.get("negative", {}).values())),
                       "open_flags": number(len(open_flags))}}


def source_states(rows: list[dict], state_names: dict[str, str]) -> dict:
    """Enabled sources with their state in Vietnamese, and which are failing (for the banner)."""
    enabled = [r for r in rows if r.get("enabled", 1)]
    failing = [r for r in enabled if r["verdict"].kind == "failing"]
    return {"sources": [{"name": r.get("title") or r["name"], "kind": r["verdict"].kind,
                         "state": state_names.get(r["verdict"].kind, ""), "healthy": r["healthy"]} for r in enabled],
            "failing": [r.get("title") or r["name"] for r in failing], "total": len(enabled)}
