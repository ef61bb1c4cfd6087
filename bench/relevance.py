"""Relevance against the board's labels: precision and recall of `workers ≥ 0.5 and excluded is None` vs `relevant`.

    .venv/bin/python -m bench.relevance                 # the dev half (tune on this one only)
    .venv/bin/python -m bench.relevance --split test    # the test half: run once, at the end, never tune on it
    .venv/bin/python -m bench.relevance --errors        # dev errors, to read (refused for the test half)

Items are scored as the pipeline scores them: the shipped models give the topic and news topic (soft evidence),
comments (uit-victsd) are kind "comment" with their article's title as context, news items are title + lead.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from nlp.labels_data import load_board_labels
from nlp.relevance import score


def _items(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        if r["dataset"] == "uit-victsd":
            out.append({"title": "", "text": r["text"], "kind": "comment"})
        else:
            title, _, lead = r["text"].partition("\n")
            out.append({"title": title, "text": lead, "kind": "article"})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--errors", action="store_true", help="print the dev half's errors")
    parser.add_argument("--no-models", action="store_true", help="score without the topic models' soft evidence")
    args = parser.parse_args(argv)
    if args.errors and args.split == "test":
        parser.error("the test half's errors are not shown: tune on dev only")
    rows = [r for r in load_board_labels() if r["split"] == args.split and r["relevant"] is not None]
    items = _items(rows)
    topics: list[tuple[str | None, str | None]] = [(None, None)] * len(rows)
    if not args.no_models:
        from service.pipeline import load_annotator
        from service.config import load_settings

        annotator, _ = load_annotator(load_settings().models_dir)
        texts = [f"{i['title']}\n{i['text']}".strip() for i in items]
        topics = [(a.topic, a.news_topic) for a in annotator.annotate(texts)]
    t0 = time.perf_counter()
    results = [score(i["title"], i["text"], kind=i["kind"], topic=t, news_topic=n) for i, (t, n) in zip(items, topics)]
    elapsed = time.perf_counter() - t0
    tp = fp = fn = tn = 0
    errors = []
    for row, item, rel in zip(rows, items, results):
        predicted, truth = rel.relevant, bool(row["relevant"])
        tp += predicted and truth
        fp += predicted and not truth
        fn += truth and not predicted
        tn += not truth and not predicted
        if predicted != truth:
            errors.append((row, item, rel))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print(f"split={args.split} labelled={len(rows)} relevant={tp + fn} predicted={tp + fp}")
    print(f"precision={precision:.3f} recall={recall:.3f} f1={f1:.3f} (tp={tp} fp={fp} fn={fn} tn={tn})")
    print(f"scoring: {len(rows) / elapsed:.0f} items/s")
    if args.split == "dev":   # how the cut would move (dev only): precision/recall at other thresholds
        for cut in (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
            pred = [rel.workers >= cut and rel.excluded is None for rel in results]
            t = sum(p and r["relevant"] == 1 for p, r in zip(pred, rows))
            pp, rr = t / max(1, sum(pred)), t / max(1, tp + fn)
            print(f"  workers >= {cut:.2f}: precision={pp:.3f} recall={rr:.3f}")
    if args.errors:
        for row, item, rel in errors:
            tag = "FN" if row["relevant"] else "FP"
            text = (item["title"] + " | " + item["text"]).replace("\n", " ")[:170]
            print(f"{tag} {row['key']} w={rel.workers:.2f} x={rel.excluded} topic={row['topic']} :: {text}")
            print(f"      {rel.reasons}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
