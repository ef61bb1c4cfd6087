"""Events: what one outlet or many report in many wordings, found by terms that rise together.

For each local day, the event terms of every placed item (nlp/terms.py: syllables and syllable pairs of the title and
lead) are counted; a term is *bursty* when its number of items that day is well above what its own baseline share of
the previous days predicts (Poisson, with a floor for terms never seen). Bursty terms whose items overlap are grouped
into one candidate; a candidate that shares terms or items with an event alive in the last days continues it, otherwise
it starts a new event. An event keeps its core terms, so later days' items that carry them join it even when the day is
no longer bursty — that is how an event is seen growing, levelling off or cooling down.

Nothing here depends on the number of sources: a disaster told by one national outlet in twelve different headlines is
an event. Corroboration (independent sources, collaborators' units) is weighed later, in the severity of its flag.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from nlp.terms import event_terms, headline
from service.config import TrendSettings
from service.store import Store

TERMS_VERSION = 2   # bump when nlp/terms.py or what it reads changes: stored day counts are then counted again


@dataclass
class Event:
    """An event as seen on one day: its id, its core terms (term → burst strength), its items and that day's part."""

    id: int
    first_day: str
    last_day: str
    terms: dict[str, float]
    title: str
    item_ids: list[int]
    day_item_ids: list[int]
    rising: bool
    expected: float = 0.0        # items a day its terms would usually bring
    new: bool = False
    facts: list[dict] = field(default_factory=list)


class TermCounts:
    """Per-day document frequencies of event terms, kept in the store so a baseline is read, not recomputed."""

    def __init__(self, store: Store):
        self.store = store
        self.terms_of: dict[int, set[str]] = {}

    def items_terms(self, rows: list[dict]) -> dict[int, set[str]]:
        for r in rows:
            if r["item_id"] not in self.terms_of:
                self.terms_of[r["item_id"]] = event_terms(headline(r.get("title") or "", r.get("text") or ""))
        return {r["item_id"]: self.terms_of[r["item_id"]] for r in rows}

    def ensure(self, days: list[str], totals: dict[str, int]) -> None:
        """Count the terms of each day that is not stored yet or has gained items since it was counted."""
        if not days:
            return
        stored = self.store.term_days(min(days), max(days), TERMS_VERSION)
        stale = [d for d in days if totals.get(d) and stored.get(d) != totals.get(d)]
        for d in stale:
            rows = self.store.placed_texts(d, d)
            counts: Counter[str] = Counter()
            for terms in self.items_terms(rows).values():
                counts.update(terms)
            self.store.save_term_day(d, len(rows), counts, TERMS_VERSION)


def bursty_terms(day_terms: dict[int, set[str]], total: int, base_df: dict[str, int], base_total: int,
                 settings: TrendSettings) -> dict[str, tuple[int, float, float]]:
    """term → (items that day, expected items, burst strength) for the terms that rise well past their baseline."""
    counts: Counter[str] = Counter()
    for terms in day_terms.values():
        counts.update(terms)
    out = {}
    for term, n in counts.items():
        if n < settings.event_min_items:
            continue
        expected = total * (base_df.get(term, 0) + 0.5) / (base_total + 1.0) if base_total else 0.0
        floor = max(expected, settings.event_floor)
        if n < settings.event_ratio * floor:
            continue
        z = (n - expected) / math.sqrt(floor)
        if z < settings.event_z:
            continue
        out[term] = (n, expected, z)
    return out


def group_terms(bursty: dict[str, tuple[int, float, float]], day_terms: dict[int, set[str]],
                min_share: float = 0.25, strong_z: float = 6.0, strong_ratio: float = 4.0,
                joinable: set[int] = frozenset(),
                kind_of: dict[int, str | None] | None = None) -> list[tuple[dict[str, float], set[int]]]:
    """The day's items that carry bursty terms, grouped: two items are one happening when they share a bursty pair
    term (`sạt lở`), two bursty terms, or one syllable that is far above its baseline (z ≥ `strong_z` and `strong_ratio`
    × its expected count); an ordinary shared syllable (`lương`) does not tie two stories together.
    Each group comes with its core terms (those carried by a fair share of its items), strongest first."""
    kind_of = kind_of or {}
    carriers = {i: terms & bursty.keys() for i, terms in day_terms.items()}
    carriers = {i: t for i, t in carriers.items() if t}
    parent = {i: i for i in carriers}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_term: dict[str, list[int]] = defaultdict(list)
    for i, terms in carriers.items():
        for t in terms:
            by_term[t].append(i)
    def tie(items: list[int]) -> None:   # items tie only within their kind of news (sports never joins a strike)
        first: dict[str, int] = {}
        for i in items:
            key = kind_of.get(i) or ""
            if key in first:
                parent[root(i)] = root(first[key])
            else:
                first[key] = i

    for t, items in by_term.items():
        if " " in t:   # a pair term ties all its items
            tie(items)
    for t, items in by_term.items():   # a single syllable far above its baseline («lũ» on a day of floods) ties the
        # items of topics told in many words (disasters); elsewhere two stories share a word without being one
        items = [i for i in items if i in joinable]
        if " " not in t and bursty[t][2] >= strong_z and bursty[t][0] >= strong_ratio * max(bursty[t][1], 1.0):
            tie(items)
    singles = sorted(t for t in by_term if " " not in t)
    for i, terms in carriers.items():
        mine = [t for t in singles if t in terms]
        if len(mine) < 2:
            continue
        for j in set(by_term[mine[0]]).intersection(*(by_term[t] for t in mine[1:2])):
            if j != i and (kind_of.get(i) or "") == (kind_of.get(j) or ""):
                parent[root(j)] = root(i)
    groups: dict[int, set[int]] = defaultdict(set)
    for i in carriers:
        groups[root(i)].add(i)
    out = []
    for items in groups.values():
        counts = Counter(t for i in items for t in carriers[i])
        core = {t: round(bursty[t][2], 2) for t, n in counts.items() if n >= max(2, min_share * len(items))}
        if not core:
            core = {t: round(bursty[t][2], 2) for t in counts}
        out.append((core, items))
    out.sort(key=lambda g: (-len(g[1]), -max(g[0].values())))
    return out


def _join_by_topic(groups: list[tuple[dict[str, float], set[int]]], facts: dict[int, dict],
                   settings: TrendSettings) -> list[tuple[dict[str, float], set[int]]]:
    """Groups of one day whose items are mostly of one topic where a happening is told in many words (disasters:
    «sạt lở» and «mưa lũ» on a day of floods) are one event; other topics never join (two wage stories stay two)."""
    out: list[tuple[dict[str, float], set[int]]] = []
    by_topic: dict[str, int] = {}
    for core, items in groups:
        topics = Counter(facts[i]["topic"] for i in items)
        topic, n = topics.most_common(1)[0]
        if topic not in settings.event_join_topics or n < 0.6 * len(items):
            out.append((dict(core), set(items)))
            continue
        if topic in by_topic:
            merged_core, merged_items = out[by_topic[topic]]
            for t, z in core.items():
                merged_core[t] = max(merged_core.get(t, 0.0), z)
            merged_items |= items
        else:
            by_topic[topic] = len(out)
            out.append((dict(core), set(items)))
    return out


def _carries(terms: set[str], core: dict[str, float], top: int = 8) -> bool:
    """An item continues an event when it carries two of its strongest terms, one of them among its three strongest
    pairs (a generic pair such as «công ty» low in the list carries nothing)."""
    strongest = dict(sorted(core.items(), key=lambda kv: -kv[1])[:top])
    pairs = [t for t, _ in sorted(core.items(), key=lambda kv: -kv[1]) if " " in t][:3]
    hits = terms & strongest.keys()
    return len(hits) >= 2 and any(t in terms for t in pairs)


def _title(rows: list[dict], core: dict[str, float], terms_of: dict[int, set[str]],
           excluded: dict[int, str | None] | None = None) -> str:
    """The headline that carries most of the event's strength, from an item that is not sports, markets or the like
    when there is one (ties: the earliest)."""
    excluded = excluded or {}
    best, best_score = "", (-1, -1.0)
    for r in rows:
        score = (0 if excluded.get(r["item_id"]) else 1, sum(core.get(t, 0.0) for t in terms_of.get(r["item_id"], ())))
        if (r.get("title") or "") and score > best_score:
            best, best_score = r["title"], score
    return best


def detect_day(store: Store, day: date, history: list[str], totals: dict[str, int], counts: TermCounts,
               settings: TrendSettings) -> list[Event]:
    """Find the day's events (new or continued) and store them; returns each event touched on that day."""
    d = day.isoformat()
    if len(history) < settings.min_history_days:
        return []   # without a baseline every common word would look like a burst
    rows = store.placed_texts(d, d)
    if not rows:
        return []
    facts = {r["item_id"]: r for r in rows}
    day_terms = counts.items_terms(rows)
    counts.ensure(history, totals)
    base_total = sum(totals.get(h, 0) for h in history)
    day_counts: Counter[str] = Counter()
    for terms in day_terms.values():
        day_counts.update(terms)
    candidates = [t for t, n in day_counts.items() if n >= settings.event_min_items]
    base_df = store.term_df_sums(candidates, history)
    bursty = bursty_terms(day_terms, len(rows), base_df, base_total, settings)
    joinable = {i for i, f in facts.items() if f["topic"] in settings.event_join_topics}
    relevance = store.relevance_of(list(facts))
    kind_of = {i: (r.get("excluded") if f["kind"] != "observation" else None)
               for i, f in facts.items() if (r := relevance.get(i))}
    groups = _join_by_topic(group_terms(bursty, day_terms, joinable=joinable, kind_of=kind_of), facts, settings)

    link_from = (day - timedelta(days=settings.event_link_days)).isoformat()
    alive = store.events_between(link_from, d)
    touched: dict[int, Event] = {}
    already = store.events_of_items(list(facts))   # a day detected again finds its events by their items
    for core, items in groups:
        stories = {facts[i]["story_id"] for i in items}
        if len(stories) < settings.event_min_items:
            continue
        held = Counter(already[i] for i in items if i in already)
        match = None
        if held:
            match = next((ev for ev in alive if ev["id"] == held.most_common(1)[0][0]), None)
        for ev in ([] if match else alive):
            shared = core.keys() & ev["terms"].keys()
            overlap = len(shared) / max(1, min(len(core), len(ev["terms"])))
            if len(shared) >= 2 and overlap >= 0.34 and any(" " in t for t in shared):
                match = ev
                break
        expected = max(bursty[t][1] for t in core)
        if match is None:
            terms = dict(sorted(core.items(), key=lambda kv: -kv[1])[:settings.event_max_terms])
            title = _title([facts[i] for i in items], terms, day_terms, kind_of)
            event_id = store.save_event(None, first_day=d, last_day=d, terms=terms, title=title,
                                        items=[(i, d) for i in sorted(items)])
            ev = {"id": event_id, "first_day": d, "last_day": d, "terms": terms, "title": title}
            alive.append(ev)
            touched[event_id] = Event(event_id, d, d, terms, title, [], sorted(items), True, expected, new=True)
        else:
            merged = dict(match["terms"])
            for t, z in core.items():
                merged[t] = max(merged.get(t, 0.0), z)
            merged = dict(sorted(merged.items(), key=lambda kv: -kv[1])[:settings.event_max_terms])
            match["terms"] = merged
            previous = touched.get(match["id"])
            day_items = sorted(items | set(previous.day_item_ids if previous else ()))
            touched[match["id"]] = Event(match["id"], min(match["first_day"], d), max(match["last_day"], d), merged,
                                         match["title"], [], day_items, True,
                                         max(expected, previous.expected if previous else 0.0))
    # events alive but not bursty today still gather the day's items that carry their terms
    for ev in alive:
        if ev["id"] in touched or ev["first_day"] > d:
            continue
        carried = sorted(i for i, terms in day_terms.items() if _carries(terms, ev["terms"]))
        if len(carried) >= 2:   # one stray item does not keep an event alive
            touched[ev["id"]] = Event(ev["id"], min(ev["first_day"], d), max(ev["last_day"], d), ev["terms"],
                                      ev["title"], [], carried, False)
    for ev in touched.values():
        if ev.rising:   # a rising event also takes the day's items that carry its terms without being bursty
            ev.day_item_ids = sorted(set(ev.day_item_ids) | {i for i, terms in day_terms.items()
                                                             if _carries(terms, ev.terms)})
        title = ev.title or _title([facts[i] for i in ev.day_item_ids], ev.terms, day_terms, kind_of)
        store.save_event(ev.id, first_day=ev.first_day, last_day=ev.last_day, terms=ev.terms, title=title,
                         items=[(i, d) for i in ev.day_item_ids])
        ev.title = title
        ev.facts = store.event_items(ev.id)
        ev.item_ids = [f["item_id"] for f in ev.facts]
    return list(touched.values())
