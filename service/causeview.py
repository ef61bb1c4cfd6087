"""The cause view of a story (issue 17.2), built from the items its reader may see, every line a quotation with a link:

- where it started: its earliest items;
- what people say the causes are: sentences with a causal cue (nlp/causes.py), grouped when they say nearly the
  same, counted by distinct items, each group shown by its members' own sentences;
- what the collaborators' reports echo: press articles (of the story or found in the store) sharing an enterprise or
  a legal document with a report, or most of its words, with that evidence named; and the documents cited;
- the other stories (flags) about the same enterprise or document.

Nothing here writes a sentence of its own: every quote is a slice of an item's text. `report_lines` gives the same
view as plain lines for the monthly report's «nguyên nhân».
"""
from __future__ import annotations

import re
from collections import Counter

import numpy as np
from scipy import sparse

from nlp.causes import Group, cause_statements, content_terms, demand_statements, group_statements
from nlp.facets import DOCUMENT, ORGANISATION, facets_of
from service.scope import Scope, scoped_flags
from service.search import SearchError, parse
from service.store import Store

MAX_ITEMS = 300            # items of a story read for its causes (the newest are dropped first)
MAX_GROUPS = 6
MAX_EXAMPLES = 3
MAX_ECHOES = 6
ECHO_SIMILARITY = 0.3      # share of words (cosine of content syllables and pairs) that links a report to an article
SEARCH_FACETS = 4          # enterprises and documents looked up in the whole store
SEARCH_ROWS = 40
LEAD_CHARS = 400


def _text(item: dict) -> str:
    return f"{item.get('title') or ''}\n{item.get('text') or ''}".strip()


def _lead(item: dict) -> str:
    """What a report's words are compared on: the title and the first LEAD_CHARS of the text (an article's lead says
    what it is about; comparing whole articles costs a hundred times more and adds little)."""
    return f"{item.get('title') or ''}\n{(item.get('text') or '')[:LEAD_CHARS]}"


def _similarities(left: list[set[str]], right: list[set[str]]) -> np.ndarray:
    """Cosine of every left set with every right set (binary term vectors), as one sparse product."""
    if not left or not right:
        return np.zeros((len(left), len(right)))
    vocabulary: dict[str, int] = {}

    def matrix(sets: list[set[str]]) -> sparse.csr_matrix:
        rows, cols = [], []
        for n, terms in enumerate(sets):
            for t in terms:
                rows.append(n)
                cols.append(vocabulary.setdefault(t, len(vocabulary)))
        return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(sets), 1 << 22))

    a, b = matrix(left), matrix(right)
    shared = (a @ b.T).toarray()
    norms = np.sqrt(np.outer([len(x) for x in left], [len(x) for x in right]))
    return np.divide(shared, norms, out=np.zeros_like(shared), where=norms > 0)


def _ref(item: dict, unit_names: dict[str, str]) -> dict:
    """What a quote's link shows: the item, its source (a collaborator's unit by name) and day."""
    unit = item.get("org_unit")
    return {"id": item["id"], "title": item.get("title") or (item.get("text") or "")[:120],
            "source": unit_names.get(unit, unit) if unit else item.get("source") or "",
            "kind": item.get("kind"), "day": item.get("day") or (item.get("published_at") or "")[:10],
            "published_at": item.get("published_at"), "url": item.get("url")}


def _group_view(group: Group, by_id: dict[int, dict], unit_names: dict[str, str]) -> dict:
    """A group of statements: its typical wording, how many items say it, and up to three of them quoted (distinct
    sources first)."""
    lead = group.lead
    examples, sources = [lead], {by_id[lead.item_id].get("org_unit") or by_id[lead.item_id].get("source")}
    for s in group.statements:
        if len(examples) >= MAX_EXAMPLES:
            break
        source = by_id[s.item_id].get("org_unit") or by_id[s.item_id].get("source")
        if s.item_id not in {e.item_id for e in examples} and source not in sources:
            examples.append(s)
            sources.add(source)
    for s in group.statements:   # then other items of a source already quoted
        if len(examples) >= MAX_EXAMPLES:
            break
        if s.item_id not in {e.item_id for e in examples}:
            examples.append(s)
    return {"said": lead.said, "count": group.count, "item_ids": group.item_ids,
            "sources": len({by_id[i].get("org_unit") or by_id[i].get("source") for i in group.item_ids}),
            "examples": [{**_ref(by_id[s.item_id], unit_names), "before": s.parts()[0], "clause": s.parts()[1],
                          "after": s.parts()[2], "cue": s.cue} for s in examples]}


def statements_view(items: list[dict], unit_names: dict[str, str], demands: bool = False) -> list[dict]:
    """The causes (or the demands) the items state, grouped, most repeated first."""
    by_id = {i["id"]: i for i in items}
    texts = {i["id"]: _text(i) for i in items}
    found = demand_statements(texts) if demands else cause_statements(texts)
    return [_group_view(g, by_id, unit_names) for g in group_statements(found)[:MAX_GROUPS]]


def _search_phrase(kind: str, key: str) -> str | None:
    """The words to look a facet up by in the whole store (its number for a numbered document, its name without
    the type word for an enterprise); the hits are checked by extracting their facets again."""
    if kind == DOCUMENT:
        number = re.search(r"\d+(?:/\d{4})?", key)
        words = re.sub(r"\s+\d{4}$", "", key) if not number or key.startswith(("Luật", "Bộ luật")) else number[0]
        return f'"{words}"'
    words = key.split()
    name = " ".join(words[2:] if words[:2] in (["Công", "ty"], ["Công", "đoàn"], ["Nhà", "máy"], ["Tập", "đoàn"])
                    else words[3:] if words[:3] == ["Tổng", "công", "ty"] else words[1:])
    return f'"{name}"' if len(name) >= 3 else None


def _found(store: Store, scope: Scope, kind: str, key: str, exclude: set[int]) -> list[dict]:
    """Items of the whole store the reader may see that carry the facet (looked up by words, then confirmed)."""
    phrase = _search_phrase(kind, key)
    if not phrase:
        return []
    try:
        node = parse(phrase)
    except SearchError:
        return []
    if node is None:
        return []
    _, rows = store.search(node, order="newest", limit=SEARCH_ROWS)
    return [r for r in rows if r["id"] not in exclude and scope.sees_item(r)
            and any(f.kind == kind and f.key == key for f in facets_of(_text(r)))]


def cause_view(store: Store, scope: Scope, flag: dict, items: list[dict], topic_names: dict[str, str]) -> dict:
    """The story's cause view from `items` (the story's items the reader may see, any order)."""
    items = sorted(items, key=lambda i: (i.get("published_at") or "", i["id"]))[:MAX_ITEMS]
    unit_names = {u["code"]: u["name"] for u in store.org_units()}
    by_id = {i["id"]: i for i in items}
    facets = {i["id"]: [f for f in facets_of(_text(i)) if f.kind in (ORGANISATION, DOCUMENT)] for i in items}
    terms = {i["id"]: content_terms(_lead(i)) for i in items}
    reports = [i for i in items if i.get("kind") == "observation"]
    press = {i["id"]: i for i in items if i.get("kind") == "article"}

    # enterprises and documents the reports name, most named first; press items about them from the whole store
    named = Counter((f.kind, f.key) for r in reports for f in facets[r["id"]])
    looked_up: dict[tuple[str, str], list[dict]] = {}
    for kind, key in [k for k, _ in named.most_common(SEARCH_FACETS)]:
        looked_up[(kind, key)] = _found(store, scope, kind, key, set(by_id))
        for row in looked_up[(kind, key)]:
            if row.get("kind") == "article" and row["id"] not in press:
                press[row["id"]] = row
                facets[row["id"]] = [f for f in facets_of(_text(row)) if f.kind in (ORGANISATION, DOCUMENT)]
                terms[row["id"]] = content_terms(_lead(row))

    echoes: dict[int, dict] = {}
    press_ids = list(press)
    similarity = _similarities([terms[r["id"]] for r in reports], [terms[pid] for pid in press_ids])
    keys = {i: {(f.kind, f.key) for f in facets[i]} for i in [*(r["id"] for r in reports), *press_ids]}
    for a, r in enumerate(reports):
        for b, pid in enumerate(press_ids):
            shared = keys[r["id"]] & keys[pid]
            if not shared and similarity[a, b] < ECHO_SIMILARITY:
                continue
            shared_keys = sorted(k for _, k in shared)
            echo = echoes.setdefault(pid, {**_ref(press[pid], unit_names), "in_story": pid in by_id, "reports": [],
                                           "shared": set(), "similarity": 0.0})
            echo["reports"].append({**_ref(r, unit_names), "shared": shared_keys,
                                    "similarity": round(float(similarity[a, b]), 3)})
            echo["shared"].update(shared_keys)
            echo["similarity"] = max(echo["similarity"], float(similarity[a, b]))
    echo_list = sorted(echoes.values(), key=lambda e: (-len(e["reports"]), -e["similarity"], e["id"]))[:MAX_ECHOES]
    for e in echo_list:
        e["shared"] = sorted(e["shared"])
        e["reports_count"] = len(e["reports"])
        e["reports"] = sorted(e["reports"], key=lambda r: (-len(r["shared"]), -r["similarity"]))[:8]

    documents = []
    for (kind, key), n in named.most_common():
        if kind != DOCUMENT:
            continue
        cited_by = [_ref(r, unit_names) for r in reports if any(f.key == key for f in facets[r["id"]])]
        in_press = [_ref(p, unit_names) for pid, p in press.items() if any(f.key == key for f in facets[pid])]
        documents.append({"key": key, "reports": cited_by[:5], "reports_count": len(cited_by),
                          "press": in_press[:5], "press_count": len(in_press)})

    # other stories about the enterprises and documents of this one (its reports' and its press items')
    story_named = Counter((f.kind, f.key) for i in items for f in facets[i["id"]])
    related: dict[int, dict] = {}
    for kind, key in [k for k, _ in story_named.most_common(SEARCH_FACETS)]:
        rows = looked_up.get((kind, key))
        if rows is None:
            rows = _found(store, scope, kind, key, set(by_id))
        cited = store.flags_citing([r["id"] for r in rows])
        for flag_refs in cited.values():
            for ref in flag_refs:
                if ref["id"] != flag["id"]:
                    related.setdefault(ref["id"], set()).add(key)
    related_flags = []
    if related:
        candidates = [f for f in (store.flag(i) for i in sorted(related)) if f is not None]
        for f in scoped_flags(store, scope, candidates, topic_names):
            related_flags.append({"id": f["id"], "title": f.get("title") or f.get("reason", "")[:120],
                                  "status": f.get("status"), "about": sorted(related[f["id"]]),
                                  "window_end": f.get("window_end")})
    # where it started: the story's first items, its stream's earlier ones included (an event holds its days only)
    before = store.items_by_ids(store.stream_item_ids(flag["stream_id"])[:50]) if flag.get("stream_id") else []
    first = sorted({i["id"]: i for i in [*before, *items[:3]] if scope.sees_item(i)}.values(),
                   key=lambda i: (i.get("published_at") or "", i["id"]))[:3]
    earliest = [_ref(i, unit_names) for i in first]
    return {"earliest": earliest, "causes": statements_view(items, unit_names), "echoes": echo_list,
            "documents": documents[:6], "related": related_flags[:6], "items_read": len(items)}


def report_lines(view: dict, limit: int = 3) -> list[str]:
    """The cause view as plain lines (the monthly report's «nguyên nhân»): each cause people state, quoted, with
    how many items state it and where one of them comes from."""
    lines = []
    for c in view.get("causes", [])[:limit]:
        first = c["examples"][0]
        lines.append(f"«{c['said']}» — {c['count']} tin (ví dụ: {first['source']}, {first['day']}).")
    for e in view.get("echoes", [])[:limit]:
        lines.append(f"Phản ánh của cộng tác viên trùng với bài «{e['title']}» ({e['source']}): "
                     f"{e['reports_count']} phản ánh" + (f", cùng nhắc {', '.join(e['shared'])}" if e["shared"] else "")
                     + ".")
    return lines
