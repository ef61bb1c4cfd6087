"""The authorization matrix: every route of the app × every role × an object of the user's own unit or of another.

The table below is the access policy written out by hand; the routes come from the app's own route table, so a
route added without a rule here fails `test_every_route_has_a_rule`.
"""
from __future__ import annotations

import itertools
import uuid

import pytest
from fastapi.testclient import TestClient

from service.app import create_app, route_table
from service.auth import new_api_token, token_hash
from service.store import Store
from web_support import OTHER, OWN, ROLE_USER, csrf_of, login, make_installation, observation

ALL = ("admin", "staff", "analyst", "collaborator")
REVIEW = ("admin", "staff", "analyst")
DECIDE = ("admin", "staff")
SUBMIT = ("admin", "staff", "collaborator")
ADMIN = ("admin",)
TRAIN = ("admin", "analyst")


def public():
    return {"public": True}


def roles(*allowed):
    """Allowed for these roles; an object of another unit makes no difference (or there is no object)."""
    return {"own": set(allowed), "other": set(allowed)}


def scoped(*allowed):
    """Allowed for these roles on objects of their unit's subtree only (the province's subtree is everything)."""
    return {"own": set(allowed), "other": set()}


def personal(*allowed):
    """Allowed for these roles on their own objects only (a submission is its author's, even for the province)."""
    return {"own": set(allowed), "other": set(), "personal": True}


def own_unit(*allowed):
    """Allowed for these roles on objects of their own unit only: a unit above (the province too) reads a unit's
    report but never drafts, edits or sends it."""
    return {"own": set(allowed), "other": set(), "own_unit": True}


def parent_unit(*allowed):
    """Allowed for these roles in the unit directly above the object's unit only (marking a report received). In
    this fixture both units' parent is the province, so it is `province`."""
    return province(*allowed)


def province(*allowed):
    """Allowed for these roles at the province (the root unit) only: settings the whole province shares."""
    return {"own": set(), "other": set(), "province": set(allowed)}


RULES = {
    ("GET", "/static"): public(),
    ("GET", "/healthz"): public(),
    ("GET", "/login"): public(),
    ("POST", "/login"): public(),
    ("POST", "/logout"): roles(*ALL),
    ("GET", "/account"): roles(*ALL),
    ("POST", "/account"): roles(*ALL),
    ("GET", "/"): roles(*ALL),                        # a collaborator is sent on to the form
    ("GET", "/flags/{flag_id}"): scoped(*REVIEW),
    ("POST", "/flags/{flag_id}/action"): scoped(*DECIDE),
    ("POST", "/flags/{flag_id}/orientations"): scoped(*DECIDE),   # an orientation and its outcome (issue 17.4)
    ("GET", "/flags/{flag_id}/story.json"): scoped(*REVIEW),
    ("POST", "/flags/bulk"): scoped(*DECIDE),
    ("GET", "/items"): roles(*REVIEW),
    ("GET", "/items.csv"): roles(*REVIEW),
    ("GET", "/items.xlsx"): roles(*REVIEW),
    ("POST", "/items/saved"): roles(*REVIEW),
    ("POST", "/items/saved/{search_id}/delete"): personal(*REVIEW),   # own = the user's own saved search
    ("GET", "/items/{item_id}"): scoped(*REVIEW),
    ("GET", "/submit"): roles(*SUBMIT),
    ("POST", "/submit"): roles(*SUBMIT),
    ("GET", "/submissions"): roles(*SUBMIT),
    ("GET", "/submissions/{submission_id}"): personal(*SUBMIT),   # own = the user's own submission
    ("GET", "/admin"): roles(*ADMIN),
    ("GET", "/admin/users"): roles(*ADMIN),
    ("POST", "/admin/users"): roles(*ADMIN),
    ("GET", "/admin/users/{user_id}"): scoped(*ADMIN),
    ("POST", "/admin/users/{user_id}"): scoped(*ADMIN),
    ("POST", "/admin/users/{user_id}/password"): scoped(*ADMIN),
    ("POST", "/admin/users/{user_id}/tokens"): scoped(*ADMIN),
    ("POST", "/admin/tokens/{token_id}/revoke"): scoped(*ADMIN),
    ("GET", "/admin/units"): roles(*ADMIN),
    ("POST", "/admin/units"): roles(*ADMIN),
    ("POST", "/admin/units/{code}"): scoped(*ADMIN),
    ("GET", "/admin/sources"): province(*ADMIN),
    ("POST", "/admin/sources"): province(*ADMIN),
    ("POST", "/admin/sources/{name}/enabled"): province(*ADMIN),
    ("GET", "/admin/terms"): province(*ADMIN),
    ("POST", "/admin/terms"): province(*ADMIN),
    ("POST", "/admin/terms/{term_id}/delete"): province(*ADMIN),
    ("GET", "/admin/terms/{term_id}"): province(*ADMIN),
    ("POST", "/admin/terms/{term_id}/excluded"): province(*ADMIN),
    ("GET", "/admin/throttles"): province(*ADMIN),
    ("GET", "/admin/jobs"): roles(*ADMIN),             # a unit's admin sees the jobs of their subtree only
    ("POST", "/admin/throttles/clear"): province(*ADMIN),
    ("POST", "/api/submissions"): roles(*SUBMIT),
    ("GET", "/api/submissions"): roles(*SUBMIT),
    ("GET", "/api/submissions/{submission_id}"): personal(*SUBMIT),
    ("GET", "/api/flags"): roles(*REVIEW),
    ("GET", "/api/flags/{flag_id}"): scoped(*REVIEW),
    ("GET", "/api/items"): roles(*REVIEW),
    ("GET", "/openapi.json"): roles(*ALL),
    ("GET", "/docs"): roles(*ALL),
    # the analysts' pages (service/routes/analyst.py)
    ("GET", "/analyst"): roles(*TRAIN),
    ("POST", "/analyst/train"): roles(*TRAIN),
    ("GET", "/analyst/models/{version}"): roles(*TRAIN),
    ("POST", "/analyst/models/{version}/promote"): roles(*TRAIN),
    ("POST", "/analyst/rollback"): roles(*TRAIN),
    ("GET", "/analyst/queue"): roles(*REVIEW),
    ("POST", "/analyst/label"): scoped(*REVIEW),
    ("GET", "/analyst/labels.csv"): roles(*TRAIN),
    ("GET", "/analyst/taxonomy"): roles(*TRAIN),
    ("POST", "/analyst/taxonomy"): province(*TRAIN),
    # the briefing archive and the units' reports (service/routes/briefings.py)
    ("GET", "/briefings"): roles(*REVIEW),
    ("POST", "/briefings"): roles(*DECIDE),
    ("GET", "/briefings/{day}"): roles(*REVIEW),
    ("GET", "/briefings/{day}/docx"): roles(*REVIEW),
    ("POST", "/briefings/{day}/make"): roles(*DECIDE),
    ("GET", "/reports"): roles(*REVIEW),
    ("GET", "/reports/{code}"): scoped(*REVIEW),
    ("GET", "/reports/{code}/docx"): scoped(*REVIEW),
    # the units' monthly and annual reports, dialogues, office file uploads (service/routes/unitreports.py,
    # dialogues.py, imports.py); report_id: a sent report, draft_id: a draft (a unit's draft is its own only)
    ("GET", "/unit-reports"): roles(*REVIEW),
    ("POST", "/unit-reports"): own_unit(*DECIDE),
    ("GET", "/unit-reports/{report_id}"): scoped(*REVIEW),
    ("GET", "/unit-reports/{report_id}/docx"): scoped(*REVIEW),
    ("POST", "/unit-reports/{report_id}"): own_unit(*DECIDE),
    ("POST", "/unit-reports/{draft_id}/send"): own_unit(*DECIDE),
    ("POST", "/unit-reports/{report_id}/receive"): parent_unit(*DECIDE),
    ("GET", "/dialogues"): roles(*REVIEW),
    ("POST", "/dialogues"): scoped(*DECIDE),
    ("GET", "/dialogues/{dialogue_id}"): scoped(*REVIEW),
    ("POST", "/dialogues/{dialogue_id}/done"): scoped(*DECIDE),
    ("GET", "/imports"): roles(*DECIDE),
    ("POST", "/imports"): roles(*DECIDE),
    ("GET", "/imports/{upload_id}"): personal(*DECIDE),       # own = the user's own upload
    ("POST", "/imports/{upload_id}"): personal(*DECIDE),
    # the dashboard, the full queue, the bell and the e-mail outbox (service/routes/dashboard.py, alerts.py)
    ("GET", "/queue"): roles(*ALL),                   # a collaborator is sent on to the form
    ("GET", "/alerts"): roles(*ALL),
    ("GET", "/alerts/unread.json"): roles(*ALL),
    ("POST", "/alerts/read"): roles(*ALL),
    ("POST", "/alerts/settings"): roles(*ALL),
    ("POST", "/alerts/{notification_id}/read"): personal(*ALL),   # own = the user's own notification
    ("POST", "/items/saved/{search_id}/watch"): personal(*REVIEW),
    ("GET", "/admin/alerts"): province(*ADMIN),
    ("POST", "/admin/alerts/retry"): province(*ADMIN),
}
# routes whose object (of the user's unit or another) comes in the form rather than the path
BODY_OBJECTS = {"/unit-reports", "/dialogues", "/flags/bulk", "/analyst/label"}


def routes_of(app) -> list[tuple[str, str]]:
    out = []
    for path, methods, _ in route_table(app):
        for method in sorted(methods - {"HEAD"}) or ["GET"]:
            out.append((method, path))
    return out


def test_every_route_has_a_rule(tmp_path):
    app = create_app(make_installation(tmp_path, users={}).settings, start_worker=False)
    missing = [r for r in routes_of(app) if r not in RULES]
    assert not missing, f"routes without an access rule in tests/test_web_access.py: {missing}"
    stale = [r for r in RULES if r not in routes_of(app)]
    assert not stale, f"rules for routes that no longer exist: {stale}"


def test_a_route_added_without_a_rule_is_noticed(tmp_path):
    app = create_app(make_installation(tmp_path, users={}).settings, start_worker=False)
    app.get("/bao-cao-moi")(lambda: {"ok": True})
    assert [r for r in routes_of(app) if r not in RULES] == [("GET", "/bao-cao-moi")]


def _flag(store: Store, key: str, unit: str, item_ids: list[int]) -> int:
    return store.upsert_flag({"key": key, "kind": "watch_term", "stream_id": None, "topic": "tien_luong",
                              "score": 6.0, "window_start": "2026-01-01T17:00:00+00:00",
                              "window_end": "2026-01-02T17:00:00+00:00", "count": 1, "baseline": 0.0,
                              "reason": "Có 1 tin nhắc đến «nợ lương».", "item_ids": item_ids,
                              "evidence": {"units": {unit: 1}, "timeline": [], "representative": item_ids}})


PERSONA_USER = {**ROLE_USER, "province-admin": "root"}   # root: an admin of the province (the root unit)
PERSONA_ROLE = {**{r: r for r in ALL}, "province-admin": "admin"}


def _objects(inst, persona: str) -> dict[str, tuple[str, str]]:
    """Path parameter → (value for an object of the user's own unit, value for one of another unit)."""
    store = inst.store
    me = PERSONA_USER[persona] if persona != "anonymous" else "collab1"
    mine, _ = store.add_submission(inst.users[me], uuid.uuid4().hex,
                                   observation("Người lao động phản ánh nợ lương kéo dài ở đơn vị.", OWN, me))
    theirs, _ = store.add_submission(inst.users["collab2"], uuid.uuid4().hex,
                                     observation("Giáo viên phản ánh chậm trả lương tăng thêm.", OTHER, "collab2"))
    item_own = store.submissions(ids=[mine])[0]["item_id"]
    item_other = store.submissions(ids=[theirs])[0]["item_id"]
    token_own = store.add_api_token(inst.users["collab1"], "thử", token_hash(new_api_token()))
    token_other = store.add_api_token(inst.users["collab2"], "thử", token_hash(new_api_token()))
    term = store.watch_terms()[0]["id"]
    search_own = store.save_search(inst.users[me], "nợ lương", {"q": '"nợ lương"'})
    search_other = store.save_search(inst.users["collab2"], "của người khác", {"q": "luong"})
    note_own, note_other = store.add_notifications([
        {"user_id": inst.users[me], "key": "test:own", "kind": "briefing", "subject": "Bản tin", "link": "/alerts"},
        {"user_id": inst.users["collab2"], "key": "test:other", "kind": "briefing", "subject": "Bản tin"}])
    reports = _unit_reports(inst)
    dialogue_own, point_own = _dialogue(inst, OWN, "staff1")
    dialogue_other, point_other = _dialogue(inst, OTHER, "staff2")
    upload_own = store.add_pending_import(inst.users[me], None, "y-kien.csv", OFFICE_CSV)
    upload_other = store.add_pending_import(inst.users["staff2"], OTHER, "y-kien.csv", OFFICE_CSV)
    return {
        "report_id": reports["sent"], "draft_id": reports["draft"],
        "dialogue_id": (str(dialogue_own), str(dialogue_other)), "point_id": (str(point_own), str(point_other)),
        "upload_id": (str(upload_own), str(upload_other)),
        "flag_id": (str(_flag(store, "own", OWN, [item_own])), str(_flag(store, "other", OTHER, [item_other]))),
        "item_id": (str(item_own), str(item_other)),
        "submission_id": (str(mine), str(theirs)),
        "user_id": (str(inst.users["collab1"]), str(inst.users["collab2"])),
        "token_id": (str(token_own), str(token_other)),
        "code": (OWN, OTHER),
        "name": (store.sources()[0]["name"],) * 2,
        "term_id": (str(term), str(term)),
        "version": ("v1", "v1"),
        "day": ("2026-01-02", "2026-01-02"),
        "search_id": (str(search_own), str(search_other)),
        "notification_id": (str(note_own), str(note_other)),
    }


OFFICE_CSV = "Ngày;Đơn vị;Ý kiến, kiến nghị\n07/11/2026;Công đoàn ngành Y tế tỉnh;Điều dưỡng xin tăng phụ cấp trực đêm\n".encode()


def _unit_reports(inst) -> dict[str, tuple[str, str]]:
    """Each unit's report of October 2026 sent to the province, and its report of September 2026 as a draft."""
    from datetime import date

    from service import unitreports

    out: dict[str, list[str]] = {"sent": [], "draft": []}
    for unit, user in ((OWN, "staff1"), (OTHER, "staff2")):
        sent = unitreports.open_draft(inst.store, unit, "month", date(2026, 10, 1), inst.settings, user,
                                      date(2026, 11, 2))
        unitreports.send(inst.store, sent, user, inst.settings, date(2026, 11, 2))
        out["sent"].append(str(sent))
        out["draft"].append(str(unitreports.open_draft(inst.store, unit, "month", date(2026, 9, 1), inst.settings,
                                                       user, date(2026, 10, 2))))
    return {k: (v[0], v[1]) for k, v in out.items()}


def _dialogue(inst, unit: str, user: str) -> tuple[int, int]:
    from datetime import date

    from service import dialogues

    dialogue_id = dialogues.record(inst.store, unit=unit, held_on=date(2026, 11, 5), kind="dialogue",
                                   enterprise="Công ty thử", place="", participants="40 người lao động",
                                   points=[dialogues.Point("Khi nào tăng phụ cấp?", "Quý I năm sau.",
                                                           "Trình đề xuất tăng phụ cấp")],
                                   username=user, today=date(2026, 11, 30))
    return dialogue_id, inst.store.dialogue(dialogue_id)["points"][0]["id"]


_counter = itertools.count()


def _body(method: str, path: str, which: str, objects: dict[str, tuple[str, str]]) -> dict:
    """A valid form or JSON body for each changing route, so that 'allowed' means the action really ran."""
    n = next(_counter)
    unit = OWN if which == "own" else OTHER
    if path == "/imports":
        return {"data": {}, "files": {"file": ("y-kien.csv", OFFICE_CSV, "text/csv")}}
    if path == "/dialogues":
        return {"data": {"unit": unit, "held_on": "2026-11-20", "kind": "meeting", "enterprise": f"Doanh nghiệp {n}",
                         "question": ["Công nhân hỏi về nhà ở xã hội."], "answer": ["Đã có dự án."],
                         "commitment": [""]}}
    if path == "/api/submissions":
        return {"json": {"text": f"Ý kiến qua API số {n} về nợ lương.", "channel": "truc-tiep",
                         "idempotency_key": uuid.uuid4().hex}}
    forms = {
        "/account": {"current": "sai-mat-khau", "new": "mat-khau-moi-123", "repeat": "mat-khau-moi-123"},
        "/flags/{flag_id}/action": {"action": "note", "note": "Ghi chú kiểm tra quyền."},
        "/flags/{flag_id}/orientations": {"said": f"Định hướng kiểm tra quyền {n}.", "owner": "Ban Tuyên giáo",
                                          "given_on": "2026-01-02", "channel": "hoi-nghi", "audience": ""},
        "/flags/bulk": {"ids": [objects["flag_id"][0 if which == "own" else 1]], "action": "escalate"},
        "/analyst/label": {"item_id": objects["item_id"][0 if which == "own" else 1], "task": "sentiment",
                           "label": "negative"},
        "/analyst/taxonomy": {"action": "rename", "code": "khac", "name": "Chủ đề khác"},
        "/submit": {"text": f"Công nhân phản ánh tiền lương thấp, lần {n}.", "channel": "truc-tiep", "unit": "",
                    "place": "", "observed_on": "", "people": "3", "idempotency_key": uuid.uuid4().hex},
        "/admin/users": {"username": f"nguoidung{n}", "role": "collaborator", "unit": OWN},
        "/admin/users/{user_id}": {"role": "collaborator", "unit": unit, "active": "1"},
        "/admin/users/{user_id}/tokens": {"name": "tích hợp"},
        "/admin/units": {"code": f"don-vi-{n}", "name": "Công đoàn cơ sở thử", "parent": OWN, "level": "grassroots"},
        "/admin/units/{code}": {"name": "Tên đơn vị mới", "level": "sector"},
        "/admin/sources": {"name": f"nguon{n}", "url": "http://127.0.0.1:9/rss", "kind": "rss"},
        "/admin/sources/{name}/enabled": {"enabled": "1"},
        "/admin/terms": {"term": f"từ khóa {n}"},
        "/admin/terms/{term_id}/excluded": {"contexts": "Al Nassr, Ronaldo"},
        "/login": {"username": "khong-co", "password": "sai"},
        "/briefings": {"day": "2026-01-02"},
        "/unit-reports": {"code": unit, "period": "month", "ref": "2026-08-15"},
        "/unit-reports/{report_id}": {"causes": "Chậm trả phụ cấp.", "proposals": "Đề nghị tăng phụ cấp."},
        "/dialogues/{dialogue_id}/done": {"point_id": objects["point_id"][0 if which == "own" else 1]},
        "/items/saved": {"name": f"tìm kiếm {n}", "q": '"nợ lương" -"bóng đá"'},
        "/items/saved/{search_id}/watch": {"watch": "1", "threshold": "3"},
        "/alerts/settings": {"kinds": ["new_flag", "briefing"], "min_severity": "55,5",
                             "email": "canbo@ldld.example", "by_email": "1"},
    }
    return {"data": dict(forms.get(path, {}))}


def _outcome(response) -> str:
    # sent to log in (an API answers 401); logging out also lands on /login, but without `next`
    if response.status_code == 401 or (response.status_code in (302, 303, 307)
                                       and response.headers.get("location", "").startswith("/login?next=")):
        return "login"
    if response.status_code in (403, 404):
        return "denied"
    assert response.status_code < 500, response.text[:500]
    return "allowed"


@pytest.mark.parametrize("persona", ["anonymous", *ALL, "province-admin"])
def test_authorization_matrix(tmp_path, persona):
    inst = make_installation(tmp_path)
    objects = _objects(inst, persona)
    app = create_app(inst.settings, start_worker=False)
    role = PERSONA_ROLE.get(persona, persona)
    at_province = persona == "province-admin"
    failures = []
    with TestClient(app, follow_redirects=False) as client:
        headers = {}
        csrf = ""
        if persona != "anonymous":
            assert login(client, PERSONA_USER[persona]).status_code == 303
            csrf = csrf_of(client.get("/account").text)
            token = new_api_token()
            inst.store.add_api_token(inst.users[PERSONA_USER[persona]], "matrix", token_hash(token))
            headers = {"Authorization": f"Bearer {token}"}
        # deletions run late (the object stays for the other routes), logging out last
        table = sorted(routes_of(app), key=lambda r: (r == ("POST", "/logout"), r[1].endswith("/delete")))
        for method, path in table:
            rule = RULES[(method, path)]
            params = [p for p in objects if "{" + p + "}" in path]
            for which in (("own", "other") if params or path in BODY_OBJECTS else ("own",)):
                url = path
                for p in params:
                    url = url.replace("{" + p + "}", objects[p][0 if which == "own" else 1])
                if url == "/static":
                    url = "/static/pulse.css"
                kwargs = _body(method, path, which, objects) if method == "POST" else {}
                if method == "POST" and "data" in kwargs:
                    kwargs["data"]["csrf_token"] = csrf
                api = url.startswith("/api/")
                response = client.request(method, url, headers=headers if api else {}, **kwargs)
                got = _outcome(response)
                if rule.get("public"):
                    expected = {"allowed", "denied"} if url == "/login" else {"allowed"}
                elif role == "anonymous":
                    expected = {"login"}
                elif "province" in rule:
                    expected = {"allowed"} if at_province and role in rule["province"] else {"denied"}
                elif at_province and rule.get("own_unit"):   # a unit's own staff only, not the units above
                    expected = {"denied"}
                elif at_province and not rule.get("personal"):   # the province's subtree holds every unit
                    expected = {"allowed"} if role in rule["own"] else {"denied"}
                else:
                    expected = {"allowed"} if role in rule[which] else {"denied"}
                if got not in expected:
                    failures.append(f"{persona} {method} {url} ({which}): {got} ({response.status_code}), "
                                    f"expected {'/'.join(sorted(expected))}")
    assert not failures, "\n".join(failures)
