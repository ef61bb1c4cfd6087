"""The content-leak matrix: what a collaborator of unit B writes never reaches a reader of a sibling unit A.

Every GET route of the app's own route table is walked by readers of unit A (staff, analyst, admin, collaborator),
with path parameters filled from every real id (flags, items, submissions, users, units, days, terms) and with the
query strings that select another unit or search for the marker; pages, JSON, CSV and DOCX (read with python-docx)
are searched for unit B's marker words. The same walk must show unit A's own marker where it belongs, and the
province's reader must see unit B's marker, so the test cannot pass by showing nothing.
"""
from __future__ import annotations

import io
import itertools
import re
import uuid
from datetime import datetime, time, timedelta, timezone

import docx
import pytest
from fastapi.testclient import TestClient

from collectors.items import RawItem
from service import briefing, dialogues, trends, unitreports
from service.app import create_app, route_table
from service.timeutil import TZ, today_local
from web_support import OTHER, OWN, login, make_installation

# unit A's, unit B's and the press's words; searched for without their tone marks (the search folds them), so a
# search page that repeats its query is never taken for a leak
MARK_A, MARK_B, MARK_P = "xqzalphá", "xqzbếta", "xqzprèss"
QUERY_A, QUERY_B = "xqzalpha", "xqzbeta"
MARK_PROVINCE = "xqzprovince"   # the province's own decision on a story every unit shares
NAME_B = "Công đoàn ngành Giáo dục tỉnh"                        # unit B (cb-giaoduc), named only to its readers
DAY = today_local() - timedelta(days=1)
READERS_A = ("staff1", "analyst1", "admin1", "collab1")


def _noon(day, minute: int) -> datetime:
    return datetime.combine(day, time(12, minute), tzinfo=TZ).astimezone(timezone.utc)


def _observation(text: str, unit: str, author: str, minute: int) -> RawItem:
    return RawItem(text=text, source="Cộng tác viên", kind="observation", org_unit=unit, channel="truc-tiep",
                   author=author, published_at=_noon(DAY, minute),
                   extra={"place": "", "observed_on": DAY.isoformat(), "people": 1})


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Unit A's, unit B's and the press's items in one stream and in flags that mix them, labelled, with the
    province's stored briefing of the day."""
    inst = make_installation(tmp_path_factory.mktemp("scope"))
    store = inst.store
    ids: dict[str, list[int]] = {"A": [], "B": [], "P": []}
    minute = itertools.count()
    for n in range(4):
        sid, _ = store.add_submission(inst.users["collab1"], uuid.uuid4().hex, _observation(
            f"Công nhân bệnh viện phản ánh nợ lương ca đêm {MARK_A} kéo dài, lần {n}.", OWN, "collab1", next(minute)))
        ids["A"].append(store.submissions(ids=[sid])[0]["item_id"])
    for n in range(6):
        sid, _ = store.add_submission(inst.users["collab2"], uuid.uuid4().hex, _observation(
            f"Giáo viên trường {MARK_B} phản ánh nợ lương và bếp ăn {MARK_B}, lần {n}.", OTHER, "collab2",
            next(minute)))
        ids["B"].append(store.submissions(ids=[sid])[0]["item_id"])
    # a grassroots union below unit B: its collaborator's words are unit B's subtree, unseen by unit A too
    store.add_org_unit("cb-giaoduc-thpt", "Công đoàn Trường THPT Thử nghiệm", OTHER, "grassroots")
    collab3 = store.add_user("collab3", store.user("collab2")["password_hash"], "collaborator", "cb-giaoduc-thpt")
    sid, _ = store.add_submission(collab3, uuid.uuid4().hex, _observation(
        f"Nhân viên trường phản ánh {MARK_B} chậm phụ cấp.", "cb-giaoduc-thpt", "collab3", next(minute)))
    ids["B"].append(store.submissions(ids=[sid])[0]["item_id"])
    for n in range(5):
        [item_id] = store.add_items([RawItem(
            title=f"Báo đưa tin {MARK_P} về nợ lương số {n}", text=f"Nhiều doanh nghiệp {MARK_P} chậm trả lương {n}.",
            url=f"https://baocaobang.vn/bai-{n}.html", source="baocaobang.vn", kind="article",
            published_at=_noon(DAY, next(minute)))])
        ids["P"].append(item_id)
    mixed = store.create_stream("tien_luong", _noon(DAY, 0).isoformat())
    only_b = store.create_stream("tien_luong", _noon(DAY, 0).isoformat())
    annotations = []
    units = store.item_units([i for items in ids.values() for i in items])
    for group, items in ids.items():
        for item_id in items:
            unit = units[item_id]
            stream = only_b if group == "B" and item_id in ids["B"][4:] else mixed   # one of them from below B
            store.place_item(item_id, stream, item_id, DAY.isoformat(), "tien_luong", "negative",
                             "Cộng tác viên" if unit else "baocaobang.vn", unit, "observation" if unit else "article")
            phrase = {"A": f"ca đêm {MARK_A}", "B": f"bếp ăn {MARK_B}", "P": f"doanh nghiệp {MARK_P}"}[group]
            annotations.append({"item_id": item_id, "model_version": "test", "topic": "tien_luong",
                                "topic_score": 0.9, "sentiment": "negative", "sentiment_score": 0.8,
                                "keyphrases": [phrase, "nợ lương"]})
    store.add_annotations(annotations)
    for stream, label in ((mixed, f"bếp ăn {MARK_B} · nợ lương · ca đêm {MARK_A}"), (only_b, f"bếp ăn {MARK_B}")):
        size = store.db.execute("SELECT COUNT(*) FROM stream_items WHERE stream_id = ?", [stream]).fetchone()[0]
        store.update_streams([("tien_luong", label, _noon(DAY, 0).isoformat(), _noon(DAY, 30).isoformat(),
                               {MARK_B: 1.0}, size, {"tien_luong": size}, {}, stream)])
    start = datetime.combine(DAY, time(0), tzinfo=TZ).astimezone(timezone.utc).isoformat()
    end = datetime.combine(DAY + timedelta(days=1), time(0), tzinfo=TZ).astimezone(timezone.utc).isoformat()
    everything = ids["A"] + ids["B"][:4] + ids["P"]

    def flag(key, kind, stream, item_ids, units, reason, score):
        return store.upsert_flag({
            "key": key, "kind": kind, "stream_id": stream, "topic": "tien_luong", "score": score,
            "window_start": start, "window_end": end, "count": len(item_ids), "baseline": 1.0, "reason": reason,
            "keyphrases": [f"bếp ăn {MARK_B}", f"ca đêm {MARK_A}", "nợ lương"], "item_ids": item_ids,
            "evidence": {"units": units, "sources": {"Cộng tác viên": 8, "baocaobang.vn": 5},
                         "sentiment": {"negative": len(item_ids)}, "representative": [ids["B"][0], ids["A"][0],
                                                                                     ids["P"][0]],
                         "independent_sources": [OTHER, OWN, "baocaobang.vn"], "stream_label": "",
                         "timeline": [{"day": DAY.isoformat(), "count": len(item_ids), "total": 20}]}})

    flags = {
        "mixed": flag("leak:mixed", "burst", mixed, everything, {OTHER: 4, OWN: 4},
                      f"Luồng «bếp ăn {MARK_B} · nợ lương · ca đêm {MARK_A}» (Tiền lương và thu nhập) có 13 tin, "
                      f"cộng tác viên của {OTHER}, {OWN} phản ánh ({NAME_B}).", 9.0),
        "only_b": flag("leak:b", "spread", only_b, ids["B"][4:], {OTHER: 2},
                       f"Luồng «bếp ăn {MARK_B}» được cộng tác viên của {OTHER} phản ánh.", 8.0),
        # the press's flag whose evidence names no unit although unit B's items are among its items
        "press": flag("leak:press", "new_stream", mixed, ids["P"] + ids["B"][:2], {},
                      f"Luồng mới «doanh nghiệp {MARK_P}» (Tiền lương và thu nhập): 7 tin.", 7.0),
    }
    # decisions on the shared story: unit B's staff quote their collaborators; the province gives an orientation
    store.add_flag_event(flags["mixed"], "staff2", "note", f"Giáo viên trường {MARK_B} đã được gặp.")
    store.add_flag_event(flags["mixed"], "root", "orientation", f"Định hướng {MARK_PROVINCE}: trả lương đúng hạn.",
                         new_status="confirmed")
    # an orientation unit B's staff recorded on the shared story, in their words (issue 17.4)
    store.add_orientation(flags["mixed"], "staff2", OTHER, f"Ban {MARK_B}", DAY.isoformat(), "hoi-nghi",
                          f"Giáo viên {MARK_B}", f"Đã đối thoại với trường {MARK_B}.")
    trends.detect(store, DAY, DAY)   # the real detectors add their own flags over the same items
    for item_id in (ids["A"][0], ids["B"][0], ids["P"][0]):
        store.add_label(item_id, "topic", "tien_luong", "analyst1")
        store.add_label(item_id, "sentiment", "negative", "analyst1")
    briefing.make(store, DAY, inst.settings)   # the province's briefing, stored with every unit's quotes
    # each unit's dialogue, its monthly report (unit B's sent to the province and again as a new draft) and an
    # upload of unit B's staff
    for unit, mark, user in ((OWN, MARK_A, "staff1"), (OTHER, MARK_B, "staff2")):
        dialogues.record(store, unit=unit, held_on=DAY, kind="dialogue", enterprise=f"Công ty {mark}", place="",
                         participants=f"Công nhân {mark}", points=[dialogues.Point(
                             f"Hỏi về nhà ở {mark}", f"Trả lời {mark}", f"Cam kết {mark}")], username=user,
                         today=DAY)
        report = unitreports.open_draft(store, unit, "month", DAY, inst.settings, user, DAY)
        unitreports.save(store, report, {"causes": f"Nguyên nhân {mark}"}, user, inst.settings, DAY)
        if unit == OTHER:
            unitreports.send(store, report, user, inst.settings, DAY)
            unitreports.save(store, report, {"causes": f"Bản sửa {mark}"}, user, inst.settings, DAY)
    store.add_pending_import(inst.users["staff2"], OTHER, "b.csv", f"Ngày;Ý kiến\n{DAY:%d/%m/%Y};{MARK_B}\n".encode())
    app = create_app(inst.settings, start_worker=False)
    return inst, app, ids, flags


def _urls(app, inst, ids, flags) -> list[str]:
    """Every GET route of the app with every real id, plus the query strings that aim at unit B or its words."""
    store = inst.store
    values = {
        "flag_id": [str(f["id"]) for f in store.flags()],
        "item_id": [str(i) for group in ids.values() for i in group],
        "submission_id": [str(s["id"]) for s in store.submissions(limit=1000)],
        "user_id": [str(u["id"]) for u in store.users_in(None)],
        "token_id": [], "name": [s["name"] for s in store.sources()[:2]],
        "code": [u["code"] for u in store.org_units()],
        "term_id": [str(t["id"]) for t in store.watch_terms()[:2]],
        "version": ["v1", "v2"],
        "day": [DAY.isoformat(), (DAY - timedelta(days=1)).isoformat()],
        "report_id": [str(r["id"]) for r in store.unit_reports_of_period("month", DAY.replace(day=1).isoformat(),
                                                                        [OWN, OTHER])],
        "dialogue_id": [str(d["id"]) for d in store.dialogues([OWN, OTHER])],
        "upload_id": [str(n) for n in range(1, 4)],
    }
    values["draft_id"] = values["report_id"]
    urls = []
    for path, methods, _ in route_table(app):
        if "GET" not in methods:
            continue
        params = re.findall(r"{(\w+)}", path)
        for combo in itertools.product(*(values[p] for p in params)):
            url = path
            for p, v in zip(params, combo):
                url = url.replace("{" + p + "}", v)
            urls.append(url)
    for q in (QUERY_B, QUERY_A, "nợ lương"):
        urls += [f"/items?q={q}", f"/api/items?q={q}"]
    first = DAY.replace(day=1).isoformat()
    urls += [f"/unit-reports?period=month&ref={first}", f"/unit-reports?period=year&ref={first}"]
    urls += [f"/items?unit={OTHER}", f"/api/items?unit={OTHER}", f"/?unit={OTHER}", f"/api/flags?unit={OTHER}",
             "/api/flags?status=", "/?status=open", f"/?day={DAY.isoformat()}", f"/api/flags?day={DAY.isoformat()}",
             f"/items?kind=observation", f"/api/items?kind=observation&limit=200"]
    for code in (OWN, OTHER, "caobang"):
        for period in ("month", "year"):
            urls += [f"/reports/{code}?period={period}&ref={DAY.isoformat()}",
                     f"/reports/{code}/docx?period={period}&ref={DAY.isoformat()}"]
    return [u for u in urls if u != "/static"]


def _text(response) -> str:
    """What a reader gets: the page, JSON or CSV text, or the words of a DOCX (paragraphs and table cells)."""
    if "wordprocessingml" in response.headers.get("content-type", ""):
        document = docx.Document(io.BytesIO(response.content))
        parts = [p.text for p in document.paragraphs]
        for table in document.tables:
            parts += [cell.text for row in table.rows for cell in row.cells]
        return "\n".join(parts)
    return response.text


def _walk(app, username: str, urls: list[str]) -> dict[str, tuple[int, str]]:
    client = TestClient(app, follow_redirects=False)
    assert login(client, username).status_code == 303
    out = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code < 500, f"{username} {url}: {response.status_code}"
        out[url] = (response.status_code, _text(response).lower())
        if "wordprocessingml" in response.headers.get("content-type", ""):
            out[url] = (response.status_code, out[url][1] + "\n[docx]")
    return out


@pytest.mark.parametrize("reader", READERS_A)
def test_a_unit_b_marker_never_reaches_a_reader_of_unit_a(world, reader):
    inst, app, ids, flags = world
    seen = _walk(app, reader, _urls(app, inst, ids, flags))
    leaks = [f"{url} ({status}): «{word}»" for url, (status, text) in seen.items()
             for word in (MARK_B, "collab2", "collab3", NAME_B.lower(), "thpt thử nghiệm") if word in text]
    docx_files = sum(1 for _, text in seen.values() if text.endswith("[docx]"))
    print(f"{reader}: {len(seen)} responses ({docx_files} DOCX), {len(leaks)} leaks")
    assert not leaks, f"{len(leaks)} leaks to {reader}:\n" + "\n".join(leaks)
    if reader == "collab1":   # a collaborator reads only the form and their own submissions
        assert any(MARK_A in text for url, (_, text) in seen.items() if url.startswith("/submissions/"))
        return
    # unit A's own words and the press are shown where they belong (the walk is not empty)
    must_show_a = [f"/items/{ids['A'][0]}", f"/items?q={QUERY_A}", f"/api/items?q={QUERY_A}",
                   f"/flags/{flags['mixed']}", f"/api/flags/{flags['mixed']}", f"/briefings/{DAY.isoformat()}",
                   f"/briefings/{DAY.isoformat()}/docx", f"/reports/{OWN}?period=month&ref={DAY.isoformat()}"]
    if reader in ("analyst1", "admin1"):
        must_show_a.append("/analyst/labels.csv")
    own_report = inst.store.unit_reports_of([OWN])[0]["id"]
    must_show_a += [f"/unit-reports/{own_report}", f"/unit-reports/{own_report}/docx",
                    f"/dialogues/{inst.store.dialogues([OWN])[0]['id']}", "/dialogues"]
    missing = [url for url in must_show_a if MARK_A not in seen[url][1]]
    assert not missing, f"{reader} does not see unit A's own words on: {missing}"
    assert MARK_P in seen[f"/flags/{flags['press']}"][1] and seen[f"/flags/{flags['only_b']}"][0] == 404
    assert MARK_P in seen[f"/briefings/{DAY.isoformat()}"][1], "the province's press part is shown to every unit"
    assert MARK_PROVINCE in seen[f"/flags/{flags['mixed']}"][1], "the province's orientation is shown to the unit"


def test_the_province_reads_every_unit(world):
    inst, app, ids, flags = world
    sent_b = next(r["id"] for r in inst.store.unit_reports_of_period("month", DAY.replace(day=1).isoformat(), [OTHER])
                  if r["status"] == "sent")
    urls = [f"/briefings/{DAY.isoformat()}", f"/briefings/{DAY.isoformat()}/docx", f"/flags/{flags['mixed']}",
            f"/api/flags/{flags['mixed']}", "/analyst/labels.csv", f"/items?q={QUERY_B}",
            f"/reports/caobang?period=month&ref={DAY.isoformat()}", "/dialogues",
            f"/unit-reports/{sent_b}", f"/unit-reports/{sent_b}/docx"]
    seen = _walk(app, "root", urls)
    blind = [url for url in urls if MARK_B not in seen[url][1]]
    assert not blind, f"the province's admin does not see unit B on: {blind}"


def test_an_item_of_an_unknown_unit_is_the_provinces_not_lost(world):
    inst, app, ids, flags = world
    [item_id] = inst.store.add_items([RawItem(
        text="Phản ánh xqzòrphan của một đơn vị chưa có trong cây tổ chức.", source="Cộng tác viên",
        kind="observation", org_unit="don-vi-chua-co", channel="khac", published_at=_noon(DAY, 59))])
    root, staff = TestClient(app, follow_redirects=False), TestClient(app, follow_redirects=False)
    assert login(root, "root").status_code == 303 and login(staff, "staff1").status_code == 303
    assert root.get(f"/items/{item_id}").status_code == 200
    assert "xqzòrphan" in root.get("/items", params={"q": "xqzorphan"}).text
    assert staff.get(f"/items/{item_id}").status_code == 404
    assert "xqzòrphan" not in staff.get("/items", params={"q": "xqzorphan"}).text


def test_a_watched_term_stays_named_in_a_story_reason_a_unit_reads(tmp_path):
    """A combined story's watch-term sentence (its signal carries no term of its own) keeps the Board's term for a
    unit's reader; the stream label, made of other units' words, is still replaced and other units not named."""
    from service.scope import Scope, scoped_reason

    inst = make_installation(tmp_path, users={})
    inst.store.add_watch_term("nợ lương", created_by="test")
    flag = {"reason": "Luồng «vay tiền sinh hoạt · nợ lương công nhân» được cộng tác viên của 2 đơn vị phản ánh: "
                      "Công đoàn ngành Y tế tỉnh, Công đoàn ngành Giáo dục tỉnh. Có 3 tin về người lao động nhắc đến "
                      "«nợ lương» ngày 08/02/2026 (từ khóa Ban theo dõi).", "evidence": {}}
    reason = scoped_reason(inst.store, Scope(frozenset({OWN})), flag, "nợ lương công nhân", {})
    assert "nhắc đến «nợ lương» ngày 08/02/2026" in reason
    assert "Luồng «nợ lương công nhân»" in reason and "vay tiền sinh hoạt" not in reason
    assert "Công đoàn ngành Giáo dục tỉnh" not in reason and "đơn vị khác" in reason
    inst.store.close()


def test_a_story_of_collaborators_reports_is_headed_by_the_readers_own_report_not_keyphrases(tmp_path):
    """A unit's reader of a story of several units' reports (which have no title) reads the start of their own
    unit's report as its headline, never another unit's words."""
    from service.scope import Scope, scoped_flag
    from web_support import observation

    inst = make_installation(tmp_path, users={})
    mine = "Công nhân bệnh viện phản ánh nợ lương hai tháng, " + "nhiều người phải vay tiền sinh hoạt " * 5
    ids = inst.store.add_items([observation("Giáo viên trường xqzbeta bị nợ lương.", OTHER), observation(mine, OWN)])
    flag = {"id": 1, "kind": "spread", "stream_id": None, "count": 2, "item_ids": ids, "reason": "",
            "title": "Giáo viên trường xqzbeta bị nợ lương.", "evidence": {"units": {OTHER: 1, OWN: 1}}}
    seen = scoped_flag(inst.store, Scope(frozenset({OWN})), flag, {})
    assert seen["title"].startswith("Công nhân bệnh viện phản ánh nợ lương hai tháng, nhiều người")
    assert seen["title"].endswith(" …") and len(seen["title"]) <= 122 and "xqzbeta" not in seen["title"]
    assert seen["evidence"]["title"] == seen["title"]
    inst.store.close()


def test_a_units_reader_is_told_how_many_of_a_storys_items_they_see(tmp_path):
    """The reason's figures are the province's («Có 3 tin …»); a unit's reader who may see only some of the items is
    told how many, so the page's list does not contradict its reason. The province reads the reason unchanged."""
    from service.scope import Scope, scoped_flag
    from web_support import observation

    inst = make_installation(tmp_path, users={})
    ids = inst.store.add_items([observation("Giáo viên trường xqzbeta bị nợ lương ba tháng.", OTHER),
                                observation("Giáo viên trường xqzgamma bị nợ lương hai tháng.", OTHER),
                                observation("Công nhân bệnh viện phản ánh nợ lương hai tháng.", OWN)])
    reason = "Có 3 tin về người lao động nhắc đến «nợ lương» ngày 08/02/2026 (từ khóa Ban theo dõi)."
    flag = {"id": 1, "kind": "watch_term", "stream_id": None, "count": 3, "item_ids": ids, "reason": reason,
            "title": "", "evidence": {"units": {OTHER: 2, OWN: 1}, "term": "nợ lương"}}
    seen = scoped_flag(inst.store, Scope(frozenset({OWN})), flag, {})
    assert seen["reason"].startswith("Có 3 tin về người lao động nhắc đến «nợ lương»")
    assert seen["reason"].endswith("Trong phạm vi đơn vị được xem: 1 trên 3 tin của câu chuyện; các tin còn lại thuộc"
                                   " đơn vị khác.")
    assert scoped_flag(inst.store, Scope(frozenset({OWN}), province=True), flag, {})["reason"] == reason
    inst.store.close()
