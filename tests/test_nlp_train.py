"""nlp.train and nlp.corpora on small real subsets of ../shared/datasets (read at test time, never copied)."""

import json
from pathlib import Path

import pytest

from nlp.corpora import read_corpus
from nlp.train import evaluate, load_task_data, metrics, train

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
pytestmark = pytest.mark.shared_data(DATASETS, "../shared/datasets")
SMALL = dict(word_ngrams=(1, 2), syllable_ngrams=(1, 2), char_ngrams=None, n_features=2**18, max_features=50_000)


@pytest.mark.parametrize("folder, task, train_n, test_n", [
    ("uit-vsfc", "sentiment", 11426, 3166),
    ("uit-victsd", "toxicity", 7000, 1000),
    ("vlsp2016-sa", "sentiment", 5100, 1050),
])
def test_readers_match_the_documented_counts(folder, task, train_n, test_n):
    corpus = read_corpus(DATASETS / folder)
    assert len(corpus.splits["train"].texts) == train_n
    assert len(corpus.splits["test"].pairs(task)[0]) == test_n


def test_labels_are_mapped_to_pulse_names():
    corpus = read_corpus(DATASETS / "uit-vsfc")
    assert set(corpus.splits["test"].labels["sentiment"]) == {"negative", "neutral", "positive"}
    assert set(read_corpus(DATASETS / "aivivn-2019").splits["train"].labels["sentiment"]) == {"negative", "positive"}
    assert set(read_corpus(DATASETS / "vihsd").splits["test"].labels["toxicity"]) == {"clean", "toxic"}


def test_training_texts_seen_in_test_are_dropped():
    data = load_task_data("toxicity", read_corpus(DATASETS / "vihsd"))
    train_keys = {" ".join(t.lower().split()) for t in data["train"][0]}
    overlap = [t for t in data["test"][0] if " ".join(t.lower().split()) in train_keys]
    assert len(overlap) < 20  # SOURCE.txt: 782 shared texts before deduplication


def test_unknown_folder_and_missing_task_are_plain_errors(tmp_path):
    with pytest.raises(ValueError, match="not a corpus folder"):
        read_corpus(tmp_path)
    with pytest.raises(ValueError, match="no 'toxicity' labels"):
        load_task_data("toxicity", read_corpus(DATASETS / "uit-vsfc"))


def test_train_small_real_subset_writes_artifacts_and_reaches_floor(tmp_path):
    # 2,000 UIT-ViCTSD training comments; toxicity is imbalanced (11 % toxic), so the floor is on weighted F1
    result = train("toxicity", DATASETS / "uit-victsd", tmp_path / "v1", params=SMALL, limit=2000, log=lambda *_: None)
    assert result["test"]["uit-victsd"]["weighted_f1"] >= 0.80
    for name in ("model.skops", "metrics.json", "card.md"):
        assert (tmp_path / "v1" / name).exists()
    card = (tmp_path / "v1" / "card.md").read_text(encoding="utf-8")
    assert "uit-victsd" in card and "research" in card
    assert json.loads((tmp_path / "v1" / "metrics.json").read_text())["classes"] == ["clean", "toxic"]
    again = evaluate("toxicity", DATASETS / "uit-victsd", model_path=tmp_path / "v1" / "model.skops")
    assert again["weighted_f1"] == result["test"]["uit-victsd"]["weighted_f1"]
    assert set(again) >= {"accuracy", "macro_f1", "weighted_f1", "report", "confusion"}


def test_metrics_shape():
    m = metrics(["a", "b", "a", "c"], ["a", "b", "b", "c"])
    assert m["accuracy"] == 0.75 and m["n"] == 4
    assert m["confusion"]["labels"] == ["a", "b", "c"]
    assert m["confusion"]["matrix"] == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
