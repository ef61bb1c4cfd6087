"""Retraining from the board's labels (issue 8): the labels-to-better-model curve, and training time at scale.

Part 1 — curve. The board's labels are simulated with the 470 hand-labelled gold news (tests/fixtures/
nlp_topic_gold.tsv, labelled by reading them, never trained on by the shipped model). They are stored as items; one in
five is held out by content hash, exactly as `service.labels.is_heldout` does in a real store. A candidate is trained as
`pulse train topic --from-labels` trains it (service.retrain.fit_candidate: board labels ×3 plus a capped seed-labelled
sample) after 0, 50, 100, 200 and 400 board labels (as many as there are, when fewer), picked two ways: at random
(mean of 3 draws) and by the labelling queue's rule (smallest margin of the current model first). Printed: macro F1
and accuracy on the held-out items, beside the shipped active model (v1) scored on the same items.

Part 2 — speed. `fit_candidate` on 100,000 texts (seed-labelled news leads standing in for board labels), with the
process pinned to 2 cores when the machine has more. Aim: under 2 minutes.

Run: `python bench/retrain.py [--quick]` (also from `make bench`). Needs ../shared/datasets.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlp.classify import TextClassifier  # noqa: E402
from nlp.seedsample import seed_leads, seed_pairs  # noqa: E402
from nlp.taxonomy import load_taxonomy  # noqa: E402
from nlp.train import metrics, read_topic_gold  # noqa: E402
from service import retrain  # noqa: E402
from service.labelqueue import margins  # noqa: E402
from service.labels import is_heldout  # noqa: E402
from service.store import content_hash  # noqa: E402

STEPS = (0, 50, 100, 200, 400)
CACHE = ROOT / "data"
SOURCE = "gold"


def curve(seed_n: int, draws: int) -> None:
    texts, labels = read_topic_gold()
    hashes = [content_hash("", t, SOURCE) for t in texts]   # what the store would hash for these items
    held = [i for i, h in enumerate(hashes) if is_heldout(h)]
    pool = [i for i in range(len(texts)) if i not in set(held)]
    held_t, held_y = [texts[i] for i in held], [labels[i] for i in held]
    taxonomy = load_taxonomy(ROOT / "classifier_models" / "taxonomy.toml")
    seed_t, seed_y = seed_pairs(seed_leads(CACHE, seed_n), taxonomy, retrain.SEED_PER_CLASS)
    active = TextClassifier.load(ROOT / "classifier_models" / "topic" / "v1" / "model.skops")
    a = metrics(held_y, [str(p) for p in active.predict(held_t)])
    print(f"held-out board labels: {len(held)} (fixed by content hash); pool of labels to draw from: {len(pool)}; "
          f"seed-labelled texts: {len(seed_t)}")
    print(f"anchor: shipped active model v1 on the same held-out items: macro F1 {a['macro_f1']:.3f}, "
          f"accuracy {a['accuracy']:.3f}")
    print(f"{'labels':>7} {'random: macro F1':>17} {'accuracy':>9} {'queue (margin): macro F1':>25} {'accuracy':>9}"
          f" {'fit s':>6}")

    def score(chosen: list[int]) -> tuple[dict, float, TextClassifier]:
        t0 = time.perf_counter()
        model = retrain.fit_candidate([texts[i] for i in chosen], [labels[i] for i in chosen], seed_t, seed_y)
        seconds = time.perf_counter() - t0
        return metrics(held_y, [str(p) for p in model.predict(held_t)]), seconds, model

    steps = [min(n, len(pool)) for n in STEPS]
    random_scores: dict[int, list[dict]] = {n: [] for n in steps}
    for d in range(draws):
        order = pool[:]
        random.Random(d).shuffle(order)
        for n in steps:
            random_scores[n].append(score(order[:n])[0])
    chosen: list[int] = []
    model = None
    for n in steps:
        if n > len(chosen):
            rest = [i for i in pool if i not in set(chosen)]
            if model is None:
                picked = random.Random(0).sample(rest, n - len(chosen))
            else:
                m = margins(model.predict_proba([texts[i] for i in rest]))
                picked = [rest[k] for k in np.argsort(m, kind="stable")[: n - len(chosen)]]
            chosen += picked
        q, seconds, model = score(chosen)
        r_f1 = statistics.mean(s["macro_f1"] for s in random_scores[n])
        r_acc = statistics.mean(s["accuracy"] for s in random_scores[n])
        label = f"{n}" + ("*" if n < STEPS[steps.index(n)] else "")
        print(f"{label:>7} {r_f1:>17.3f} {r_acc:>9.3f} {q['macro_f1']:>25.3f} {q['accuracy']:>9.3f} {seconds:>6.1f}")
    if steps[-1] < STEPS[-1]:
        print(f"* only {len(pool)} gold labels are outside the held-out split: the last step uses them all.")


def speed(n: int) -> None:
    try:
        if len(os.sched_getaffinity(0)) > 2:
            os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    leads = seed_leads(CACHE, n)
    taxonomy = load_taxonomy(ROOT / "classifier_models" / "taxonomy.toml")
    labels = [taxonomy.seed_label(t) or taxonomy.other for t in leads]
    t0 = time.perf_counter()
    model = retrain.fit_candidate([], [], leads, labels)   # seed texts: counted once each
    seconds = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        path = model.save(Path(tmp) / "model.skops")
        size = path.stat().st_size
        t1 = time.perf_counter()
        TextClassifier.load(path)
        load_s = time.perf_counter() - t1
    print(f"training on {len(leads):,} texts on {cores} cores: {seconds:.1f} s "
          f"(aim: under 120 s); artifact {size / 1e6:.1f} MB, loads in {load_s:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one random draw, 20,000 texts for the speed part")
    args = parser.parse_args()
    print("Part 1 — labels-to-better-model curve (held-out board labels, same items for every model)")
    curve(retrain.SEED_LEADS, draws=1 if args.quick else 3)
    print("\nPart 2 — training time")
    speed(20_000 if args.quick else 100_000)


if __name__ == "__main__":
    main()
