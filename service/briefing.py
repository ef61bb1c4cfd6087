"""The daily trend briefing (07:00) and the monthly and annual reports, as one data object drawn two ways.

`daily(store, day)` and `period_report(store, unit, period, ref)` gather plain data (JSON-able dicts); `to_html` and
`to_docx` draw that same data, so the web page and the office document never disagree. Charts are drawn with
matplotlib from series kept in the data.
"""
from __future__ import annotations

import base64
import io
import logging
import re
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from service import boilerplate, docheader
from service.config import Settings
from service.dialogues import KINDS as DIALOGUE_KINDS
from service.scope import EVERYTHING, Scope, scoped_events, scoped_flags
from service.store import Store
from service.streams import item_text
from service.timeutil import TZ, day_bounds, days_between
from service.vnformat import number

log = logging.getLogger("pulse.briefing")
HERE = Path(__file__).resolve().parent

KIND_LABELS = {"article": "Báo chí điện tử", "observation": "Cộng tác viên phản ánh", "comment": "Bình luận"}
SECTION_OF_KIND = {"event": "events", "new_stream": "new", "burst": "growing", "spread": "spreading",
                   "negativity": "negative"}
SECTION_TITLES = {"events": "Sự kiện nổi bật", "new": "Luồng dư luận mới xuất hiện", "growing": "Luồng dư luận tăng nhanh",
                  "spreading": "Luồng dư luận lan rộng nhiều đơn vị", "negative": "Luồng dư luận chuyển biến tiêu cực"}
SENTIMENT_LABELS = {"negative": "Tiêu cực", "neutral": "Trung lập", "positive": "Tích cực"}
ACTION_LABELS = {"confirm": "Xác nhận", "dismiss": "Bác bỏ", "escalate": "Báo cáo lên cấp trên", "note": "Ghi chú",
                 "orientation": "Đề xuất định hướng", "reopen": "Mở lại"}
CHANNEL_LABELS = {"truc-tiep": "Trực tiếp", "hoi-nghi": "Hội nghị, đối thoại", "mang-xa-hoi": "Mạng xã hội",
                  "bao-chi": "Báo chí", "khac": "Khác", "khác": "Khác"}
STATUS_LABELS = {"open": "Đang chờ xem xét", "confirmed": "Đã xác nhận", "dismissed": "Đã bỏ qua",
                 "escalated": "Đã báo cáo cấp trên"}


def _names() -> dict[str, str]:
    from service.trends import topic_names

    return topic_names()


def _unit_names(store: Store) -> dict[str, str]:
    return {u["code"]: u["name"] for u in store.org_units()}


def _vn_date(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def _signed_on() -> list[str]:
    """Day, month, year of signing, as the document header writes them."""
    now = datetime.now(TZ)
    return [f"{now.day:02d}", f"{now.month:02d}", str(now.year)]


def _shorten(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


class _Quoter:
    """Quotes as a reader should see them: the outlet's boilerplate taken out (service/boilerplate.py), the source
    by its name, a collaborator's report said to be one."""

    def __init__(self, store: Store) -> None:
        self.clean = boilerplate.QuoteCleaner(store)
        self.titles = {s["name"]: s.get("title") or s["name"] for s in store.sources()}

    def __call__(self, item: dict, limit: int = 260) -> dict:
        return _quote(item, limit, self)


def _quote(item: dict, limit: int = 260, quoter: _Quoter | None = None) -> dict:
    raw = item.get("text") or item.get("title") or ""
    source = item.get("source") or ""
    if quoter is not None:
        raw = quoter.clean(raw, source) if item.get("kind") == "article" else raw
        source = "Cộng tác viên" if item.get("kind") == "observation" else quoter.titles.get(source, source)
    text = _shorten(" ".join(raw.split()), limit)
    return {"title": item.get("title") or "", "text": text, "source": source,
            "url": item.get("url") or "", "id": item["id"]}


_DECIMAL_POINT = re.compile(r"(?<![\d.,])(\d+)\.(\d{1,2})(?![\d.])")


def vn_text(text: str) -> str:
    """A stored sentence with numbers written the Vietnamese way: «169.1» → «169,1», «gấp 11.0 lần» → «gấp 11 lần»
    (reasons written before vnformat was used); «5.000» (thousands) is left as it is."""
    return _DECIMAL_POINT.sub(lambda m: m.group(1) if set(m.group(2)) == {"0"} else f"{m.group(1)},{m.group(2)}",
                              text or "")


def _stream_entry(store: Store, flag: dict, names: dict[str, str], unit_names: dict[str, str],
                  quoter: _Quoter | None = None) -> dict:
    from nlp.keyphrases import representative_sentences

    quoter = quoter or _Quoter(store)
    ev = flag.get("evidence") or {}
    stream = store.stream(flag["stream_id"]) if flag.get("stream_id") else None
    rep = ev.get("representative") or flag["item_ids"][:3]
    rep_items = store.items_by_ids(rep[:3])
    quotes = [quoter(i) for i in rep_items]
    headline = next((" ".join(i["title"].split()) for i in rep_items if i.get("kind") == "article" and i.get("title")),
                    "")
    texts = [item_text({**i, "text": quoter.clean(i.get("text") or "", i.get("source") or "")}
                       if i.get("kind") == "article" else i) for i in store.items_by_ids(flag["item_ids"][:60])]
    topic = flag.get("topic") or ""
    summary = [_shorten(x, 300) for x in representative_sentences(texts, k=3)] if texts else []
    # no press headline (collaborators' reports): the stream's most representative sentence, not its keyphrases
    headline = headline or (_shorten(summary[0], 110).rstrip(" .") if summary else "")
    return {
        "flag_id": flag["id"], "kind": flag["kind"], "status": flag["status"],
        "label": flag.get("stream_label") or (stream or {}).get("label") or names.get(topic, topic),
        "topic": names.get(topic, topic), "reason": vn_text(flag["reason"]), "count": flag["count"],
        "headline": headline, "stream_id": flag.get("stream_id"),
        "sentiment": {SENTIMENT_LABELS.get(k, k): v for k, v in (ev.get("sentiment") or {}).items()},
        "units": [unit_names.get(u, u) for u in (ev.get("units") or {})],
        "sources": list((ev.get("sources") or {}).keys()),
        "quotes": quotes, "summary": summary,
        "keyphrases": flag.get("keyphrases") or [], "degraded": bool(flag.get("degraded")),
    }


def daily(store: Store, day: date, settings: Settings | None = None, scope: Scope | None = None) -> dict:
    """Everything the morning briefing says about one local day, as plain data; with a `scope` (a reader of one
    unit), only the press and that unit's subtree: other units' quotes, words and names are left out."""
    settings = settings or Settings()
    scope = scope or EVERYTHING
    names = _names()
    unit_names = _unit_names(store)
    start, end = day_bounds(day)
    week = [day - timedelta(days=i) for i in range(7, 0, -1)]
    counts = store.item_counts((day - timedelta(days=13)).isoformat(), day.isoformat(),
                               None if scope.province else sorted(scope.units), include_public=True)
    per_day_kind: dict[str, Counter] = defaultdict(Counter)
    per_day_channel: dict[str, Counter] = defaultdict(Counter)
    for r in counts:
        per_day_kind[r["day"]][r["kind"]] += r["n"]
        if r["kind"] == "observation":
            per_day_channel[r["day"]][r["channel"] or "khác"] += r["n"]
    d = day.isoformat()

    def vs_week(counter_by_day: dict[str, Counter], key: str) -> dict:
        mean = sum(counter_by_day.get(w.isoformat(), Counter())[key] for w in week) / 7
        return {"count": counter_by_day.get(d, Counter())[key], "mean7": round(mean, 1)}

    kinds = sorted({k for c in per_day_kind.values() for k in c} | {"article", "observation"})
    channels = sorted({k for c in per_day_channel.values() for k in c})
    total_today = sum(per_day_kind.get(d, Counter()).values())
    total_mean = sum(sum(per_day_kind.get(w.isoformat(), Counter()).values()) for w in week) / 7

    flags = scoped_flags(store, scope, [f for f in store.flags_ending(start, end) if f["status"] != "dismissed"],
                         names)
    quoter = _Quoter(store)
    sections: dict[str, list[dict]] = {key: [] for key in SECTION_TITLES}
    for f in flags:
        section = SECTION_OF_KIND.get(f["kind"])
        if section:
            sections[section].append(_stream_entry(store, f, names, unit_names, quoter))
    watch = []   # stories in which a watched term was found (a term's own hits are on its admin page)
    for f in flags:
        signals = [x for x in (f["evidence"] or {}).get("signals", []) if x.get("kind") == "watch_term"]
        if f["kind"] == "watch_term" or signals:
            watch.append({"reason": vn_text(signals[0]["reason"] if signals else f["reason"]), "count": f["count"],
                          "term": (f["evidence"] or {}).get("term", ""),
                          "quotes": [quoter(i) for i in store.items_by_ids(f["item_ids"][:3])]})

    reviewed = []
    week_start, _ = day_bounds(day - timedelta(days=6))
    for f in scoped_flags(store, scope, store.flags_decided(week_start, end), names):  # the week's decided streams
        events = scoped_events(store, scope, store.flag_events(f["id"]))
        entry = _stream_entry(store, f, names, unit_names, quoter)
        entry["notes"] = [e["note"] for e in events if e["note"] and "orient" not in e["action"]]
        entry["orientation"] = [e["note"] for e in events if e["note"] and "orient" in e["action"]]
        entry["status_label"] = STATUS_LABELS.get(f["status"], f["status"])
        reviewed.append(entry)

    topic_rows: dict[str, Counter] = defaultdict(Counter)
    for r in store.topic_sentiment_counts(d, d):
        topic_rows[r["topic"]][r["sentiment"]] += r["n"]
    topics = sorted(({"topic": names.get(t, t), "negative": c["negative"], "neutral": c["neutral"],
                      "positive": c["positive"], "total": sum(c.values())} for t, c in topic_rows.items()),
                    key=lambda r: -r["total"])

    down = sorted({r["source"] for r in store.source_outages(start, end) if r["runs"] and r["failed"] == r["runs"]})
    volume_days = [x.isoformat() for x in days_between(day - timedelta(days=13), day)]
    volume: dict[str, list[int]] = {}
    for r in store.topic_day_counts(volume_days[0], volume_days[-1]):
        volume.setdefault(names.get(r["topic"], r["topic"]), [0] * 14)[volume_days.index(r["day"])] = r["n"]

    scope_note = "" if scope.province else _scope_note(store, scope, unit_names)
    signed = _signed_on()
    return {
        "type": "daily", "day": d, "day_vn": _vn_date(day), "province": settings.province, "scope_note": scope_note,
        "unit_name": f"Liên đoàn Lao động tỉnh {settings.province}",
        "title": "BÁO CÁO NHANH TÌNH HÌNH DƯ LUẬN XÃ HỘI",
        "document": docheader.header(store.org_units(), settings, unit_code=None, daily=True,
                                     summary=f"Tình hình dư luận xã hội ngày {_vn_date(day)}",
                                     signed=date(int(signed[2]), int(signed[1]), int(signed[0])), doc_type="BÁO CÁO NHANH"),
        "generated_at": datetime.now(TZ).strftime("%H:%M ngày %d/%m/%Y"), "signed_on": signed,
        "numbers": {
            "total": {"count": total_today, "mean7": round(total_mean, 1)},
            "by_kind": {KIND_LABELS.get(k, k): vs_week(per_day_kind, k) for k in kinds},
            "by_channel": {c: vs_week(per_day_channel, c) for c in channels},
        },
        "sections": [{"key": k, "title": SECTION_TITLES[k], "streams": v} for k, v in sections.items()],
        "reviewed": reviewed, "watch": watch, "topics": topics, "sources_down": down,
        "volume": {"days": [x[8:10] + "/" + x[5:7] for x in volume_days], "series": volume},
        "quiet": total_today == 0,
        "flag_count": sum(len(v) for v in sections.values()) + len(watch),
    }


def period_report(store: Store, unit_code: str, period: str, ref: date, settings: Settings | None = None) -> dict:
    """The monthly (`month`) or annual (`year`) report of an org unit, rolled up over its subtree."""
    settings = settings or Settings()
    unit = store.org_unit(unit_code)
    if unit is None:
        raise ValueError(f"there is no org unit with code {unit_code!r}.")
    if period == "month":
        first = ref.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        label = f"tháng {first.month:02d}/{first.year}"
    elif period == "year":
        first, last = date(ref.year, 1, 1), date(ref.year, 12, 31)
        label = f"năm {ref.year}"
    else:
        raise ValueError("the period must be month or year.")
    names = _names()
    unit_names = _unit_names(store)
    units = store.unit_subtree(unit_code)
    scope = EVERYTHING if unit["parent_id"] is None else Scope(frozenset(units))   # the unit's report: its subtree
    start, _ = day_bounds(first)
    _, end = day_bounds(last)
    by_channel: Counter = Counter()
    by_kind: Counter = Counter()
    for r in store.item_counts(first.isoformat(), last.isoformat(), units):
        by_kind[KIND_LABELS.get(r["kind"], r["kind"])] += r["n"]
        if r["kind"] == "observation":
            by_channel[r["channel"] or "khác"] += r["n"]
    collaborators = store.collaborator_activity(units, start, end)
    flags = scoped_flags(store, scope, store.flags_touching_units(units, start, end), names)
    streams: list[dict] = []
    by_stream: dict[Any, dict] = {}   # a stream flagged on several days is told once, with all its decisions
    quoter = _Quoter(store)
    for f in flags:
        decisions = [{"action": e["action"], "action_label": ACTION_LABELS.get(e["action"], "Xử lý"),
                      "note": e["note"], "by": e["username"], "at": e["at"]}
                     for e in scoped_events(store, scope, store.flag_events(f["id"]))]
        key = f.get("stream_id") or ("flag", f["id"])
        if key in by_stream:
            by_stream[key]["decisions"].extend(decisions)
            continue
        entry = _stream_entry(store, f, names, unit_names, quoter)
        entry["status_label"] = STATUS_LABELS.get(f["status"], f["status"])
        entry["decisions"] = decisions
        by_stream[key] = entry
        streams.append(entry)
    open_issues = [s for s in streams if s["status"] in ("open", "escalated")]
    press = _press_stories(store, unit, scope, start, end, names, unit_names, quoter, set(by_stream))
    dialogues = [_dialogue_entry(d, unit_names) for d in store.dialogues(units, first.isoformat(), last.isoformat())]
    commitments = [_commitment_entry(c, unit_names) for c in store.commitments_open_by(units, last.isoformat())]
    from service.storyresponse import period_lines   # issue 17: the causes people stated, the orientations' outcome
    from service.timeutil import today_local
    stated = period_lines(store, scope, flags, first, last, today_local(), names)
    signed = _signed_on()
    return {
        "stated_causes": stated["causes"], "orientation_results": stated["orientations"],
        "press": press, "dialogues": dialogues, "commitments": commitments, "narrative": {}, "children": [],
        "type": period, "unit": unit["code"], "unit_name": unit["name"], "province": settings.province,
        "title": f"BÁO CÁO CÔNG TÁC NẮM BẮT DƯ LUẬN XÃ HỘI {label.upper()}", "period_label": label,
        "first": first.isoformat(), "last": last.isoformat(), "units": units,
        "document": docheader.header(store.org_units(), settings, unit_code=unit["code"], daily=False,
                                     summary=f"Tình hình dư luận xã hội và công tác nắm bắt dư luận {label}",
                                     signed=date(int(signed[2]), int(signed[1]), int(signed[0]))),
        "generated_at": datetime.now(TZ).strftime("%H:%M ngày %d/%m/%Y"), "signed_on": signed,
        "numbers": {"by_kind": dict(by_kind), "by_channel": dict(by_channel),
                    "submissions": sum(c["submissions"] for c in collaborators)},
        "collaborators": collaborators, "streams": streams, "open_issues": open_issues,
        "active_collaborators": sum(1 for c in collaborators if c["submissions"]),
    }


PRESS_STORIES = 8        # press stories of the province a unit's report tells (those about the unit first)
_GENERIC_UNIT_WORDS = frozenset("cong doan nganh tinh lien lao dong co so thanh pho huyen thi xa cao bang vien chuc"
                                .split())
_WORD = re.compile(r"\w+")


def unit_words(name: str) -> str:
    """The words that tell a unit apart in the press, folded: «Công đoàn ngành Y tế tỉnh» → «y te»."""
    from nlp.normalize import fold

    return " ".join(w for w in _WORD.findall(fold(name).lower()) if w not in _GENERIC_UNIT_WORDS)


def _press_stories(store: Store, unit: dict, scope: Scope, start: str, end: str, names: dict[str, str],
                   unit_names: dict[str, str], quoter: _Quoter, told: set) -> list[dict]:
    """The press's stories of the period (flags that no collaborator's unit raised), each once: the province's
    report tells the strongest; a unit's report those whose words name the unit («y tế») first, then the
    province's strongest, marked `about_unit`. A story is told from the items the unit's reader may see (a press
    story can hold a sibling unit's reports)."""
    from nlp.normalize import fold

    words = "" if unit["parent_id"] is None else unit_words(unit["name"])
    chosen: dict[Any, dict] = {}
    for f in store.flags(since=start, until=end):
        if f["status"] == "dismissed" or (f.get("evidence") or {}).get("units") or not start < f["window_end"]:
            continue
        key = f.get("stream_id") or ("flag", f["id"])
        if key in told or key in chosen:
            continue
        titles = [i.get("title") or "" for i in store.items_by_ids((f.get("item_ids") or [])[:10])] if words else []
        text = " ".join([f.get("title") or "", f.get("stream_label") or "", *(f.get("keyphrases") or []), *titles])
        about = bool(words) and f" {words} " in " " + " ".join(_WORD.findall(fold(text).lower())) + " "
        chosen[key] = {**f, "about_unit": about}
    ranked = sorted(chosen.values(), key=lambda f: (not f["about_unit"], -(f.get("severity") or 0), -f["score"]))
    ranked = ranked[:PRESS_STORIES if unit["parent_id"] is not None else 2 * PRESS_STORIES]
    out = []
    for f in scoped_flags(store, scope, ranked, names):
        entry = _stream_entry(store, f, names, unit_names, quoter)
        entry["about_unit"] = f["about_unit"]
        entry["status_label"] = STATUS_LABELS.get(f["status"], f["status"])
        entry["quotes"] = entry["quotes"][:1]
        out.append(entry)
    return out


def _dialogue_entry(d: dict, unit_names: dict[str, str]) -> dict:
    return {"id": d["id"], "kind": DIALOGUE_KINDS.get(d["kind"], DIALOGUE_KINDS["dialogue"]), "held_on": d["held_on"],
            "held_on_vn": _vn_date(date.fromisoformat(d["held_on"])), "enterprise": d["enterprise"],
            "place": d["place"], "participants": d["participants"],
            "unit_name": unit_names.get(d["org_unit"], d["org_unit"]),
            "points": [{"question": p["question"], "answer": p["answer"], "commitment": p["commitment"],
                        "done": bool(p["done_at"])} for p in d["points"]]}


def _commitment_entry(c: dict, unit_names: dict[str, str]) -> dict:
    return {"commitment": c["commitment"], "enterprise": c["enterprise"],
            "held_on_vn": _vn_date(date.fromisoformat(c["held_on"])),
            "unit_name": unit_names.get(c["org_unit"], c["org_unit"])}


# --- charts -----------------------------------------------------------------------------------------
def charts(data: dict) -> dict[str, bytes]:
    """PNG charts drawn from the data: 14-day volume by topic, and the day's sentiment share by topic."""
    if data.get("type") != "daily":
        return {}
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    series = data["volume"]["series"]
    if series:
        fig, ax = plt.subplots(figsize=(7.5, 3.2), dpi=110)
        top = sorted(series.items(), key=lambda kv: -sum(kv[1]))[:6]
        for name, values in top:
            ax.plot(data["volume"]["days"], values, marker="o", markersize=3, label=name)
        ax.set_title("Số tin theo chủ đề trong 14 ngày")
        ax.set_ylabel("Số tin")
        ax.tick_params(axis="x", labelsize=7, rotation=45)
        ax.legend(fontsize=7, loc="upper left")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        out["volume"] = _png(fig, plt)
    topics = [t for t in data["topics"] if t["total"]][:8]
    if topics:
        fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(topics) + 1.2), dpi=110)
        labels = [t["topic"] for t in topics]
        left = [0.0] * len(topics)
        for key, color, name in (("negative", "#c0392b", "Tiêu cực"), ("neutral", "#95a5a6", "Trung lập"),
                                 ("positive", "#27ae60", "Tích cực")):
            shares = [t[key] / t["total"] for t in topics]
            ax.barh(labels, shares, left=left, color=color, label=name)
            left = [a + b for a, b in zip(left, shares)]
        ax.set_xlim(0, 1)
        ax.invert_yaxis()
        ax.set_title("Tỷ lệ sắc thái theo chủ đề trong ngày")
        ax.legend(fontsize=7, ncol=3, loc="lower right")
        ax.tick_params(axis="y", labelsize=8)
        fig.tight_layout()
        out["sentiment"] = _png(fig, plt)
    return out


def _png(fig, plt) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


# --- HTML ---------------------------------------------------------------------------------------------
def to_html(data: dict, standalone: bool = True) -> str:
    """The briefing or report as HTML (a whole printable page, or the inner part for the web app)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
    images = {k: "data:image/png;base64," + base64.b64encode(v).decode() for k, v in charts(data).items()}
    return env.get_template("briefing_doc.html").render(data=data, images=images, standalone=standalone,
                                                        sections=document_sections(data), roman=_roman,
                                                        head=document_head(data))


def document_head(data: dict) -> dict:
    """The union document's parts around the body (service/docheader.py), also for briefings stored before them."""
    return data.get("document") or docheader.legacy(data)


# --- DOCX ---------------------------------------------------------------------------------------------
def to_docx(data: dict) -> bytes:
    """The briefing or report as a union document (QĐ 933/QĐ-TLĐ: A4, letterhead, number, motto, recipients,
    signature, page numbers; service/docheader.py)."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    images = charts(data)   # drawn once, placed where the sections ask for them
    doc = Document()
    docheader.setup_docx(doc)

    def para(text: str = "", bold: bool = False, italic: bool = False, size: int | None = None,
             align=None, cell=None):
        p = cell.add_paragraph() if cell is not None else doc.add_paragraph()
        run = p.add_run(text)
        run.bold, run.italic = bold, italic
        run.font.name = "Times New Roman"
        if size:
            run.font.size = Pt(size)
        if align is not None:
            p.alignment = align
        return p

    head = document_head(data)
    docheader.draw_top(doc, head, para)
    if data["type"] != "daily":
        para(f"{data['unit_name']} — {data['period_label']}", italic=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    para()

    for number, (title, lines) in enumerate(document_sections(data), start=1):
        para(f"{_roman(number)}. {title.upper()}", bold=True)
        for line in lines:
            if isinstance(line, tuple) and line[0] == "image":
                image = images.get(line[1])
                if image:
                    doc.add_picture(io.BytesIO(image), width=Cm(15.5))
                continue
            if isinstance(line, tuple) and line[0] == "bold":
                para(line[1], bold=True)
                continue
            para(str(line), align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    para("Báo cáo do hệ thống Pulse lập tự động lúc " + data["generated_at"] + ".", italic=True, size=13)
    para()
    docheader.draw_bottom(doc, head, para)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def document_sections(data: dict) -> list[tuple[str, list[Any]]]:
    """The numbered sections of the document, in order, as lines of text (shared by DOCX and tests)."""
    if data["type"] == "daily":
        return _daily_sections(data)
    return _period_sections(data)


def _numbers_lines(numbers: dict) -> list[str]:
    lines = [f"Tổng số tin thu thập: {number(numbers['total']['count'])} (trung bình 7 ngày trước: "
             f"{number(numbers['total']['mean7'], 1)})."]
    for name, v in numbers["by_kind"].items():
        lines.append(f"- {name}: {number(v['count'])} (trung bình 7 ngày: {number(v['mean7'], 1)}).")
    for name, v in numbers["by_channel"].items():
        lines.append(f"- Kênh {CHANNEL_LABELS.get(name, name)}: {number(v['count'])} "
                     f"(trung bình 7 ngày: {number(v['mean7'], 1)}).")
    return lines


def _heading(s: dict) -> str:
    """A stream's heading: its representative headline when it has one (a label of keyphrases reads badly)."""
    title = s.get("headline") or s["label"]
    return title if title == s["topic"] else f"{title} ({s['topic']})"


def _stream_lines(s: dict) -> list[Any]:
    lines: list[Any] = [("bold", _heading(s)), vn_text(s["reason"])]
    if s["sentiment"]:
        lines.append("Sắc thái: " + ", ".join(f"{k} {number(v)}" for k, v in s["sentiment"].items()) + ".")
    if s["units"]:
        lines.append("Đơn vị phản ánh: " + ", ".join(s["units"]) + ".")
    for q in s["quotes"]:
        lines.append(f"“{q['text']}” — {q['source']}" + (f" ({q['url']})" if q["url"] else ""))
    if s["summary"]:
        lines.append("Tóm tắt: " + " ".join(s["summary"]))
    for note in s.get("notes", []):
        lines.append(f"Ghi chú của cán bộ: {note}")
    for o in s.get("orientation", []):
        lines.append(f"Đề xuất định hướng: {o}")
    return lines


def _daily_sections(data: dict) -> list[tuple[str, list[Any]]]:
    out: list[tuple[str, list[Any]]] = []
    numbers = _numbers_lines(data["numbers"])
    if data.get("scope_note"):
        numbers.insert(0, data["scope_note"])
    if data["quiet"]:
        numbers.insert(0, "Trong ngày không ghi nhận tin, bài hay phản ánh nào.")
    if data["sources_down"]:
        numbers.append("Lưu ý: các nguồn sau bị lỗi trong ngày, số liệu có thể thiếu: "
                       + ", ".join(data["sources_down"]) + ".")
    out.append(("Tình hình chung trong ngày", numbers))
    flagged: list[Any] = []
    for section in data["sections"]:
        if section["streams"]:
            flagged.append(("bold", section["title"]))
            for s in section["streams"]:
                flagged.extend(_stream_lines(s))
    out.append(("Các luồng dư luận cần chú ý", flagged or ["Không có luồng dư luận nào cần chú ý trong ngày."]))
    reviewed: list[Any] = []
    for s in data["reviewed"]:
        reviewed.append(("bold", f"{s.get('headline') or s['label']} — {s['status_label']}"))
        reviewed.extend(_stream_lines(s)[1:])
    out.append(("Các luồng đã xác nhận, báo cáo và đề xuất định hướng",
                reviewed or ["Chưa có luồng nào được xác nhận hay báo cáo trong ngày."]))
    watch = []
    for w in data["watch"]:
        watch.append(vn_text(w["reason"]))
        watch.extend(f"“{q['text']}” — {q['source']}" for q in w["quotes"])
    out.append(("Từ khóa theo dõi", watch or ["Không có tin nào nhắc đến các từ khóa theo dõi."]))
    topics = [f"- {t['topic']}: {number(t['total'])} tin (tiêu cực {number(t['negative'])}, trung lập "
              f"{number(t['neutral'])}, tích cực {number(t['positive'])})." for t in data["topics"]]
    out.append(("Chủ đề và sắc thái", (topics or ["Không có dữ liệu."]) + [("image", "volume"), ("image", "sentiment")]))
    return out


NARRATIVE_PARTS = (("situation", "Nhận định chung"), ("causes", "Nguyên nhân"),
                   ("results", "Kết quả nổi bật"), ("difficulties", "Khó khăn, vấn đề mới nảy sinh"),
                   ("proposals", "Đề xuất, kiến nghị"))   # the parts of a unit's report its staff write
REPORT_STATUS = {"draft": "Nháp", "sent": "Đã gửi", "received": "Đã nhận"}
TREND_LABELS = {"event": "sự kiện nổi bật", "new_stream": "mới xuất hiện", "burst": "tăng nhanh",
                "spread": "lan rộng nhiều đơn vị", "negativity": "chuyển biến tiêu cực",
                "watch_term": "có từ khóa theo dõi", "watch_query": "có tìm kiếm theo dõi vượt ngưỡng"}   # what the detector saw, as a report says a story's course


def _trend_line(s: dict) -> str:
    status = s.get("status_label") or ""
    return f"Diễn biến: {TREND_LABELS.get(s.get('kind'), 'được theo dõi')}; {number(s['count'])} tin" + (
        f"; tình trạng xử lý: {status.lower()}." if status else ".")


def _narrative(data: dict, key: str) -> list[str]:
    """What the unit's staff wrote for one part, a paragraph a line."""
    text = (data.get("narrative") or {}).get(key) or ""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _causes(data: dict) -> list[Any]:
    """The staff's causes, then the causes stated in the period's largest stories, quoted (service/causeview.py)."""
    stated = data.get("stated_causes") or []
    return _narrative(data, "causes") + (
        [("bold", "Nguyên nhân được nêu trong các tin, ý kiến (trích nguyên văn)"), *stated] if stated else [])


def _period_sections(data: dict) -> list[tuple[str, list[Any]]]:
    """A union's report: the situation of opinion (press, collaborators, dialogues), its causes, what was done,
    difficulties and new issues, proposals, and, for a unit above others, its units' reports."""
    n = data["numbers"]
    # every item of the unit's in the period (collaborators' forms, dialogues, imported office files), then the kinds
    # and channels that sum to it; the forms sent from collaborators' accounts are only part of it
    numbers = [f"Số tin, ý kiến của đơn vị trong kỳ: {number(sum(n['by_kind'].values()))} (trong đó "
               f"{number(n['submissions'])} phản ánh gửi qua tài khoản cộng tác viên)."]
    numbers += [f"- {k}: {number(v)}." for k, v in n["by_kind"].items()]
    numbers += [f"- Kênh {CHANNEL_LABELS.get(k, k)}: {number(v)}." for k, v in n["by_channel"].items()]
    situation: list[Any] = _narrative(data, "situation") + numbers
    press = data.get("press") or []
    situation.append(("bold", "Dư luận trên báo chí"))
    for s in press:
        situation.append(("bold", _heading(s) + (" — liên quan trực tiếp đến đơn vị" if s.get("about_unit") else "")))
        situation.append(_trend_line(s))
        situation.extend(_stream_lines(s)[1:])
    if not press:
        situation.append("Báo chí không có luồng dư luận nào cần chú ý trong kỳ.")
    situation.append(("bold", "Dư luận trong đoàn viên, người lao động (cộng tác viên phản ánh)"))
    for s in data["streams"]:
        situation.append(("bold", f"{_heading(s)} — {s['status_label']}"))
        situation.append(_trend_line(s))
        situation.append(vn_text(s["reason"]))
        if s["sentiment"]:
            situation.append("Sắc thái: " + ", ".join(f"{k} {number(v)}" for k, v in s["sentiment"].items()) + ".")
    if not data["streams"]:
        situation.append("Không có luồng dư luận nào do cộng tác viên phản ánh trong kỳ.")
    situation.append(("bold", "Qua đối thoại, hội nghị, tiếp xúc"))
    for d in data.get("dialogues") or []:
        situation.append(("bold", f"{d['kind']} tại {d['enterprise'] or d['place'] or d['unit_name']} ngày "
                                  f"{d['held_on_vn']} ({d['unit_name']})"))
        if d["participants"]:
            situation.append(f"Thành phần: {d['participants']}.")
        for p in d["points"]:
            situation.append(f"- Ý kiến: {p['question']}")
            if p["answer"]:
                situation.append(f"  Trả lời: {p['answer']}")
            if p["commitment"]:
                situation.append(f"  Cam kết: {p['commitment']}" + (" (đã thực hiện)." if p["done"] else "."))
    if not data.get("dialogues"):
        situation.append("Trong kỳ không có buổi đối thoại, hội nghị nào được ghi nhận.")

    done: list[Any] = _narrative(data, "results")
    done.append(f"Số cộng tác viên: {number(len(data['collaborators']))}; có phản ánh trong kỳ: "
                f"{number(data['active_collaborators'])}.")
    done += [f"- {c['username']} ({c['unit_name']}): {number(c['submissions'])} phản ánh."
             for c in data["collaborators"]]
    done.append(f"Số buổi đối thoại, hội nghị, tiếp xúc: {number(len(data.get('dialogues') or []))}.")
    for s in data["streams"] + press:
        decisions = [d for d in s.get("decisions") or [] if d["note"] or d["action"]]
        if decisions:
            done.append(("bold", f"{_heading(s)} — {s['status_label']}"))
            done.extend(_decision_line(d) for d in decisions)

    if data.get("orientation_results"):
        done.append(("bold", "Kết quả định hướng"))
        done.extend(data["orientation_results"])

    issues: list[Any] = _narrative(data, "difficulties")
    issues += [f"- Vấn đề còn mở: {s.get('headline') or s['label']} ({s['status_label']})."
               for s in data["open_issues"]]
    issues += [f"- Cam kết chưa thực hiện: {c['commitment']} ({c['enterprise'] or c['unit_name']}, đối thoại ngày "
               f"{c['held_on_vn']})." for c in data.get("commitments") or []]
    sections = [
        ("Tình hình dư luận xã hội trong kỳ", situation),
        ("Nguyên nhân", _causes(data) or ["Đơn vị chưa nêu nguyên nhân."]),
        ("Kết quả công tác nắm bắt, định hướng dư luận", done),
        ("Khó khăn, vấn đề mới nảy sinh", issues or ["Không có vấn đề nào còn mở."]),
        ("Đề xuất, kiến nghị", _narrative(data, "proposals") or ["Không có đề xuất, kiến nghị."]),
    ]
    if data.get("children"):
        sections.append(("Báo cáo của các đơn vị trực thuộc", [_child_line(c) for c in data["children"]]))
    return sections


def _child_line(c: dict) -> str:
    """«- Công đoàn ngành Y tế tỉnh: đã gửi ngày 03/12/2026 (lần 2)» or «chưa gửi, quá hạn 05/12/2026»."""
    if c.get("sent_on"):
        status = f"{REPORT_STATUS.get(c['status'], c['status']).lower()}, gửi ngày {c['sent_on']}"
        status += f" (lần {c['revision']})" if c.get("revision", 1) > 1 else ""
    else:
        status = "chưa gửi" + (f", quá hạn {c['due_vn']}" if c.get("late") else f", hạn {c['due_vn']}")
    return f"- {c['unit_name']}: {status}."


def _decision_line(d: dict) -> str:
    """«Xác nhận: … (cán bộ staff1, ngày 05/11/2026)» — an action by its Vietnamese name, never its code."""
    label = d.get("action_label") or ACTION_LABELS.get(d["action"], "Xử lý")
    when = ""
    try:
        when = ", ngày " + _vn_date(datetime.fromisoformat(d["at"]).astimezone(TZ).date()) if d.get("at") else ""
    except ValueError:
        pass
    return f"{label}" + (f": {d['note']}" if d.get("note") else "") + f" (cán bộ {d.get('by') or 'hệ thống'}{when})."


def _scope_note(store: Store, scope: Scope, unit_names: dict[str, str]) -> str:
    """Whose copy of the briefing this is, said at its top (a reader of one unit sees their subtree and the press)."""
    rows = [r for r in store.org_units() if r["code"] in scope.units]
    ids = {r["id"] for r in rows}
    tops = [r["code"] for r in rows if r["parent_id"] not in ids]   # the reader's own unit(s), not those below
    names = ", ".join(sorted(unit_names.get(u, u) for u in tops)) or "đơn vị của bạn"
    return (f"Bản dành cho {names}: gồm tin báo chí của cả tỉnh và ý kiến của cộng tác viên thuộc đơn vị "
            "và các đơn vị trực thuộc.")


def _roman(n: int) -> str:
    return ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"][n - 1]


# --- making and scheduling ------------------------------------------------------------------------------
def make(store: Store, day: date, settings: Settings | None = None) -> dict:
    """Make (or make again, replacing) the briefing of a day and store it."""
    data = daily(store, day, settings)
    store.save_briefing(day.isoformat(), to_html(data, standalone=False), data)
    return data


def due_days(store: Store, now: datetime, settings: Settings, lookback: int = 7) -> list[date]:
    """Days whose briefing should exist by `now` but does not (a missed 07:00 is caught up later)."""
    local = now.astimezone(TZ)
    hour, minute = (int(x) for x in settings.briefing_time.split(":"))
    latest = local.date() - timedelta(days=1)
    if local.time() < time(hour, minute):
        latest -= timedelta(days=1)
    have = set(store.briefing_days(lookback + 2))
    return [d for d in days_between(latest - timedelta(days=lookback - 1), latest) if d.isoformat() not in have]


def run_due(store: Store, settings: Settings, now: datetime | None = None, detect: bool = True) -> list[date]:
    """The scheduler's job: make every briefing that is due and missing; returns the days made.

    Each day is detected once more first (`detect`), so items that arrived after the day's last cycle (late
    collection, a collaborator's report at 23:59) are in its flags before the briefing is written."""
    from service.logs import step
    from service.trends import detect as detect_day

    now = now or datetime.now(timezone.utc)
    made = []
    for day in due_days(store, now, settings):
        try:
            with step(log, "briefing", day=day.isoformat()) as counts:
                if detect:
                    counts["flags"] = len(detect_day(store, day, day, settings.trends))
                data = make(store, day, settings)
                counts["items"] = (data.get("total") or {}).get("count", 0)
            made.append(day)
        except Exception:  # one failed day must not stop the others; it is tried again at the next run
            pass       # logged with its traceback by step()
    return made


def write_files(data: dict, out_dir: Path, formats: list[str]) -> list[Path]:
    """Write the data as files (html, docx) into a folder; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"pulse-{data['type']}-{data.get('day') or data.get('unit') + '-' + data['first']}"
    paths = []
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        if fmt == "html":
            path.write_text(to_html(data, standalone=True), encoding="utf-8")
        elif fmt == "docx":
            path.write_bytes(to_docx(data))
        else:
            raise ValueError(f"unknown format {fmt!r}: use html or docx.")
        paths.append(path)
    return paths
