"""`pulse eval` says what it scores against: a corpus's own labels, or seed-lexicon labels for a corpus without
board-topic labels (whose figure is agreement with the lexicon, not accuracy)."""

from pathlib import Path

import pytest

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
pytestmark = pytest.mark.shared_data(DATASETS / "uit-vsfc", "../shared/datasets/uit-vsfc")


def test_eval_of_topic_on_a_corpus_without_topic_labels_says_seed_labels(cli):
    result = cli("eval", "topic", "--dataset", str(DATASETS / "uit-vsfc"))
    assert result.exit_code == 0, result.output
    assert "scored against SEED-LEXICON labels" in result.output


def test_eval_of_sentiment_says_gold_labels(cli):
    result = cli("eval", "sentiment", "--dataset", str(DATASETS / "uit-vsfc"))
    assert result.exit_code == 0, result.output
    assert "scored against the corpus's own gold labels" in result.output
    assert "n=3166" in result.output
