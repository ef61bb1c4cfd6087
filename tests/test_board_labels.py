"""The board labels made by reading (tests/fixtures/labels): vocabulary, split written before labelling, counts, and
texts read back from ../shared with their SHA-1 checked."""
from __future__ import annotations

import csv
from collections import Counter

import pytest

from nlp.labels_data import (DATASETS, FIRST_SUPPLEMENT_KEY, LABELS_TSV, TONES, TOPICS, LabelDataError,
                             load_board_labels, read_label_rows)
from nlp.labels_sample import parse_labels
from tests.conftest import SHARED

MIN_LABELLED = 1500


def test_fixture_rows_have_known_vocabularies_and_unique_keys():
    rows = read_label_rows()
    assert len({r["key"] for r in rows}) == len(rows)
    assert {r["dataset"] for r in rows} == set(DATASETS)
    assert {r["split"] for r in rows} == {"dev", "test"}
    labelled = [r for r in rows if r["topic"]]
    for r in labelled:
        assert r["topic"] in TOPICS, r
        assert r["tone"] in TONES, r
        assert r["relevant"] in ("0", "1"), r
    for r in rows:
        if not r["topic"]:
            assert not r["tone"] and not r["relevant"], r
        assert len(r["text_sha1"]) == 40


def test_enough_items_are_labelled_and_every_topic_occurs_in_both_halves():
    labelled = [r for r in read_label_rows() if r["topic"]]
    assert len(labelled) >= MIN_LABELLED
    for split in ("dev", "test"):
        topics = Counter(r["topic"] for r in labelled if r["split"] == split)
        assert set(topics) == set(TOPICS), f"{split} lacks {set(TOPICS) - set(topics)}"
        assert set(Counter(r["tone"] for r in labelled if r["split"] == split)) == set(TONES)


def _strata(rows):
    """(dataset, stratum) → rows; the main sample and the labour supplement were split separately."""
    groups = {}
    for r in rows:
        stratum = "supplement" if r["key"] >= FIRST_SUPPLEMENT_KEY else "main"
        groups.setdefault((r["dataset"], stratum), []).append(r)
    return groups


def test_split_is_half_and_half_within_every_dataset_and_stratum():
    groups = _strata(read_label_rows())
    assert {d for d, _ in groups} == set(DATASETS)
    for group, rows in groups.items():
        counts = Counter(r["split"] for r in rows)
        assert abs(counts["dev"] - counts["test"]) <= 1, (group, counts)


def test_split_follows_the_text_hash_order():
    """Within a dataset and stratum the items sorted by text SHA-1 alternate dev, test, dev ... (fixed before
    labelling)."""
    for group, rows in _strata(read_label_rows()).items():
        ordered = sorted(rows, key=lambda r: r["text_sha1"])
        assert [r["split"] for r in ordered] == ["dev" if i % 2 == 0 else "test" for i in range(len(ordered))], group


def test_parse_labels_refuses_unknown_codes_and_duplicates():
    assert parse_labels(["L0001 tl - 1", "L0002 khac neu 0  # note"]) == {
        "L0001": ("tien_luong", "neg", "1"), "L0002": ("khac", "neu", "0")}
    with pytest.raises(ValueError):
        parse_labels(["L0001 wages - 1"])
    with pytest.raises(ValueError):
        parse_labels(["L0001 tl bad 1"])
    with pytest.raises(ValueError):
        parse_labels(["L0001 tl - 1", "L0001 kh 0 0"])


@pytest.mark.shared_data(SHARED / "datasets" / "baomoi-tc201805", "the labelled corpora in ../shared/datasets")
def test_load_board_labels_reads_every_text_back_from_shared():
    items = load_board_labels(SHARED)
    assert len(items) >= MIN_LABELLED
    assert all(item["text"] and isinstance(item["relevant"], int) for item in items)
    comments = [i for i in items if i["dataset"] == "uit-victsd"]
    assert comments and all(i["context"] for i in comments)  # the article title a comment was posted under
    assert {i["split"] for i in items} == {"dev", "test"}
    assert {i["stratum"] for i in items} <= {"main", "labour_supplement"}
    assert sum(i["stratum"] == "main" for i in items) >= MIN_LABELLED


@pytest.mark.shared_data(SHARED / "datasets" / "baomoi-tc201805", "the labelled corpora in ../shared/datasets")
def test_load_board_labels_refuses_a_text_whose_hash_changed(tmp_path):
    rows = read_label_rows()
    rows[0]["text_sha1"] = "0" * 40
    rows[0]["topic"], rows[0]["tone"], rows[0]["relevant"] = "khac", "neu", "0"
    path = tmp_path / "labels.tsv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(LabelDataError, match="changed"):
        load_board_labels(SHARED, path=path)


def test_load_board_labels_names_missing_data(tmp_path):
    with pytest.raises(LabelDataError, match="not found"):
        load_board_labels(tmp_path)
    assert LABELS_TSV.exists()
