"""Collaborators: the observation form (mobile first), its confirmation and their own list of submissions."""
from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse

from collectors.items import RawItem
from service.routes.web import (CHANNELS, SUBMITTERS, Viewer, access, get_store, render, scoped_units, topic_names)
from service.store import Store
from service.timeutil import TZ, today_local

router = APIRouter(include_in_schema=False)

MIN_TEXT, MAX_TEXT, MAX_PLACE = 10, 5000, 200
MAX_PEOPLE = 1_000_000
SOURCE = "Cộng tác viên"
_KEY = re.compile(r"^[A-Za-z0-9_-]{8,100}$")


class SubmissionError(ValueError):
    """A field a collaborator filled wrongly; the message is one Vietnamese sentence."""


@dataclass
class Observation:
    text: str
    channel: str
    unit: str | None
    place: str
    observed_on: date
    people: int
    idempotency_key: str


def validate(viewer: Viewer, text: str, channel: str, unit: str | None, place: str | None,
             observed_on: str | date | None, people: int | str | None, key: str) -> Observation:
    """Check a submission's fields the same way for the form and the API."""
    text = unicodedata.normalize("NFC", (text or "").replace("\r\n", "\n")).strip()
    text = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())
    if len(text) < MIN_TEXT:
        raise SubmissionError(f"Nội dung ý kiến cần ít nhất {MIN_TEXT} ký tự.")
    if len(text) > MAX_TEXT:
        raise SubmissionError(f"Nội dung ý kiến tối đa {MAX_TEXT:,} ký tự (hiện có {len(text):,}).".replace(",", "."))
    if channel not in CHANNELS:
        raise SubmissionError("Vui lòng chọn kênh nắm bắt ý kiến.")
    unit = unit or viewer.unit
    if unit is not None and not viewer.sees_unit(unit):
        raise SubmissionError("Bạn chỉ có thể gửi ý kiến cho đơn vị của mình hoặc đơn vị trực thuộc.")
    place = unicodedata.normalize("NFC", (place or "").strip())
    if len(place) > MAX_PLACE:
        raise SubmissionError(f"Địa điểm tối đa {MAX_PLACE} ký tự.")
    today = today_local()
    if observed_on in (None, ""):
        day = today
    elif isinstance(observed_on, date):
        day = observed_on
    else:
        try:
            day = date.fromisoformat(str(observed_on).strip())
        except ValueError:
            raise SubmissionError("Ngày nắm bắt không hợp lệ.") from None
    if day > today:
        raise SubmissionError("Ngày nắm bắt không thể ở tương lai.")
    if day < today - timedelta(days=366):
        raise SubmissionError("Ngày nắm bắt đã quá một năm.")
    try:
        count = int(people) if people not in (None, "") else 1
    except (TypeError, ValueError):
        raise SubmissionError("Số người cùng ý kiến phải là một số.") from None
    if not 1 <= count <= MAX_PEOPLE:
        raise SubmissionError("Số người cùng ý kiến phải từ 1 trở lên.")
    if not _KEY.match(key or ""):
        raise SubmissionError("Biểu mẫu không hợp lệ, vui lòng tải lại trang.")
    return Observation(text, channel, unit, place, day, count, key)


def store_observation(request: Request, store: Store, viewer: Viewer, obs: Observation) -> tuple[int, bool]:
    """Store the submission (once per key), then nudge the worker that annotates and streams it."""
    if not request.app.state.submit_limiter.allow(f"user:{viewer.id}"):
        raise HTTPException(429, "Bạn gửi quá nhiều ý kiến trong thời gian ngắn, vui lòng thử lại sau ít phút.")
    if obs.observed_on == today_local():
        published = datetime.now(timezone.utc)
    else:
        published = datetime.combine(obs.observed_on, time(12), tzinfo=TZ).astimezone(timezone.utc)
    item = RawItem(text=obs.text, source=SOURCE, kind="observation", published_at=published, author=viewer.username,
                   org_unit=obs.unit, channel=obs.channel,
                   extra={"place": obs.place, "observed_on": obs.observed_on.isoformat(), "people": obs.people})
    # one writer at a time from this process: SQLite would otherwise make concurrent writers sleep and retry
    with request.app.state.write_lock:
        submission_id, created = store.add_submission(viewer.id, obs.idempotency_key, item)
    if created:
        request.app.state.worker.notify()
    return submission_id, created


def describe(row: dict) -> dict:
    """What happened to a submission, in words a collaborator reads."""
    names = topic_names()
    if row["processed_at"] is None:
        stage = "Đã nhận, đang phân tích"
    elif row["stream_id"] is not None:
        stage = f"Đã phân tích: chủ đề «{names.get(row['topic'], row['topic'])}»"
    else:
        stage = "Đã phân tích"
    return {**row, "stage": stage, "topic_name": names.get(row["topic"] or "", "")}


def _form(request: Request, viewer: Viewer, values: dict, error: str = "", status_code: int = 200):
    store = get_store(request)
    return render(request, "submit.html", {"values": values, "error": error, "units": scoped_units(store, viewer),
                                           "today": today_local().isoformat(), "max_text": MAX_TEXT,
                                           "min_text": MIN_TEXT}, viewer, status_code=status_code)


@router.get("/submit")
def submit_form(request: Request, viewer: Viewer = Depends(access(*SUBMITTERS))):
    return _form(request, viewer, {"unit": viewer.unit, "channel": "", "observed_on": today_local().isoformat(),
                                   "people": 1, "idempotency_key": uuid.uuid4().hex})


@router.post("/submit")
def submit(request: Request, viewer: Viewer = Depends(access(*SUBMITTERS)), text: str = Form("", max_length=20000),
           channel: str = Form("", max_length=50), unit: str = Form("", max_length=100),
           place: str = Form("", max_length=1000), observed_on: str = Form("", max_length=20),
           people: str = Form("1", max_length=20), idempotency_key: str = Form("", max_length=200)):
    values = {"text": text, "channel": channel, "unit": unit, "place": place, "observed_on": observed_on,
              "people": people, "idempotency_key": idempotency_key}
    try:
        obs = validate(viewer, text, channel, unit or None, place, observed_on, people, idempotency_key)
    except SubmissionError as exc:
        if not _KEY.match(idempotency_key or ""):
            values["idempotency_key"] = uuid.uuid4().hex
        return _form(request, viewer, values, str(exc), status_code=400)
    submission_id, _ = store_observation(request, get_store(request), viewer, obs)
    return RedirectResponse(f"/submissions/{submission_id}?sent=1", status_code=303)


@router.get("/submissions")
def my_submissions(request: Request, viewer: Viewer = Depends(access(*SUBMITTERS))):
    rows = [describe(r) for r in get_store(request).submissions(user_id=viewer.id, limit=200)]
    return render(request, "submissions.html", {"rows": rows}, viewer)


@router.get("/submissions/{submission_id}")
def submission_page(request: Request, submission_id: int, sent: int = 0,
                    viewer: Viewer = Depends(access(*SUBMITTERS))):
    rows = get_store(request).submissions(user_id=viewer.id, ids=[submission_id], limit=1)
    if not rows:
        raise HTTPException(404)
    return render(request, "submission.html", {"row": describe(rows[0]), "sent": bool(sent)}, viewer)
