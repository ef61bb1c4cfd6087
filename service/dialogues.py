"""Dialogues, conferences and field visits as the third channel of opinion (the seed plan's «giao lưu, đối thoại»).

A dialogue is recorded with its date, unit, enterprise, participants and its points: the opinion or question raised,
the answer given and any commitment made. Each opinion becomes an observation item (channel «hoi-nghi») that the
pipeline annotates, streams and counts like a collaborator's report; a commitment stays open until it is marked done
and open ones are listed in the unit's report (service/briefing.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from collectors.items import RawItem
from nlp.normalize import clean_text
from service.store import Store
from service.timeutil import TZ

KINDS = {"dialogue": "Đối thoại", "meeting": "Hội nghị", "visit": "Tiếp xúc, thăm cơ sở"}
SOURCE = "Đối thoại, hội nghị"
CHANNEL = "hoi-nghi"
MAX_POINTS = 50
LIMITS = {"enterprise": 200, "place": 200, "participants": 1000, "question": 5000, "answer": 5000,
          "commitment": 2000}


class DialogueError(ValueError):
    """What is wrong with a dialogue as entered, in Vietnamese for the page; `existing` names the same dialogue
    already recorded."""

    def __init__(self, message: str, existing: int | None = None):
        super().__init__(message)
        self.existing = existing


@dataclass
class Point:
    question: str
    answer: str = ""
    commitment: str = ""


def points_from_form(questions: list[str], answers: list[str], commitments: list[str]) -> list[Point]:
    """The form's rows as points; a row without a question is left out, the same question twice is one point."""
    out: dict[str, Point] = {}
    for n, question in enumerate(questions):
        q = clean_text(question, LIMITS["question"])
        if not q:
            continue
        answer = clean_text(answers[n] if n < len(answers) else "", LIMITS["answer"])
        commitment = clean_text(commitments[n] if n < len(commitments) else "", LIMITS["commitment"])
        key = " ".join(q.lower().split())
        if key not in out:
            out[key] = Point(q, answer, commitment)
    return list(out.values())


def record(store: Store, *, unit: str, held_on: date, kind: str, enterprise: str, place: str, participants: str,
           points: list[Point], username: str, today: date) -> int:
    """Store a dialogue, its points and one item per opinion raised, in one transaction. Returns its id."""
    if kind not in KINDS:
        raise DialogueError("Hình thức không hợp lệ.")
    if store.org_unit(unit) is None:
        raise DialogueError("Không có đơn vị này.")
    if held_on > today:
        raise DialogueError("Ngày tổ chức không được sau hôm nay.")
    if held_on < date(1990, 1, 1):
        raise DialogueError("Ngày tổ chức không hợp lệ.")
    enterprise, place = clean_text(enterprise, LIMITS["enterprise"]), clean_text(place, LIMITS["place"])
    participants = clean_text(participants, LIMITS["participants"])
    if not enterprise and not place:
        raise DialogueError("Hãy ghi doanh nghiệp, cơ quan hoặc địa điểm tổ chức.")
    if not points:
        raise DialogueError("Hãy ghi ít nhất một ý kiến, câu hỏi được nêu.")
    if len(points) > MAX_POINTS:
        raise DialogueError(f"Mỗi buổi ghi tối đa {MAX_POINTS} ý kiến.")
    existing = store.dialogue_exists(unit, held_on.isoformat(), kind, enterprise)
    if existing:
        raise DialogueError("Buổi này đã được ghi nhận trước đó.", existing)
    published = datetime.combine(held_on, time(12, 0), tzinfo=TZ).astimezone(timezone.utc)
    title = f"{KINDS[kind]} tại {enterprise or place}, ngày {held_on:%d/%m/%Y}"
    items = [RawItem(text=p.question, title=title, source=SOURCE, kind="observation", org_unit=unit,
                     channel=CHANNEL, author=username, published_at=published,
                     extra={"place": place, "enterprise": enterprise, "answer": p.answer,
                            "commitment": p.commitment, "dialogue": True}) for p in points]
    with store.transaction():
        rows = []
        for point, item in zip(points, items):
            new = store.add_items([item])
            rows.append({"question": point.question, "answer": point.answer, "commitment": point.commitment,
                         "item_id": new[0] if new else None})
        return store.add_dialogue(unit, held_on.isoformat(), kind, enterprise, place, participants, username, rows)
