"""Benchmarks of Pulse's Vietnamese NLP against the published anchors (../shared/README.md), measured in one run.

    python bench/nlp.py [--quick] [--only vsfc_sentiment,vsfc_topic,vntc,topic_gold,speed] [--json FILE]

Each accuracy figure is printed beside a plain TF-IDF + LinearSVC baseline trained and tested on the same data in the
same run. Test splits are the official ones; training texts that also occur in the test split are dropped.
--quick subsamples (for a smoke run; its figures are not comparable with the anchors).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.metrics import accuracy_score, f1_score  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from nlp.classify import TextClassifier  # noqa: E402
from nlp.corpora import read_corpus  # noqa: E402
from nlp.train import RECIPES, datasets_root, load_task_data  # noqa: E402

# Published anchors (same test splits), from ../shared/README.md and issue 4.
ANCHORS = {
    "vsfc_sentiment": {"metric": "weighted_f1", "goal": 0.92,
                       "published": {"MaxEnt": 0.8794, "BiLSTM": 0.920, "PhoBERT": 0.9392}},
    "vsfc_topic": {"metric": "weighted_f1", "goal": 0.896, "published": {"MaxEnt": 0.8403, "BiLSTM": 0.896}},
    "vntc": {"metric": "accuracy", "goal": 0.95,
             "published": {"underthesea TF-IDF+SVC": 0.9249, "SVM (Vu 2007)": 0.934, "n-gram LM (Vu 2007)": 0.971}},
}

# The configuration measured for each benchmark (the bench trains on the corpus's train split only).
CONFIGS = {
    "vsfc_sentiment": ("uit-vsfc", "sentiment", {"model": "svm", "C": 0.5}),
    "vsfc_topic": ("uit-vsfc", "vsfc_topic", {"model": "svm", "C": 0.3}),
    "vntc": ("vntc", "news_topic", RECIPES["news_topic"]["params"]),
}


def baseline(train_t, train_y, test_t):
    """The plain anchor: syllable uni+bigram TF-IDF (sublinear) + LinearSVC(C=1) on lower-cased raw text."""
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)
    clf = LinearSVC(C=1.0).fit(vec.fit_transform(train_t), train_y)
    return clf.predict(vec.transform(test_t))


def score(metric, y_true, y_pred):
    if metric == "accuracy":
        return accuracy_score(y_true, y_pred)
    return f1_score(y_true, y_pred, average="weighted")


def bench_accuracy(name: str, quick: bool) -> dict:
    corpus_name, task, params = CONFIGS[name]
    data = load_task_data(task, read_corpus(datasets_root() / corpus_name))
    (train_t, train_y), (test_t, test_y) = data["train"], data["test"]
    if quick:
        rng = random.Random(0)
        idx = rng.sample(range(len(train_t)), min(3000, len(train_t)))
        train_t, train_y = [train_t[i] for i in idx], [train_y[i] for i in idx]
        idx = rng.sample(range(len(test_t)), min(2000, len(test_t)))
        test_t, test_y = [test_t[i] for i in idx], [test_y[i] for i in idx]
    metric = ANCHORS[name]["metric"]
    t0 = time.time()
    base = score(metric, test_y, baseline(train_t, train_y, test_t))
    t1 = time.time()
    model = TextClassifier(**params).fit(train_t, train_y)
    pred = model.predict(test_t)
    t2 = time.time()
    ours = score(metric, test_y, pred)
    return {"benchmark": name, "corpus": corpus_name, "task": task, "metric": metric, "n_train": len(train_t),
            "n_test": len(test_t), "pulse": round(ours, 4), "baseline_tfidf_linearsvc": round(base, 4),
            "pulse_macro_f1": round(f1_score(test_y, pred, average="macro"), 4),
            "goal": ANCHORS[name]["goal"], "published": ANCHORS[name]["published"], "params": params,
            "seconds": {"baseline": round(t1 - t0, 1), "pulse": round(t2 - t1, 1)}, "quick": quick}


def bench_topic_gold() -> dict:
    """The shipped board-topic model against the hand-labelled gold set (tests/fixtures/nlp_topic_gold.tsv)."""
    from sklearn.metrics import precision_recall_fscore_support

    from nlp.taxonomy import seed_label
    from nlp.train import read_topic_gold

    texts, gold = read_topic_gold()
    registry = json.loads((ROOT / "classifier_models" / "registry.json").read_text(encoding="utf-8"))
    model = TextClassifier.load(ROOT / "classifier_models" / "topic" / registry["topic"]["active"] / "model.skops")
    pred = [str(p) for p in model.predict(texts)]
    labels = sorted(set(gold))
    p, r, f, n = precision_recall_fscore_support(gold, pred, labels=labels, zero_division=0)
    seeds = [seed_label(t) for t in texts]
    fired = [(s, g) for s, g in zip(seeds, gold) if s]
    return {"benchmark": "topic_gold", "n": len(texts), "accuracy": round(accuracy_score(gold, pred), 4),
            "macro_f1": round(f1_score(gold, pred, average="macro", zero_division=0), 4),
            "per_topic": {lab: {"precision": round(float(p[i]), 3), "recall": round(float(r[i]), 3),
                                "f1": round(float(f[i]), 3), "n": int(n[i])} for i, lab in enumerate(labels)},
            "seed_lexicon": {"fired": len(fired), "precision": round(sum(s == g for s, g in fired) / max(len(fired), 1), 3)}}


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="subsample for a smoke run")
    parser.add_argument("--only", default="vsfc_sentiment,vsfc_topic,vntc,topic_gold,speed")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    results = []
    for name in args.only.split(","):
        if name == "speed":
            r = bench_speed(args.quick)
        elif name == "topic_gold":
            r = bench_topic_gold()
        else:
            r = bench_accuracy(name, args.quick)
        results.append(r)
        if name == "topic_gold":
            print(f"topic_gold: shipped topic model on {r['n']} hand-labelled news items: accuracy {r['accuracy']}, "
                  f"macro F1 {r['macro_f1']}; seed lexicon fired on {r['seed_lexicon']['fired']} with precision "
                  f"{r['seed_lexicon']['precision']}", flush=True)
            for lab, m in r["per_topic"].items():
                print(f"    {lab:22s} precision {m['precision']:.3f} recall {m['recall']:.3f} (n={m['n']})", flush=True)
        elif name == "speed":
            print(f"speed: {r['comments']} comments + {r['articles']} articles ({r['chars']:,} chars): "
                  f"bare word_tokenize {r['bare_word_tokenize_s']} s, whole annotate {r['annotate_s']} s "
                  f"(×{r['annotate_vs_bare']} the speed of bare segmentation); peak RSS {r['peak_end']}", flush=True)
        else:
            published = ", ".join(f"{k} {v}" for k, v in r["published"].items())
            print(f"{name}: {r['metric']} pulse {r['pulse']} | TF-IDF+LinearSVC baseline {r['baseline_tfidf_linearsvc']}"
                  f" | goal {r['goal']} | published {published} | n_train {r['n_train']} n_test {r['n_test']}"
                  f"{' (QUICK: not comparable)' if r['quick'] else ''}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
