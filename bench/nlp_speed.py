"""Speed of the whole `annotate` against bare underthesea `word_tokenize` (issue 13.5), in one process.

10,000 UIT-VSFC sentences (a fixed-seed sample of train + dev + test), never seen by the process before, are
segmented by bare `underthesea.word_tokenize(s, format="text")` and then annotated by the shipped models exactly as
`pulse annotate` does (normalize, segment, four models, keyphrases; batches of 256, the CLI's default), with every
cache empty. Printed: wall and CPU seconds of each, the ratio word_tokenize / annotate (≥ 1.0 means annotate is at
least as fast), the part of annotate spent per step, and the memory (peak RSS) of the whole process tree.

`--accuracy` also measures what the fast segmenter costs: agreement of `nlp.fastseg` with underthesea's CRF on the
sentences, and UIT-VSFC sentiment (weighted F1 on the official test split) of one TextClassifier recipe trained
twice in this run, on CRF-segmented and on dictionary-segmented text.

    python bench/nlp_speed.py [--n 10000] [--accuracy]
"""
from __future__ import annotations

import sys  # noqa: I001

# a bench script named like a standard module (signal_replay.py once was signal.py) must never shadow it
sys.path[:] = [p for p in sys.path if not p.rstrip("/").endswith("/bench")]

import argparse
import os
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATASETS = ROOT.parent / "shared" / "datasets"
BATCH = 256


def vsfc_sentences(n: int, seed: int = 0) -> list[str]:
    sentences = []
    for split in ("train", "dev", "test"):
        sentences += [s.strip() for s in (DATASETS / "uit-vsfc" / split / "sents.txt").read_text(
            encoding="utf-8").splitlines() if s.strip()]
    sentences = list(dict.fromkeys(sentences))
    random.Random(seed).shuffle(sentences)
    return sentences[:n]


def tree_rss_mb() -> tuple[float, float]:
    """(current RSS of this process and its children, peak RSS of this process + peak of its largest child)."""
    def rss(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def children(pid: int) -> list[int]:
        out = []
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                out += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
        return out

    todo, total = [os.getpid()], 0
    while todo:
        pid = todo.pop()
        total += rss(pid)
        todo += children(pid)
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return total / 1024, peak / 1024


def timed(fn, *args):
    w, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - w, time.process_time() - c


def speed(n: int) -> None:
    from underthesea import word_tokenize

    from nlp import segment as segment_module
    from nlp.annotate import Annotator

    sentences = vsfc_sentences(n)
    word_tokenize("Khởi động mô hình tách từ.", format="text")     # load underthesea's model (not timed)
    annotator = Annotator.from_dir(ROOT / "classifier_models")     # load the shipped models (not timed)
    segmenters = {t: getattr(m, "segmenter", "?") for t, m in annotator.models.items() if m.word_ngrams}
    segment_module._cache.clear()

    _, bare_wall, bare_cpu = timed(lambda: [word_tokenize(s, format="text") for s in sentences])

    def annotate_all():
        out = []
        for i in range(0, len(sentences), BATCH):
            out += annotator.annotate(sentences[i:i + BATCH])
        return out

    annotations, wall, cpu = timed(annotate_all)
    rss_now, rss_peak = tree_rss_mb()
    print(f"{len(sentences):,} fresh UIT-VSFC sentences, one process, caches empty "
          f"(word-feature models segment with: {segmenters or 'none'})")
    print(f"  bare underthesea.word_tokenize : {bare_wall:6.2f} s wall  {bare_cpu:6.2f} s CPU")
    print(f"  annotate (CLI batches of {BATCH})  : {wall:6.2f} s wall  {cpu:6.2f} s CPU")
    print(f"  ratio word_tokenize / annotate : ×{bare_wall / wall:.2f} wall  ×{bare_cpu / cpu:.2f} CPU "
          f"(goal ≥ 1.0)")
    print(f"  memory, whole process tree: {rss_now:.0f} MB RSS now, peak {rss_peak:.0f} MB "
          f"({len(annotations):,} annotations)")
    breakdown(sentences, annotator)


def breakdown(sentences: list[str], annotator) -> None:
    """CPU seconds of each step of annotate on the same sentences (segment cache emptied first)."""
    from nlp import segment as segment_module
    from nlp.annotate import _keyphrases_each
    from nlp.normalize import normalize
    from nlp.segment import segment

    segment_module._cache.clear()
    normalized, _, t_norm = timed(lambda: [normalize(s) for s in sentences])
    segmented, _, t_seg = timed(segment, normalized)
    features: dict = {}
    parts = [f"normalize {t_norm:.2f}", f"segment {t_seg:.2f}"]
    for task, model in annotator.models.items():
        by = segmented if getattr(model, "segmenter", "dictionary") == "dictionary" else None
        prepared = model.input_of(normalized, by)
        _, _, t = timed(model.predict_proba_segmented, prepared, features)
        parts.append(f"{task} {t:.2f}")
    _, _, t_kp = timed(_keyphrases_each, segmented)
    parts.append(f"keyphrases {t_kp:.2f}")
    print("  annotate's steps, CPU s (features shared, in this order): " + ", ".join(parts))


def accuracy(n: int) -> None:
    from sklearn.metrics import f1_score
    from underthesea import word_tokenize

    from nlp.classify import TextClassifier
    from nlp.corpora import read_corpus
    from nlp.fastseg import segment_fast
    from nlp.normalize import normalize

    sentences = [normalize(s) for s in vsfc_sentences(min(n, 3000), seed=1)]
    crf = [word_tokenize(s, format="text") for s in sentences]
    fast = [segment_fast(s) for s in sentences]

    def spans(seg: str) -> set[tuple[int, int]]:
        out, pos = set(), 0
        for w in seg.split():
            k = w.count("_") + 1
            out.add((pos, k))
            pos += k
        return out

    tp = fp = fn = 0
    for a, b in zip(crf, fast):
        if a.replace("_", " ").split() != b.replace("_", " ").split():
            continue
        sa, sb = spans(a), spans(b)
        tp, fp, fn = tp + len(sa & sb), fp + len(sb - sa), fn + len(sa - sb)
    p, r = tp / (tp + fp), tp / (tp + fn)
    print(f"\nfast segmenter vs underthesea CRF on {len(sentences):,} sentences: words P {p:.3f} R {r:.3f} "
          f"F1 {2 * p * r / (p + r):.3f}")

    corpus = read_corpus(DATASETS / "uit-vsfc")
    train_t, train_y = corpus.splits["train"].pairs("sentiment")
    test_t, test_y = corpus.splits["test"].pairs("sentiment")
    for method in ("crf", "dictionary"):
        t0 = time.perf_counter()
        clf = TextClassifier(model="svm", C=0.5, segmenter=method).fit(train_t, train_y)
        f1 = f1_score(test_y, clf.predict(test_t), average="weighted")
        print(f"  UIT-VSFC sentiment, TextClassifier(svm, C=0.5, segmenter={method!r}): weighted F1 {f1:.4f} "
              f"({time.perf_counter() - t0:.0f} s to train and test)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--accuracy", action="store_true", help="also measure the fast segmenter's cost in accuracy")
    args = parser.parse_args()
    speed(args.n)
    if args.accuracy:
        accuracy(args.n)


if __name__ == "__main__":
    main()
