"""The analysts' pages: label items with one click (a queue ordered for learning), edit the taxonomy, train a
candidate from the board's labels in the background, compare it with the active model, promote it or roll back.

Training, promotion and rollback are queued as jobs (service/jobs.py) that the job worker runs (service/worker.py),
one at a time; the page shows the job's progress from its row and the app stays responsive: no work runs in the web
server.
"""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from service import registry, retrain
from service.datadir import data_dir, datasets_problem, taxonomy_file, writable_taxonomy
from service.labels import LabelError, SENTIMENTS, board_counts, export_rows, safe_cells, set_label
from service.routes.web import REVIEWERS, Viewer, access, clean_text, get_store, render
from service.store import Store
from service.taxonomy_edit import TaxonomyError, add_topic, delete_topic, merge_topics, read, rename_topic
from service.vnformat import number

router = APIRouter(include_in_schema=False)
TRAINERS = ("admin", "analyst")          # may train, promote, roll back and edit the taxonomy
JOB_NAMES = {"train": "Huấn luyện mô hình mới", "promote": "Đưa mô hình vào sử dụng", "rollback": "Quay lại mô hình trước"}


def job_failure(exc: Exception | str) -> str:
    """Why a job failed, in the page's language (the English detail goes to the job's log)."""
    text = str(exc)
    if "Tiến trình chạy việc này" in text:   # its worker died (service/jobs.repair_stale): already Vietnamese
        return text
    if "Not enough board labels" in text:
        return ("Chưa đủ nhãn để huấn luyện: cần ít nhất hai nhãn cho một chủ đề (nên có từ "
                f"{retrain.MIN_LABELS} nhãn mỗi chủ đề). Hãy gán nhãn thêm rồi huấn luyện lại.")
    if "scores lower than the active" in text:
        return ("Mô hình này kém hơn mô hình đang dùng trên các tin giữ riêng; hãy đánh dấu ô xác nhận nếu vẫn muốn "
                "đưa vào dùng.")
    if "refusing to load" in text:
        return "Tệp mô hình không hợp lệ (chỉ nhận tệp skops của Pulse); mô hình không được đưa vào dùng."
    if "roll back" in text:
        return "Không có phiên bản nào dùng trước đó để quay lại."
    if "seed corpus" in text:
        return DATASETS_MISSING
    return GENERIC_FAILURE


GENERIC_FAILURE = "Đã có lỗi; chi tiết ở nhật ký bên dưới."


ANALYST_KINDS = ["train", "promote", "rollback"]


def _job_view(row: dict | None) -> dict | None:
    """The analysts' latest job (a row of the jobs table) as the page shows it: done or not, its outcome in
    Vietnamese, its log lines and how far it got."""
    if row is None:
        return None
    counts = row["counts"]
    done = row["status"] in ("done", "failed", "cancelled")
    if row["status"] == "done" and row["kind"] == "train":
        result = counts.get("version", "")
    elif row["status"] == "done" and row["kind"] == "promote":
        result = (f"Mô hình chủ đề {counts.get('version')} đang được dùng (thay {counts.get('previous') or 'không có'}); "
                  f"{number(counts.get('reannotated', 0))} tin được gán nhãn lại, "
                  f"{number(counts.get('facts_updated', 0))} tin trong luồng được cập nhật.")
    elif row["status"] == "done":
        result = (f"Đã quay lại mô hình chủ đề {counts.get('version')} (thay {counts.get('previous')}); "
                  f"{number(counts.get('facts_updated', 0))} tin được cập nhật.")
    elif row["status"] == "cancelled":
        result = "Đã bị hủy."
    elif row["status"] == "failed":
        result = job_failure(row["error"] or "")
    else:
        result = ""
    lines = (row["log_excerpt"] or "").splitlines()
    if row["status"] == "failed" and row["error"] and row["error"] not in lines:
        lines.append(row["error"])
    total, got = row["progress_total"], row["progress_done"]
    return {"id": row["id"], "kind": row["kind"], "username": row["requested_by"], "status": row["status"],
            "done": done, "ok": row["status"] == "done", "result": result, "lines": lines,
            "queued": row["status"] == "queued",
            "share": min(1.0, got / total) if total and got is not None else None}


def latest_job(request: Request) -> dict | None:
    """The newest training, promotion or rollback, whoever asked for it."""
    store = get_store(request)
    rows = [r for kind in ANALYST_KINDS for r in store.jobs(kind=kind, limit=1)]
    return _job_view(max(rows, key=lambda r: r["id"]) if rows else None)


def _enqueue(request: Request, viewer: Viewer, kind: str, params: dict) -> bool:
    """Queue an analysts' job for the worker, unless one of them is already queued or running; wake the worker."""
    from service.jobs import enqueue, open_job

    store = get_store(request)
    user = store.user(viewer.username) or {}
    unit = next((u["code"] for u in store.org_units() if u["id"] == user.get("org_unit_id")), None)
    with store.transaction():   # the check and the insert at once: two clicks never queue two jobs
        if open_job(store, ANALYST_KINDS) is not None:
            return False
        enqueue(store, kind, {**params, "user": viewer.username}, requested_by=viewer.username, org_unit=unit)
    request.app.state.worker.notify()
    return True


DATASETS_MISSING = ("Không tìm thấy kho văn bản dùng để huấn luyện (datasets_dir trong tệp cấu hình). Hãy đặt "
                    "datasets_dir trỏ tới thư mục chứa các bộ dữ liệu rồi huấn luyện lại.")


def _models_dir(request: Request) -> Path:
    """The models to read (the data folder's once it has a registry, the shipped ones before), the data folder
    synced first with the store's registry and versions (trained or promoted on another machine: service/modelsync.py)."""
    from service import modelsync

    return modelsync.models_home(get_store(request), request.app.state.settings)


def _taxonomy(request: Request) -> Path:
    return taxonomy_file(request.app.state.settings)


def _back(path: str, message: str = "", error: str = "") -> RedirectResponse:
    query = f"?msg={quote(message)}" if message else (f"?err={quote(error)}" if error else "")
    return RedirectResponse(path + query, status_code=303)


def _safe_next(value: str, default: str) -> str:
    return value if value.startswith("/") and value[1:2] not in ("/", "\\") else default


def _topic_names(taxonomy: Path) -> dict[str, str]:
    return {code: t["name"] for code, t in read(taxonomy)["topics"].items()}


def _versions(store: Store, models_dir: Path) -> list[dict]:
    """Every topic version: registry state, card facts, held-out figures."""
    entry = registry.read_registry(models_dir).get("topic") or {}
    known = {r["version"]: r for r in store.model_versions("topic")}
    out = []
    for version in reversed(entry.get("versions", [])):
        path = models_dir / "topic" / version / "metrics.json"
        summary = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        row = known.get(version, {})
        out.append({"version": version, "active": version == entry.get("active"),
                    "board": summary.get("source") == "board labels", "summary": summary,
                    "trained_by": row.get("trained_by") or summary.get("trained_by"),
                    "trained_at": row.get("trained_at") or summary.get("trained_at") or summary.get("date"),
                    "promoted_by": row.get("promoted_by"), "promoted_at": row.get("promoted_at")})
    return out


# --- overview ----------------------------------------------------------------------------------------------------------


@router.get("/analyst")
def analyst_page(request: Request, msg: str = "", err: str = "", viewer: Viewer = Depends(access(*TRAINERS))):
    store, models_dir = get_store(request), _models_dir(request)
    names = _topic_names(_taxonomy(request))
    counts = board_counts(store)
    warnings = retrain.label_warnings(counts["train"], list(names))
    return render(request, "analyst_index.html", {
        "names": names, "counts": counts, "warnings": warnings, "versions": _versions(store, models_dir),
        "job": latest_job(request), "job_names": JOB_NAMES, "msg": msg, "err": err,
        "has_history": bool((registry.read_registry(models_dir).get("topic") or {}).get("history"))}, viewer)


BUSY = "Đang có một việc chạy nền; vui lòng chờ nó xong."


@router.post("/analyst/train")
def train_candidate(request: Request, viewer: Viewer = Depends(access(*TRAINERS))):
    settings = request.app.state.settings
    cache_dir = data_dir(settings)
    if not retrain.seed_cached(cache_dir, retrain.SEED_LEADS) and datasets_problem(settings, retrain.SEED_CORPUS):
        return _back("/analyst", error=DATASETS_MISSING)
    if not _enqueue(request, viewer, "train", {"task": "topic", "from_labels": True,
                                               "seed_leads": retrain.SEED_LEADS}):
        return _back("/analyst", error=BUSY)
    return _back("/analyst", "Đã xếp việc huấn luyện; tiến độ hiện bên dưới.")


# --- a version's report, promote, rollback -----------------------------------------------------------------------------


@router.get("/analyst/models/{version}")
def model_page(request: Request, version: str, msg: str = "", err: str = "",
               viewer: Viewer = Depends(access(*TRAINERS))):
    store, models_dir = get_store(request), _models_dir(request)
    found = [v for v in _versions(store, models_dir) if v["version"] == version]
    if not found:
        raise HTTPException(404)
    row = found[0]
    check, comparing = None, False
    if not row["active"]:   # compared by the job worker (the web app loads no model), kept until labels or models change
        check, comparing, problem = _comparison(request, store, models_dir, version, viewer)
        err = err or problem
    names = _topic_names(_taxonomy(request))
    candidate = (check or {}).get("candidate") or (row["summary"].get("heldout") or {}).get("candidate") or {}
    topics = [t for t, r in (candidate.get("report") or {}).items()
              if isinstance(r, dict) and "f1-score" in r and t not in ("macro avg", "weighted avg")]
    return render(request, "analyst_model.html", {
        "row": row, "check": check, "comparing": comparing, "candidate": candidate, "topics": topics, "names": names,
        "job": latest_job(request), "msg": msg, "err": err, "min_labels": retrain.MIN_LABELS}, viewer)


def _comparison(request: Request, store: Store, models_dir: Path, version: str, viewer: Viewer):
    """(comparison, still being made, problem): the worker's comparison of `version` with the active model when it
    is of today's labels and active model; else a `compare` job is queued (once) and the page waits for it."""
    from service.datadir import data_dir
    from service.jobs import enqueue, open_job

    settings = request.app.state.settings
    active = registry.active_versions(models_dir).get("topic")
    fingerprint = retrain.labels_fingerprint(store)
    want = {"version": version, "active": active, "fingerprint": fingerprint}
    try:
        kept = json.loads(retrain.comparison_file(data_dir(settings) / "cache", version).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        kept = None
    if kept and kept.get("active") == active and kept.get("fingerprint") == fingerprint:
        return kept["check"], False, ""
    last = next((j for j in store.jobs(kind="compare", limit=20) if j["params"] == want), None)
    if last is not None and last["status"] == "failed":   # the same comparison failed: say why, do not loop
        why = job_failure(last["error"] or "")
        if why == GENERIC_FAILURE:     # no log on this page: name the job whose log holds the English detail
            why = f"lỗi khi đọc hoặc chấm mô hình (việc số {last['id']}; chi tiết trong nhật ký của việc)."
        return None, False, f"Không đọc được mô hình: {why}"
    if open_job(store, ["compare"]) is None:
        enqueue(store, "compare", want, requested_by=viewer.username)
        request.app.state.worker.notify()
    return None, True, ""


@router.post("/analyst/models/{version}/promote")
def promote(request: Request, version: str, force: str = Form(""), viewer: Viewer = Depends(access(*TRAINERS))):
    if not _enqueue(request, viewer, "promote", {"task": "topic", "version": version, "force": bool(force),
                                                 "days": retrain.REANNOTATE_DAYS}):
        return _back(f"/analyst/models/{version}", error=BUSY)
    return _back("/analyst", "Đang đưa mô hình vào sử dụng; tiến độ hiện bên dưới.")


@router.post("/analyst/rollback")
def rollback(request: Request, viewer: Viewer = Depends(access(*TRAINERS))):
    if not _enqueue(request, viewer, "rollback", {"task": "topic", "days": retrain.REANNOTATE_DAYS}):
        return _back("/analyst", error=BUSY)
    return _back("/analyst", "Đang quay lại mô hình trước; tiến độ hiện bên dưới.")


# --- labelling -----------------------------------------------------------------------------------------------------------


@router.get("/analyst/queue")
def queue_page(request: Request, msg: str = "", err: str = "", viewer: Viewer = Depends(access(*REVIEWERS))):
    """The queue from the scores the job worker keeps (service/labelqueue.py): the web app never loads the model.
    Scores older than a few minutes or of another model version: the worker is asked for new ones."""
    from service.jobs import enqueue, open_job
    from service.labelqueue import pool_is_fresh, queue_from_scores, read_pool

    settings = request.app.state.settings
    store, models_dir = get_store(request), _models_dir(request)
    active = registry.active_versions(models_dir).get("topic")
    scores = read_pool(settings)
    if not pool_is_fresh(scores, active) and open_job(store, ["label_pool"]) is None:
        enqueue(store, "label_pool", {}, requested_by=viewer.username)
        request.app.state.worker.notify()
    preparing = not scores or scores.get("version") != active
    queue = [] if preparing else queue_from_scores(
        store, scores, limit=20, units=None if viewer.province else viewer.units, taxonomy_file=_taxonomy(request))
    return render(request, "analyst_queue.html", {
        "queue": queue, "preparing": preparing, "names": _topic_names(_taxonomy(request)), "sentiments": SENTIMENTS,
        "msg": msg, "err": err}, viewer)


@router.post("/analyst/label")
def label_item(request: Request, item_id: int = Form(...), task: str = Form("topic"), label: str = Form(...),
               next: str = Form("/analyst/queue"), viewer: Viewer = Depends(access(*REVIEWERS))):
    store = get_store(request)
    item = store.item(item_id)
    if item is None or not viewer.sees_item(item):
        raise HTTPException(404)
    target = _safe_next(next, "/analyst/queue")
    try:
        set_label(store, _taxonomy(request), item_id, task, label, viewer.username)
    except LabelError:
        return _back(target, error="Nhãn không hợp lệ.")
    return RedirectResponse(target, status_code=303)


@router.get("/analyst/labels.csv")
def labels_csv(request: Request, viewer: Viewer = Depends(access(*TRAINERS))):
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    store = get_store(request)
    rows = export_rows(store)
    units = store.item_units([r[0] for r in rows[1:]])
    writer.writerow(rows[0])
    writer.writerows(safe_cells(r) for r in rows[1:] if viewer.scope.sees_unit_of(units.get(r[0])))
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="pulse-labels.csv"'})


# --- taxonomy ------------------------------------------------------------------------------------------------------------


@router.get("/analyst/taxonomy")
def taxonomy_page(request: Request, msg: str = "", err: str = "", viewer: Viewer = Depends(access(*TRAINERS))):
    store = get_store(request)
    data = read(_taxonomy(request))
    counts = store.label_counts("topic")
    return render(request, "analyst_taxonomy.html", {
        "topics": data["topics"], "other": data.get("other", "khac"), "counts": counts, "msg": msg, "err": err},
        viewer)


@router.post("/analyst/taxonomy")
def edit_taxonomy(request: Request, action: str = Form(...), code: str = Form(""), name: str = Form(""),
                  strong: str = Form(""), phrases: str = Form(""), target: str = Form(""),
                  confirmed: str = Form(""), viewer: Viewer = Depends(access(*TRAINERS))):
    if not viewer.province:   # the taxonomy is the whole province's: edited at the province only
        raise HTTPException(403, "Chỉ cán bộ cấp tỉnh được sửa danh mục chủ đề dùng chung của tỉnh.")
    # control characters (a DEL, a NUL) would make the taxonomy file unreadable: dropped like in every form
    code, name, target = clean_text(code, 100), clean_text(name, 200), clean_text(target, 100)
    strong, phrases = clean_text(strong, 5000), clean_text(phrases, 20000)
    store = get_store(request)
    if action not in ("add", "rename", "merge", "delete"):
        raise HTTPException(400)
    if action in ("merge", "delete") and confirmed != "1":
        topics = read(_taxonomy(request))["topics"]
        labelled = store.label_counts("topic").get(code, 0)
        if code in topics and (action == "merge" and target in topics and target != code
                               or action == "delete" and not labelled):
            # merging or deleting cannot be undone: the page says what will happen and asks once more
            return render(request, "analyst_taxonomy_confirm.html", {
                "action": action, "code": code, "target": target, "name": topics[code]["name"],
                "target_name": topics[target]["name"] if action == "merge" else "", "labelled": labelled}, viewer)
    taxonomy = writable_taxonomy(request.app.state.settings)   # the board's copy; the shipped file is never written
    try:
        if action == "add":
            add_topic(taxonomy, code, name, strong, phrases)
            message = f"Đã thêm chủ đề {name}."
        elif action == "rename":
            rename_topic(taxonomy, code, name)
            message = f"Đã đổi tên chủ đề thành {name}."
        elif action == "merge":
            moved = merge_topics(store, taxonomy, code, target)
            message = f"Đã gộp chủ đề {code} vào {target}; {moved} nhãn được chuyển theo."
        elif action == "delete":
            delete_topic(store, taxonomy, code)
            message = f"Đã xoá chủ đề {code}."
        else:
            raise HTTPException(400)
    except TaxonomyError as exc:
        return _back("/analyst/taxonomy", error=_vietnamese(exc))
    return _back("/analyst/taxonomy", message)


def _vietnamese(exc: TaxonomyError) -> str:
    """The page speaks Vietnamese: the plain reason of a refused edit."""
    text = str(exc)
    if "has" in text and "labels" in text:
        return "Chủ đề này đã có nhãn nên không thể xoá; hãy gộp nó vào một chủ đề khác để giữ các nhãn."
    if "catch-all" in text:
        return "Chủ đề “Khác” là chủ đề chung, không thể xoá hay gộp."
    if "already exists" in text:
        return "Mã chủ đề này đã có."
    if "seed phrases" in text:
        return "Chủ đề mới cần có cụm từ gợi ý để mô hình học được trước khi có nhãn."
    if "ASCII" in text:
        return "Mã chủ đề chỉ gồm chữ thường không dấu, chữ số và dấu gạch dưới (2–40 ký tự)."
    if "no topic" in text:
        return "Không có chủ đề này."
    if "itself" in text:
        return "Không thể gộp một chủ đề vào chính nó."
    return "Cần nhập tên chủ đề."
