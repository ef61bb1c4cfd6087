"""nlp.classify.TextClassifier: learns from a small real subset, calibrated probabilities, skops-only persistence."""

import pickle
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.base import clone
from sklearn.metrics import f1_score

from nlp.classify import FORMAT, TextClassifier
from nlp.corpora import read_corpus

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
needs_vsfc = pytest.mark.shared_data(DATASETS / "uit-vsfc", "../shared/datasets/uit-vsfc")

# A small, fast configuration: the shipped models use larger n-gram ranges.
SMALL = dict(word_ngrams=(1, 2), syllable_ngrams=(1, 2), char_ngrams=None, n_features=2**18, max_features=50_000)


class Foreign:
    """A type no Pulse model may contain."""


@pytest.fixture(scope="module")
def vsfc_small():
    corpus = read_corpus(DATASETS / "uit-vsfc")
    train_t, train_y = corpus.splits["train"].pairs("sentiment")
    test_t, test_y = corpus.splits["test"].pairs("sentiment")
    return train_t[:3000], train_y[:3000], test_t[:1000], test_y[:1000]


@pytest.fixture(scope="module")
def fitted(vsfc_small):
    train_t, train_y, _, _ = vsfc_small
    return TextClassifier(**SMALL).fit(train_t, train_y)


@needs_vsfc
def test_small_real_subset_reaches_floor(fitted, vsfc_small):
    # 3,000 UIT-VSFC training sentences; the full-data model reaches ~0.93 weighted F1, this floor is for the subset
    _, _, test_t, test_y = vsfc_small
    assert f1_score(test_y, fitted.predict(test_t), average="weighted") >= 0.84


@needs_vsfc
def test_estimator_api(fitted):
    assert list(fitted.classes_) == ["negative", "neutral", "positive"]
    params = fitted.get_params()
    assert params["model"] == "svm" and "C" in params
    assert not hasattr(clone(fitted), "coef_")  # learned state ends in _ and is not cloned
    proba = fitted.predict_proba(["thầy dạy rất nhiệt tình và dễ hiểu", "phòng học nóng, máy chiếu hỏng"])
    assert proba.shape == (2, 3)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert list(fitted.predict(["thầy dạy rất nhiệt tình và dễ hiểu"])) == ["positive"]


@needs_vsfc
def test_probabilities_are_calibrated(fitted, vsfc_small):
    # mean confidence of the predicted class stays close to accuracy (within 0.08) on held-out text
    _, _, test_t, test_y = vsfc_small
    proba = fitted.predict_proba(test_t)
    accuracy = np.mean(fitted.classes_[proba.argmax(axis=1)] == np.asarray(test_y))
    assert abs(proba.max(axis=1).mean() - accuracy) < 0.08


@needs_vsfc
def test_skops_round_trip(fitted, tmp_path, vsfc_small):
    path = fitted.save(tmp_path / "model.skops")
    loaded = TextClassifier.load(path)
    _, _, test_t, _ = vsfc_small
    assert np.allclose(loaded.predict_proba(test_t[:100]), fitted.predict_proba(test_t[:100]))
    assert loaded.get_params() == fitted.get_params()


@needs_vsfc
def test_pickle_is_refused(fitted, tmp_path):
    path = tmp_path / "model.skops"
    path.write_bytes(pickle.dumps(fitted))
    with pytest.raises(ValueError, match="pickle"):
        TextClassifier.load(path)


def test_unexpected_types_are_refused(tmp_path):
    path = tmp_path / "model.skops"
    sio.dump({"format": FORMAT, "params": {}, "state": {}, "payload": Foreign()}, path)
    with pytest.raises(ValueError, match="unexpected types"):
        TextClassifier.load(path)


def test_garbage_file_is_refused(tmp_path):
    path = tmp_path / "model.skops"
    path.write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="not a skops file"):
        TextClassifier.load(path)


def test_one_class_is_an_error():
    with pytest.raises(ValueError, match="two classes"):
        TextClassifier(**SMALL).fit(["một", "hai"], ["a", "a"])


@needs_vsfc
def test_models_sharing_features_predict_exactly_as_alone(vsfc_small):
    """Annotator computes each n-gram order once per batch for all models: the shared counts must be the very
    counts each model computes alone, for word, syllable and character (char_wb) n-grams of different ranges."""
    from nlp.normalize import normalize

    train_t, train_y, test_t, _ = vsfc_small
    a = TextClassifier(word_ngrams=(1, 2), syllable_ngrams=(1, 3), char_ngrams=(1, 4), n_features=2**18,
                       max_features=50_000).fit(train_t[:1500], train_y[:1500])
    b = TextClassifier(word_ngrams=None, syllable_ngrams=(1, 2), char_ngrams=(2, 5), n_features=2**18,
                       max_features=50_000).fit(train_t[:1500], train_y[:1500])
    texts = test_t[:300] + ["a b  c", "ồ", "Ừ thì"]
    normalized = [normalize(t) for t in texts]
    features: dict = {}
    for model in (a, b):
        prepared = model.input_of(normalized)
        assert (model._hashed(prepared, features) != model._hashed(prepared)).nnz == 0
        assert np.array_equal(model.predict_proba_segmented(prepared, features),
                              model.predict_proba_segmented(prepared))
    assert features, "the second model reused blocks of the first"


def test_a_model_remembers_its_segmenter(fitted, tmp_path):
    assert fitted.segmenter == "dictionary"
    path = fitted.save(tmp_path / "m.skops")
    assert TextClassifier.load(path).segmenter == "dictionary"
    # an artifact written before the choice existed was trained on underthesea's CRF and is fed the same
    state = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    del state["params"]["segmenter"]
    sio.dump(state, tmp_path / "old.skops")
    assert TextClassifier.load(tmp_path / "old.skops").segmenter == "crf"


@needs_vsfc
def test_calibrating_on_marked_texts_follows_their_class_balance(fitted, vsfc_small):
    # the calibrator fitted only on texts where neutral is common: same linear model, more neutral predictions
    train_t, train_y, test_t, _ = vsfc_small
    y = np.asarray(train_y)
    neutral = y == "neutral"
    mask = neutral | (np.arange(len(y)) % 8 == 0)    # every neutral, one in eight of the others
    marked = TextClassifier(**SMALL).fit(train_t, train_y, calibrate_on=mask)
    assert np.array_equal(marked.coef_, fitted.coef_)
    assert not np.allclose(marked.calib_coef_, fitted.calib_coef_)
    share = {name: np.mean(m.predict(test_t) == "neutral") for name, m in (("all", fitted), ("marked", marked))}
    assert share["marked"] > share["all"] + 0.02, share


def test_calibrating_on_texts_missing_a_class_is_an_error():
    texts = ["lương thấp quá", "thầy dạy hay", "phòng học bình thường"] * 4
    labels = ["negative", "positive", "neutral"] * 4
    with pytest.raises(ValueError, match="calibrate_on"):
        TextClassifier(**SMALL).fit(texts, labels, calibrate_on=[label != "neutral" for label in labels])
