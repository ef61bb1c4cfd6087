"""Labels: who and when kept, the latest counts, CSV export and import with bad rows reported by number."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from service.labels import LabelError, export_csv, import_csv, is_heldout, set_label, split_labels
from service.pipeline import import_file

ROOT = Path(__file__).resolve().parent.parent
TIMELINE = ROOT / "tests" / "fixtures" / "timeline" / "news-2026-02.jsonl"
MODELS = ROOT / "classifier_models"


@pytest.fixture
def items(store):
    import_file(store, TIMELINE, kind="timeline", source="news")
    return [r["id"] for r in store.items_since_day("2000-01-01")]


def test_a_correction_is_a_newer_label_and_the_latest_counts(store, items):
    first = items[0]
    set_label(store, MODELS, first, "topic", "khac", "lan")
    set_label(store, MODELS, first, "topic", "viec_lam", "minh")
    latest = store.latest_labels("topic")
    assert [(r["item_id"], r["label"], r["username"]) for r in latest] == [(first, "viec_lam", "minh")]
    history = store.label_history(first, "topic")
    assert [(h["label"], h["username"]) for h in history] == [("viec_lam", "minh"), ("khac", "lan")]
    assert all(h["at"].endswith("+00:00") for h in history)
    assert store.label_counts("topic") == {"viec_lam": 1}


def test_an_unknown_label_or_item_is_refused_in_plain_words(store, items):
    with pytest.raises(LabelError, match="not a topic label"):
        set_label(store, MODELS, items[0], "topic", "weather", "lan")
    with pytest.raises(LabelError, match="no item"):
        set_label(store, MODELS, 10**6, "topic", "khac", "lan")
    with pytest.raises(LabelError, match="not a sentiment label"):
        set_label(store, MODELS, items[0], "sentiment", "angry", "lan")


def test_csv_round_trip_and_unusable_rows_reported_by_number(store, items, tmp_path):
    set_label(store, MODELS, items[0], "topic", "tien_luong", "lan")
    set_label(store, MODELS, items[1], "sentiment", "negative", "lan")
    out = tmp_path / "labels.csv"
    assert export_csv(store, out) == 2
    rows = list(csv.DictReader(open(out, encoding="utf-8-sig")))
    assert {(int(r["item_id"]), r["task"], r["label"], r["username"]) for r in rows} == {
        (items[0], "topic", "tien_luong", "lan"), (items[1], "sentiment", "negative", "lan")}

    title = store.item(items[2])["title"]
    sheet = tmp_path / "sheet.csv"
    with open(sheet, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item_id", "text", "task", "label"])
        w.writerow([items[0], "", "topic", "viec_lam"])          # row 2: a correction
        w.writerow(["", title, "topic", "xa_hoi_khac"])           # row 3: found by its title
        w.writerow(["999999", "", "topic", "khac"])              # row 4: no such item
        w.writerow([items[3], "", "topic", "thoi_tiet"])         # row 5: unknown topic
        w.writerow(["", "a text nobody stored", "topic", "khac"])  # row 6: unknown text
        w.writerow([items[4], "", "mood", "khac"])               # row 7: unknown task
        w.writerow([items[5], "", "sentiment", "positive"])      # row 8
    outcome = import_csv(store, MODELS, sheet, "hoa")
    assert outcome.read == 7 and outcome.imported == 3
    assert [e.split(":")[0] for e in outcome.errors] == ["row 4", "row 5", "row 6", "row 7"]
    topics = {r["item_id"]: (r["label"], r["username"]) for r in store.latest_labels("topic")}
    assert topics[items[0]] == ("viec_lam", "hoa") and topics[items[2]] == ("xa_hoi_khac", "hoa")


def test_cli_labels_import_and_export(cli, tmp_path):
    assert cli("init").exit_code == 0
    assert cli("import", str(TIMELINE), "--kind", "timeline").exit_code == 0
    sheet = tmp_path / "in.csv"
    sheet.write_text("item_id,task,label\n1,topic,viec_lam\nabc,topic,khac\n2,sentiment,neutral\n", encoding="utf-8")
    result = cli("labels", "import", str(sheet), "--user", "lan")
    assert result.exit_code == 0, result.output
    assert "3 rows read, 2 labels imported, 1 could not be used" in result.output
    assert "row 3: item id 'abc' is not a number" in result.output
    out = tmp_path / "out.csv"
    result = cli("labels", "export", str(out))
    assert result.exit_code == 0 and "2 labels written" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    result = cli("labels", "import", str(bad))
    assert result.exit_code == 1 and "needs a header" in result.output


def test_heldout_split_is_fixed_by_content_and_takes_about_one_in_five(store, items):
    for item_id in items:
        set_label(store, MODELS, item_id, "topic", "khac", "lan")
    rows = store.latest_labels("topic")
    train, heldout = split_labels(rows)
    assert len(train) + len(heldout) == len(items) and 0 < len(heldout) < len(items) / 2
    assert split_labels(rows)[1] == heldout
    assert all(is_heldout(r["content_hash"]) for r in heldout)
