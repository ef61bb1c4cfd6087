"""Office files on the web: a unit's staff upload a spreadsheet or a DOCX report, see each row as it will be read
(date, unit, text; already stored or not), name the columns Pulse did not understand, then import it."""
from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse

from service import officeimport
from service.routes.web import DECIDERS, Viewer, access, get_store, render

router = APIRouter(include_in_schema=False)
PREVIEW_ROWS = 200   # rows shown on the page (all are imported)


@router.get("/imports")
def upload_page(request: Request, viewer: Viewer = Depends(access(*DECIDERS))):
    return render(request, "imports.html", {"error": ""}, viewer)


@router.post("/imports")
async def upload(request: Request, file: UploadFile = File(...), viewer: Viewer = Depends(access(*DECIDERS))):
    content = await file.read()
    settings = request.app.state.settings
    try:
        name = officeimport.check_upload(file.filename or "", content, settings.imports)
    except officeimport.UploadError as exc:
        return render(request, "imports.html", {"error": str(exc)}, viewer, status_code=400)
    from starlette.concurrency import run_in_threadpool

    upload_id = await run_in_threadpool(get_store(request).add_pending_import, viewer.id, viewer.unit, name, content)
    return RedirectResponse(f"/imports/{upload_id}", status_code=303)


def _upload(request: Request, viewer: Viewer, upload_id: int) -> dict:
    """An upload is its uploader's only."""
    upload = get_store(request).pending_import(upload_id)
    if upload is None or upload["user_id"] != viewer.id:
        raise HTTPException(404)
    return upload


def _preview(request: Request, viewer: Viewer, upload: dict, choices: list[str], date: str):
    return officeimport.read(get_store(request), upload, viewer.units, viewer.unit, choices, date,
                             request.app.state.settings.imports)


@router.get("/imports/{upload_id}")
def preview_page(request: Request, upload_id: int, date: str = "", viewer: Viewer = Depends(access(*DECIDERS))):
    upload = _upload(request, viewer, upload_id)
    choices = request.query_params.getlist("map")
    preview = _preview(request, viewer, upload, choices, date)
    return render(request, "import_preview.html", {
        "upload_id": upload_id, "p": preview, "rows": preview.rows[:PREVIEW_ROWS], "date": date,
        "choices": officeimport.mapping_pairs(choices), "fields": officeimport.FIELD_NAMES}, viewer)


@router.post("/imports/{upload_id}")
def import_upload(request: Request, upload_id: int, date: str = Form(""), map: list[str] = Form([]),
                  viewer: Viewer = Depends(access(*DECIDERS))):
    """Import the upload's new rows as its preview showed them; the upload is then forgotten."""
    upload = _upload(request, viewer, upload_id)
    store = get_store(request)
    preview = _preview(request, viewer, upload, map, date)
    stored = officeimport.commit(store, preview, upload_id)
    return render(request, "import_done.html", {"p": preview, "stored": stored}, viewer)
