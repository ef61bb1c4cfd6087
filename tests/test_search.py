"""The search language (service/search.py) and the store's search over the original and the folded text."""
from __future__ import annotations

import csv
import io
import sqlite3
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from collectors.items import RawItem
from nlp.normalize import fold
from service.search import All, Any_, Not, Phrase, SearchError, highlight, parse, to_fts
from service.store import Store
from web_support import OTHER, OWN, login, make_installation, observation

VIETNAMESE = "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"


# --- the parser -------------------------------------------------------------------------------------------------------

def test_words_typed_with_diacritics_are_matched_with_them_and_plain_words_folded():
    assert parse("lương") == Phrase(("lương",), folded=False)
    assert parse("luong") == Phrase(("luong",), folded=True)
    assert parse("LƯƠNG") == Phrase(("lương",), folded=False)
    assert parse("hoà") == Phrase(("hòa",), folded=False)   # one tone placement, as the index has it
    assert parse("đình công") == All((Phrase(("đình",), False), Phrase(("công",), False)))


def test_phrases_or_exclusion_prefix_and_groups():
    assert parse('"nợ lương"') == Phrase(("nợ", "lương"), False)
    assert parse("«nợ lương»") == Phrase(("nợ", "lương"), False)
    assert parse("lươ*") == Phrase(("lươ",), False, prefix=True)
    assert parse('"no luong" OR "cham luong"') == Any_((Phrase(("no", "luong"), True),
                                                        Phrase(("cham", "luong"), True)))
    assert parse("lương -thưởng") == All((Phrase(("lương",), False), Not(Phrase(("thưởng",), False))))
    assert parse("(a | b) c") == All((Any_((Phrase(("a",), True), Phrase(("b",), True))), Phrase(("c",), True)))
    assert parse("covid-19") == Phrase(("covid", "19"), True)
    assert parse("   ") is None and parse(", .") is None


@pytest.mark.parametrize("query", ['"nợ lương', "a OR", "OR a", "-lương", "a (b", "a)", "()", "*", '""', "-(-a b)",
                                   "x" * 201, " ".join(["a"] * 40), "a OR -b"])
def test_malformed_queries_give_a_vietnamese_message(query):
    with pytest.raises(SearchError) as exc:
        parse(query)
    message = str(exc.value)
    assert message and any(ch in message for ch in "ắằẩẫậấầếềểễệốồổỗộớờởỡợứừửữựíìỉĩịúùủũụ")


def _fts_table() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE items_search USING fts5(title, body, title_folded, body_folded,"
                 " tokenize = 'unicode61 remove_diacritics 0')")
    conn.execute("INSERT INTO items_search VALUES ('nợ lương', 'công nhân', 'no luong', 'cong nhan')")
    return conn


QUERY_TEXT = st.text(alphabet=st.sampled_from(list(VIETNAMESE + VIETNAMESE.upper() + ' "()|-*_.,:^{}+' + "0123")),
                     max_size=40)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(QUERY_TEXT)
def test_any_query_is_either_a_message_or_an_expression_fts5_accepts(query):
    conn = _fts_table()
    try:
        node = parse(query)
    except SearchError as exc:
        assert str(exc)
        return
    if node is not None:
        conn.execute("SELECT rowid FROM items_search WHERE items_search MATCH ?", [to_fts(node)]).fetchall()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list(VIETNAMESE)), min_size=1, max_size=8), min_size=1, max_size=4))
def test_a_typed_phrase_is_found_in_a_text_that_holds_it_and_highlighted(words):
    phrase = " ".join(words)
    text = f"Mở đầu. {phrase.upper()} ở giữa; kết thúc."
    node = parse(f'"{phrase}"')
    marked = [piece for piece, hit in highlight(text, node) if hit]
    assert marked and fold(marked[0]) == fold(phrase)
    plain = parse(f'"{fold(phrase)}"')
    assert plain.folded and [p for p, hit in highlight(text, plain) if hit]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(VIETNAMESE + VIETNAMESE.upper() + "ĐđÐð \n.,;:!?-'\"0123456789")
                               + ["\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "oà", "uỷ", "Hoà", "thuỷ"]),
                max_size=30).map("".join))
def test_the_fast_index_forms_equal_the_plain_definitions(text):
    import unicodedata

    from nlp.normalize import place_tone_marks
    from service.search import folded_form, original_form

    assert folded_form(text) == fold(text)
    assert original_form(text) == place_tone_marks(unicodedata.normalize("NFC", text)).lower()


def test_highlight_follows_the_diacritics_rule_and_skips_exclusions():
    text = "Giá lúa tăng, lương công nhân chưa tăng; luống rau xanh."
    assert [p for p, hit in highlight(text, parse("lương")) if hit] == ["lương"]
    assert [p for p, hit in highlight(text, parse("luong")) if hit] == ["lương", "luống"]
    assert [p for p, hit in highlight(text, parse("lương -rau")) if hit] == ["lương"]
    long_text = "chữ " * 200 + "nợ lương" + " chữ" * 200
    pieces = highlight(long_text, parse('"nợ lương"'))
    assert pieces[0] == ("…", False) and ("nợ lương", True) in pieces and pieces[-1] == ("…", False)


# --- the store ---------------------------------------------------------------------------------------------------------

def _item(title: str, text: str, hours: int, source: str = "bao.vn") -> RawItem:
    return RawItem(title=title, text=text, url=f"https://{source}/{uuid.uuid4().hex}", source=source,
                   published_at=datetime(2026, 1, 10, tzinfo=timezone.utc) + timedelta(hours=hours))


def _ids(store: Store, query: str, **kw) -> list[int]:
    node = parse(query)
    return [r["id"] for r in store.search(node, limit=100, **kw)[1]]


def test_store_search_matches_diacritics_phrases_and_ranks_by_bm25(tmp_path):
    store = Store(tmp_path / "p.db")
    store.migrate()
    ids = store.add_items([
        _item("Công ty nợ lương công nhân", "Công nhân bị nợ lương ba tháng, nợ lương kéo dài.", 1),
        _item("Giá lúa", "Nông dân bán lúa, nợ ngân hàng; lương thấp.", 2),
        _item("Luống rau", "Một luống rau xanh.", 3),
        _item("Bóng đá", "Cầu thủ đình công đòi lương.", 4),
        _item("Dinh cơ", "Dinh thự cổ, công viên.", 5),
    ])
    assert _ids(store, '"nợ lương"') == [ids[0]]
    assert set(_ids(store, "nợ lương")) == {ids[0], ids[1]}
    assert set(_ids(store, "lương")) == {ids[0], ids[1], ids[3]}
    assert set(_ids(store, "luong")) == {ids[0], ids[1], ids[2], ids[3]}
    assert _ids(store, "đình công") == [ids[3]]
    assert set(_ids(store, "dinh cong")) == {ids[3], ids[4]}
    assert set(_ids(store, "lương -lúa")) == {ids[0], ids[3]}
    assert set(_ids(store, '"nợ lương" OR luống')) == {ids[0], ids[2]}
    assert set(_ids(store, "lươ*")) == {ids[0], ids[1], ids[3]}
    # bm25: the item whose title and body hold «lương» most comes first; newest first on request
    assert _ids(store, "lương")[0] == ids[0]
    assert _ids(store, "lương", order="newest") == [ids[3], ids[1], ids[0]]
    total, rows = store.search(parse("luong"), limit=2)
    assert total == 4 and len(rows) == 2
    assert [r["score"] for r in store.search(parse("luong"), limit=10)[1]] == sorted(
        r["score"] for r in store.search(parse("luong"), limit=10)[1])


def test_items_stored_before_the_index_are_backfilled_by_a_job_and_the_doctor_sees_gaps(tmp_path):
    from service.setup import index_old_items
    from service.store import MIGRATIONS

    store = Store(tmp_path / "p.db")
    store.migrate(MIGRATIONS[:next(n for n, m in enumerate(MIGRATIONS) if "items_search USING fts5" in m)])
    for n, (title, text) in enumerate([("Nợ lương", "Công nhân bị nợ lương."), ("Khác", "Chuyện khác.")]):
        # as the code before items_search stored them: the item and its folded search row
        cur = store.db.conn.execute(
            "INSERT INTO items (content_hash, kind, title, text, published_at, day, collected_at)"
            " VALUES (?, 'article', ?, ?, '2026-01-10T00:00:00+00:00', '2026-01-10', '2026-01-10T00:00:00+00:00')",
            [str(n), title, text])
        store.db.conn.execute("INSERT INTO items_fts (rowid, folded) VALUES (?, ?)",
                              [cur.lastrowid, fold(f"{title}\n{text}")])
    store.migrate()   # the migration only marks them: a large store is indexed by a job, not inside a migration
    assert _ids(store, '"nợ lương"') == [] and store.count_search_backfill() == 2
    assert store.items_missing_search_rows() == []   # waiting for the job is not missing
    job = index_old_items(store)
    assert job["kind"] == "search_backfill" and job["status"] == "done" and job["counts"] == {"indexed": 2}
    assert (job["progress_done"], job["progress_total"]) == (2, 2)
    assert index_old_items(store) is None and store.count_search_backfill() == 0
    assert _ids(store, '"nợ lương"') and store.items_missing_search_rows() == []
    victim = _ids(store, '"nợ lương"')[0]
    store.delete_search_rows([victim])
    assert victim in store.items_missing_search_rows()
    store.reindex_items([victim])
    assert _ids(store, '"nợ lương"') == [victim]
    store.delete_items([victim])
    assert _ids(store, "luong") == [] and store.stray_search_rows() == []


def test_words_are_split_as_fts5_splits_them_on_both_backends(tmp_path):
    """On PostgreSQL as on SQLite: `covid-19`, `TP.HCM`, `5.000`, a link or `a_b` are words side by side (not the
    compound tokens of PostgreSQL's own parser), and a phrase holds within the title or within the body."""
    store = Store(tmp_path / "p.db")
    store.migrate()
    ids = store.add_items([
        _item("Covid-19 tại TP.HCM", "Giá 5.000 đồng; xem https://bao.vn/tin-a hoặc hỏi ban_tổ_chức.", 1),
        _item("Nợ lương", "Tháng ba công nhân nghỉ.", 2),
        _item("Chuyện khác", "covid 19 ở tp hcm, luống rau.", 3),
    ])
    assert set(_ids(store, '"covid 19"')) == {ids[0], ids[2]} == set(_ids(store, "covid-19"))
    assert set(_ids(store, "tp.hcm")) == {ids[0], ids[2]}
    assert _ids(store, '"5.000 đồng"') == [ids[0]] and _ids(store, "5") == [ids[0]]
    assert _ids(store, '"bao vn tin a"') == [ids[0]] and _ids(store, "ban_tổ_chức") == [ids[0]]
    assert _ids(store, "lương tháng") == [ids[1]]
    assert _ids(store, '"lương tháng"') == [] and _ids(store, '"luong thang"') == []   # title | body: no phrase
    assert _ids(store, "_") == [] and _ids(store, "lương _") == [] and _ids(store, "lương -_") == [ids[1]]
    assert set(_ids(store, 'covid OR "nợ lương"')) == {ids[0], ids[1], ids[2]}   # folded OR with diacritics
    assert _ids(store, "(tháng | covid) -hcm") == [ids[1]] and _ids(store, "luong -lương") == [ids[2]]
    assert set(_ids(store, "cov*")) == {ids[0], ids[2]} and _ids(store, '"nợ lươ"*') == [ids[1]]


@pytest.fixture(scope="module")
def any_query_store(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("any-query") / "p.db")
    store.migrate()
    store.add_items([_item("Nợ lương công nhân", "Công nhân bị nợ lương (3 tháng) — «đình công» ở TP.HCM.", 1)])
    yield store
    store.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=QUERY_TEXT)
def test_any_query_is_either_a_message_or_a_search_the_store_runs(any_query_store, query):
    """The store's own form of the query (FTS5 on SQLite, tsqueries on PostgreSQL) is always accepted."""
    try:
        node = parse(query)
    except SearchError as exc:
        assert str(exc)
        return
    total, rows = any_query_store.search(node, limit=5)
    assert total >= len(rows)


PARITY_ITEMS = [   # titles end, and bodies begin, with words the queries use: phrases across the two find nothing
    ("Nợ lương công nhân", "Công nhân bị nợ lương ba tháng, nợ lương kéo dài."),
    ("Giá lúa", "Nông dân nợ ngân hàng; lương thấp."),
    ("Luống rau", "Một luống rau xanh ở TP.HCM."),
    ("Bóng đá đình công", "Lương cầu thủ; Covid-19 trở lại."),
    ("Dinh cơ", "Dinh thự cổ, công viên, 5.000 khách."),
    ("Định công", "Đinh cộng: nợ tháng lương công nhân thời vụ."),
]
PARITY_WORDS = ["lương", "luong", "nợ", "no", "công", "cong", "nhân", "nhan", "đình", "dinh", "tháng", "thang",
                "covid", "19", "tp", "hcm", "5", "000", "rau"]
PARITY_PART = st.one_of(
    st.sampled_from(PARITY_WORDS),
    st.sampled_from(["lươ*", "cô*", "th*", "ng*", "d*", '"cong nh"*']),
    st.lists(st.sampled_from(PARITY_WORDS), min_size=2, max_size=3).map(lambda w: '"' + " ".join(w) + '"'))
PARITY_QUERY = st.lists(st.tuples(st.sampled_from(["", "", "-", "OR "]), PARITY_PART), min_size=1, max_size=4).map(
    lambda parts: " ".join(op + part for op, part in parts))


@pytest.fixture(scope="module")
def parity_stores(tmp_path_factory):
    """The same items in the store of the run's backend and in an SQLite store (`:memory:` is SQLite on either)."""
    stores = (Store(tmp_path_factory.mktemp("parity") / "p.db"), Store(":memory:"))
    for store in stores:
        store.migrate()
        store.add_items([_item(title, text, n) for n, (title, text) in enumerate(PARITY_ITEMS)])
    yield stores
    for store in stores:
        store.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=PARITY_QUERY)
@example(query='"nhân công"').via("a title's end and its body's start")
@example(query='"cong luong" OR "cong dinh"').via("the same, folded")
@example(query='covid -"tp hcm" OR nợ -"lương ba"').via("exclusions")
def test_the_backend_finds_what_sqlite_finds(parity_stores, query):
    """On PostgreSQL, every query finds the items SQLite's FTS5 finds (diacritics, folding, phrases, prefixes, OR,
    exclusions). (On SQLite both stores are SQLite.)"""
    store, sqlite_store = parity_stores
    try:
        node = parse(query)
    except SearchError:
        return
    found, expected = store.search(node, limit=50)[1], sqlite_store.search(node, limit=50)[1]
    assert sorted(r["id"] for r in found) == sorted(r["id"] for r in expected), query


def test_filters_by_source_channel_unit_tone_and_dates(tmp_path):
    store = Store(tmp_path / "p.db")
    store.migrate()
    a, b = store.add_items([_item("Nợ lương", "nợ lương", 1, source="a.vn"), _item("Nợ lương", "nợ lương ở đây", 30)])
    c = store.add_items([observation("Bị nợ lương ở y tế.", OWN)])[0]
    q = parse("luong")
    assert [r["id"] for r in store.search(q, source="a.vn")[1]] == [a]
    assert store.search(q, since_day="2026-01-11", until_day="2026-01-11")[0] == 1
    assert [r["id"] for r in store.search(q, units=[OWN], include_public=False)[1]] == [c]
    assert c not in [r["id"] for r in store.search(q, units=[OTHER])[1]]
    assert store.search(q, channel="không có")[0] == 0 and store.search(q, tone="negative")[0] == 0
    assert b in [r["id"] for r in store.search(q)[1]]


# --- the page and the exports ---------------------------------------------------------------------------------------

@pytest.fixture
def web(tmp_path):
    from service.app import create_app

    inst = make_installation(tmp_path)
    app = create_app(inst.settings, start_worker=False)
    return inst, app


def _client(app, username):
    client = TestClient(app, follow_redirects=False)
    assert login(client, username).status_code == 303
    return client


def test_page_counts_highlights_and_refuses_malformed_queries_in_vietnamese(web):
    inst, app = web
    inst.store.add_items([_item("Công ty nợ lương", "Công nhân bị nợ lương ba tháng.", 1),
                          _item("Giá lúa", "Nợ ngân hàng, lương thấp.", 2)])
    staff = _client(app, "staff1")
    page = staff.get("/items", params={"q": '"nợ lương"'})
    assert page.status_code == 200
    assert "<strong>1</strong> kết quả" in page.text and "<mark>nợ lương</mark>" in page.text
    assert "<strong>2</strong> kết quả" in staff.get("/items", params={"q": "luong", "order": "newest"}).text
    bad = staff.get("/items", params={"q": '"nợ lương'})
    assert bad.status_code == 200 and '<p class="error" role="alert">Thiếu dấu ngoặc kép' in bad.text
    assert staff.get("/items.csv", params={"q": "a OR"}).status_code == 400
    assert staff.get("/api/items", params={"q": "-lương"}).status_code == 400


def test_exports_keep_vietnamese_neutralise_formulas_and_respect_scope(web):
    from openpyxl import load_workbook

    inst, app = web
    store = inst.store
    store.add_items([_item("=HYPERLINK(\"http://x\") nợ lương", "Công nhân bị nợ lương ba tháng.", 1)])
    store.add_submission(inst.users["collab1"], uuid.uuid4().hex, observation("Y tế bị nợ lương.", OWN))
    store.add_submission(inst.users["collab2"], uuid.uuid4().hex, observation("Giáo dục bị nợ lương.", OTHER))
    staff = _client(app, "staff1")
    response = staff.get("/items.csv", params={"q": '"nợ lương"'})
    assert response.status_code == 200 and response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Mã" and rows[0][8] == "Tiêu đề"
    texts = [r[9] for r in rows[1:]]
    assert "Công nhân bị nợ lương ba tháng." in texts and "Y tế bị nợ lương." in texts
    assert "Giáo dục bị nợ lương." not in texts   # another unit's observation stays out of a unit's export
    assert any(r[8] == "'=HYPERLINK(\"http://x\") nợ lương" for r in rows[1:])
    root = _client(app, "root")
    book = load_workbook(io.BytesIO(root.get("/items.xlsx", params={"q": '"nợ lương"'}).content))
    cells = [[c.value for c in row] for row in book.active.iter_rows()]
    assert len(cells) == 4 and "Giáo dục bị nợ lương." in [r[9] for r in cells]
    assert all(not str(v).startswith("=") for r in cells for v in r if v is not None)


def test_saved_searches_are_each_users_own(web):
    from web_support import csrf_of

    inst, app = web
    inst.store.add_items([_item("Công ty nợ lương", "Công nhân bị nợ lương ba tháng.", 1)])
    staff = _client(app, "staff1")
    csrf = csrf_of(staff.get("/items").text)
    form = {"csrf_token": csrf, "name": "Nợ lương", "q": '"nợ lương"', "order": "newest"}
    answer = staff.post("/items/saved", data=form)
    assert answer.status_code == 303
    page = staff.get(answer.headers["location"]).text
    assert "Đã lưu tìm kiếm «Nợ lương»" in page and "<strong>1</strong> kết quả" in page
    assert staff.post("/items/saved", data={**form, "q": "luong"}).status_code == 303   # the same name replaces it
    mine = inst.store.saved_searches(inst.users["staff1"])
    assert [(s["name"], s["params"]) for s in mine] == [("Nợ lương", {"q": "luong", "order": "newest"})]
    assert 'href="/items?q=luong&amp;order=newest">Nợ lương</a>' in staff.get("/items").text
    assert staff.post("/items/saved", data={**form, "name": "Hỏng", "q": '"nợ'}).status_code == 400
    assert staff.post("/items/saved", data={**form, "name": "  "}).status_code == 400
    other = _client(app, "analyst1")
    assert "Nợ lương</a>" not in other.get("/items").text
    other_csrf = csrf_of(other.get("/items").text)
    assert other.post(f"/items/saved/{mine[0]['id']}/delete", data={"csrf_token": other_csrf}).status_code == 404
    assert staff.post(f"/items/saved/{mine[0]['id']}/delete", data={"csrf_token": csrf}).status_code == 303
    assert inst.store.saved_searches(inst.users["staff1"]) == []
