"""Taxonomy editing: add a topic with seed phrases, rename, merge (labels move), a labelled topic cannot vanish."""
from __future__ import annotations

import pytest

from nlp.taxonomy import load_taxonomy
from service import taxonomy_edit as edit
from service.labels import set_label
from retrain_support import SHIPPED_MODELS, copy_models, store_gold_items


@pytest.fixture
def models(tmp_path):
    return copy_models(tmp_path)


def taxonomy(models):
    return load_taxonomy(models / "taxonomy.toml")


def test_rewriting_keeps_every_topic_and_phrase(models):
    before = taxonomy(models)
    version = edit.read(models)["version"]
    edit.rename_topic(models, "viec_lam", "Việc làm")
    after = taxonomy(models)
    assert after.codes == before.codes and after.name("viec_lam") == "Việc làm"
    for code in before.codes:
        assert after.topics[code].strong == before.topics[code].strong
        assert after.topics[code].phrases == before.topics[code].phrases
    text = (models / "taxonomy.toml").read_text(encoding="utf-8")
    assert text.startswith("# The board's topic taxonomy") and f"version = {version + 1}" in text
    assert load_taxonomy(SHIPPED_MODELS / "taxonomy.toml").name("viec_lam") != "Việc làm"


def test_a_new_topic_with_seed_phrases_seed_labels_text(models, store):
    text = "Doanh nghiệp đẩy mạnh chuyển đổi số và ứng dụng trí tuệ nhân tạo"
    assert taxonomy(models).seed_label(text) is None
    edit.add_topic(models, "chuyen_doi_so", "Chuyển đổi số", strong="chuyển đổi số, trí tuệ nhân tạo",
                   phrases=["ứng dụng", "công nghệ"])
    t = taxonomy(models)
    assert t.name("chuyen_doi_so") == "Chuyển đổi số"
    assert t.seed_label(text) == "chuyen_doi_so"
    items = [i for i, _ in store_gold_items(store, 3)]
    set_label(store, models, items[0], "topic", "chuyen_doi_so", "lan")   # labels accept the new code at once
    with pytest.raises(edit.TaxonomyError, match="already exists"):
        edit.add_topic(models, "chuyen_doi_so", "x", strong="y")
    with pytest.raises(edit.TaxonomyError, match="needs seed phrases"):
        edit.add_topic(models, "moi_rong", "Mới")
    with pytest.raises(edit.TaxonomyError, match="lower-case ASCII"):
        edit.add_topic(models, "Nhà ở", "Nhà ở", strong="nhà")


def test_merge_moves_labels_and_seed_phrases(models, store):
    gold = store_gold_items(store)
    store.add_labels([(i, "topic", y, "lan", "2026-11-27T00:00:00+00:00") for i, y in gold])
    counts = store.label_counts("topic")
    phrases = set(taxonomy(models).topics["nha_o_doi_song"].strong)
    moved = edit.merge_topics(store, models, "nha_o_doi_song", "tien_luong")
    assert moved == counts["nha_o_doi_song"] > 0
    after = store.label_counts("topic")
    assert "nha_o_doi_song" not in after
    assert after["tien_luong"] == counts["tien_luong"] + counts["nha_o_doi_song"]
    assert sum(after.values()) == sum(counts.values())
    t = taxonomy(models)
    assert "nha_o_doi_song" not in t.codes and phrases <= set(t.topics["tien_luong"].strong)
    history = store.label_history(gold[0][0], "topic")
    assert history[0]["username"] == "lan" and history[0]["at"] == "2026-11-27T00:00:00+00:00"


def test_a_topic_with_labels_cannot_be_deleted(models, store):
    items = [i for i, _ in store_gold_items(store, 3)]
    set_label(store, models, items[0], "topic", "tham_nhung_tieu_cuc", "lan")
    set_label(store, models, items[0], "topic", "khac", "lan")   # corrected, but the old label is history
    with pytest.raises(edit.TaxonomyError, match="has 1 labels: merge it"):
        edit.delete_topic(store, models, "tham_nhung_tieu_cuc")
    with pytest.raises(edit.TaxonomyError, match="catch-all"):
        edit.delete_topic(store, models, "khac")
    edit.add_topic(models, "tam_thoi", "Tạm thời", strong="thử nghiệm tạm")
    edit.delete_topic(store, models, "tam_thoi")
    assert "tam_thoi" not in taxonomy(models).codes and "tham_nhung_tieu_cuc" in taxonomy(models).codes
