"""The cause view, the proposals and orientation tracking of a story (issue 17.2, 17.4, 17.5), read on the flag page
and its JSON by the province's reader and by a unit's reader: every quote is a slice of an item's text with its link,
a unit's reader sees only their unit's reports and the press, and an orientation recorded on the page comes back
with the story's before and after."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from nlp.causes import cause_statements, demand_statements, group_statements
from service.orientation import OrientationError, check, outcome, summary_vi
from story_support import build_story

# --------------------------------------------------------------------------------------------- statements (pure)

def test_cause_statements_quote_the_sentence_and_mark_where_the_cause_is_said():
    texts = {1: "Hội nghị do Công ty tổ chức sáng nay. Công nhân nghỉ việc vì công ty chậm trả lương hai tháng.",
             2: "Do đó, công đoàn vào cuộc. Việc nợ bảo hiểm kéo dài khiến nhiều người không được hưởng chế độ.",
             3: "Theo phản ánh, nguyên nhân là do đơn hàng giảm mạnh. Tình trạng tự do đi lại được bảo đảm."}
    found = cause_statements(texts)
    assert [(s.item_id, s.said) for s in found] == [
        (1, "vì công ty chậm trả lương hai tháng"),
        (2, "Việc nợ bảo hiểm kéo dài khiến"),
        (3, "nguyên nhân là do đơn hàng giảm mạnh")], "the agent «do», «do đó» and «tự do» are not causes"
    for s in found:
        assert "".join(s.parts()) == s.sentence and s.sentence in texts[s.item_id]


def test_two_wordings_of_one_cause_are_one_group_counted_by_distinct_items():
    texts = {1: "Công nhân bức xúc vì công ty chậm trả lương hai tháng liền.",
             2: "Nhiều người nghỉ việc vì công ty chậm trả lương suốt hai tháng.",
             3: "Doanh nghiệp khó khăn do đơn hàng giảm mạnh từ đầu năm."}
    groups = group_statements(cause_statements(texts))
    assert [g.count for g in groups] == [2, 1] and groups[0].item_ids == [1, 2]
    demands = demand_statements({4: "Anh em mong muốn được trả lương đúng hạn. Hôm nay trời mưa to."})
    assert [d.said for d in demands] == ["mong muốn được trả lương đúng hạn"]


# --------------------------------------------------------------------------------------- outcome (pure)

def _facts(counts: dict[int, int], given: date, negative_share: float = 0.5, units: int = 1) -> list[dict]:
    out = []
    for offset, n in counts.items():
        day = (given + timedelta(days=offset)).isoformat()
        for k in range(n):
            out.append({"day": day, "sentiment": "negative" if k < round(n * negative_share) else "neutral",
                        "org_unit": f"u{k % units}", "source": "Cộng tác viên"})
    return out


def test_the_after_days_are_compared_with_the_same_weekdays_before_and_the_baselines_spread():
    given = date(2026, 11, 16)   # a Monday
    weekday = {i: (1 if (given + timedelta(days=i)).weekday() >= 5 else 6) for i in range(-14, 8)}   # quiet weekends
    result = outcome(_facts(weekday, given), given.isoformat(), given + timedelta(days=8))
    v = result["volume"]
    assert result["after_days"] == 7 and v["expected"] == v["actual"] == 32 and v["verdict"] == "same"
    fewer = {**weekday, **{i: 1 for i in range(1, 8)}}
    result = outcome(_facts(fewer, given), given.isoformat(), given + timedelta(days=8))
    assert result["volume"]["verdict"] == "down" and result["volume"]["actual"] == 7
    assert "số tin giảm rõ" in " ".join(summary_vi(result))
    waiting = outcome(_facts(weekday, given), given.isoformat(), given + timedelta(days=1))   # the day after: partial
    assert waiting["verdict"] == "waiting" and summary_vi(waiting) == ["Chưa có số liệu sau ngày định hướng."]


def test_a_story_cooling_as_forecast_is_not_credited_to_the_orientation():
    given = date(2026, 11, 16)
    burst = {i: n for i, n in zip(range(-14, 8), [1, 1, 2, 1, 2, 3, 5, 8, 13, 20, 24, 22, 18, 15,
                                                   12, 10, 8, 6, 5, 4, 3, 3])}
    result = outcome(_facts(burst, given), given.isoformat(), given + timedelta(days=8))
    lines = " ".join(summary_vi(result))
    # a burst ends faster than its forecast expects, but within the same weekdays' usual variation: the two checks
    # disagree, and the fall is not put down to the orientation
    assert (result["volume"]["verdict"], result["forecast"]["verdict"]) == ("same", "down")
    assert lines.startswith("Kết luận: hai cách so sánh không cùng kết quả, chưa đủ căn cứ về số tin.")
    collapse = {**burst, **{i: 0 for i in range(1, 8)}}
    result = outcome(_facts(collapse, given), given.isoformat(), given + timedelta(days=8))
    assert result["forecast"]["verdict"] == "down" and result["forecast"]["below"] >= 4
    assert "thấp hơn dự báo" in " ".join(summary_vi(result))


def test_tone_changes_only_beyond_two_standard_errors():
    given = date(2026, 11, 16)
    counts = {i: 6 for i in range(-14, 8)}
    before_neg = [f for f in _facts({i: 6 for i in range(-14, 0)}, given, 0.8)]
    after_neg = [f for f in _facts({i: 6 for i in range(1, 8)}, given, 0.2)]
    result = outcome(before_neg + after_neg, given.isoformat(), given + timedelta(days=8))
    assert result["tone"]["verdict"] == "down"
    same = outcome(_facts(counts, given, 0.5), given.isoformat(), given + timedelta(days=8))
    assert same["tone"]["verdict"] == "same"


def test_an_orientation_form_needs_its_words_owner_channel_and_a_real_day_and_no_unedited_template():
    today = date(2026, 11, 20)
    assert check(" Đã đối thoại ", "Ban Tuyên giáo", "2026-11-19", "hoi-nghi", "", today)[0] == "Đã đối thoại"
    for args, message in [(("", "Ban", "2026-11-19", "hoi-nghi", ""), "nội dung"),
                          (("Nội dung", "", "2026-11-19", "hoi-nghi", ""), "phụ trách"),
                          (("Nội dung", "Ban", "2026-11-19", "fax", ""), "Kênh"),
                          (("Nội dung", "Ban", "19/11/2026", "hoi-nghi", ""), "Ngày"),
                          (("Nội dung", "Ban", "2026-11-21", "hoi-nghi", ""), "không sau hôm nay")]:
        with pytest.raises(OrientationError, match=message):
            check(*args, today)
    with pytest.raises(OrientationError, match="nguyên văn mẫu"):
        check("Mẫu  của Ban\n", "Ban", "2026-11-19", "van-ban", "", today, ["Mẫu của Ban"])


# ------------------------------------------------------------------------------------------- the pages

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from service.app import create_app

    inst, flag, ids, outside, other_flag = build_story(tmp_path_factory.mktemp("causes"))
    return inst, create_app(inst.settings, start_worker=False), flag, ids, outside, other_flag


def _client(app, username):
    from fastapi.testclient import TestClient

    from web_support import login

    client = TestClient(app, follow_redirects=False)
    assert login(client, username).status_code == 303
    return client


def _card(page: str, anchor: str) -> str:
    card = page[page.index(f'id="{anchor}"'):]
    return card[:card.index("</section>")]


def test_the_cause_view_quotes_what_people_say_the_causes_are_with_links_to_the_items(site):
    inst, app, flag, ids, outside, other_flag = site
    client = _client(app, "root")
    story = client.get(f"/flags/{flag['id']}/story.json").json()
    causes = story["causes"]["causes"]
    texts = {i["id"]: f"{i['title']}\n{i['text']}" for i in inst.store.items_by_ids(
        [q["id"] for c in causes for q in c["examples"]])}
    for c in causes:   # never invented: every quote is the item's own sentence, the marked clause inside it
        for q in c["examples"]:
            assert q["before"] + q["clause"] + q["after"] in texts[q["id"]]
    salary = next(c for c in causes if "chậm trả lương" in c["said"] and c["said"].startswith("vì"))
    assert salary["count"] == len(ids["cb-yte"]) + len(ids["cb-giaoduc"]) + 1, "three sources' wordings, one cause"
    assert salary["sources"] == 3
    reason = next(c for c in causes if c["said"] == "nguyên nhân là do đơn hàng giảm mạnh nên doanh nghiệp thiếu vốn")
    assert reason["count"] == 1 and reason["examples"][0]["id"] == ids["press"][0]
    page = client.get(f"/flags/{flag['id']}").text
    card = _card(page, "nguyen-nhan")
    assert "Nguyên nhân theo ý kiến được nêu" in card
    assert (f"<strong>«{salary['said']}»</strong> · {salary['count']} tin, 3 nguồn") in card
    assert "<mark>nguyên nhân là do đơn hàng giảm mạnh nên doanh nghiệp thiếu vốn</mark>" in card
    assert f'<a href="/items/{ids["press"][0]}">baocaobang.vn</a>' in card
    earliest = story["causes"]["earliest"]
    assert earliest[0]["day"] == "2026-03-17" and f'href="/items/{earliest[0]["id"]}"' in card


def test_reports_echoing_a_press_article_name_the_shared_enterprise_and_document(site):
    inst, app, flag, ids, outside, other_flag = site
    story = _client(app, "root").get(f"/flags/{flag['id']}/story.json").json()["causes"]
    echo = next(e for e in story["echoes"] if e["id"] == ids["press"][0])
    assert echo["in_story"] and echo["reports_count"] == len(ids["cb-yte"]) + len(ids["cb-giaoduc"])
    assert echo["shared"] == ["Công ty May Alpha Cao Bằng", "Nghị định 74/2024/NĐ-CP"]
    by_facets = {r["id"] for r in echo["reports"] if r["shared"]}
    assert by_facets == set(ids["cb-yte"]), "unit A's reports name the enterprise and the decree the article names"
    assert all(r["similarity"] >= 0.3 for r in echo["reports"] if not r["shared"]), "unit B's: by their words only"
    found = next(e for e in story["echoes"] if e["id"] == outside)
    assert not found["in_story"] and found["shared"] == ["Công ty May Alpha Cao Bằng"], "found in the whole store"
    decree = next(d for d in story["documents"] if d["key"] == "Nghị định 74/2024/NĐ-CP")
    assert decree["reports_count"] == len(ids["cb-yte"]) and decree["press_count"] == 1
    assert [(r["id"], r["about"]) for r in story["related"]] == [(other_flag, ["Công ty May Alpha Cao Bằng"])]


def test_a_unit_reader_sees_causes_and_proposals_made_of_their_units_reports_and_the_press_only(site):
    inst, app, flag, ids, outside, other_flag = site
    client = _client(app, "staff1")
    raw = client.get(f"/flags/{flag['id']}/story.json").text
    page = client.get(f"/flags/{flag['id']}").text
    for text in (raw, page):
        assert "Betaxyz" not in text and "Trùng Khánh" not in text
    story = client.get(f"/flags/{flag['id']}/story.json").json()
    salary = next(c for c in story["causes"]["causes"] if c["said"].startswith("vì công ty chậm trả lương"))
    assert set(salary["item_ids"]) == set(ids["cb-yte"] + ids["press"]), "unit A's reports and the press only"
    concerns = story["proposals"]["concerns"]
    assert concerns[0]["said"] == "đề nghị công ty trả đủ lương trước ngày 15"
    assert concerns[0]["count"] == len(ids["cb-yte"])
    other = _client(app, "staff2")   # unit B: its own reports, not unit A's nor unit A's dialogue
    story_b = other.get(f"/flags/{flag['id']}/story.json").json()
    assert "May Alpha" not in str(story_b["proposals"]["commitments"])
    assert "đề nghị công ty trả đủ lương" not in str(story_b["proposals"]["concerns"])


def test_proposals_come_from_the_boards_playbook_filled_from_the_story_with_open_commitments(site):
    inst, app, flag, ids, outside, other_flag = site
    from service.playbook import board_playbook

    client = _client(app, "staff1")
    card = _card(client.get(f"/flags/{flag['id']}").text, "de-xuat")
    assert "Ban chưa có sổ tay riêng" in card and "không phải nhận định của hệ thống" in card
    assert "Đối thoại với doanh nghiệp về tiền lương" in card
    assert "làm việc với Công ty May Alpha Cao Bằng về việc chi trả lương" in card, "filled from the story's facets"
    assert "Văn bản dùng để trả lời: Bộ luật Lao động 2019, Điều 97 (kỳ hạn trả lương)" in card
    assert "<strong>May Alpha</strong>" in card and "Trả đủ lương tháng 1 trước ngày 31/3" in card, \
        "the commitment still open from unit A's dialogue with the enterprise the story names"
    assert "Nghị định 74/2024/NĐ-CP" in card
    path = board_playbook(inst.settings)
    try:
        path.write_text('[[response]]\nid = "rieng"\ntitle = "Mẫu riêng của Ban"\ntopics = ["tien_luong"]\n'
                        'needs = ["organisation"]\nchannel = "bao-chi"\n'
                        'text = "Thông tin với báo chí về {organisation}: xqzmauban."\n', encoding="utf-8")
        card = _card(client.get(f"/flags/{flag['id']}").text, "de-xuat")
        assert "Theo sổ tay định hướng của Ban (playbook.toml" in card
        assert "Thông tin với báo chí về Công ty May Alpha Cao Bằng: xqzmauban." in card
        assert "Đối thoại với doanh nghiệp về tiền lương" not in card
        path.write_text("[[response]\nid = 1", encoding="utf-8")
        card = _card(client.get(f"/flags/{flag['id']}").text, "de-xuat")
        assert ("Không dùng được sổ tay của Ban: playbook.toml: không đọc được tệp TOML (lỗi cú pháp ở dòng 1, cột"
                in card) and "Expected" not in card and "Invalid" not in card
        assert "Đối thoại với doanh nghiệp về tiền lương" in card, "the starter is offered meanwhile"
    finally:
        path.unlink(missing_ok=True)


def test_an_orientation_recorded_on_the_page_shows_the_story_before_and_after(site):
    from service.timeutil import today_local
    from web_support import csrf_of

    inst, app, flag, ids, outside, other_flag = site
    client = _client(app, "staff1")
    page = client.get(f"/flags/{flag['id']}?mau=luong-doi-thoai").text
    form = _card(page, "dinh-huong")
    template = re.search(r'<textarea name="said"[^>]*>([^<]*)</textarea>', form).group(1)
    assert template.startswith("Công đoàn cấp trên phối hợp") and 'value="hoi-nghi" selected' in form
    fields = {"csrf_token": csrf_of(page), "said": template.replace("&#34;", '"'), "owner": "Ban Tuyên giáo",
              "given_on": "2026-03-18", "channel": "hoi-nghi", "audience": "Ban giám đốc",
              "template": "luong-doi-thoai"}
    refused = client.post(f"/flags/{flag['id']}/orientations", data=fields)
    assert refused.status_code == 400 and "nguyên văn mẫu" in refused.text
    assert "Ban Tuyên giáo" in _card(refused.text, "dinh-huong"), "the form comes back with its words"
    said = "Đã làm việc với Công ty May Alpha Cao Bằng xqzdinhhuong; công ty hứa trả lương trước ngày 25/3."
    for _ in range(2):   # sent twice: recorded once
        done = client.post(f"/flags/{flag['id']}/orientations", data={**fields, "said": said})
        assert done.status_code == 303 and done.headers["location"].endswith("#dinh-huong")
    assert len([o for o in inst.store.orientations(flag["id"]) if o["username"] == "staff1"]) == 1
    card = _card(client.get(f"/flags/{flag['id']}").text, "dinh-huong")
    assert "18/03/2026 · Hội nghị, đối thoại" in card and "phụ trách: Ban Tuyên giáo" in card and said in card
    assert "Trước (04/03/2026–17/03/2026)" in card and "Sau (19/03/2026–" in card
    assert "ngày sau định hướng có" in card and "So với dự báo lập từ số liệu đến ngày định hướng" in card
    orientation = client.get(f"/flags/{flag['id']}/story.json").json()["orientations"][0]
    after_days = min(7, (today_local() - date(2026, 3, 18)).days - 1)   # complete days only
    assert orientation["outcome"]["after_days"] == after_days
    assert orientation["outcome"]["volume"]["actual"] == 2 + 3 + 4 + 1, \
        "the unit's reader: after the 18th, their unit's reports of the story (19th to 21st) and the press article"
    trail = _card(client.get(f"/flags/{flag['id']}").text, "nhat-ky")
    assert "Ghi nhận định hướng" in trail
    assert "xqzdinhhuong" not in _client(app, "staff2").get(f"/flags/{flag['id']}").text, \
        "a sibling unit does not read unit A's orientation"
    assert "xqzdinhhuong" in _client(app, "root").get(f"/flags/{flag['id']}").text


def test_the_monthly_report_quotes_the_stated_causes_and_tells_the_orientations_outcome(site):
    inst, app, flag, ids, outside, other_flag = site
    inst.store.add_orientation(flag["id"], "root", "caobang", "Ban Tuyên giáo tỉnh", "2026-03-19", "bao-chi",
                               "Báo Cao Bằng", "Thông tin xqzbaocao về việc trả lương tại Công ty May Alpha.")
    report = _client(app, "root").get("/reports/caobang", params={"period": "month", "ref": "2026-03-01"}).text
    causes = report[report.index("Nguyên nhân được nêu trong các tin, ý kiến (trích nguyên văn)"):]
    assert "«vì công ty chậm trả lương hai tháng liền»" in causes[:3000]
    results = report[report.index("Kết quả định hướng"):]
    assert "định hướng ngày 19/03/2026 qua báo chí (Ban Tuyên giáo tỉnh)" in results
    assert "xqzbaocao" in results and "Kết luận:" in results


def test_cause_statements_on_real_news_are_verbatim_and_mostly_state_a_cause():
    """Every statement found in the 729 texts of the real RSS crawl is a sentence of its text with the clause inside
    it; on the 40 read by a person (tests/fixtures/causes/SOURCE.md), at least 0,75 state a cause."""
    import csv
    import hashlib
    import json

    from conftest import FIXTURES, SHARED, require_data

    crawl = require_data(SHARED / "datasets" / "news-rss-crawl-2026" / "rss_feed_articles_backup.csv",
                         "news-rss-crawl-2026")
    csv.field_size_limit(10 ** 8)
    with open(crawl, encoding="utf-8") as f:
        texts = {f"rss:{r['id']}": f"{r['title']}. {r['content.text']}"[:1500] for r in csv.DictReader(f)}
    found = cause_statements(texts)
    assert len(found) > 300
    for s in found:
        start, end = s.clause
        assert s.sentence in texts[s.item_id] and 0 <= start < end <= len(s.sentence)
    labels = json.loads((FIXTURES / "causes" / "labels.json").read_text(encoding="utf-8"))
    by_key = {(s.item_id, hashlib.sha1(s.sentence.encode()).hexdigest(), tuple(s.clause)): s for s in found}
    judged = [row for row in labels if (row["id"], row["sentence_sha1"], tuple(row["clause"])) in by_key]
    right = sum(row["states_a_cause"] for row in judged)
    print(f"cause statements: {right}/{len(judged)} of the labelled ones found state a cause")
    assert len(judged) >= 36, "the extractor still finds the labelled statements"
    assert right / len(judged) >= 0.75


def test_a_playbook_is_refused_with_the_entry_named_and_its_blanks_are_filled_or_left_visible():
    from service.playbook import SHIPPED, PlaybookError, fill, parse

    assert [r.id for r in parse(SHIPPED.read_text(encoding="utf-8"), "playbook.toml")][:2] == [
        "luong-doi-thoai", "van-ban-giai-thich"]
    entry = '[[response]]\nid = "a"\ntitle = "Mẫu"\ntext = "Nội dung"\n'
    with pytest.raises(PlaybookError, match="id «a» bị trùng"):
        parse(entry * 2, "playbook.toml")
    with pytest.raises(PlaybookError, match="mục «a» có needs không hợp lệ: enterprise"):
        parse(entry + 'needs = ["enterprise"]\n', "playbook.toml")
    with pytest.raises(PlaybookError, match="mục thứ 1 thiếu id, title hoặc text"):
        parse('[[response]]\nid = "b"\n', "playbook.toml")
    assert fill("Làm việc với {organisation} về {document}.", {"organisation": "Công ty A"}) == \
        "Làm việc với Công ty A về ….", "a blank the story cannot fill is left for staff to complete"
    assert fill("Giữ nguyên {không_có} và {", {}) == "Giữ nguyên {không_có} và {", "a stray brace: as written"
