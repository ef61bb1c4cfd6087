"""What the board may do about a story and what came of it (issue 17.4, 17.5), as its reader may see it:

- proposals: the concerns most often raised (quoted, counted), the commitments still open from the units' dialogues
  with the enterprises the story names, the documents it cites, and the board's own playbook templates that answer
  its topic and facets (service/playbook.py), for staff to edit;
- orientations: each recorded orientation with the story's volume, tone and spread before and after it
  (service/orientation.py), computed from the story's items the reader may see.
"""
from __future__ import annotations

from datetime import date

from nlp.normalize import fold
from service import playbook as playbook_mod
from service.causeview import statements_view
from service.orientation import CHANNELS, outcome, summary_vi
from service.scope import Scope, scoped_events
from service.store import Store

STORY_FACTS = 2000


def story_facts(store: Store, scope: Scope, flag: dict) -> list[dict]:
    """Every item of the story so far the reader may see (its event's and its stream's, not only those the flag was
    last raised with): day, sentiment, unit, source. An orientation's «after» days are counted from these."""
    ids = list(flag.get("item_ids") or [])
    if flag.get("stream_id"):
        ids += store.stream_item_ids(flag["stream_id"])
    facts = store.event_items(flag["event_id"]) if flag.get("event_id") else []
    known = {f["item_id"] for f in facts}
    facts += store.item_facts([i for i in dict.fromkeys(ids) if i not in known][-STORY_FACTS:])
    return [f for f in facts if scope.sees_unit_of(f.get("org_unit"))]


def facet_keys(facets: list[dict]) -> dict[str, list[str]]:
    """kind → the story's facet keys, most cited first (from storyview.story_facets' groups)."""
    return {g["kind"]: [f["key"] for f in g["facets"]] for g in facets}


def _same_enterprise(a: str, b: str) -> bool:
    """A dialogue's enterprise as typed and a facet's key name one company when one's folded name holds the other's
    (without the type word: «May Alpha» and «Công ty May Alpha Cao Bằng»)."""
    def name(s: str) -> str:
        s = fold(s.lower())
        for word in ("tong cong ty ", "cong ty ", "tnhh ", "co phan ", "cp ", "mtv ", "nha may ", "tap doan "):
            s = s.replace(word, "")
        return " ".join(s.split())
    x, y = name(a), name(b)
    return len(min(x, y, key=len)) >= 3 and (x in y or y in x)


def proposals_view(store: Store, settings, scope: Scope, flag: dict, items: list[dict], facets: list[dict],
                   topic_name: str, unit_names: dict[str, str]) -> dict:
    keys = facet_keys(facets)
    book = playbook_mod.load(settings)
    values = {"organisation": (keys.get("organisation") or [""])[0], "document": (keys.get("document") or [""])[0],
              "place": (keys.get("place") or [""])[0], "topic": topic_name.lower(), "count": str(len(items))}
    commitments = []
    if keys.get("organisation"):
        units = None if scope.province else sorted(scope.units)
        for c in store.open_commitments(units):
            if any(_same_enterprise(c["enterprise"], k) for k in keys["organisation"]) and c["enterprise"]:
                commitments.append({**c, "unit_name": unit_names.get(c["org_unit"], c["org_unit"])})
    return {"concerns": statements_view(items, unit_names, demands=True),
            "commitments": commitments[:10],
            "documents": next((g["facets"] for g in facets if g["kind"] == "document"), [])[:6],
            "templates": playbook_mod.proposals(book, flag.get("topic"), keys, values),
            "playbook_board": book.board, "playbook_problem": book.problem, "playbook_name": book.path.name}


def orientations_view(store: Store, scope: Scope, flag: dict, today: date) -> list[dict]:
    """The flag's orientations the reader may read (the province's and their own and upper units'), each with the
    story's before and after."""
    rows = scoped_events(store, scope, store.orientations(flag["id"]))
    if not rows:
        return []
    facts = story_facts(store, scope, flag)
    out = []
    for row in rows:
        result = outcome(facts, row["given_on"], today)
        out.append({**row, "channel_name": CHANNELS.get(row["channel"], row["channel"]), "outcome": result,
                    "summary": summary_vi(result)})
    return out


def period_lines(store: Store, scope: Scope, flags: list[dict], first: date, last: date, today: date,
                 topic_names: dict[str, str], stories: int = 4) -> dict[str, list[str]]:
    """For a period report (service/briefing.py): «causes», the causes people stated in its largest stories (quoted,
    counted, from the cause view), and «orientations», each orientation given in the period with its outcome."""
    from service.causeview import cause_view, report_lines

    causes: list[str] = []
    for flag in sorted(flags, key=lambda f: -len(f.get("item_ids") or []))[:stories]:
        items = [i for i in store.items_by_ids(list(flag.get("item_ids") or [])[-500:]) if scope.sees_item(i)]
        lines = report_lines(cause_view(store, scope, flag, items, topic_names), limit=2)
        if lines:
            causes.append(f"{flag.get('title') or topic_names.get(flag.get('topic') or '', '')}:")
            causes += [f"- {line}" for line in lines]
    orientations: list[str] = []
    by_id = {f["id"]: f for f in flags}
    for row in scoped_events(store, scope, store.orientations(since=first.isoformat(), until=last.isoformat())):
        flag = by_id.get(row["flag_id"])
        if flag is None:
            continue
        result = outcome(story_facts(store, scope, flag), row["given_on"], today)
        day = date.fromisoformat(row["given_on"]).strftime("%d/%m/%Y")
        channel = CHANNELS.get(row["channel"], row["channel"]).lower()
        orientations.append(f"{flag.get('title') or 'Câu chuyện'} — định hướng ngày {day} qua {channel} "
                            f"({row['owner']}): {row['said']}")
        orientations += [f"  {line}" for line in summary_vi(result)[:2]]
    return {"causes": causes, "orientations": orientations}
