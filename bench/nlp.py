"""Benchmarks of Pulse's Vietnamese NLP: the SHIPPED models (classifier_models/registry.json), scored through the call
`pulse annotate` uses (nlp.annotate.Annotator.annotate), each beside a plain TF-IDF + LinearSVC trained in the same run
on the same training data as the shipped model.

    python bench/nlp.py [--quick] [--only speed,vsfc_sentiment,vntc,board_topic,board_tone] [--json FILE]

- vsfc_sentiment: UIT-VSFC official test split (weighted F1; anchors MaxEnt 0.879, BiLSTM 0.920, PhoBERT 0.939);
- vntc: VNTC official Test_Full split (accuracy; anchors SVM 0.934, n-gram LM 0.971). The full split is scored with the
  model's own preparation (`TextClassifier.predict`, which tests/test_nlp_prepare.py proves equal to annotate), and a
  stratified sample of it through `Annotator.annotate` itself, to show the two agree;
- board_topic / board_tone: the test half of the labels read by people (tests/fixtures/labels), never trained on.
--quick subsamples (a smoke run; its figures are not comparable with the anchors).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# run as a script, bench/ would come first on the path, where a script named like a standard module would shadow it
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from nlp.corpora import read_corpus  # noqa: E402
from nlp.train import BOARD, datasets_root, load_task_data, recipe_data  # noqa: E402

MODELS = ROOT / "classifier_models"
CACHE = ROOT / "data" / "cache"
ANCHORS = {
    "vsfc_sentiment": {"metric": "weighted_f1", "goal": 0.90,
                       "published": {"MaxEnt": 0.8794, "BiLSTM": 0.920, "PhoBERT": 0.9392}},
    "vntc": {"metric": "accuracy", "goal": 0.94,
             "published": {"SVM (Vu 2007)": 0.934, "n-gram LM (Vu 2007)": 0.971}},
    "board_topic": {"metric": "accuracy", "goal": 0.80, "goal_macro_f1": 0.70, "published": {}},
    "board_tone": {"metric": "macro_f1", "goal": 0.65, "goal_neutral_f1": 0.55, "published": {}},
}
TONE = {"neg": "negative", "neu": "neutral", "pos": "positive"}


def baseline(train_t, train_y, test_t, sample_weight=None):
    """The plain anchor: syllable uni+bigram TF-IDF (sublinear) + LinearSVC(C=1) on lower-cased raw text, with the
    same sample weights as the shipped model's training (labels read by people weigh more than corpora)."""
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)
    clf = LinearSVC(C=1.0).fit(vec.fit_transform(train_t), train_y, sample_weight=sample_weight)
    return [str(p) for p in clf.predict(vec.transform(test_t))]


def scores(y_true, y_pred) -> dict:
    labels = sorted(set(y_true) | set(y_pred))
    p, r, f, n = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    predicted = Counter(y_pred)
    return {"n": len(y_true), "accuracy": round(accuracy_score(y_true, y_pred), 4),
            "macro_f1": round(f1_score(y_true, y_pred, average="macro", zero_division=0), 4),
            "weighted_f1": round(f1_score(y_true, y_pred, average="weighted", zero_division=0), 4),
            "per_class": {lab: {"n": int(n[i]), "predicted": int(predicted[lab]), "precision": round(float(p[i]), 3),
                                "recall": round(float(r[i]), 3), "f1": round(float(f[i]), 3)}
                          for i, lab in enumerate(labels)}}


def _annotator():
    from nlp.annotate import Annotator

    return Annotator.from_dir(MODELS)


def _subsample(texts, labels, n, seed=0):
    if len(texts) <= n:
        return texts, labels
    idx = sorted(random.Random(seed).sample(range(len(texts)), n))
    return [texts[i] for i in idx], [labels[i] for i in idx]


def _entry(name, shipped, base, n_train, seconds, quick, **extra) -> dict:
    return {"benchmark": name, "metric": ANCHORS[name]["metric"], "shipped": shipped, "baseline_tfidf_linearsvc": base,
            "goal": ANCHORS[name]["goal"], "published": ANCHORS[name]["published"], "n_train": n_train,
            "seconds": seconds, "quick": quick, **extra}


def bench_sentiment_on(name: str, quick: bool, annotator=None) -> dict:
    """The shipped sentiment model on the UIT-VSFC test split or the labels' tone test half, through annotate."""
    parts, train_t, train_y, weights, _ = recipe_data("sentiment", log=lambda *_: None)
    if name == "vsfc_sentiment":
        test_t, test_y = parts["uit-vsfc"]["test"]
    else:
        if BOARD not in parts:
            raise SystemExit("the sentiment recipe has no board labels")
        test_t, test_y = parts[BOARD]["test"]
    if quick:
        train_t, train_y = _subsample(train_t, train_y, 5000)
        weights = None
        test_t, test_y = _subsample(test_t, test_y, 1000)
    t0 = time.time()
    base = scores(test_y, baseline(train_t, train_y, test_t, weights))
    t1 = time.time()
    annotator = annotator or _annotator()
    shipped = scores(test_y, [a.sentiment for a in annotator.annotate(test_t)])
    t2 = time.time()
    return _entry(name, shipped, base, len(train_t), {"baseline": round(t1 - t0, 1), "annotate": round(t2 - t1, 1)},
                  quick, model=f"sentiment {annotator.versions['sentiment']}",
                  test=("uit-vsfc official test split" if name == "vsfc_sentiment" else "labels' test half (tone)"))


def bench_vntc(quick: bool, annotator=None, annotate_sample: int = 2000) -> dict:
    data = load_task_data("news_topic", read_corpus(datasets_root() / "vntc"))
    (train_t, train_y), (test_t, test_y) = data["train"], data["test"]
    if quick:
        train_t, train_y = _subsample(train_t, train_y, 3000)
        test_t, test_y = _subsample(test_t, test_y, 2000)
        annotate_sample = 300
    annotator = annotator or _annotator()
    model = annotator.models["news_topic"]
    t0 = time.time()
    base = scores(test_y, baseline(train_t, train_y, test_t))
    t1 = time.time()
    full = scores(test_y, [str(p) for p in model.predict(test_t)])
    t2 = time.time()
    sample_t, sample_y = _subsample(test_t, test_y, annotate_sample, seed=1)
    through = [a.news_topic for a in annotator.annotate(sample_t)]
    direct = [str(p) for p in model.predict(sample_t)]
    t3 = time.time()
    return _entry("vntc", full, base, len(train_t),
                  {"baseline": round(t1 - t0, 1), "predict": round(t2 - t1, 1), "annotate_sample": round(t3 - t2, 1)},
                  quick, model=f"news_topic {annotator.versions['news_topic']}", test="VNTC Test_Full",
                  annotate_sample={"n": len(sample_t), "accuracy": round(accuracy_score(sample_y, through), 4),
                                   "agrees_with_predict": round(sum(a == b for a, b in zip(through, direct))
                                                                / max(len(direct), 1), 4)})


def bench_board_topic(quick: bool, annotator=None) -> dict:
    from nlp.topic_train import board_split, topic_training_data

    halves = board_split(task="topic")
    test_t, test_y = halves["test"]
    train_t, train_y, weights = topic_training_data(CACHE, log=lambda *_: None)
    if quick:
        train_t, train_y = _subsample(train_t, train_y, 5000)
        weights = None
    t0 = time.time()
    base = scores(test_y, baseline(train_t, train_y, test_t, weights))
    t1 = time.time()
    annotator = annotator or _annotator()
    shipped = scores(test_y, [a.topic for a in annotator.annotate(test_t)])
    t2 = time.time()
    return _entry("board_topic", shipped, base, len(train_t),
                  {"baseline": round(t1 - t0, 1), "annotate": round(t2 - t1, 1)}, quick,
                  model=f"topic {annotator.versions['topic']}", test="labels' test half (topic)",
                  majority_class=round(Counter(test_y).most_common(1)[0][1] / max(len(test_y), 1), 4))


def _peak_mb() -> dict:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self_mb": round(own, 1), "largest_child_mb": round(children, 1)}


def bench_speed(quick: bool) -> dict:
    """Annotate 10,000 real comments and 2,000 real articles, against bare underthesea word_tokenize."""
    from underthesea import word_tokenize

    from nlp.annotate import Annotator
    from nlp.segment import shutdown

    rng = random.Random(0)
    comments = []
    for corpus_name, task in (("vihsd", "toxicity"), ("uit-victsd", "toxicity"), ("uit-vsfc", "sentiment")):
        for split in read_corpus(datasets_root() / corpus_name).splits.values():
            comments += split.pairs(task)[0]
    articles = read_corpus(datasets_root() / "vntc").splits["test"].texts
    n_comments, n_articles = (1000, 200) if quick else (10_000, 2_000)
    texts = rng.sample(comments, n_comments) + rng.sample(articles, n_articles)
    chars = sum(map(len, texts))

    t0 = time.time()
    for t in texts:
        word_tokenize(t, format="text")
    bare = time.time() - t0
    peak_after_bare = _peak_mb()

    annotator = Annotator.from_dir(ROOT / "classifier_models")
    t0 = time.time()
    out = annotator.annotate(texts)
    full = time.time() - t0
    shutdown()
    assert len(out) == len(texts)
    return {"benchmark": "speed", "texts": len(texts), "comments": n_comments, "articles": n_articles,
            "chars": chars, "bare_word_tokenize_s": round(bare, 1), "annotate_s": round(full, 1),
            "annotate_vs_bare": round(bare / full, 2), "peak_after_bare": peak_after_bare, "peak_end": _peak_mb(),
            "note": "annotate = normalize + segment (cached, 2 worker processes) + 4 models + keyphrases",
            "quick": quick}


def _print(r: dict) -> None:
    name = r["benchmark"]
    if name == "speed":
        print(f"speed: {r['comments']} comments + {r['articles']} articles ({r['chars']:,} chars): "
              f"bare word_tokenize {r['bare_word_tokenize_s']} s, whole annotate {r['annotate_s']} s "
              f"(×{r['annotate_vs_bare']} the speed of bare segmentation); peak RSS {r['peak_end']}", flush=True)
        return
    metric = r["metric"]
    published = ", ".join(f"{k} {v}" for k, v in r["published"].items())
    print(f"{name}: {r['model']} on {r['test']} (n={r['shipped']['n']}): {metric} shipped {r['shipped'][metric]} | "
          f"TF-IDF+LinearSVC same data {r['baseline_tfidf_linearsvc'][metric]} | goal {r['goal']}"
          f"{' | published ' + published if published else ''} | n_train {r['n_train']}"
          f"{' (QUICK: not comparable)' if r['quick'] else ''}", flush=True)
    print(f"    shipped: accuracy {r['shipped']['accuracy']}, macro F1 {r['shipped']['macro_f1']}, weighted F1 "
          f"{r['shipped']['weighted_f1']}; baseline: accuracy {r['baseline_tfidf_linearsvc']['accuracy']}, macro F1 "
          f"{r['baseline_tfidf_linearsvc']['macro_f1']}", flush=True)
    if "annotate_sample" in r:
        a = r["annotate_sample"]
        print(f"    through Annotator.annotate on a sample of {a['n']}: accuracy {a['accuracy']}, "
              f"agreement with predict {a['agrees_with_predict']}", flush=True)
    if name.startswith("board") or name == "vsfc_sentiment":
        for lab, m in r["shipped"]["per_class"].items():
            print(f"    {lab:22s} n={m['n']:4d} predicted={m['predicted']:4d} precision {m['precision']:.3f} "
                  f"recall {m['recall']:.3f} F1 {m['f1']:.3f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="subsample for a smoke run")
    parser.add_argument("--only", default="speed,vsfc_sentiment,vntc,board_topic,board_tone")  # speed first: caches empty
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    results = []
    annotator = None
    for name in args.only.split(","):
        if name == "speed":
            r = bench_speed(args.quick)
        else:
            annotator = annotator or _annotator()
            if name in ("vsfc_sentiment", "board_tone"):
                r = bench_sentiment_on(name, args.quick, annotator)
            elif name == "vntc":
                r = bench_vntc(args.quick, annotator)
            elif name == "board_topic":
                r = bench_board_topic(args.quick, annotator)
            else:
                raise SystemExit(f"unknown benchmark {name!r}")
        results.append(r)
        _print(r)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
