"""One preparation of a model's input in training and in prediction: `pulse annotate` gives every model exactly what
`TextClassifier.fit`/`predict` give it (segmented text for word models, normalized text for the others)."""

import json

import numpy as np

from nlp.annotate import Annotator
from nlp.classify import TextClassifier, model_input
from nlp.normalize import normalize
from nlp.segment import segment

TEXTS = [
    "Công nhân đình công vì bị nợ lương, công ty hứa trả trước Tết.",
    "Giá xăng tăng lần thứ 5 liên tiếp; người dân lo lắng!",
    "Đội tuyển Việt Nam thắng 3-0, HLV khen các cầu thủ.",
    "Bệnh viện tỉnh quá tải (bệnh nhân nằm ghép) trong mùa dịch.",
    "Doanh nghiệp chậm đóng bảo hiểm xã hội cho người lao động.",
    "Ca sĩ ra mắt MV mới, khán giả rất thích...",
]
LABELS = ["a", "b", "a", "b", "a", "b"]
SMALL = dict(n_features=2**16, max_features=5_000, min_df=1, calibration_folds=0)


def _write(models, task, model):
    model.save(models / task / "v1" / "model.skops")


def test_model_input_is_segmented_only_for_word_models():
    normalized = [normalize(t) for t in TEXTS]
    segmented = segment(normalized)
    assert model_input(normalized, segmented, words=True) == segmented
    assert model_input(normalized, segmented, words=False) == normalized
    assert model_input(normalized, None, words=True) == segmented
    # segmentation splits punctuation off words, so the two inputs differ: the choice matters
    assert any(s.replace("_", " ") != n for s, n in zip(segmented, normalized))


def test_annotate_gives_each_model_what_it_was_trained_on(tmp_path):
    words = TextClassifier(word_ngrams=(1, 2), syllable_ngrams=(1, 2), char_ngrams=None, **SMALL).fit(TEXTS, LABELS)
    sylls = TextClassifier(word_ngrams=None, syllable_ngrams=(1, 2), char_ngrams=(2, 4), **SMALL).fit(TEXTS, LABELS)
    for task, model in (("topic", words), ("sentiment", words), ("news_topic", sylls)):
        _write(tmp_path, task, model)
    (tmp_path / "registry.json").write_text(json.dumps(
        {t: {"active": "v1", "versions": ["v1"]} for t in ("topic", "sentiment", "news_topic")}), encoding="utf-8")
    annotator = Annotator.from_dir(tmp_path)
    out = annotator.annotate(TEXTS)
    # the syllable/character model's score through annotate equals its score on the raw texts
    expected = sylls.predict_proba(TEXTS)
    for row, annotation in zip(expected, out):
        assert annotation.news_topic == sylls.classes_[int(np.argmax(row))]
    loaded = annotator.models["news_topic"]
    normalized = [normalize(t) for t in TEXTS]
    assert np.allclose(loaded.predict_proba_segmented(loaded.input_of(normalized, segment(normalized))), expected)
    # and it is not the score of the segmented text (which the annotator used to pass)
    assert not np.allclose(loaded.predict_proba_segmented(segment(normalized)), expected)
    scores = [a.topic_score for a in out]
    assert np.allclose(scores, words.predict_proba(TEXTS).max(axis=1))
