"""Where a story is heading (issue 17.3) and what it is about (17.1) on the flag page: the forecast's numbers and
labels, and the page's facets and forecast built from the items its reader may see."""
from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np
import pytest

from service.forecast import LABELS, MIN_FIT_DAYS, forecast, forecast_counts, label_of


def _timeline(counts: list[int], start: date = date(2026, 11, 1)) -> list[dict]:
    return [{"day": (start + timedelta(days=i)).isoformat(), "count": c} for i, c in enumerate(counts)]


def test_a_growing_story_is_rising_with_an_interval_around_an_increasing_expectation():
    counts = [1, 1, 2, 1, 2, 2, 3, 3, 4, 5, 6, 8, 9, 12, 14, 18]
    f = forecast(_timeline(counts))
    assert f.method == "ets" and f.label == "rising" and f.label_vi == "đang tăng"
    assert f.days[0] == "2026-11-17" and len(f.days) == len(f.mean) == 7
    assert f.mean[0] > counts[-3] and f.mean[6] >= f.mean[0]
    assert all(lo <= m <= up for lo, m, up in zip(f.lower, f.mean, f.upper))
    assert f.upper[6] - f.lower[6] > f.upper[0] - f.lower[0], "the interval widens with the horizon"


def test_a_story_past_its_burst_is_cooling_and_never_forecast_below_zero():
    counts = [1, 0, 1, 2, 1, 6, 14, 20, 15, 9, 6, 4, 3, 2]
    f = forecast(_timeline(counts))
    assert f.label == "cooling" and f.label_vi == "hạ nhiệt"
    assert min(f.lower) >= 0 and f.mean[0] < 6


def test_a_rise_the_model_sees_levelling_off_is_about_to_peak():
    history = [2, 2, 2, 2, 2, 2, 2, 3, 5, 8, 10, 11, 11]
    assert label_of(history, np.array([11.2, 11.3, 11.3])) == "peaking"
    assert LABELS["peaking"] == "sắp đạt đỉnh"
    assert label_of([4] * 12, np.array([4.1, 4.0, 4.0])) == "steady"


def test_a_short_or_flat_series_falls_back_to_the_naive_forecast_with_a_poisson_interval():
    mean, lower, upper, method = forecast_counts([0, 2, 3, 4])
    assert method == "naive" and len(mean) == 7
    assert np.allclose(mean, 3.0) and lower[0] == 1 and upper[0] == 5   # Poisson(3) 10th and 90th percentiles
    assert MIN_FIT_DAYS > 4
    mean, lower, upper, method = forecast_counts([5] * 20)
    assert method == "naive" and np.allclose(mean, 5)
    assert forecast([]) is None


def test_missing_days_count_as_zero_and_the_forecast_starts_the_day_after_the_last():
    timeline = [{"day": "2026-11-01", "count": 3}, {"day": "2026-11-04", "count": 1}]
    f = forecast(timeline)
    assert f.history == [3, 0, 0, 1]
    assert f.days == [f"2026-11-{d:02d}" for d in range(5, 12)]


def test_the_80_percent_interval_covers_about_80_percent_of_steady_counts():
    rng = np.random.default_rng(17)
    covered = total = 0
    for _ in range(25):
        y = rng.poisson(6, 42)
        mean, lower, upper, _ = forecast_counts(y[:35])
        covered += int(((y[35:] >= lower) & (y[35:] <= upper)).sum())
        total += 7
    print(f"coverage on Poisson(6): {covered}/{total} = {covered / total:.2f}")
    assert 0.65 <= covered / total <= 0.95


@pytest.fixture()
def story_site(tmp_path):
    from fastapi.testclient import TestClient

    from replay_support import DAY0, Replay
    from service import trends
    from service.app import create_app
    from web_support import OTHER, OWN, make_installation

    inst = make_installation(tmp_path)
    replay = Replay(inst.store)
    replay.background(20, {"xa_hoi_khac": 4, "khac": 3, "chinh_sach_phap_luat": 1})
    own = "Công nhân Công ty TNHH May Alpha Cao Bằng phản ánh nợ lương, trái Nghị định số 74/2024/NĐ-CP"
    other = "Công nhân Công ty CP Bao bì Betaxyz ở Trùng Khánh, Cao Bằng chưa được trả lương theo NĐ 74/2024"
    ids = {OWN: [], OTHER: []}
    for d, n in ((16, 1), (17, 1), (18, 2), (19, 3), (20, 4)):
        day = DAY0 + timedelta(days=d)
        for unit, text in ((OWN, own), (OTHER, other)):
            for k in range(n):   # each report in its own words (a repeated text is stored once)
                ids[unit] += replay.add(day, "tien_luong", 1, kind="observation", org_unit=unit, source="ctv",
                                        stream="factory", sentiment="negative", title=f"{text.split(',')[0]} ({d}.{k})",
                                        text=f"{text}. Báo cáo ngày {d}, lần {k + 1}.")
    trends.detect(inst.store, DAY0 + timedelta(days=20), DAY0 + timedelta(days=20))
    flag = max(inst.store.flags(), key=lambda f: len(set(f["item_ids"]) & set(ids[OWN] + ids[OTHER])))
    ids = {unit: [i for i in unit_ids if i in set(flag["item_ids"])] for unit, unit_ids in ids.items()}
    assert ids[OWN] and ids[OTHER], "the flag holds both units' reports"
    client = TestClient(create_app(inst.settings, start_worker=False), follow_redirects=False)
    return client, flag, ids


def test_the_flag_page_lists_the_storys_facets_with_counts_and_items_and_its_forecast(story_site):
    from web_support import login

    client, flag, ids = story_site
    assert login(client, "root").status_code == 303
    page = client.get(f"/flags/{flag['id']}").text
    card = page[page.index('id="doi-tuong"'):]
    card = card[:card.index("</section>")]
    assert "Đối tượng, địa bàn, văn bản" in page
    n_own, n_other = len(ids["cb-yte"]), len(ids["cb-giaoduc"])
    assert f"<strong>Công ty May Alpha Cao Bằng</strong> · {n_own} tin" in card
    assert f"<strong>Công ty Bao bì Betaxyz</strong> · {n_other} tin" in card
    assert f"<strong>Nghị định 74/2024/NĐ-CP</strong> · {n_own + n_other} tin" in card, "two spellings, one document"
    assert f"<strong>Cao Bằng</strong> · {n_own + n_other} tin" in card
    assert f'href="/items/{ids["cb-yte"][0]}"' in card
    forecast_card = page[page.index('id="du-bao"'):]
    forecast_card = forecast_card[:forecast_card.index("</section>")]
    assert "Dự báo 7 ngày tới" in forecast_card
    assert any(label in forecast_card for label in LABELS.values())
    assert 'class="forecast-band"' in forecast_card and 'class="forecast-line"' in forecast_card
    assert len(re.findall(r"<tr><td>\d\d/\d\d/\d{4}</td>", forecast_card)) == 7
    assert "Khoảng 80%" in forecast_card
    bars = re.findall(r"<rect [^>]*><title>(\d+) tin</title>", forecast_card)
    assert bars[-1] == str(n_own + n_other), "the province's reader: the story's count of its last day"


def test_a_unit_reader_sees_only_facets_of_their_units_items(story_site):
    from web_support import login

    client, flag, ids = story_site
    assert login(client, "staff1").status_code == 303     # staff of cb-yte: the Alpha reports are theirs
    page = client.get(f"/flags/{flag['id']}").text
    card = page[page.index('id="doi-tuong"'):]
    card = card[:card.index("</section>")]
    assert f"<strong>Công ty May Alpha Cao Bằng</strong> · {len(ids['cb-yte'])} tin" in card
    assert "Betaxyz" not in page and "Trùng Khánh" not in card
    assert f"<strong>Nghị định 74/2024/NĐ-CP</strong> · {len(ids['cb-yte'])} tin" in card
    forecast_card = page[page.index('id="du-bao"'):]
    bars = re.findall(r"<rect [^>]*><title>(\d+) tin</title>", forecast_card[:forecast_card.index("</section>")])
    assert bars[-1] == str(len(ids["cb-yte"])), "the unit's reader: a forecast from their unit's reports only"
