"""What a reader may see: the items of their unit's subtree and the public ones (the press), nothing of a sibling unit.

A flag, a stream or a briefing can gather items of several units. `scoped_flag` and `scoped_stream_label` give a
reader of one unit the same object rebuilt from the items they may see: item ids, examples, keyphrases, the units
named and the stream's label (made from keyphrases, so it can carry another unit's words) are all recomputed, and
the flag's reason no longer names what only other units said. A reader of the province (the root unit) sees all.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from service.store import Store
from service.vnformat import number

OTHER_UNITS = "đơn vị khác"


@dataclass(frozen=True)
class Scope:
    """The org units a reader sees (their unit and every unit below it); `province`: the reader sees everything."""

    units: frozenset[str]
    province: bool = False

    def sees_unit_of(self, org_unit: str | None) -> bool:
        return self.province or not org_unit or org_unit in self.units

    def sees_item(self, item: dict) -> bool:
        return self.sees_unit_of(item.get("org_unit"))

    def sees_flag(self, flag: dict) -> bool:
        """A flag with no collaborators' units (press only) is everyone's; otherwise one of its units is in scope."""
        if self.province:
            return True
        units = (flag.get("evidence") or {}).get("units") or {}
        return not units or any(u in self.units for u in units)


EVERYTHING = Scope(frozenset(), province=True)


def visible_ids(store: Store, scope: Scope, item_ids: list[int]) -> list[int]:
    """The ids (in their order) of the items the scope sees."""
    if scope.province or not item_ids:
        return list(item_ids)
    units = store.item_units(item_ids)
    return [i for i in item_ids if i in units and scope.sees_unit_of(units[i])]


def top_keyphrases(store: Store, item_ids: list[int], k: int = 8) -> list[str]:
    """The keyphrases most items share (as the detectors choose them), over the given items only."""
    counter: Counter[str] = Counter()
    for phrases in store.item_keyphrases_any(item_ids[:500]):
        counter.update(set(phrases))
    return [phrase for phrase, _ in counter.most_common(k)]


class _Lists:
    """The lists every flag of one page reads the same (the board's watch terms, the org units): asked of the store
    once for the page, not once for each flag and signal (a unit's queue of a few hundred flags asked ~1.000 times)."""

    def __init__(self, store: Store):
        self.store = store
        self._terms: list[str] | None = None
        self._units: list[dict] | None = None

    def watch_terms(self) -> list[str]:
        if self._terms is None:
            self._terms = [t["term"] for t in self.store.watch_terms()]
        return self._terms

    def org_units(self) -> list[dict]:
        if self._units is None:
            self._units = self.store.org_units()
        return self._units


def scoped_flags(store: Store, scope: Scope, flags: list[dict], topic_names: dict[str, str] | None = None) -> list[dict]:
    """The flags the scope sees, in their order, each as `scoped_flag` gives it (one look-up of units for all)."""
    flags = [f for f in flags if scope.sees_flag(f)]
    if scope.province:
        return flags
    units = store.item_units([i for f in flags for i in f.get("item_ids") or []])
    lists = _Lists(store)
    return [scoped_flag(store, scope, f, topic_names, units, lists) for f in flags]


def scoped_flag(store: Store, scope: Scope, flag: dict, topic_names: dict[str, str] | None = None,
                units: dict[int, str | None] | None = None, lists: _Lists | None = None) -> dict:
    """The flag as the scope may read it: unchanged when every item is in scope, else rebuilt from its visible items
    (marked `partial`, with `total_count` the province's count)."""
    if scope.province:
        return flag
    lists = lists or _Lists(store)
    ids = list(flag.get("item_ids") or [])
    evidence = dict(flag.get("evidence") or {})
    units_seen = evidence.get("units") or {}
    if units is None:
        shown = visible_ids(store, scope, ids)
    else:
        shown = [i for i in ids if i in units and scope.sees_unit_of(units[i])]
    outside_units = [u for u in units_seen if u not in scope.units]
    # the stream's label (quoted in the reason) is made of all its items' keyphrases, other days' too
    stream_mixed = bool(flag.get("stream_id")) and not all(
        scope.sees_unit_of(u) for u in store.stream_units(flag["stream_id"]))
    if len(shown) == len(ids) and not outside_units and not stream_mixed:
        return flag
    out = dict(flag)
    out["item_ids"] = shown
    out["partial"] = True
    out["total_count"] = flag.get("count")
    out["count"] = len(shown)
    out["keyphrases"] = top_keyphrases(store, shown)
    label = " · ".join(out["keyphrases"][:3])
    facts = store.item_facts(shown[:200])
    evidence["units"] = dict(Counter(f["org_unit"] for f in facts if f["org_unit"]).most_common())
    evidence["sources"] = dict(Counter(f["source"] for f in facts).most_common())
    evidence["sentiment"] = dict(Counter(f["sentiment"] for f in facts))
    evidence["representative"] = [i for i in evidence.get("representative") or [] if i in set(shown)]
    if "independent_sources" in evidence:
        all_units = {u["code"] for u in lists.org_units()}
        evidence["independent_sources"] = [s for s in evidence["independent_sources"]
                                           if s not in all_units or s in scope.units]
    evidence["stream_label"] = label
    # the story's headline, its first items and its signals' reasons: only from what the reader may see
    visible = store.items_by_ids(shown[:20])
    titles = [r.get("title") for r in visible if r.get("title")]
    # collaborators' reports have no title: the start of the first one the reader may see reads better than keyphrases
    openings = [" ".join((r.get("text") or "").split()) for r in visible if (r.get("text") or "").strip()]
    opening = openings[0] if openings else ""
    if len(opening) > 120:
        opening = opening[:120].rsplit(" ", 1)[0] + " …"
    out["title"] = evidence["title"] = titles[0] if titles else (opening or label)
    evidence["earliest"] = [i for i in evidence.get("earliest") or [] if i in set(shown)]
    evidence["signals"] = [{**x, "reason": scoped_reason(store, scope, {**flag, "reason": x.get("reason", "")}, label,
                                                         topic_names, lists)} for x in evidence.get("signals") or []]
    out["evidence"] = evidence
    out["stream_label"] = label
    out["reason"] = scoped_reason(store, scope, flag, label, topic_names, lists)
    if len(shown) < len(ids):    # the reason's figures are the province's: say how many of them the reader may see
        out["reason"] += (f" Trong phạm vi đơn vị được xem: {number(len(shown))} trên {number(len(ids))} tin của câu"
                          " chuyện; các tin còn lại thuộc đơn vị khác.")
    return out


_QUOTED = re.compile(r"«([^»]*)»")


def scoped_reason(store: Store, scope: Scope, flag: dict, label: str, topic_names: dict[str, str] | None,
                  lists: _Lists | None = None) -> str:
    """The flag's reason without another unit's words: a quoted stream label (made from every unit's keyphrases)
    becomes the label of the visible items, and the units out of scope are not named."""
    lists = lists or _Lists(store)
    keep = set((topic_names or {}).values()) | set((topic_names or {}).keys())
    term = (flag.get("evidence") or {}).get("term")
    if term:
        keep.add(term)
    # the Board's watched terms are no unit's words: a story's «từ khóa Ban theo dõi» sentence keeps its term
    keep.update(lists.watch_terms())

    def requote(match: re.Match) -> str:
        inner = match.group(1)
        return match.group(0) if inner in keep else f"«{label or 'luồng dư luận'}»"

    reason = _QUOTED.sub(requote, flag.get("reason") or "")
    for unit in sorted(lists.org_units(), key=lambda u: -len(u["code"])):
        if unit["code"] in scope.units:
            continue
        for name in (unit["name"], unit["code"]):
            reason = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", OTHER_UNITS, reason)
    return reason


def scoped_stream_label(store: Store, scope: Scope, stream: dict | None) -> dict | None:
    """A stream with its label rebuilt from the visible items when some of its items are out of scope."""
    if stream is None or scope.province:
        return stream
    units = store.stream_units(stream["id"])
    if all(scope.sees_unit_of(u) for u in units):
        return stream
    ids = store.stream_items_in_scope(stream["id"], sorted(scope.units))
    return {**stream, "label": " · ".join(top_keyphrases(store, ids)[:3]) or "", "size": len(ids), "partial": True}


def scoped_events(store: Store, scope: Scope, events: list[dict]) -> list[dict]:
    """A flag's review decisions the scope may read: those written by the province or by people of the reader's
    units and of the units above them; a sibling unit's staff may quote their own collaborators in a note."""
    if scope.province or not events:
        return events
    authors: dict[str, bool] = {}
    for name in {e["username"] for e in events}:
        user = store.user_login(name)
        unit = (user or {}).get("unit")
        # a unit above the reader's sees the reader's units in its own subtree
        authors[name] = bool(unit) and (unit in scope.units or bool(scope.units & set(store.unit_subtree(unit))))
    return [e for e in events if authors.get(e["username"])]
