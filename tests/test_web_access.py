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
}
# routes whose object (of the user's unit or another) comes in the form rather than the path
BODY_OBJECTS = {"/flags/bulk", "/analyst/label"}


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
    return {
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
    }


_counter = itertools.count()


def _body(method: str, path: str, which: str, objects: dict[str, tuple[str, str]]) -> dict:
    """A valid form or JSON body for each changing route, so that 'allowed' means the action really ran."""
    n = next(_counter)
    unit = OWN if which == "own" else OTHER
    if path == "/api/submissions":
        return {"json": {"text": f"Ý kiến qua API số {n} về nợ lương.", "channel": "truc-tiep",
                         "idempotency_key": uuid.uuid4().hex}}
    forms = {
        "/account": {"current": "sai-mat-khau", "new": "mat-khau-moi-123", "repeat": "mat-khau-moi-123"},
        "/flags/{flag_id}/action": {"action": "note", "note": "Ghi chú kiểm tra quyền."},
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
        "/items/saved": {"name": f"tìm kiếm {n}", "q": '"nợ lương" -"bóng đá"'},
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
                elif at_province and not rule.get("personal"):   # the province's subtree holds every unit
                    expected = {"allowed"} if role in rule["own"] else {"denied"}
                else:
                    expected = {"allowed"} if role in rule[which] else {"denied"}
                if got not in expected:
                    failures.append(f"{persona} {method} {url} ({which}): {got} ({response.status_code}), "
                                    f"expected {'/'.join(sorted(expected))}")
    assert not failures, "\n".join(failures)
