"""Trend detection: which opinion streams are new, growing, spreading or turning negative — and why.

Detectors, each over local days (Asia/Ho_Chi_Minh), each giving flags with a reason in plain Vietnamese and the
evidence behind it:
- burst: a topic's or a stream's count against its own baseline (median and MAD of the previous days, the count taken
  as a share of all items that day, so a collector outage or a busy news day is not a trend; plus a minimum count and
  a minimum rise of the raw count);
- new_stream: a stream born in the last 48 hours with enough items from enough independent sources;
- negativity: the negative share of a topic or stream well above its baseline;
- spread: one stream reported by collaborators of several org units;
- watch_term: an item containing a term the board watches, matched without regard to diacritics.
A flag is stored under a key, so detecting the same days again updates it and never duplicates it.
"""
from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from service.config import TrendSettings
from service.store import Store
from service.timeutil import day_bounds, days_between

EVIDENCE_ITEMS = 500   # items read to describe a flag (sources, units, sentiment, examples)
JSON_KEYS = ("id", "kind", "stream_id", "topic", "score", "window_start", "window_end", "keyphrases", "count",
             "baseline", "reason", "item_ids")


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

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in JSON_KEYS}

    def to_row(self) -> dict:
        return dict(vars(self))


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

    def history(self, day: date) -> list[str]:
        """Previous days usable as a baseline: items were collected and no source was down."""
        if day not in self._history:
            self._history[day] = [
                d.isoformat() for d in days_between(day - timedelta(days=self.settings.baseline_days),
                                                    day - timedelta(days=1))
                if self.totals.get(d.isoformat()) and not self.outages.get(d.isoformat())]
        return self._history[day]


def detect(store: Store, since: date, until: date, settings: TrendSettings | None = None) -> list[Flag]:
    """Run every detector over the local days since..until (inclusive); store the flags and return them."""
    settings = settings or TrendSettings()
    days = _Days(store, since, until, settings)
    names = topic_names()
    terms = store.watch_terms()
    flags: list[Flag] = []
    for day in days_between(since, until):
        d = day.isoformat()
        if not days.totals.get(d):
            continue
        found = (_topic_bursts(days, day, names) + _stream_bursts(days, day, names) + _new_streams(days, day, names)
                 + _negativity(days, day, names) + _spread(days, day, names) + _watch_terms(days, day, terms))
        down = days.outages.get(d, [])
        for flag in found:
            if down:
                flag.degraded = True
                flag.evidence["sources_down"] = sorted(down)
                flag.reason += f" Lưu ý: ngày này nguồn {', '.join(sorted(down))} bị lỗi, số liệu có thể thiếu."
            _add_evidence(days, flag, day, names)
            flag.id = store.upsert_flag({**flag.to_row()})
        flags.extend(found)
    flags.sort(key=lambda f: (-f.score, f.window_start, f.key))
    return flags


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
        reason = (f"Chủ đề «{name}» có {count} tin ngày {_fmt_day(day)} ({share:.0%} tổng số tin), cao hơn hẳn mức "
                  f"thường ngày (khoảng {usual_count:.1f} tin, {med:.0%} tổng số tin, trong {len(history)} ngày trước).")
        start, end = day_bounds(day)
        out.append(Flag("burst", f"burst:topic:{topic}:{d}", None, topic, round(z, 2), start, end, count,
                        round(usual_count, 2), reason, item_ids=days.store.topic_items(topic, d),
                        evidence={"scope": "topic", "share": round(share, 4), "baseline_share": round(med, 4)}))
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
        reason = (f"Luồng {named} có {count} tin ngày "
                  f"{_fmt_day(day)}, gấp {count / max(med, 1.0):.1f} lần mức thường ngày của luồng "
                  f"({med:g} tin/ngày trong {len(history)} ngày trước).")
        start, end = day_bounds(day)
        out.append(Flag("burst", f"burst:stream:{stream_id}:{d}", stream_id, topic,
                        round(math.log2(share_ratio) * 2, 2), start, end, count, med, reason,
                        item_ids=days.store.stream_item_ids(stream_id, d), evidence={"scope": "stream"}))
    return out


def _new_streams(days: _Days, day: date, names: dict[str, str]) -> list[Flag]:
    """A stream born within the last 48 hours with at least N items from at least K independent sources."""
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
        independent = _independent_voices(facts)
        if len(facts) < s.new_min_items or len(independent) < s.new_min_sources:
            continue
        topic, named = _stream_named(days, stream_id, names)
        reason = (f"Luồng mới {named}: {len(facts)} tin "
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


def _independent_voices(facts: list[dict]) -> set[str]:
    """Who independently said it: the source of each distinct story (a syndicated copy is not a new voice);
    for collaborators' observations, each org unit or collaborator counts."""
    voices = set()
    for f in facts:
        if f["kind"] == "observation":
            voices.add(f"unit:{f['org_unit'] or f['source']}")
        elif f["item_id"] == f["story_id"]:
            voices.add(f["source"])
    return voices


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
        reason = (f"Tỷ lệ ý kiến tiêu cực về {what} ngày {_fmt_day(day)} là {p:.0%} ({neg}/{n} tin), "
                  f"cao hơn rõ rệt mức thường ngày {p0:.0%}.")
        start, end = day_bounds(day)
        out.append(Flag("negativity", f"negativity:{scope}:{key}:{d}", stream_id, topic, round(z, 2), start, end,
                        n, round(p0, 4), reason, item_ids=item_ids,
                        evidence={"scope": scope, "negative_share": round(p, 4), "baseline_share": round(p0, 4)}))
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
        reason = (f"Luồng {named} được cộng tác viên của "
                  f"{len(units)} đơn vị phản ánh trong {s.spread_days} ngày tính đến {_fmt_day(day)}: "
                  f"{', '.join(units)}.")
        start, _ = day_bounds(first)
        _, end = day_bounds(day)
        out.append(Flag("spread", f"spread:{stream_id}:{len(units)}", stream_id, topic,
                        round(2 + len(units), 2), start, end, len(facts), 0.0, reason,
                        item_ids=sorted(f["item_id"] for f in facts), evidence={"scope": "stream"}))
    return out


def _watch_terms(days: _Days, day: date, terms: list[dict]) -> list[Flag]:
    d = day.isoformat()
    out = []
    for term in terms:
        hits = days.store.items_matching(term["folded"], d, d)
        if not hits:
            continue
        topics = Counter(h["topic"] for h in hits)
        reason = f"Có {len(hits)} tin nhắc đến «{term['term']}» ngày {_fmt_day(day)} (từ khóa Ban theo dõi)."
        start, end = day_bounds(day)
        streams = Counter(h["stream_id"] for h in hits)
        out.append(Flag("watch_term", f"watch_term:{term['id']}:{d}", streams.most_common(1)[0][0],
                        topics.most_common(1)[0][0], round(5 + len(hits), 2), start, end, len(hits), 0.0, reason,
                        item_ids=[h["item_id"] for h in hits], evidence={"scope": "watch_term", "term": term["term"]}))
    return out


# --- evidence ----------------------------------------------------------------------------------------
def _add_evidence(days: _Days, flag: Flag, day: date, names: dict[str, str]) -> None:
    """What a reviewer needs to judge the flag: the timeline, who said it, where, in what mood, and examples."""
    store = days.store
    chosen = store.item_facts(flag.item_ids[:EVIDENCE_ITEMS])
    timeline_days = days_between(day - timedelta(days=days.settings.baseline_days), day)
    if flag.evidence.get("scope") == "topic":
        per_day = {d: n for d, (n, _) in days.topic.get(flag.topic, {}).items()}
    elif flag.stream_id in days.stream:
        per_day = {d: n for d, (n, _) in days.stream[flag.stream_id].items()}
    else:
        per_day = Counter(c["day"] for c in chosen)
    timeline = [{"day": x.isoformat(), "count": per_day.get(x.isoformat(), 0),
                 "total": days.totals.get(x.isoformat(), 0)} for x in timeline_days]
    stories: dict[int, list[dict]] = defaultdict(list)
    for c in chosen:
        stories[c["story_id"]].append(c)
    representative = [group[0]["item_id"] for group in sorted(stories.values(), key=len, reverse=True)[:5]]
    flag.keyphrases = _top_keyphrases(store, flag.item_ids)
    flag.evidence.update({
        "timeline": timeline,
        "sources": dict(Counter(c["source"] for c in chosen).most_common()),
        "units": dict(Counter(c["org_unit"] for c in chosen if c["org_unit"]).most_common()),
        "sentiment": dict(Counter(c["sentiment"] for c in chosen)),
        "stories": len(stories),
        "representative": representative,
        "topic_name": names.get(flag.topic or "", flag.topic or ""),
    })


def _top_keyphrases(store: Store, item_ids: list[int], k: int = 8) -> list[str]:
    counter: Counter[str] = Counter()
    for phrases in store.item_keyphrases_any(item_ids[:500]):
        counter.update(set(phrases))
    return [phrase for phrase, _ in counter.most_common(k)]
