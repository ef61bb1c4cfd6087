"""Tune the board-topic and tone models on the DEV half of the labels read by people only (cross-validation), never
on the test half: each candidate is scored beside the shipped recipe in the same run.

    nice -n 10 python bench/nlp_dev.py topic [--candidates a,b,...] [--folds 5]
    nice -n 10 python bench/nlp_dev.py tone  [--candidates a,b,...] [--folds 5]
    nice -n 10 python bench/nlp_dev.py vntc  [--candidates a,b,...]    # 80/20 split of VNTC's training split

Each fold trains what the shipped recipe trains on (topic: the balanced weak pool + the other dev folds, weighted;
tone: the sentiment recipe's corpora + the other dev folds, weighted) with the model's own calibration, and predicts
the held-out dev fold by the arg-max of the calibrated probabilities, as `Annotator.annotate` does. The test half is
not loaded. Hashed n-gram counts are computed once per text and feature set (they do not depend on the fold).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from sklearn.metrics import accuracy_score, f1_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from nlp.classify import TextClassifier, model_input  # noqa: E402
from nlp.normalize import normalize  # noqa: E402
from nlp.segment import segment  # noqa: E402

CACHE = ROOT / "data" / "cache"


class _Cached(TextClassifier):
    """A TextClassifier whose hashed counts come from a per-run store (same counts, computed once per text)."""

    store: dict = {}

    def _key(self):
        return (tuple(self._analyzers()), self.n_features, self.max_chars)

    def _hashed(self, segmented, features=None):
        entry = self.store.get(self._key())
        if entry is not None:
            index, matrix = entry
            rows = [index.get(s) for s in segmented]
            if all(r is not None for r in rows):
                return matrix[rows]
        return super()._hashed(segmented, features)

    def warm(self, prepared: list[str]) -> None:
        key = self._key()
        index, matrix = self.store.get(key, ({}, None))
        new = [s for s in dict.fromkeys(prepared) if s not in index]
        if not new:
            return
        import scipy.sparse as sp

        block = TextClassifier._hashed(self, new)
        start = 0 if matrix is None else matrix.shape[0]
        index = dict(index)
        index.update({s: start + i for i, s in enumerate(new)})
        matrix = block if matrix is None else sp.vstack([matrix, block], format="csr")
        self.store[key] = (index, matrix)


def _prepare(texts: list[str], words: bool, segmenter: str = "dictionary") -> list[str]:
    normalized = [normalize(t) for t in texts]
    return model_input(normalized, segment(normalized, method=segmenter) if words else None, words, segmenter)


def _scores(y_true, y_pred) -> dict:
    return {"accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
            "macro_f1": round(float(f1_score(y_true, y_pred, average="macro", zero_division=0)), 4)}


def cross_validate(base_t, base_y, base_w, dev_t, dev_y, cand: dict, folds: int, seed: int = 0,
                   base_src: list[str] | None = None, scored_src: str | None = None) -> dict:
    """Out-of-fold predictions on the dev labels for one candidate: {params, dev_weight, calibrate ('all', or a tuple
    of the sources whose out-of-fold scores fit the calibrator: 'dev' and/or corpus names), base_weight}.
    `scored_src` (a base source, e.g. 'uit-vsfc'): its training texts are cut into the same number of folds, each
    left out of training with the dev fold of the same number and scored (weighted F1 in `scored`)."""
    params = dict(cand["params"])
    words = bool(params.get("word_ngrams"))
    prep = dict(zip(base_t + dev_t, _prepare(base_t + dev_t, words, params.get("segmenter", "dictionary"))))
    _Cached(**params).warm(list(prep.values()))
    src = base_src or [""] * len(base_t)
    y_dev = np.asarray(dev_y)
    pred = np.empty(len(dev_t), dtype=object)
    counts = Counter(dev_y)
    strat = [y if counts[y] >= folds else "_rare" for y in dev_y]
    kfold = StratifiedKFold(folds, shuffle=True, random_state=seed)
    extra = [i for i, s in enumerate(src) if s == scored_src] if scored_src else []
    extra_folds = np.zeros(len(base_t), dtype=int) - 1
    if extra:
        for k, (_, held) in enumerate(kfold.split(extra, [base_y[i] for i in extra])):
            extra_folds[np.asarray(extra)[held]] = k
    extra_pred = {}
    started = time.time()
    for k, (train, test) in enumerate(kfold.split(dev_t, strat)):
        keep = [i for i in range(len(base_t)) if extra_folds[i] != k]
        texts = [prep[base_t[i]] for i in keep] + [prep[dev_t[i]] for i in train]
        labels = [base_y[i] for i in keep] + [dev_y[i] for i in train]
        weights = [base_w[i] * cand.get("base_weight", 1.0) for i in keep] + [cand["dev_weight"]] * len(train)
        calibrate = cand.get("calibrate", "all")
        mask = None if calibrate == "all" else (
            [src[i] in calibrate for i in keep] + ["dev" in calibrate] * len(train))
        model = _Cached(**params).fit_segmented(texts, labels, weights, calibrate_on=mask)
        pred[test] = model.predict_segmented([prep[dev_t[i]] for i in test])
        held = [i for i in range(len(base_t)) if extra_folds[i] == k]
        if held:
            extra_pred.update(zip(held, model.predict_segmented([prep[base_t[i]] for i in held])))
    out = _scores(y_dev, pred.astype(str))
    f = f1_score(y_dev, pred.astype(str), average=None, labels=sorted(counts), zero_division=0)
    out["per_class_f1"] = {lab: round(float(v), 3) for lab, v in zip(sorted(counts), f)}
    if extra_pred:
        idx = sorted(extra_pred)
        out["scored"] = round(float(f1_score([base_y[i] for i in idx], [str(extra_pred[i]) for i in idx],
                                             average="weighted")), 4)
    out["seconds"] = round(time.time() - started, 1)
    return out


# --- topic -----------------------------------------------------------------------------------------------------------

def topic_candidates() -> dict[str, dict]:
    from nlp.topic_train import DEV_WEIGHT
    from nlp.topic_train import TOPIC_PARAMS as TOPIC_PARAMS_NOW

    # topic v2 (shipped before topic v3): syllable n-grams only, dev labels 8×; the candidates below vary it
    v2 = {"model": "svm", "C": 0.3, "word_ngrams": None, "syllable_ngrams": (1, 2), "char_ngrams": None,
          "class_weight": "balanced", "max_features": 200_000, "min_df": 2, "max_chars": 1000}
    shipped = {"params": v2, "dev_weight": 8.0, "calibrate": "all"}
    char = {**v2, "char_ngrams": (2, 5), "max_features": 400_000}
    words = {**v2, "word_ngrams": (1, 2), "segmenter": "dictionary", "max_features": 300_000}
    TOPIC_PARAMS = v2   # noqa: N806 (the variations below were written against v2's parameters)
    return {
        "shipped": {"params": dict(TOPIC_PARAMS_NOW), "dev_weight": DEV_WEIGHT, "calibrate": "all"},
        "v2": shipped,
        "cal_dev": {**shipped, "calibrate": ("dev",)},
        "w16": {**shipped, "dev_weight": 16.0},
        "w16_cal_dev": {**shipped, "dev_weight": 16.0, "calibrate": ("dev",)},
        "words_w16": {**shipped, "params": words, "dev_weight": 16.0},
        # more of the weak pool, each weak label weighing half (the dev labels keep their weight relative to it)
        "pool2x_half": {**shipped, "pool": (5000, 12000), "base_weight": 0.5},
        "pool2x_half_w16": {**shipped, "pool": (5000, 12000), "base_weight": 0.5, "dev_weight": 16.0},
        "char": {**shipped, "params": char},
        "char_cal_dev": {**shipped, "params": char, "calibrate": ("dev",)},
        "words": {**shipped, "params": words},
        "words_cal_dev": {**shipped, "params": words, "calibrate": ("dev",)},
        "lr_cal_dev": {**shipped, "params": {**TOPIC_PARAMS, "model": "lr", "C": 10.0}, "calibrate": ("dev",)},
        "C1_cal_dev": {**shipped, "params": {**TOPIC_PARAMS, "C": 1.0}, "calibrate": ("dev",)},
        "C01_cal_dev": {**shipped, "params": {**TOPIC_PARAMS, "C": 0.1}, "calibrate": ("dev",)},
    }


def topic_data(pool: tuple[int, int] | None = None):
    import nlp.topic_train as tt
    from nlp.topic_train import _balance, board_split, weak_pool

    saved = tt.PER_CLASS, tt.OTHER_PER_CLASS
    if pool:
        tt.PER_CLASS, tt.OTHER_PER_CLASS = pool
    try:
        weak_t, weak_y = _balance(weak_pool(CACHE, log=lambda *_: None), 0)
    finally:
        tt.PER_CLASS, tt.OTHER_PER_CLASS = saved
    dev_t, dev_y = board_split(None, "topic")["dev"]    # the dev half only; the test half is never read here
    return weak_t, weak_y, [1.0] * len(weak_t), dev_t, dev_y, None


# --- tone ------------------------------------------------------------------------------------------------------------

def tone_candidates() -> dict[str, dict]:
    from nlp.train import RECIPES

    recipe = RECIPES["sentiment"]
    shipped = {"params": dict(recipe["params"]), "dev_weight": float(recipe["board_weight"]), "calibrate": "all"}
    return {
        "shipped": shipped,
        "cal_dev": {**shipped, "calibrate": ("dev",)},
        "cal_dev_vsfc": {**shipped, "calibrate": ("dev", "uit-vsfc")},
        "w8": {**shipped, "dev_weight": 8.0},
        "w16": {**shipped, "dev_weight": 16.0},
        "w8_cal_dev_vsfc": {**shipped, "dev_weight": 8.0, "calibrate": ("dev", "uit-vsfc")},
        "balanced": {**shipped, "params": {**recipe["params"], "class_weight": "balanced"}},
        "balanced_w8": {**shipped, "params": {**recipe["params"], "class_weight": "balanced"}, "dev_weight": 8.0},
        "char": {**shipped, "params": {**recipe["params"], "char_ngrams": (2, 5), "max_features": 600_000}},
    }


def tone_data():
    from nlp.train import BOARD, recipe_data

    parts, _, _, _, _ = recipe_data("sentiment", log=lambda *_: None)
    base_t, base_y, base_src = [], [], []
    for name, d in parts.items():
        if name != BOARD:
            base_t += d["train"][0]
            base_y += d["train"][1]
            base_src += [name] * len(d["train"][0])
    dev_t, dev_y = parts[BOARD]["train"]                 # the dev half only; the test half is not scored here
    return base_t, base_y, [1.0] * len(base_t), dev_t, dev_y, base_src


# --- VNTC (news_topic) --------------------------------------------------------------------------------------------

def vntc_candidates() -> dict[str, dict]:
    from nlp.train import RECIPES

    params = dict(RECIPES["news_topic"]["params"])
    return {
        "shipped": {"params": params},
        "C05": {"params": {**params, "C": 0.5}},
        "C2": {"params": {**params, "C": 2.0}},
        "f1m": {"params": {**params, "max_features": 1_000_000}},
        "f1m_C05": {"params": {**params, "max_features": 1_000_000, "C": 0.5}},
        "syl13": {"params": {**params, "syllable_ngrams": (1, 3), "max_features": 1_000_000}},
        "lr": {"params": {**params, "model": "lr", "C": 20.0}},
        "chars1k": {"params": {**params, "max_chars": 1000}},
        "chars3k": {"params": {**params, "max_chars": 3000}},
    }


def vntc_holdout(names: list[str], share: float = 0.2, seed: int = 0) -> None:
    """Train on 80 % of VNTC's training split, score the other 20 % (stratified); the test split is never read
    except by the dedupe that drops its texts from training, as the recipe does."""
    from sklearn.model_selection import train_test_split

    from nlp.corpora import read_corpus
    from nlp.train import datasets_root, load_task_data

    (texts, labels), _ = load_task_data("news_topic", read_corpus(datasets_root() / "vntc")).values()
    tr_t, dv_t, tr_y, dv_y = train_test_split(texts, labels, test_size=share, stratify=labels, random_state=seed)
    print(f"vntc: {len(tr_t)} training texts, {len(dv_t)} held-out training texts (dev)", flush=True)
    candidates = vntc_candidates()
    for name in names:
        params = candidates[name]["params"]
        started = time.time()
        words = bool(params.get("word_ngrams"))
        prep_tr, prep_dv = _prepare(tr_t, words), _prepare(dv_t, words)
        _Cached(**params).warm(prep_tr + prep_dv)
        model = _Cached(**params).fit_segmented(prep_tr, tr_y)
        r = _scores(dv_y, [str(p) for p in model.predict_segmented(prep_dv)])
        print(f"vntc dev {name:10s} accuracy {r['accuracy']:.4f} macro F1 {r['macro_f1']:.4f} "
              f"({time.time() - started:.0f} s)", flush=True)


DEFAULT_CANDIDATES = {"topic": "v2,w16,cal_dev", "tone": "cal_dev_vsfc", "vntc": ""}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", nargs="?", choices=("topic", "tone", "vntc"), default="topic",
                        help="default: topic, with the candidates compared in the last tuning session")
    parser.add_argument("--candidates", default=None)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    candidates = {"topic": topic_candidates, "tone": tone_candidates, "vntc": vntc_candidates}[args.task]()
    if args.candidates is None:
        args.candidates = DEFAULT_CANDIDATES[args.task]
    names = ["shipped"] + [n for n in args.candidates.split(",") if n and n != "shipped"]
    unknown = [n for n in names if n not in candidates]
    if unknown:
        raise SystemExit(f"unknown candidates {unknown}; known: {', '.join(candidates)}")
    if args.task == "vntc":
        vntc_holdout(names)
        return 0
    base_t, base_y, base_w, dev_t, dev_y, base_src = topic_data() if args.task == "topic" else tone_data()
    print(f"{args.task}: {len(base_t)} base training texts {dict(Counter(base_y))}; dev half {len(dev_t)} "
          f"{dict(Counter(dev_y))}; {args.folds}-fold CV on the dev half", flush=True)
    default = base_t, base_y, base_w, dev_t, dev_y, base_src
    for name in names:
        base_t, base_y, base_w, dev_t, dev_y, base_src = default
        if candidates[name].get("pool"):
            base_t, base_y, base_w, dev_t, dev_y, base_src = topic_data(candidates[name]["pool"])
            print(f"{name}: weak pool {len(base_t)} texts {dict(Counter(base_y))}", flush=True)
        r = cross_validate(base_t, base_y, base_w, dev_t, dev_y, candidates[name], args.folds, base_src=base_src,
                           scored_src="uit-vsfc" if args.task == "tone" else None)
        extra = ""
        if args.task == "tone":
            extra = (f" neutral F1 {r['per_class_f1'].get('neutral')}; UIT-VSFC train+dev out-of-fold weighted F1 "
                     f"{r.get('scored')}")
        print(f"{args.task} dev CV {name:14s} accuracy {r['accuracy']:.4f} macro F1 {r['macro_f1']:.4f}{extra} "
              f"({r['seconds']} s) per class {r['per_class_f1']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
