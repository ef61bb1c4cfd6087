"""Dialogues, conferences and field visits: recorded by a unit's staff with the opinions raised, the answers and
the commitments; read within the reader's subtree only."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse

from service import dialogues
from service.routes.web import DECIDERS, REVIEWERS, Viewer, access, get_store, parse_day, render, scoped_units
from service.timeutil import today_local

router = APIRouter(include_in_schema=False)
BLANK_ROWS = 5   # rows of questions the form offers


def _page(request: Request, viewer: Viewer, error: str = "", values: dict | None = None, status_code: int = 200):
    store = get_store(request)
    rows = list(dialogues.points_from_form(*(values or {}).get("rows", ([], [], []))))
    return render(request, "dialogues.html", {
        "dialogues": store.dialogues(viewer.units, limit=100), "kinds": dialogues.KINDS,
        "units": scoped_units(store, viewer), "today": today_local().isoformat(), "error": error,
        "values": values or {"unit": viewer.unit, "kind": "dialogue", "held_on": today_local().isoformat()},
        "rows": rows + [dialogues.Point("")] * max(1, BLANK_ROWS - len(rows)),
        "can_write": viewer.role in DECIDERS}, viewer, status_code=status_code)


@router.get("/dialogues")
def dialogues_page(request: Request, viewer: Viewer = Depends(access(*REVIEWERS))):
    return _page(request, viewer)


@router.post("/dialogues")
def dialogue_record(request: Request, unit: str = Form(...), held_on: str = Form(...), kind: str = Form("dialogue"),
                    enterprise: str = Form(""), place: str = Form(""), participants: str = Form(""),
                    question: list[str] = Form([]), answer: list[str] = Form([]), commitment: list[str] = Form([]),
                    viewer: Viewer = Depends(access(*DECIDERS))):
    if not viewer.sees_unit(unit):
        raise HTTPException(404)
    values = {"unit": unit, "held_on": held_on, "kind": kind, "enterprise": enterprise, "place": place,
              "participants": participants, "rows": (question, answer, commitment)}
    try:
        dialogue_id = dialogues.record(
            get_store(request), unit=unit, held_on=parse_day(held_on, "Ngày tổ chức"), kind=kind,
            enterprise=enterprise, place=place, participants=participants,
            points=dialogues.points_from_form(question, answer, commitment), username=viewer.username,
            today=today_local())
    except dialogues.DialogueError as exc:
        if exc.existing:
            return RedirectResponse(f"/dialogues/{exc.existing}?exists=1", status_code=303)
        return _page(request, viewer, str(exc), values, status_code=400)
    return RedirectResponse(f"/dialogues/{dialogue_id}", status_code=303)


def _readable(request: Request, viewer: Viewer, dialogue_id: int) -> dict:
    dialogue = get_store(request).dialogue(dialogue_id)
    if dialogue is None or not viewer.sees_unit(dialogue["org_unit"]):
        raise HTTPException(404)
    return dialogue


@router.get("/dialogues/{dialogue_id}")
def dialogue_page(request: Request, dialogue_id: int, viewer: Viewer = Depends(access(*REVIEWERS))):
    dialogue = _readable(request, viewer, dialogue_id)
    return render(request, "dialogue.html", {"d": dialogue, "kinds": dialogues.KINDS,
                                             "can_write": viewer.role in DECIDERS}, viewer)


@router.post("/dialogues/{dialogue_id}/done")
def commitment_done(request: Request, dialogue_id: int, point_id: int = Form(...),
                    viewer: Viewer = Depends(access(*DECIDERS))):
    """Mark a commitment made in the dialogue as done (who and when are kept)."""
    _readable(request, viewer, dialogue_id)
    if not get_store(request).mark_commitment_done(dialogue_id, point_id, viewer.username):
        raise HTTPException(409, "Cam kết này không còn mở.")
    return RedirectResponse(f"/dialogues/{dialogue_id}", status_code=303)
