"""Promotion re-annotates recent items so streams follow the new model; rollback restores the earlier predictions
exactly; the command line drives the loop end to end."""
from __future__ import annotations

import shutil

import pytest

from service import registry, retrain
from service.pipeline import load_annotator, process
from service.registry import active_versions, model_version_key
from retrain_support import copy_models, label_all, seed_cache, snapshot, store_gold_items, SEED_SAMPLE, SEED_CACHE


@pytest.fixture
def models(tmp_path):
    return copy_models(tmp_path)


def test_promote_then_rollback_restores_exactly_the_previous_predictions(store, models):
    gold = store_gold_items(store)
    ids = [i for i, _ in gold]
    annotator, versions = load_annotator(models)
    process(store, annotator, versions)
    old_key = model_version_key(versions)
    before = snapshot(store, ids)
    before_annotations = store.annotations_for(ids, old_key)
    label_all(store, gold)
    retrain.train_candidate(store, models, seed_cache(), "lan", seed_leads_n=SEED_SAMPLE)

    outcome = retrain.promote(store, models, "topic", "v2", "hoa", since_day="2026-01-01")
    assert (outcome.previous, outcome.reannotated, outcome.reused) == ("v1", len(ids), 0)
    new_key = model_version_key(active_versions(models))
    assert new_key != old_key and len(store.annotations_for(ids, new_key)) == len(ids)
    after = snapshot(store, ids)
    changed = [i for i in ids if after[i] != before[i]]
    assert len(changed) > 20                      # the streams' facts follow the new model
    labelled = dict(gold)
    hits_before = sum(before[i][0] == labelled[i] for i in ids)
    hits_after = sum(after[i][0] == labelled[i] for i in ids)
    assert hits_after > hits_before
    promoted = {r["version"]: r for r in store.model_versions("topic")}["v2"]
    assert promoted["promoted_by"] == "hoa" and promoted["promoted_at"]

    back = retrain.rollback(store, models, "topic", "hoa", since_day="2026-01-01")
    assert (back.version, back.reannotated, back.reused) == ("v1", 0, len(ids))   # nothing recomputed
    assert snapshot(store, ids) == before
    assert store.annotations_for(ids, old_key) == before_annotations
    assert registry.read_registry(models)["topic"]["active"] == "v1"


def test_items_older_than_the_window_are_not_reannotated(store, models):
    gold = store_gold_items(store, 120)      # ten days, from 2026-02-01
    annotator, versions = load_annotator(models)
    process(store, annotator, versions)
    label_all(store, gold)
    retrain.train_candidate(store, models, seed_cache(), "lan", seed_leads_n=SEED_SAMPLE)
    outcome = retrain.promote(store, models, "topic", "v2", "hoa", force=True, since_day="2026-02-06")
    recent = store.items_since_day("2026-02-06")
    assert 0 < outcome.reannotated == len(recent) < len(gold)


def test_the_command_line_trains_promotes_and_rolls_back(cli, db_path, tmp_path, monkeypatch):
    models = copy_models(tmp_path)
    monkeypatch.setenv("PULSE_MODELS", str(models))
    assert cli("init").exit_code == 0
    from service.store import Store

    store = Store(db_path)
    gold = store_gold_items(store)
    store.close()
    result = cli("process")
    assert result.exit_code == 0, result.output

    result = cli("train", "topic", "--from-labels", "--seed-sample", str(SEED_SAMPLE))
    assert result.exit_code == 1 and "Not enough board labels" in result.output and "Traceback" not in result.output

    sheet = tmp_path / "labels.csv"
    sheet.write_text("item_id,task,label\n" + "".join(f"{i},topic,{y}\n" for i, y in gold), encoding="utf-8")
    assert cli("labels", "import", str(sheet), "--user", "lan").exit_code == 0
    for cached in SEED_CACHE.glob(f"seed-leads-*-{SEED_SAMPLE}-*.jsonl.gz"):
        shutil.copy(cached, db_path.parent / cached.name)      # the data folder's cache, as `pulse` made it before
    result = cli("train", "topic", "--from-labels", "--seed-sample", str(SEED_SAMPLE), "--user", "lan")
    assert result.exit_code == 0, result.output
    assert "topic v2 trained on" in result.output and "Held-out board labels" in result.output
    assert "vs active" in result.output

    result = cli("models", "promote", "topic", "v2", "--since", "2026-01-01", "--user", "hoa")
    assert result.exit_code == 0, result.output
    assert f"v2 is active (was v1); {len(gold)} items re-annotated" in result.output
    result = cli("models", "rollback", "topic", "--since", "2026-01-01")
    assert result.exit_code == 0, result.output
    assert f"rolled back to v1 (from v2); 0 items re-annotated, {len(gold)} already annotated" in result.output
    result = cli("models", "promote", "topic", "v9")
    assert result.exit_code == 1 and "no topic model version 'v9'" in result.output
