"""The analysts' pages: label items with one click (a queue ordered for learning), edit the taxonomy, train a
candidate from the board's labels in the background, compare it with the active model, promote it or roll back.

Training, promotion and rollback run in a background thread with its own store connection, one job at a time;
the page shows the job's progress and the app stays responsive.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from service import registry, retrain
from service.datadir import datasets_problem, models_home, taxonomy_file, writable_models_home, writable_taxonomy
from service.labels import LabelError, SENTIMENTS, board_counts, export_rows, safe_cells, set_label
from service.labelqueue import labelling_queue
from service.routes.web import REVIEWERS, Viewer, access, clean_text, get_store, render
from service.store import Store
from service.taxonomy_edit import TaxonomyError, add_topic, delete_topic, merge_topics, read, rename_topic

router = APIRouter(include_in_schema=False)
TRAINERS = ("admin", "analyst")          # may train, promote, roll back and edit the taxonomy
JOB_NAMES = {"train": "Huấn luyện mô hình mới", "promote": "Đưa mô hình vào sử dụng", "rollback": "Quay lại mô hình trước"}


@dataclass
class Job:
    """One background job: what it is, who started it, its progress lines, and how it ended."""

    kind: str
    username: str
    started: float = field(default_factory=time.time)
    lines: list[str] = field(default_factory=list)
    done: bool = False
    ok: bool = False
    result: str = ""

    def log(self, line: str) -> None:
        self.lines.append(line)


class Jobs:
    """At most one running job per app; the last finished one is kept to show its outcome."""

    def __init__(self, db_path: str | Path | None = None):
        self.lock = threading.Lock()
        self.current: Job | None = None
        self.db_path = db_path   # each job is also a row of the store's jobs table (service/jobs.py)

    def start(self, job: Job, work: Callable[[Job], str]) -> bool:
        with self.lock:
            if self.current is not None and not self.current.done:
                return False
            self.current = job

        def recorded(job: Job) -> str:
            """The work as a row of the jobs table (who asked, their unit, outcome, the log's last lines)."""
            from service.jobs import run_job

            if self.db_path is None:
                return work(job)
            out: dict = {}
            with Store(self.db_path) as store:
                user = store.user(job.username) or {}
                unit = next((u["code"] for u in store.org_units() if u["id"] == user.get("org_unit_id")), None)

                def unit_of_work(params, progress):
                    out["result"] = work(job)
                    return {"lines": len(job.lines)}

                row = run_job(store, job.kind, {"by": "web"}, unit_of_work, job.username, org_unit=unit, reraise=True)
                store.finish_job(row["id"], "done", counts=row["counts"], log_excerpt="\n".join(job.lines[-20:]))
            return out["result"]

        def run():
            try:
                job.result = recorded(job)
                job.ok = True
            except Exception as exc:  # a failed job is shown on the page with its reason, never lost
                job.result = job_failure(exc)
                job.log(str(exc))
            finally:
                job.done = True

        threading.Thread(target=run, name=f"pulse-{job.kind}", daemon=True).start()
        return True


def job_failure(exc: Exception) -> str:
    """Why a job failed, in the page's language (the English detail goes to the job's log)."""
    text = str(exc)
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
    return "Đã có lỗi; chi tiết ở nhật ký bên dưới."


def jobs_of(request: Request) -> Jobs:
    state = request.app.state
    with _JOBS_LOCK:
        if not hasattr(state, "analyst_jobs"):
            state.analyst_jobs = Jobs(state.settings.db_path)
    return state.analyst_jobs


_JOBS_LOCK = threading.Lock()


DATASETS_MISSING = ("Không tìm thấy kho văn bản dùng để huấn luyện (datasets_dir trong tệp cấu hình). Hãy đặt "
                    "datasets_dir trỏ tới thư mục chứa các bộ dữ liệu rồi huấn luyện lại.")


def _models_dir(request: Request) -> Path:
    """The models to read (the data folder's once it has a registry, the shipped ones before)."""
    return models_home(request.app.state.settings)


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
        "job": jobs_of(request).current, "job_names": JOB_NAMES, "msg": msg, "err": err,
        "has_history": bool((registry.read_registry(models_dir).get("topic") or {}).get("history"))}, viewer)


BUSY = "Đang có một việc chạy nền; vui lòng chờ nó xong."


@router.post("/analyst/train")
def train_candidate(request: Request, viewer: Viewer = Depends(access(*TRAINERS))):
    settings = request.app.state.settings
    job = Job("train", viewer.username)
    cache_dir = Path(settings.db_path).parent
    if not retrain.seed_cached(cache_dir, retrain.SEED_LEADS) and datasets_problem(settings, retrain.SEED_CORPUS):
        return _back("/analyst", error=DATASETS_MISSING)

    def work(job: Job) -> str:
        with Store(settings.db_path) as store:
            summary = retrain.train_candidate(store, writable_models_home(settings), cache_dir,
                                              viewer.username, seed_leads_n=retrain.SEED_LEADS, log=job.log,
                                              taxonomy_file=taxonomy_file(settings),
                                              corpus_dir=Path(settings.datasets_dir) / retrain.SEED_CORPUS)
        return summary["version"]

    if not jobs_of(request).start(job, work):
        return _back("/analyst", error=BUSY)
    return _back("/analyst", "Đã bắt đầu huấn luyện; tiến độ hiện bên dưới.")


# --- a version's report, promote, rollback -----------------------------------------------------------------------------


@router.get("/analyst/models/{version}")
def model_page(request: Request, version: str, msg: str = "", err: str = "",
               viewer: Viewer = Depends(access(*TRAINERS))):
    store, models_dir = get_store(request), _models_dir(request)
    found = [v for v in _versions(store, models_dir) if v["version"] == version]
    if not found:
        raise HTTPException(404)
    row = found[0]
    check = None
    if not row["active"]:
        try:
            check = retrain.compare_with_active(store, models_dir, version)
        except ValueError as exc:
            err = err or f"Không đọc được mô hình: {exc}"
    names = _topic_names(_taxonomy(request))
    candidate = (check or {}).get("candidate") or (row["summary"].get("heldout") or {}).get("candidate") or {}
    topics = [t for t, r in (candidate.get("report") or {}).items()
              if isinstance(r, dict) and "f1-score" in r and t not in ("macro avg", "weighted avg")]
    return render(request, "analyst_model.html", {
        "row": row, "check": check, "candidate": candidate, "topics": topics, "names": names,
        "job": jobs_of(request).current, "msg": msg, "err": err, "min_labels": retrain.MIN_LABELS}, viewer)


@router.post("/analyst/models/{version}/promote")
def promote(request: Request, version: str, force: str = Form(""), viewer: Viewer = Depends(access(*TRAINERS))):
    settings = request.app.state.settings
    job = Job("promote", viewer.username)

    def work(job: Job) -> str:
        job.log(f"Đưa topic {version} vào sử dụng, gán nhãn lại tin của {retrain.REANNOTATE_DAYS} ngày gần nhất…")
        with Store(settings.db_path) as store:
            out = retrain.promote(store, writable_models_home(settings), "topic", version, viewer.username,
                                  force=bool(force))
        return (f"topic {version} đang được dùng (thay {out.previous}); {out.reannotated} tin được gán nhãn lại, "
                f"{out.facts_updated} tin trong luồng được cập nhật.")

    if not jobs_of(request).start(job, work):
        return _back(f"/analyst/models/{version}", error=BUSY)
    return _back("/analyst", "Đang đưa mô hình vào sử dụng; tiến độ hiện bên dưới.")


@router.post("/analyst/rollback")
def rollback(request: Request, viewer: Viewer = Depends(access(*TRAINERS))):
    settings = request.app.state.settings
    job = Job("rollback", viewer.username)

    def work(job: Job) -> str:
        with Store(settings.db_path) as store:
            out = retrain.rollback(store, writable_models_home(settings), "topic", viewer.username)
        return f"Đã quay lại topic {out.version} (thay {out.previous}); {out.facts_updated} tin được cập nhật."

    if not jobs_of(request).start(job, work):
        return _back("/analyst", error=BUSY)
    return _back("/analyst", "Đang quay lại mô hình trước; tiến độ hiện bên dưới.")


# --- labelling -----------------------------------------------------------------------------------------------------------


@router.get("/analyst/queue")
def queue_page(request: Request, msg: str = "", err: str = "", viewer: Viewer = Depends(access(*REVIEWERS))):
    store, models_dir = get_store(request), _models_dir(request)
    queue = labelling_queue(store, models_dir, limit=20, units=None if viewer.province else viewer.units,
                            taxonomy_file=_taxonomy(request))
    return render(request, "analyst_queue.html", {
        "queue": queue, "names": _topic_names(_taxonomy(request)), "sentiments": SENTIMENTS, "msg": msg, "err": err}, viewer)


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
