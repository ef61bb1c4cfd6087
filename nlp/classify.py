"""A linear text classifier with the scikit-learn estimator API, saved and loaded through skops only.

Features are hashed word n-grams (underthesea words), syllable n-grams and character n-grams; the columns seen in at
least `min_df` training texts are kept (at most `max_features`), weighted by sublinear TF-IDF and L2-normalised. The
model is a linear SVM, logistic regression or NB-SVM; probabilities come from a multinomial logistic calibrator fitted
on out-of-fold decision scores. Only numpy arrays and plain values are stored, so an artifact stays small and loads
without trusting any code.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from nlp.normalize import normalize
from nlp.segment import DEFAULT_SEGMENTER, segment

__all__ = ["TextClassifier", "FORMAT", "model_input"]

FORMAT = "pulse.textclassifier/1"
_ALLOWED_TYPES = {
    "builtins.dict", "builtins.list", "builtins.tuple", "builtins.str", "builtins.int", "builtins.float",
    "builtins.bool", "builtins.NoneType", "numpy.ndarray", "numpy.dtype", "numpy.float32", "numpy.float64",
    "numpy.int32", "numpy.int64", "numpy.str_", "numpy.bool_", "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray._reconstruct",
}


def _prepare(texts: Sequence[str], words: bool = True, segmenter: str = DEFAULT_SEGMENTER) -> list[str]:
    """The one preparation of a model's input, in training and in prediction: normalize, then word-segment only
    when the model uses word features. A model without word n-grams reads the normalized text, never the segmented
    one (segmentation splits punctuation off words, which changes syllable and character n-grams)."""
    return model_input([normalize(str(t)) for t in texts], None, words, segmenter)


def model_input(normalized: Sequence[str], segmented: Sequence[str] | None, words: bool,
                segmenter: str = DEFAULT_SEGMENTER) -> list[str]:
    """What a model reads, from texts already normalized (and, if at hand, their segmentation of the same texts by
    the model's `segmenter`): the segmented texts for a model with word features, the normalized texts otherwise."""
    if not words:
        return list(normalized)
    return list(segmented) if segmented is not None else segment(list(normalized), method=segmenter)


class _CharOrder:
    """The character n-grams of one order n exactly as sklearn's `char_wb` analyzer emits them within a range
    starting at `first`'s order: a padded word shorter than n counts once, and only at the range's first order."""

    _SPACES = re.compile(r"\s\s+")

    def __init__(self, n: int, first: bool):
        self.n, self.first = n, first

    def __call__(self, doc: str) -> list[str]:
        n, out = self.n, []
        for w in self._SPACES.sub(" ", doc).split():
            w = f" {w} "
            if len(w) <= n:
                if len(w) == n or self.first:
                    out.append(w)
            else:
                out.extend(w[i:i + n] for i in range(len(w) - n + 1))
        return out


class TextClassifier(ClassifierMixin, BaseEstimator):
    """Classify Vietnamese texts; `fit`/`predict`/`predict_proba` take raw texts, the `*_segmented` variants take
    texts already normalized and segmented (what `Annotator` passes, to segment a batch only once)."""

    def __init__(
        self,
        model: str = "svm",
        C: float = 0.5,
        word_ngrams: tuple[int, int] | None = (1, 2),
        syllable_ngrams: tuple[int, int] | None = (1, 3),
        char_ngrams: tuple[int, int] | None = (1, 4),
        n_features: int = 2**20,
        min_df: int = 2,
        max_features: int = 300_000,
        class_weight: str | None = None,
        calibration_folds: int = 3,
        max_chars: int = 20_000,
        random_state: int = 0,
        segmenter: str = DEFAULT_SEGMENTER,
    ):
        self.model = model
        self.C = C
        self.word_ngrams = word_ngrams
        self.syllable_ngrams = syllable_ngrams
        self.char_ngrams = char_ngrams
        self.n_features = n_features
        self.min_df = min_df
        self.max_features = max_features
        self.class_weight = class_weight
        self.calibration_folds = calibration_folds
        self.max_chars = max_chars
        self.random_state = random_state
        self.segmenter = segmenter   # how word features were segmented in training (nlp.segment.SEGMENTERS)

    # --- features ----------------------------------------------------------------------------------------------------

    def _hashed(self, segmented: Sequence[str], features: dict | None = None) -> sp.csr_matrix:
        """Hashed n-gram counts. With a `features` dict (one per batch of texts, see `Annotator`), every n-gram
        order of every analyzer is computed once for the batch and shared by all the models that read the same
        texts: the sums are the same counts each model would compute alone."""
        docs = [s[: self.max_chars].lower() for s in segmented]
        if features is not None:
            return self._hashed_shared(tuple(docs), features)
        blocks = []
        if self.word_ngrams:
            blocks.append(HashingVectorizer(
                analyzer="word", token_pattern=r"\S+", ngram_range=tuple(self.word_ngrams), lowercase=False,
                n_features=self.n_features, alternate_sign=False, norm=None, dtype=np.float32).transform(docs))
        if self.syllable_ngrams:
            blocks.append(HashingVectorizer(
                analyzer="word", token_pattern=r"[^\s_]+", ngram_range=tuple(self.syllable_ngrams), lowercase=False,
                n_features=self.n_features, alternate_sign=False, norm=None, dtype=np.float32).transform(docs))
        if self.char_ngrams:
            plain = [d.replace("_", " ") for d in docs]
            blocks.append(HashingVectorizer(
                analyzer="char_wb", ngram_range=tuple(self.char_ngrams), lowercase=False,
                n_features=self.n_features, alternate_sign=False, norm=None, dtype=np.float32).transform(plain))
        if not blocks:
            raise ValueError("TextClassifier needs at least one of word_ngrams, syllable_ngrams, char_ngrams")
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def _analyzers(self) -> list[tuple[str, str | None, tuple[int, int]]]:
        out = []
        if self.word_ngrams:
            out.append(("word", r"\S+", tuple(self.word_ngrams)))
        if self.syllable_ngrams:
            out.append(("word", r"[^\s_]+", tuple(self.syllable_ngrams)))
        if self.char_ngrams:
            out.append(("char_wb", None, tuple(self.char_ngrams)))
        if not out:
            raise ValueError("TextClassifier needs at least one of word_ngrams, syllable_ngrams, char_ngrams")
        return out

    def _hashed_shared(self, docs: tuple[str, ...], features: dict) -> sp.csr_matrix:
        blocks = []
        for analyzer, pattern, (lo, hi) in self._analyzers():
            total = None
            for n in range(lo, hi + 1):
                key = (analyzer, pattern, n, analyzer == "char_wb" and n == lo, self.n_features, docs)
                block = features.get(key)
                if block is None and analyzer == "char_wb":
                    block = features[key] = HashingVectorizer(
                        analyzer=_CharOrder(n, first=n == lo), lowercase=False, n_features=self.n_features,
                        alternate_sign=False, norm=None, dtype=np.float32).transform(
                            [d.replace("_", " ") for d in docs])
                elif block is None:
                    block = features[key] = HashingVectorizer(
                        analyzer=analyzer, token_pattern=pattern, ngram_range=(n, n), lowercase=False,
                        n_features=self.n_features, alternate_sign=False, norm=None, dtype=np.float32).transform(docs)
                total = block if total is None else total + block
            blocks.append(total)
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def _select(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """counts[:, columns_] in time proportional to the non-zeros (scipy's column indexing walks every column)."""
        mapping = getattr(self, "_column_map", None)
        if mapping is None or len(mapping) != counts.shape[1] or getattr(self, "_mapped_columns", None) is not self.columns_:
            mapping = np.full(counts.shape[1], -1, dtype=np.int32)
            mapping[self.columns_] = np.arange(len(self.columns_))
            self._column_map, self._mapped_columns = mapping, self.columns_
        new = mapping[counts.indices]
        keep = new >= 0
        rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))[keep]
        return sp.csr_matrix((counts.data[keep], (rows, new[keep])), shape=(counts.shape[0], len(self.columns_)))

    def _weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        X = self._select(counts.tocsr())
        X.data = 1.0 + np.log(X.data)
        X = X @ sp.diags(self.idf_)
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.csr_matrix(sp.diags(1.0 / norms) @ X, dtype=np.float32)

    def _select_columns(self, counts: sp.csr_matrix) -> None:
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        candidates = np.flatnonzero(df >= self.min_df)
        if len(candidates) > self.max_features:
            order = np.argsort(-df[candidates], kind="stable")[: self.max_features]
            candidates = np.sort(candidates[order])
        n = counts.shape[0]
        self.columns_ = candidates.astype(np.int64)
        self.idf_ = (np.log((1 + n) / (1 + df[candidates])) + 1.0).astype(np.float32)

    # --- models ------------------------------------------------------------------------------------------------------

    def _fit_linear(self, X: sp.csr_matrix, y: np.ndarray,
                    sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return (coef, intercept) with one row per class (one row for two classes, sklearn's convention)."""
        if self.model == "svm":
            est = LinearSVC(C=self.C, class_weight=self.class_weight, random_state=self.random_state)
            est.fit(X, y, sample_weight=sample_weight)
            return est.coef_, est.intercept_
        if self.model == "lr":
            est = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=2000, solver="saga"
                                     if X.shape[0] > 50_000 else "lbfgs")
            est.fit(X, y, sample_weight=sample_weight)
            return est.coef_, est.intercept_
        if self.model == "nbsvm":
            return self._fit_nbsvm(X, y, sample_weight)
        raise ValueError(f"unknown model {self.model!r}: use 'svm', 'lr' or 'nbsvm'")

    def _fit_nbsvm(self, X: sp.csr_matrix, y: np.ndarray,
                   sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """One-vs-rest NB-SVM (Wang & Manning 2012): a linear SVM on features scaled by NB log-count ratios."""
        Xb = X.copy()
        Xb.data = np.ones_like(Xb.data)
        classes = np.unique(y)
        rows = [classes[1]] if len(classes) == 2 else list(classes)
        coefs, intercepts = [], []
        for c in rows:
            pos = y == c
            p = np.asarray(Xb[pos].sum(axis=0)).ravel() + 1.0
            q = np.asarray(Xb[~pos].sum(axis=0)).ravel() + 1.0
            r = np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)
            est = LinearSVC(C=self.C, class_weight=self.class_weight, random_state=self.random_state)
            est.fit(X @ sp.diags(r), pos.astype(int), sample_weight=sample_weight)
            coefs.append(est.coef_[0] * r)
            intercepts.append(est.intercept_[0])
        return np.vstack(coefs), np.asarray(intercepts)

    def _scores(self, X: sp.csr_matrix, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
        return np.asarray(X @ coef.T, dtype=np.float64) + intercept

    # --- estimator API -----------------------------------------------------------------------------------------------

    def fit(self, X: Sequence[str], y: Sequence[Any], sample_weight: Sequence[float] | None = None,
            calibrate_on: Sequence[bool] | None = None) -> "TextClassifier":
        return self.fit_segmented(_prepare(X, bool(self.word_ngrams), self.segmenter), y, sample_weight, calibrate_on)

    def fit_segmented(self, segmented: Sequence[str], y: Sequence[Any],
                      sample_weight: Sequence[float] | None = None,
                      calibrate_on: Sequence[bool] | None = None) -> "TextClassifier":
        """Fit on prepared texts (see `model_input`); `sample_weight` weighs texts (e.g. labels read by people
        above weak labels). `calibrate_on` (one bool per text) fits the probability calibrator on the out-of-fold
        scores of those texts only (e.g. the labels read by people, so probabilities and the arg-max follow the
        domain the model serves rather than the mix of corpora it learned from); default: every text."""
        y = np.asarray([str(v) for v in y])
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        mask = None if calibrate_on is None else np.asarray(calibrate_on, dtype=bool)
        if mask is not None and (mask.shape != y.shape or len(np.unique(y[mask])) != len(np.unique(y))):
            raise ValueError("calibrate_on must mark one bool per text, covering every class")
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError("TextClassifier needs at least two classes to learn from")
        counts = self._hashed(segmented)
        self._select_columns(counts)
        X = self._weigh(counts)
        # out-of-fold scores teach the calibrator what a score means on unseen text
        folds = min(self.calibration_folds, int(np.bincount(np.searchsorted(self.classes_, y)).min()))
        if folds >= 2:
            oof = np.zeros((X.shape[0], 1 if len(self.classes_) == 2 else len(self.classes_)))
            for train, test in StratifiedKFold(folds, shuffle=True, random_state=self.random_state).split(X, y):
                coef, intercept = self._fit_linear(X[train], y[train], None if w is None else w[train])
                oof[test] = self._scores(X[test], coef, intercept)
            keep = np.ones(len(y), dtype=bool) if mask is None else mask
            calibrator = LogisticRegression(C=1.0, max_iter=1000).fit(
                oof[keep], y[keep], sample_weight=None if w is None else w[keep])
            self.calib_coef_, self.calib_intercept_ = calibrator.coef_, calibrator.intercept_
        else:
            k = 1 if len(self.classes_) == 2 else len(self.classes_)
            self.calib_coef_, self.calib_intercept_ = np.eye(k), np.zeros(k)
        coef, intercept = self._fit_linear(X, y, w)
        self.coef_ = np.asarray(coef, dtype=np.float32)
        self.intercept_ = np.asarray(intercept, dtype=np.float64)
        return self

    def input_of(self, normalized: Sequence[str], segmented: Sequence[str] | None = None) -> list[str]:
        """This model's input from normalized texts and their segmentation (see `model_input`)."""
        return model_input(normalized, segmented, bool(self.word_ngrams), self.segmenter)

    def decision_function_segmented(self, segmented: Sequence[str], features: dict | None = None) -> np.ndarray:
        X = self._weigh(self._hashed(segmented, features))
        return self._scores(X, self.coef_, self.intercept_)

    def predict_proba_segmented(self, segmented: Sequence[str], features: dict | None = None) -> np.ndarray:
        scores = self.decision_function_segmented(segmented, features)
        z = scores @ self.calib_coef_.T + self.calib_intercept_
        if z.shape[1] == 1:
            p = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.column_stack([1.0 - p, p])
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict_segmented(self, segmented: Sequence[str]) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba_segmented(segmented), axis=1)]

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        return self.predict_proba_segmented(_prepare(X, bool(self.word_ngrams), self.segmenter))

    def predict(self, X: Sequence[str]) -> np.ndarray:
        return self.predict_segmented(_prepare(X, bool(self.word_ngrams), self.segmenter))

    def decision_function(self, X: Sequence[str]) -> np.ndarray:
        return self.decision_function_segmented(_prepare(X, bool(self.word_ngrams), self.segmenter))

    # --- persistence (skops only) ------------------------------------------------------------------------------------

    _STATE = ("classes_", "columns_", "idf_", "coef_", "intercept_", "calib_coef_", "calib_intercept_")

    def save(self, path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
        """Write the model as a skops file (plain values and numpy arrays only)."""
        import skops.io as sio

        params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params().items()}
        state = {
            "format": FORMAT,
            "params": params,
            "state": {name: np.asarray(getattr(self, name)) for name in self._STATE},
            "metadata": dict(metadata or {}),
        }
        state["state"]["classes_"] = np.asarray([str(c) for c in self.classes_])
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        sio.dump(state, path, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "TextClassifier":
        """Read a model written by `save`. A pickle, a foreign file or unexpected types raise ValueError."""
        import skops.io as sio

        path = Path(path)
        data = path.read_bytes()
        if data[:2] != b"PK" or not zipfile.is_zipfile(io.BytesIO(data)):
            kind = "a pickle" if data[:1] == b"\x80" else "not a skops file"
            raise ValueError(f"refusing to load {path}: it is {kind}; models are loaded from skops files only")
        try:
            untrusted = sio.get_untrusted_types(data=data)
        except Exception as exc:
            raise ValueError(f"refusing to load {path}: not a readable skops file ({exc})") from None
        unexpected = sorted(set(untrusted) - _ALLOWED_TYPES)
        if unexpected:
            raise ValueError(f"refusing to load {path}: unexpected types {unexpected}")
        state = sio.loads(data, trusted=list(untrusted))
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError(f"refusing to load {path}: not a Pulse text classifier ({FORMAT})")
        params = {k: (tuple(v) if isinstance(v, list) else v) for k, v in state["params"].items()}
        params.setdefault("segmenter", "crf")   # artifacts from before the choice were trained on underthesea's CRF
        clf = cls(**{k: v for k, v in params.items() if k in cls._get_param_names()})
        for name in cls._STATE:
            setattr(clf, name, np.asarray(state["state"][name]))
        clf.metadata_ = state.get("metadata", {})
        return clf
