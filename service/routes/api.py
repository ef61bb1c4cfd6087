"""The JSON API for integrations (Authorization: Bearer <token>), and its OpenAPI description at /docs."""
from __future__ import annotations

from datetime import date
from typing import Literal, Optional

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from service.routes import items as items_routes
from service.routes.collaborator import SubmissionError, describe, store_observation, validate
from service.routes.review import flag_or_404, visible_flags
from service.routes.web import MAX_ID, REVIEWERS, SUBMITTERS, Viewer, access, get_store, render

class ErrorOut(BaseModel):
    """Every refusal of the API: a Vietnamese sentence, and for invalid data the fields at fault."""

    detail: str
    fields: Optional[list[str]] = None


def _error(text: str) -> dict:
    return {"model": ErrorOut, "description": text}


# the answers any operation may give besides its own (the app's error handlers answer them all as ErrorOut)
ERROR_RESPONSES = {
    400: _error("Yêu cầu không hợp lệ (ví dụ: ngày sai dạng, thiếu khóa chống gửi trùng)."),
    401: _error("Thiếu mã truy cập, mã sai, đã thu hồi hoặc đã hết hạn."),
    403: _error("Mã truy cập đúng nhưng vai trò không được dùng thao tác này."),
    413: _error("Nội dung gửi lên quá lớn."),
    422: _error("Dữ liệu gửi lên không hợp lệ; `fields` nêu các trường sai."),
    429: _error("Gửi quá nhiều trong thời gian ngắn; thử lại sau ít phút."),
}
NOT_FOUND = {404: _error("Không có đối tượng này trong phạm vi của bạn.")}

router = APIRouter(prefix="/api", tags=["api"], responses=ERROR_RESPONSES)
docs_router = APIRouter(include_in_schema=False)

Channel = Literal["truc-tiep", "hoi-nghi", "mang-xa-hoi", "bao-chi", "khac"]


class SubmissionIn(BaseModel):
    text: str = Field(..., description="Nội dung ý kiến, 10 đến 5.000 ký tự.", max_length=20000)
    channel: Channel = Field(..., description="Kênh nắm bắt: trực tiếp, hội nghị / đối thoại, mạng xã hội, báo chí, khác.")
    unit: Optional[str] = Field(None, description="Mã đơn vị (mặc định: đơn vị của người gửi).", max_length=100)
    place: Optional[str] = Field(None, description="Địa điểm.", max_length=1000)
    observed_on: Optional[date] = Field(None, description="Ngày nắm bắt (mặc định: hôm nay).")
    people: int = Field(1, description="Khoảng bao nhiêu người cùng ý kiến.", ge=1, le=1_000_000)
    idempotency_key: Optional[str] = Field(None, description="Khóa chống gửi trùng (8–100 ký tự); gửi lại cùng khóa "
                                                             "không tạo bản ghi mới. Có thể gửi qua tiêu đề Idempotency-Key.",
                                           max_length=200)


class FlagRef(BaseModel):
    id: int
    kind: str
    status: str


class SubmissionOut(BaseModel):
    id: int
    created_at: str
    processed: bool = Field(..., description="Đã được phân tích và xếp vào luồng dư luận.")
    stage: str
    text: str
    channel: Optional[str]
    unit: Optional[str]
    observed_on: Optional[str]
    people: Optional[int]
    place: Optional[str]
    stream_id: Optional[int]
    topic: Optional[str]
    sentiment: Optional[str]
    flags: list[FlagRef]


class FlagOut(BaseModel):
    id: int
    kind: str
    status: str
    stream_id: Optional[int]
    topic: Optional[str]
    score: float
    window_start: str
    window_end: str
    count: int
    baseline: float
    reason: str
    keyphrases: list[str]
    item_ids: list[int]
    evidence: dict


class ItemOut(BaseModel):
    id: int
    url: Optional[str]
    kind: str
    title: str
    text: str
    source: str
    org_unit: Optional[str]
    channel: Optional[str]
    published_at: str
    stream_id: Optional[int]
    topic: Optional[str]
    sentiment: Optional[str]


def _submission_out(row: dict) -> SubmissionOut:
    row = describe(row)
    extra = row["extra"] or {}
    return SubmissionOut(id=row["id"], created_at=row["created_at"], processed=row["processed_at"] is not None,
                         stage=row["stage"], text=row["text"], channel=row["channel"], unit=row["org_unit"],
                         observed_on=extra.get("observed_on"), people=extra.get("people"), place=extra.get("place"),
                         stream_id=row["stream_id"], topic=row["topic"], sentiment=row["sentiment"],
                         flags=[FlagRef(**f) for f in row["flags"]])


def _flag_out(flag: dict, viewer: Viewer) -> FlagOut:
    data = {k: flag[k] for k in FlagOut.model_fields}
    return FlagOut(**data)


@router.post("/submissions", response_model=SubmissionOut, status_code=201,
             summary="Gửi một ý kiến (cộng tác viên)", responses={200: {"description": "Đã nhận trước đó (cùng khóa)"}})
def api_submit(request: Request, body: SubmissionIn, viewer: Viewer = Depends(access(*SUBMITTERS)),
               idempotency_key: Optional[str] = Header(None, max_length=200)):
    key = body.idempotency_key or idempotency_key
    if not key:
        raise HTTPException(400, "Cần khóa chống gửi trùng (idempotency_key hoặc tiêu đề Idempotency-Key).")
    try:
        obs = validate(viewer, body.text, body.channel, body.unit, body.place, body.observed_on, body.people, key)
    except SubmissionError as exc:
        raise HTTPException(422, str(exc)) from None
    store = get_store(request)
    submission_id, created = store_observation(request, store, viewer, obs)
    out = _submission_out(store.submissions(user_id=viewer.id, ids=[submission_id], limit=1)[0])
    return JSONResponse(out.model_dump(), status_code=201 if created else 200)


@router.get("/submissions", response_model=list[SubmissionOut], summary="Các ý kiến tôi đã gửi")
def api_my_submissions(request: Request, limit: int = Query(100, ge=1, le=500),
                       viewer: Viewer = Depends(access(*SUBMITTERS))):
    return [_submission_out(r) for r in get_store(request).submissions(user_id=viewer.id, limit=limit)]


@router.get("/submissions/{submission_id}", response_model=SubmissionOut, summary="Một ý kiến tôi đã gửi",
            responses=NOT_FOUND)
def api_submission(request: Request, submission_id: int = Path(..., ge=1, le=MAX_ID),
                   viewer: Viewer = Depends(access(*SUBMITTERS))):
    rows = get_store(request).submissions(user_id=viewer.id, ids=[submission_id], limit=1)
    if not rows:
        raise HTTPException(404)
    return _submission_out(rows[0])


@router.get("/flags", response_model=list[FlagOut], summary="Cảnh báo trong phạm vi của tôi, điểm cao trước")
def api_flags(request: Request, status: Literal["open", "confirmed", "dismissed", "escalated", ""] = "open",
              kind: str = "", topic: str = "", unit: str = "", day: str = "",
              viewer: Viewer = Depends(access(*REVIEWERS))):
    flags = visible_flags(get_store(request), viewer, status or None, kind, topic, unit, day)
    return [_flag_out(f, viewer) for f in flags]


@router.get("/flags/{flag_id}", response_model=FlagOut, summary="Một cảnh báo với bằng chứng", responses=NOT_FOUND)
def api_flag(request: Request, flag_id: int = Path(..., ge=1, le=MAX_ID), viewer: Viewer = Depends(access(*REVIEWERS))):
    return _flag_out(flag_or_404(get_store(request), viewer, flag_id), viewer)


@router.get("/items", response_model=list[ItemOut],
            summary="Tìm tin, ý kiến (có dấu: đúng dấu; không dấu: mọi cách viết), mới nhất trước")
def api_items(request: Request, q: str = Query("", max_length=200), kind: str = "", topic: str = "", unit: str = "",
              source: str = "", since: str = "", until: str = "", limit: int = Query(50, ge=1, le=200),
              offset: int = Query(0, ge=0, le=1_000_000), viewer: Viewer = Depends(access(*REVIEWERS))):
    found = items_routes.search(get_store(request), viewer, q, kind, topic, unit, source, since, until, limit, offset,
                                order="newest")
    if found.error:
        raise HTTPException(400, found.error)
    return [ItemOut(**{k: (r["text"] or "")[:400] if k == "text" else r.get(k) for k in ItemOut.model_fields})
            for r in found.rows]


def api_schema(request: Request) -> dict:
    app = request.app
    if getattr(app.state, "api_schema", None) is None:
        # pages are left out of the schema (include_in_schema=False), so it describes the JSON API only
        app.state.api_schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                           routes=app.routes)
        app.state.api_schema["components"] = {**app.state.api_schema.get("components", {}),
                                              "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}
        app.state.api_schema["security"] = [{"bearer": []}]
    return app.state.api_schema


@docs_router.get("/openapi.json")
def openapi_json(request: Request, viewer: Viewer = Depends(access())):
    return JSONResponse(api_schema(request))


@docs_router.get("/docs")
def docs(request: Request, viewer: Viewer = Depends(access())):
    schema = api_schema(request)
    operations = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            body = (((op.get("requestBody") or {}).get("content") or {}).get("application/json") or {}).get("schema")
            if body and "$ref" in body:
                body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
            operations.append({"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                               "parameters": op.get("parameters", []), "body": body,
                               "responses": sorted(op.get("responses", {}))})
    return render(request, "docs.html", {"schema": schema, "operations": operations}, viewer)
