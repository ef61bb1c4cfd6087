"""Trend detection: which stories the board should look at — new, growing, spreading or turning negative — and why.

Detectors, each over local days (the configured time zone), each giving *signals* with a reason in plain Vietnamese:
- event: terms of headlines that rise together (service/events.py), from one outlet or many;
- burst: a topic's or a stream's count against its own baseline (median and MAD of the previous days, the count taken
  as a share of all items that day, so a collector outage or a busy news day is not a trend);
- new_stream: a stream born in the last 48 hours with enough items (independent sources raise its severity);
- negativity: the negative share of a topic or stream well above its baseline;
- spread: one stream reported by collaborators of several org units;
- watch_term: an item about workers that contains a term the board watches (service/watch.py).
Signals of one story — an event, a stream, a topic's run of days — become ONE living flag (key `event:<id>`,
`stream:<id>` or `topic:<code>:<first day>`), updated on later days: its count, days active, trend, last seen. Each flag
has a severity (service/severity.py) that orders the queue and the briefing; a story the board would not act on
(sports, entertainment, markets; nothing about workers or the province) raises no flag.
Detecting the same days again updates the same flags and never duplicates them.
"""
from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from service import events as event_detection
from service.config import TrendSettings
from service.severity import PART_NAMES, independent_voices, judge
from service.store import Store
from service.timeutil import day_bounds, days_between
from service.vnformat import number, percent

EVIDENCE_ITEMS = 500   # items read to describe a flag (sources, units, sentiment, examples)
JSON_KEYS = ("id", "kind", "stream_id", "topic", "score", "window_start", "window_end", "keyphrases", "count",
             "baseline", "reason", "item_ids", "title", "severity", "severity_parts", "relevance", "event_id", "trend",
             "days_active", "last_seen", "status")
KIND_ORDER = ("spread", "event", "burst", "new_stream", "negativity", "watch_term")
# what each kind of flag is called where a reader sees it (pages, exports, alerts)
KIND_NAMES = {
    "event": "Sự kiện nổi bật",
    "burst": "Tăng đột biến",
    "new_stream": "Luồng mới",
    "negativity": "Chuyển biến tiêu cực",
    "spread": "Lan rộng nhiều đơn vị",
    "watch_term": "Từ khóa theo dõi",
    "watch_query": "Tìm kiếm theo dõi",
}
TREND_NAMES = {"up": "đang tăng", "flat": "đi ngang", "down": "hạ nhiệt"}
STORY_ITEMS = 2000   # items a story's flag keeps


@dataclass
class Flag:
    """One thing the board should look at. `to_json` gives the command-line contract's form."""

    kind: str
    key: str
    stream_id: int | None
    topic: str | None
    score: float
    window_start: str
    window_end: str
    count: int
    baseline: float
    reason: str
    keyphrases: list[str] = field(default_factory=list)
    item_ids: list[int] = field(default_factory=list)
    evidence: dict = field(default_factory=dict)
    degraded: bool = False
    id: int | None = None
    title: str = ""
    severity: float = 0.0
    severity_parts: dict = field(default_factory=dict)
    relevance: dict = field(default_factory=dict)
    event_id: int | None = None
    trend: str = ""
    days_active: int = 1
    last_seen: str = ""
    status: str = "open"
    signals: list = field(default_factory=list)

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in JSON_KEYS}

    def to_row(self) -> dict:
        return {k: v for k, v in vars(self).items() if k != "signals"}


def topic_names() -> dict[str, str]:
    """Topic code → Vietnamese name from the shipped taxonomy."""
    from nlp.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    return {code: topic.name for code, topic in taxonomy.topics.items()}


def _robust(values: list[float]) -> tuple[float, float]:
    """Median and MAD-based standard deviation."""
    if not values:
        return 0.0, 0.0
    med = statistics.median(values)
    mad = statistics.median(abs(v - med) for v in values)
    return med, 1.4826 * mad


def _fmt_day(d: date) -> str:
    return d.strftime("%d/%m/%Y")


class _Days:
    """Counts of the whole detection range plus its baseline, loaded once."""

    def __init__(self, store: Store, since: date, until: date, settings: TrendSettings):
        self.store, self.settings = store, settings
        self.first = since - timedelta(days=settings.baseline_days)
        lo, hi = self.first.isoformat(), until.isoformat()
        self.totals = store.day_totals(lo, hi)
        self.topic = defaultdict(dict)            # topic → day → (n, negative)
        for r in store.topic_day_counts(lo, hi):
            self.topic[r["topic"]][r["day"]] = (r["n"], r["negative"])
        seen_since = (since - timedelta(days=2)).isoformat()
        self.stream = defaultdict(dict)           # stream → day → (n, negative)
        for r in store.stream_day_counts(seen_since, lo, hi):
            self.stream[r["stream_id"]][r["day"]] = (r["n"], r["negative"])
        self.observations = defaultdict(list)     # stream → observation facts (for spread)
        for r in store.observation_facts((since - timedelta(days=settings.spread_days)).isoformat(), hi):
            self.observations[r["stream_id"]].append(r)
        self._history: dict[date, list[str]] = {}
        start, _ = day_bounds(self.first)
        _, end = day_bounds(until)
        self.outages: dict[str, list[str]] = defaultdict(list)   # day → sources whose every run failed
        for r in store.source_outages(start, end):
            if r["runs"] and r["failed"] == r["runs"]:
                self.outages[r["day"]].append(r["source"])

    def unit_names(self) -> dict[str, str]:
        """Org unit code → its Vietnamese name (a reason names units the way the board does), read once."""
        if not hasattr(self, "_unit_names"):
            self._unit_names = {u["code"]: u["name"] for u in self.store.org_units()}
        return self._unit_names

    def history(self, day: date) -> list[str]:
        """Previous days usable as a baseline: items were collected and no source was down."""
        if day not in self._history:
            self._history[day] = [
                d.isoformat() for d in days_between(day - timedelta(days=self.settings.baseline_days),
                                                    day - timedelta(days=1))
                if self.totals.get(d.isoformat()) and not self.outages.get(d.isoformat())]
        return self._history[day]


def detect(store: Store, since: date, until: date, settings: TrendSettings | None = None) -> list[Flag]:
    """Run every detector over the local days since..until (inclusive); store each story's living flag and return
    the flags raised or updated on those days, most severe first."""
    settings = settings or TrendSettings()
    days = _Days(store, since, until, settings)
    names = topic_names()
    terms = store.watch_terms()
    counts = event_detection.TermCounts(store)
    flags: dict[str, Flag] = {}
    for day in days_between(since, until):
        d = day.isoformat()
        if not days.totals.get(d):
            continue
        history = days.history(day)
        found_events = event_detection.detect_day(store, day, history, days.totals, counts, settings)
        signals = (_event_signals(days, day, found_events)
                   + _topic_bursts(days, day, names) + _stream_bursts(days, day, names) + _new_streams(days, day, names)
                   + _negativity(days, day, names) + _spread(days, day, names) + _watch_terms(days, day, terms))
        for flag in _stories(days, day, signals, found_events, names):
            flags[flag.key] = flag
    out = sorted(flags.values(), key=lambda f: (-f.severity, -f.score, f.key))
    return out


# --- stories: one living flag per event, stream or topic run -------------------------------------------------
def _story_key(days: _Days, signal: Flag, day_events: dict[int, int]) -> str:
    """The story a signal belongs to: its event when most of its items that day are in one, else its stream or topic."""
    if signal.kind == "event":
        return f"event:{signal.event_id}"
    ids = signal.item_ids
    held = Counter(day_events[i] for i in ids if i in day_events)
    if held:
        event_id, n = held.most_common(1)[0]
        if n * 2 >= len(ids):
            return f"event:{event_id}"
    if signal.stream_id is not None:
        return f"stream:{days.store.resolve_stream(signal.stream_id)}"
    if signal.topic:
        d = signal.window_end[:10]
        previous = days.store.latest_topic_flag(signal.topic)
        if previous and previous["window_end"] >= day_bounds(date.fromisoformat(signal.evidence.get("day", d))
                                                              - timedelta(days=2))[0]:
            return previous["key"]
        return f"topic:{signal.topic}:{signal.evidence.get('day', d)}"
    return signal.key


def _event_signals(days: _Days, day: date, found: list[event_detection.Event]) -> list[Flag]:
    """A signal for each event that rose on the day (an event only continued by a few items gives none)."""
    out = []
    d = day.isoformat()
    for ev in found:
        if not ev.rising:
            continue
        n_day = len(ev.day_item_ids)
        usual = max(ev.expected, 0.0)
        keywords = ", ".join(sorted(ev.terms, key=lambda t: (" " not in t, -ev.terms[t]))[:5])   # pairs read best
        reason = (f"Sự kiện «{ev.title}»: {number(n_day)} tin ngày {_fmt_day(day)}, trong khi các từ khóa của nó "
                  f"thường chỉ có khoảng {number(usual, 1)} tin/ngày (từ khóa: {keywords}).")
        start, end = day_bounds(day)
        out.append(Flag("event", f"event:{ev.id}", None, None,
                        round(2 + math.log2(1 + n_day / max(usual, days.settings.event_floor)), 2),
                        start, end, n_day, round(usual, 2), reason, item_ids=list(ev.day_item_ids),
                        evidence={"scope": "event", "day": d, "terms": list(ev.terms)}, event_id=ev.id,
                        title=ev.title))
    return out


def _stories(days: _Days, day: date, signals: list[Flag], found: list[event_detection.Event],
             names: dict[str, str]) -> list[Flag]:
    """Gather the day's signals by story, judge each story and save its one living flag."""
    store, s, d = days.store, days.settings, day.isoformat()
    day_events = {}   # a signal folds into an event that rose today, never into one only carried on by a few items
    for ev in found:
        if ev.rising:
            for i in ev.day_item_ids:
                day_events.setdefault(i, ev.id)
    by_key: dict[str, list[Flag]] = defaultdict(list)
    for signal in signals:
        by_key[_story_key(days, signal, day_events)].append(signal)
    events_by_id = {ev.id: ev for ev in found}
    out = []
    down = days.outages.get(d, [])
    for key, group in by_key.items():
        group.sort(key=lambda f: (KIND_ORDER.index(f.kind) if f.kind in KIND_ORDER else 9, -f.score))
        lead = group[0]
        previous = store.flag_by_key(key)
        facts, event_id = _story_facts(days, key, group, previous, events_by_id)
        if not facts:
            continue
        first_day = min(f["day"] for f in facts)
        growth = _growth(lead)
        # judged on what raised it today (a stream may hold older or looser items than today's signals)
        raised_by = {i for f in group for i in f.item_ids}
        judged = [f for f in facts if f["item_id"] in raised_by] or facts
        relevance = _relevance(store, [f["item_id"] for f in judged[-500:]])
        verdict = judge(judged, relevance, growth, s)
        if not verdict.raise_flag and previous is None:
            continue
        per_day = Counter(f["day"] for f in facts)
        trend = _trend(per_day, day)
        item_ids = [f["item_id"] for f in facts][-STORY_ITEMS:]
        start, _ = day_bounds(date.fromisoformat(first_day))
        _, end = day_bounds(day)
        if previous is not None:
            start = min(start, previous["window_start"])
            end = max(end, previous["window_end"])
        title = _story_title(store, key, group, judged, events_by_id, names, relevance)
        stream_id = next((f.stream_id for f in group if f.stream_id is not None), None)
        if stream_id is None and key.startswith("stream:"):
            stream_id = int(key.split(":")[1])
        topic = lead.topic or Counter(f["topic"] for f in facts).most_common(1)[0][0]
        said = list(dict.fromkeys(f.reason for f in group))   # two streams' identical hits are said once
        reasons = said[:4]
        active = len(per_day)
        reasons.append(f"Câu chuyện có {number(len(facts))} tin trong {number(active)} ngày, {TREND_NAMES[trend]}.")
        flag = Flag(lead.kind, key, stream_id, topic, round(max(f.score for f in group), 2), start, end, len(facts),
                    lead.baseline, " ".join(reasons), item_ids=item_ids,
                    evidence={**lead.evidence, "signals": [{"kind": f.kind, "reason": r} for r, f in
                                                           {f.reason: f for f in reversed(group)}.items()][::-1]},
                    title=title, severity=verdict.severity, severity_parts=verdict.parts,
                    relevance=verdict.relevance, event_id=event_id, trend=TREND_NAMES[trend], days_active=active,
                    last_seen=d, signals=group)
        if down:
            flag.degraded = True
            flag.evidence["sources_down"] = sorted(down)
            flag.reason += f" Lưu ý: ngày này nguồn {', '.join(sorted(down))} bị lỗi, số liệu có thể thiếu."
        _add_evidence(days, flag, day, names, facts)
        flag.evidence.update({"severity_parts": verdict.parts, "severity_names": PART_NAMES,
                              "relevance": verdict.relevance, "trend": flag.trend, "days_active": active,
                              "last_seen": d, "title": title, "event_id": event_id, "raised": verdict.raise_flag})
        flag.id, _ = store.save_story_flag(flag.to_row(), s.reopen_factor)
        row = store.flag(flag.id) or {}
        flag.status = row.get("status", "open")
        out.append(flag)
    return out


def _story_facts(days: _Days, key: str, group: list[Flag], previous: dict | None,
                 events_by_id: dict[int, event_detection.Event]) -> tuple[list[dict], int | None]:
    """Every item of a story so far, with its facts, oldest first (an event's members, a stream's items, a topic's
    flagged items of every day of its run)."""
    store = days.store
    if key.startswith("event:"):
        event_id = int(key.split(":")[1])
        ev = events_by_id.get(event_id)
        return (ev.facts if ev is not None else store.event_items(event_id)), event_id
    if key.startswith("stream:"):
        stream_id = int(key.split(":")[1])
        ids = store.stream_item_ids(stream_id)
    else:
        ids = sorted(set((previous or {}).get("item_ids") or []) | {i for f in group for i in f.item_ids})
    facts = store.item_facts(ids[-STORY_ITEMS:])
    facts.sort(key=lambda f: (f["day"], f["item_id"]))
    return facts, None


def _relevance(store: Store, item_ids: list[int]) -> dict[int, dict]:
    """Stored relevance of items (nlp/relevance.py, computed when they were processed); missing ones are read off
    their topic by the severity module."""
    lookup = getattr(store, "relevance_of", None)
    return lookup(item_ids) if lookup is not None and item_ids else {}


def _growth(signal: Flag) -> float:
    """How many times its usual level the story's strongest signal is."""
    if signal.kind in ("spread", "watch_term"):
        return 2.0
    return signal.count / max(signal.baseline, 1.0)


def _trend(per_day: Counter, day: date) -> str:
    """Up, flat or down: the story's last three days against the three before."""
    recent = sum(per_day.get((day - timedelta(days=i)).isoformat(), 0) for i in range(3))
    before = sum(per_day.get((day - timedelta(days=i)).isoformat(), 0) for i in range(3, 6))
    today = per_day.get(day.isoformat(), 0)
    yesterday = per_day.get((day - timedelta(days=1)).isoformat(), 0)
    if before == 0 or recent > 1.3 * before:
        return "up" if today >= yesterday or before == 0 else "flat"
    if recent < 0.7 * before:
        return "down"
    return "flat"


def _story_title(store: Store, key: str, group: list[Flag], facts: list[dict],
                 events_by_id: dict[int, event_detection.Event], names: dict[str, str],
                 relevance: dict[int, dict] | None = None) -> str:
    """The story's representative headline: the event's, or the title of the story most repeated among its items
    about workers (sports, markets and the like only when there is nothing else)."""
    for f in group:
        if f.title:
            return f.title
    if key.startswith("event:"):
        ev = events_by_id.get(int(key.split(":")[1]))
        if ev is not None and ev.title:
            return ev.title
    relevance = relevance or {}
    stories = Counter(f["story_id"] for f in facts)

    def rank(story_id: int) -> tuple:
        r = relevance.get(story_id) or {}
        return (0 if r.get("excluded") else 1, round(float(r.get("workers") or 0.0), 1), stories[story_id])

    for story_id in sorted(stories, key=rank, reverse=True)[:3]:
        row = store.item(story_id)
        if row and (row.get("title") or row.get("text")):
            return (row.get("title") or row["text"][:120]).strip()
    topic = group[0].topic
    return f"Chủ đề «{names.get(topic, topic)}»" if topic else "Câu chuyện"


# --- detectors ---------------------------------------------------------------------------------------
def _topic_bursts(days: _Days, day: date, names: dict[str, str]) -> list[Flag]:
    s, d = days.settings, day.isoformat()
    history = days.history(day)
    if len(history) < s.min_history_days:
        return []
    total = days.totals[d]
    usual_total = statistics.median(days.totals[h] for h in history)
    out = []
    for topic, per_day in days.topic.items():
        if topic in s.ignore_topics or d not in per_day:
            continue
        count = per_day[d][0]
        if count < s.min_count:
            continue
        shares = [per_day.get(h, (0, 0))[0] / days.totals[h] for h in history]
        med, sd = _robust(shares)
        share = count / total
        p = max(med, 1.0 / usual_total)
        sd = max(sd, math.sqrt(p * (1 - p) / total))
        z = (share - med) / sd if sd else 0.0
        usual_count = med * usual_total
        if z < s.burst_z or count < s.burst_ratio * max(usual_count, 1.0):
            continue
        name = names.get(topic, topic)
        reason = (f"Chủ đề «{name}» có {number(count)} tin ngày {_fmt_day(day)} ({percent(share)} tổng số tin), cao "
                  f"hơn hẳn mức thường ngày (khoảng {number(usual_count, 1)} tin, {percent(med)} tổng số tin, trong "
                  f"{len(history)} ngày trước).")
        start, end = day_bounds(day)
        out.append(Flag("burst", f"burst:topic:{topic}:{d}", None, topic, round(z, 2), start, end, count,
                        round(usual_count, 2), reason, item_ids=days.store.topic_items(topic, d),
                        evidence={"scope": "topic", "day": d, "share": round(share, 4),
                                  "baseline_share": round(med, 4)}))
    return out


def _stream_bursts(days: _Days, day: date, names: dict[str, str]) -> list[Flag]:
    """A stream that already lived some days and now grows well past its own daily level."""
    s, d = days.settings, day.isoformat()
    out = []
    for stream_id, per_day in days.stream.items():
        if d not in per_day or per_day[d][0] < max(s.min_count, s.stream_min_count):
            continue
        born = min(per_day)
        if born >= d:
            continue
        history = [h for h in days.history(day) if h >= born]
        if len(history) < 2:
            continue
        count = per_day[d][0]
        counts = [per_day.get(h, (0, 0))[0] for h in history]
        med, _ = _robust([float(c) for c in counts])
        usual_total = statistics.median(days.totals[h] for h in history)
        share_ratio = (count / days.totals[d]) / (max(med, 1.0) / usual_total)
        if count < s.stream_burst_ratio * max(med, 1.0) or share_ratio < s.stream_burst_ratio:
            continue
        topic, named = _stream_named(days, stream_id, names)
        reason = (f"Luồng {named} có {number(count)} tin ngày "
                  f"{_fmt_day(day)}, gấp {number(count / max(med, 1.0), 1)} lần mức thường ngày của luồng "
                  f"({number(med, 1)} tin/ngày trong {len(history)} ngày trước).")
        start, end = day_bounds(day)
        out.append(Flag("burst", f"burst:stream:{stream_id}:{d}", stream_id, topic,
                        round(math.log2(share_ratio) * 2, 2), start, end, count, med, reason,
                        item_ids=days.store.stream_item_ids(stream_id, d), evidence={"scope": "stream"}))
    return out


def _new_streams(days: _Days, day: date, names: dict[str, str]) -> list[Flag]:
    """A stream born within the last 48 hours with at least N items; how many independent sources is said (and
    weighed in the severity), never required: one outlet can break a story."""
    s = days.settings
    window_first = day - timedelta(days=1)
    out = []
    for stream_id, per_day in days.stream.items():
        if day.isoformat() not in per_day:
            continue
        born = min(per_day)
        if born < window_first.isoformat():
            continue
        facts = days.store.stream_window_facts(stream_id, window_first.isoformat(), day.isoformat())
        independent = independent_voices(facts)
        if len(facts) < s.new_min_items or len(independent) < s.new_min_sources:
            continue
        topic, named = _stream_named(days, stream_id, names)
        reason = (f"Luồng mới {named}: {number(len(facts))} tin "
                  f"từ {len(independent)} nguồn độc lập trong 48 giờ tính đến hết ngày {_fmt_day(day)}.")
        start, _ = day_bounds(window_first)
        _, end = day_bounds(day)
        score = round(2 + math.log2(len(facts)) + len(independent) / 2, 2)
        out.append(Flag("new_stream", f"new_stream:{stream_id}", stream_id, topic, score, start, end, len(facts),
                        0.0, reason, item_ids=sorted(f["item_id"] for f in facts),
                        evidence={"scope": "stream", "independent_sources": sorted(independent)}))
    return out


def _stream_named(days: _Days, stream_id: int, names: dict[str, str]) -> tuple[str | None, str]:
    """A stream's topic, and how a reason names it: «label» (topic name)."""
    stream = days.store.stream(stream_id) or {}
    topic = stream.get("topic")
    return topic, f"«{stream.get('label') or stream_id}» ({names.get(topic, topic)})"


def _negativity(days: _Days, day: date, names: dict[str, str]) -> list[Flag]:
    s, d = days.settings, day.isoformat()
    history = days.history(day)
    out = []
    scopes = [("topic", t, per_day) for t, per_day in days.topic.items() if t not in s.ignore_topics]
    scopes += [("stream", sid, per_day) for sid, per_day in days.stream.items()]
    for scope, key, per_day in scopes:
        if d not in per_day:
            continue
        n, neg = per_day[d]
        if n < s.negative_min_count:
            continue
        base_n = sum(per_day.get(h, (0, 0))[0] for h in history)
        base_neg = sum(per_day.get(h, (0, 0))[1] for h in history)
        if base_n < s.negative_min_count:
            continue
        p0, p = base_neg / base_n, neg / n
        sd = math.sqrt(max(p0 * (1 - p0), 0.05 * 0.95) / n)
        z = (p - p0) / sd
        if p - p0 < s.negative_min_rise or z < s.burst_z:
            continue
        if scope == "topic":
            topic, stream_id, what = key, None, f"chủ đề «{names.get(key, key)}»"
            item_ids = days.store.topic_items(key, d)
        else:
            stream = days.store.stream(key) or {}
            topic, stream_id = stream.get("topic"), key
            what = f"luồng «{stream.get('label') or key}»"
            item_ids = days.store.stream_item_ids(key, d)
        reason = (f"Tỷ lệ ý kiến tiêu cực về {what} ngày {_fmt_day(day)} là {percent(p)} ({neg}/{n} tin), "
                  f"cao hơn rõ rệt mức thường ngày {percent(p0)}.")
        start, end = day_bounds(day)
        out.append(Flag("negativity", f"negativity:{scope}:{key}:{d}", stream_id, topic, round(z, 2), start, end,
                        n, round(p0, 4), reason, item_ids=item_ids,
                        evidence={"scope": scope, "day": d, "negative_share": round(p, 4),
                                  "baseline_share": round(p0, 4)}))
    return out


def _spread(days: _Days, day: date, names: dict[str, str]) -> list[Flag]:
    """A stream reported by collaborators of several org units within the spread window."""
    s = days.settings
    first = day - timedelta(days=s.spread_days - 1)
    out = []
    lo, hi = first.isoformat(), day.isoformat()
    for stream_id, observations in days.observations.items():
        facts = [f for f in observations if lo <= f["day"] <= hi]
        if not any(f["day"] == hi for f in facts):
            continue
        units = sorted({f["org_unit"] for f in facts})
        if len(units) < s.spread_min_units:
            continue
        topic, named = _stream_named(days, stream_id, names)
        unit_names = days.unit_names()
        reason = (f"Luồng {named} được cộng tác viên của "
                  f"{len(units)} đơn vị phản ánh trong {s.spread_days} ngày tính đến {_fmt_day(day)}: "
                  f"{', '.join(unit_names.get(u, u) for u in units)}.")
        start, _ = day_bounds(first)
        _, end = day_bounds(day)
        out.append(Flag("spread", f"spread:{stream_id}:{len(units)}", stream_id, topic,
                        round(2 + len(units), 2), start, end, len(facts), 0.0, reason,
                        item_ids=sorted(f["item_id"] for f in facts), evidence={"scope": "stream"}))
    return out


def _watch_terms(days: _Days, day: date, terms: list[dict]) -> list[Flag]:
    """A signal for each story where a watched term appears in an item about workers; hits on other items (a club's
    «nợ lương», a place called «Định Công») stay listed on the term's page and raise nothing."""
    d = day.isoformat()
    if not terms:
        return []
    by_story: dict[tuple[int, int], list] = defaultdict(list)
    names = {}
    for hit in _hits(days.store, d):
        if hit["relevant"]:
            by_story[(hit["term_id"], hit["stream_id"])].append(hit)
            names[hit["term_id"]] = hit["term"]
    out = []
    start, end = day_bounds(day)
    for (term_id, stream_id), hits in by_story.items():
        topics = Counter(h["topic"] for h in hits)
        reason = (f"Có {number(len(hits))} tin về người lao động nhắc đến «{names[term_id]}» ngày {_fmt_day(day)} "
                  f"(từ khóa Ban theo dõi).")
        out.append(Flag("watch_term", f"watch_term:{term_id}:{stream_id}:{d}", stream_id,
                        topics.most_common(1)[0][0], round(5 + len(hits), 2), start, end, len(hits), 0.0, reason,
                        item_ids=[h["item_id"] for h in hits],
                        evidence={"scope": "watch_term", "term": names[term_id], "day": d}))
    return out


def _hits(store: Store, d: str) -> list[dict]:
    """The day's watch-term hits (service/watch.py: diacritics-exact, excluded contexts, relevance)."""
    from service.watch import watch_hits

    return [vars(h) for h in watch_hits(store, d, d)]


# --- evidence ----------------------------------------------------------------------------------------
def _add_evidence(days: _Days, flag: Flag, day: date, names: dict[str, str], facts: list[dict]) -> None:
    """What a reviewer needs to judge the flag: the story's timeline, who said it, where, in what mood, and examples."""
    store = days.store
    chosen = facts[-EVIDENCE_ITEMS:]
    timeline_days = days_between(day - timedelta(days=days.settings.baseline_days), day)
    if flag.evidence.get("scope") == "topic" and not flag.key.startswith(("event:", "stream:")):
        per_day = {d: n for d, (n, _) in days.topic.get(flag.topic, {}).items()}
    else:
        per_day = Counter(f["day"] for f in facts)
    timeline = [{"day": x.isoformat(), "count": per_day.get(x.isoformat(), 0),
                 "total": days.totals.get(x.isoformat(), 0)} for x in timeline_days]
    stories: dict[int, list[dict]] = defaultdict(list)
    for c in chosen:
        stories[c["story_id"]].append(c)
    representative = [group[0]["item_id"] for group in sorted(stories.values(), key=len, reverse=True)[:5]]
    flag.keyphrases = _top_keyphrases(store, flag.item_ids[-500:])
    flag.evidence.update({
        "timeline": timeline,
        "sources": dict(Counter(c["source"] for c in chosen).most_common()),
        "units": dict(Counter(c["org_unit"] for c in chosen if c["org_unit"]).most_common()),
        "sentiment": dict(Counter(c["sentiment"] for c in chosen)),
        "stories": len(stories),
        "representative": representative,
        "earliest": [c["item_id"] for c in facts[:3]],
        "topic_name": names.get(flag.topic or "", flag.topic or ""),
    })


def _top_keyphrases(store: Store, item_ids: list[int], k: int = 8) -> list[str]:
    counter: Counter[str] = Counter()
    for phrases in store.item_keyphrases_any(item_ids[:500]):
        counter.update(set(phrases))
    return [phrase for phrase, _ in counter.most_common(k)]
