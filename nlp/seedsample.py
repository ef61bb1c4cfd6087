"""A small, fixed sample of seed-labelled news that a board-label candidate is trained on beside the board's labels.

Reading and seed-labelling the whole news corpus takes minutes; `seed_leads` draws a fixed random sample of leads once
and caches it (gzip JSONL) in the data folder, and `seed_pairs` labels it with the current taxonomy, so an edited
taxonomy takes effect at the next training without a new sample. Texts of the hand-labelled gold set are left out.
"""
from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

from nlp.taxonomy import Taxonomy

__all__ = ["seed_leads", "seed_pairs", "SEED_CORPUS"]

SEED_CORPUS = "baomoi-tc201805"
LEAD_CHARS = 1500


def seed_leads(cache_dir: Path, n: int = 20_000, seed: int = 0, corpus_dir: Path | None = None) -> list[str]:
    """`n` news leads drawn at random (fixed seed) from the seed corpus, read from the cache when it is there."""
    cache = Path(cache_dir) / f"seed-leads-{SEED_CORPUS}-{n}-{seed}.jsonl.gz"
    if cache.exists():
        with gzip.open(cache, "rt", encoding="utf-8") as f:
            return [json.loads(line) for line in f]
    from nlp.corpora import read_corpus
    from nlp.train import GOLD_PREFIX, _gold_keys, _key, datasets_root

    corpus = read_corpus(corpus_dir or datasets_root() / SEED_CORPUS)
    gold = _gold_keys()
    texts = [t for split in corpus.splits.values() for t in split.texts if t and t.strip()]
    rng = random.Random(seed)
    rng.shuffle(texts)
    leads: list[str] = []
    seen: set[str] = set()
    for text in texts:
        key = _key(text[:GOLD_PREFIX])
        if key in gold or key in seen:
            continue
        seen.add(key)
        leads.append(text[:LEAD_CHARS])
        if len(leads) >= n:
            break
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as f:
        for lead in leads:
            f.write(json.dumps(lead, ensure_ascii=False) + "\n")
    tmp.replace(cache)
    return leads


def seed_pairs(leads: list[str], taxonomy: Taxonomy, per_class: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Seed-labelled (text, topic) pairs, at most `per_class` per topic: clear seed labels, and the taxonomy's
    `other` topic for leads where no seed phrase occurs."""
    by_code: dict[str, list[str]] = {}
    for lead in leads:
        if not taxonomy.scores(lead):
            by_code.setdefault(taxonomy.other, []).append(lead)
            continue
        code = taxonomy.seed_label(lead)
        if code:
            by_code.setdefault(code, []).append(lead)
    rng = random.Random(seed)
    texts, labels = [], []
    for code in sorted(by_code):
        chosen = by_code[code]
        rng.shuffle(chosen)
        texts += chosen[:per_class]
        labels += [code] * len(chosen[:per_class])
    return texts, labels
