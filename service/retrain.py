"""Retrain the topic classifier from the board's labels: train a candidate, compare it with the active model on the
held-out labels, promote it or roll back, and re-annotate recent items so that streams and flags follow the model.

A candidate learns from the board's training labels (each counted `BOARD_WEIGHT` times) plus a capped sample of
seed-labelled news (nlp.seedsample), so training takes seconds, not the hour of a full recipe.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from nlp.seedsample import SEED_CORPUS, seed_leads, seed_pairs
from nlp.taxonomy import load_taxonomy
from service import modelsync, registry
from service.labels import item_text, split_labels, taxonomy_path
from service.pipeline import UserError, load_annotator
from service.registry import model_version_key
from service.store import Store, utcnow

if TYPE_CHECKING:
    from nlp.classify import TextClassifier

TASK = "topic"
MIN_LABELS = 10          # fewer training labels than this for a topic: said plainly on the card and the page
BOARD_WEIGHT = 3         # a board label counts as this many seed-labelled texts
SEED_LEADS = 20_000      # news leads in the cached seed sample
SEED_PER_CLASS = 300     # seed-labelled texts per topic beside the board's labels
REANNOTATE_DAYS = 30     # a promotion re-annotates the items of the last this many days
PARAMS: dict[str, Any] = {  # syllable n-grams only: no word segmentation to pay for, so training takes seconds
    "model": "svm", "C": 0.5, "word_ngrams": None, "syllable_ngrams": (1, 2), "char_ngrams": None,
    "class_weight": "balanced", "min_df": 2, "max_features": 200_000, "max_chars": 3000,
}

Log = Callable[[str], None]


@dataclass
class PromoteOutcome:
    task: str
    version: str
    previous: str | None
    reannotated: int = 0
    reused: int = 0
    facts_updated: int = 0


# --- pure parts --------------------------------------------------------------------------------------------------------


def fit_candidate(board_texts: list[str], board_labels: list[str], seed_texts: list[str], seed_labels: list[str],
                  params: dict[str, Any] | None = None) -> TextClassifier:
    """A topic model fitted on the board's labels (weighted by repetition) and the seed-labelled sample."""
    from nlp.classify import TextClassifier   # scikit-learn is loaded where models are, never by the web server

    texts = list(seed_texts) + list(board_texts) * BOARD_WEIGHT
    labels = list(seed_labels) + list(board_labels) * BOARD_WEIGHT
    return TextClassifier(**(params or PARAMS)).fit(texts, labels)


def compare_scores(candidate: dict[str, Any], active: dict[str, Any] | None) -> dict[str, Any]:
    """Macro F1 and per-topic F1 of a candidate minus the active model's, on the same held-out items."""
    if active is None or not candidate.get("n"):
        return {"comparable": False, "macro_f1": None, "per_topic": {}, "worse": None}
    topics = sorted({k for k, v in candidate["report"].items() if isinstance(v, dict) and "f1-score" in v}
                    - {"macro avg", "weighted avg"})
    per_topic = {}
    for t in topics:
        a = active["report"].get(t, {}).get("f1-score", 0.0)
        per_topic[t] = round(candidate["report"][t]["f1-score"] - a, 4)
    delta = round(candidate["macro_f1"] - active["macro_f1"], 4)
    return {"comparable": True, "macro_f1": delta, "per_topic": per_topic, "worse": delta < 0}


def label_warnings(train_counts: dict[str, int], codes: list[str]) -> list[str]:
    """Plain sentences about topics with too few training labels."""
    out = []
    for code in codes:
        n = train_counts.get(code, 0)
        if n < MIN_LABELS:
            out.append(f"Too few labels for {code}: {n} in training (at least {MIN_LABELS} are needed for the board's "
                       f"labels to shape this topic; the model leans on the seed phrases for it).")
    return out


def seed_cached(cache_dir: Path, n: int = SEED_LEADS, seed: int = 0) -> bool:
    """Whether the seed sample is cached already (then training needs no corpus)."""
    return (Path(cache_dir) / f"seed-leads-{SEED_CORPUS}-{n}-{seed}.jsonl.gz").exists()


# --- with the store and the models folder ------------------------------------------------------------------------------


def board_split(store: Store) -> tuple[list[dict], list[dict]]:
    """(training rows, held-out rows) of the board's latest topic labels."""
    return split_labels(store.latest_labels(TASK))


def _active_model(models_dir: Path) -> tuple[str | None, TextClassifier | None]:
    from nlp.classify import TextClassifier

    entry = registry.read_registry(models_dir).get(TASK) or {}
    version = entry.get("active")
    if not version:
        return None, None
    return version, TextClassifier.load(Path(models_dir) / TASK / version / "model.skops")


def score_on_heldout(model: TextClassifier, heldout: list[dict]) -> dict[str, Any]:
    from nlp.train import metrics

    if not heldout:
        return {"n": 0}
    predicted = [str(p) for p in model.predict([item_text(r) for r in heldout])]
    return metrics([r["label"] for r in heldout], predicted)


def train_candidate(store: Store, models_dir: Path, cache_dir: Path, username: str, version: str | None = None,
                    seed_leads_n: int = SEED_LEADS, seed_per_class: int = SEED_PER_CLASS,
                    log: Log = lambda msg: None, taxonomy_file: Path | None = None,
                    corpus_dir: Path | None = None) -> dict[str, Any]:
    """Train a topic candidate from the board's labels, score it and the active model on the held-out labels, write
    model.skops, metrics.json and card.md, and register it (not active). Returns the summary written.

    `taxonomy_file` is the board's taxonomy (default: the one in `models_dir`); `corpus_dir` the seed corpus (default:
    under nlp.train.datasets_root()), read only when the seed sample is not cached in `cache_dir` yet."""
    started = time.time()
    models_dir = Path(models_dir)
    modelsync.sync(store, models_dir)   # the active model and the version names of every machine
    taxonomy = load_taxonomy(taxonomy_file or taxonomy_path(models_dir))
    train_rows, heldout = board_split(store)
    train_rows = [r for r in train_rows if r["label"] in taxonomy.topics]
    heldout = [r for r in heldout if r["label"] in taxonomy.topics]
    counts = Counter(r["label"] for r in train_rows)
    if not any(n >= 2 for n in counts.values()):
        have = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
        raise UserError(f"Not enough board labels to train a topic model: no topic has two training labels "
                        f"(training labels: {have}; {len(heldout)} more are held out for scoring). "
                        f"Label more items, at least {MIN_LABELS} per topic, and train again.")
    log(f"topic: {len(train_rows)} board labels for training, {len(heldout)} held out")
    try:
        leads = seed_leads(cache_dir, seed_leads_n, corpus_dir=corpus_dir)
    except (ValueError, OSError) as exc:
        raise UserError(f"The seed corpus could not be read ({exc}); set `datasets_dir` in the settings file to the "
                        f"folder that holds the corpora.") from None
    seed_t, seed_y = seed_pairs(leads, taxonomy, seed_per_class)
    log(f"topic: {len(seed_t)} seed-labelled news texts from a sample of {len(leads)}")
    t0 = time.time()
    model = fit_candidate([item_text(r) for r in train_rows], [r["label"] for r in train_rows], seed_t, seed_y)
    fit_seconds = time.time() - t0
    log(f"topic: fitted in {fit_seconds:.1f} s")

    candidate_scores = score_on_heldout(model, heldout)
    active_version, active = _active_model(models_dir)
    active_scores = score_on_heldout(active, heldout) if active is not None else None
    version = version or registry.next_version(models_dir, TASK)
    out_dir = models_dir / TASK / version
    if (out_dir / "model.skops").exists():
        raise UserError(f"{TASK} {version} already exists; choose another version name.")
    now = utcnow()
    summary = {
        "task": TASK, "version": version, "source": "board labels", "trained_by": username, "trained_at": now,
        "classes": [str(c) for c in model.classes_],
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in model.get_params().items()},
        "board_train_counts": dict(sorted(counts.items())),
        "board_heldout_counts": dict(sorted(Counter(r["label"] for r in heldout).items())),
        "heldout_item_ids": [r["item_id"] for r in heldout],
        "seed_counts": dict(sorted(Counter(seed_y).items())),
        "board_weight": BOARD_WEIGHT,
        "heldout": {"candidate": candidate_scores, "active": active_scores, "active_version": active_version},
        "difference": compare_scores(candidate_scores, active_scores),
        "warnings": label_warnings(counts, taxonomy.codes),
        "fit_seconds": round(fit_seconds, 2),
    }
    model.save(out_dir / "model.skops", metadata={"task": TASK, "date": now, "source": "board labels",
                                                  "trained_by": username})
    summary["total_seconds"] = round(time.time() - started, 2)
    (out_dir / "metrics.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    card = render_card(summary)
    (out_dir / "card.md").write_text(card, encoding="utf-8")
    modelsync.register(store, models_dir, TASK, version)   # its files and the registry, in the store too
    store.save_model_version(TASK, version, card, summary, username, now)
    return summary


def labels_fingerprint(store: Store) -> str:
    """What the held-out comparison depends on besides the models: the board's topic labels (a digest)."""
    import hashlib

    rows = sorted((r["item_id"], r["label"]) for r in store.latest_labels(TASK))
    return hashlib.sha1(json.dumps(rows).encode()).hexdigest()[:16]


def comparison_file(cache_dir: Path, version: str) -> Path:
    return Path(cache_dir) / f"compare-{TASK}-{version}.json"


def compare_with_active(store: Store, models_dir: Path, version: str) -> dict[str, Any]:
    """Score a version and the active topic model on today's held-out labels (the same items for both)."""
    from nlp.classify import TextClassifier

    _, heldout = board_split(store)
    candidate = TextClassifier.load(Path(models_dir) / TASK / version / "model.skops")
    active_version, active = _active_model(models_dir)
    c = score_on_heldout(candidate, heldout)
    a = score_on_heldout(active, heldout) if active is not None and active_version != version else None
    return {"version": version, "active_version": active_version, "candidate": c, "active": a,
            "difference": compare_scores(c, a)}


def promote(store: Store | None, models_dir: Path, task: str, version: str, username: str, force: bool = False,
            since_day: str | None = None, days: int = REANNOTATE_DAYS) -> PromoteOutcome:
    """Make a version active. A topic candidate that scores lower than the active model on the held-out labels needs
    `force` (one that cannot be compared, for want of held-out labels, does not). With a store, the items of the
    last `days` days are re-annotated and their stream facts updated, and the store's registry changes with the
    folder's (a version trained on another machine is copied into `models_dir` first: service/modelsync.py)."""
    if store is not None:
        modelsync.sync(store, models_dir)
    if task == TASK and store is not None:
        entry = registry.read_registry(models_dir).get(task) or {}
        if entry.get("active") != version:
            if not (Path(models_dir) / task / version / "model.skops").exists():
                raise registry.ModelsMissing(f"there is no {task} model version {version!r}.")
            check = compare_with_active(store, models_dir, version)
            diff = check["difference"]
            if not force and diff["comparable"] and diff["worse"]:
                raise UserError(
                    f"{task} {version} scores lower than the active {check['active_version']} on the "
                    f"{check['candidate']['n']} held-out labels (macro F1 {check['candidate']['macro_f1']} against "
                    f"{check['active']['macro_f1']}); promote it with --force if you mean it.")
    previous = modelsync.promote(store, models_dir, task, version)
    outcome = PromoteOutcome(task, version, previous)
    if store is not None and previous != version:   # promoting the active version again changes nothing
        store.mark_model_promoted(task, version, username)
        _note_on_card(Path(models_dir) / task / version, f"Promoted by {username} at {utcnow()}"
                      f"{' (forced)' if force else ''}; replaced {previous or 'none'}.")
        modelsync.publish_card(store, models_dir, task, version)
        _reannotate_into(outcome, store, models_dir, since_day, days)
    return outcome


def rollback(store: Store | None, models_dir: Path, task: str, username: str, since_day: str | None = None,
             days: int = REANNOTATE_DAYS) -> PromoteOutcome:
    """Make the previously active version active again and restore its annotations of recent items."""
    if store is not None:
        modelsync.sync(store, models_dir)
    current = (registry.read_registry(models_dir).get(task) or {}).get("active")
    version = modelsync.rollback(store, models_dir, task)
    outcome = PromoteOutcome(task, version, current)
    if store is not None:
        store.mark_model_promoted(task, version, username)
        _reannotate_into(outcome, store, models_dir, since_day, days)
    return outcome


def _reannotate_into(outcome: PromoteOutcome, store: Store, models_dir: Path, since_day: str | None,
                     days: int) -> None:
    if since_day is None:
        from service.timeutil import today_local

        since_day = (today_local() - timedelta(days=days)).isoformat()
    done = reannotate(store, models_dir, since_day)
    outcome.reannotated, outcome.reused, outcome.facts_updated = done


def reannotate(store: Store, models_dir: Path, since_day: str, batch_size: int = 256) -> tuple[int, int, int]:
    """Annotate the items of `since_day` and later with the active models (reusing annotations already made by this
    set of versions, so a rollback restores exactly the earlier predictions) and update their stream facts.
    Returns (annotated, reused, stream facts updated)."""
    from service.registry import active_versions

    key = model_version_key(active_versions(models_dir))
    items = store.items_since_day(since_day)
    ids = [r["id"] for r in items]
    known = store.annotations_for(ids, key)
    todo = [r for r in items if r["id"] not in known]
    if todo:
        annotator, versions = load_annotator(models_dir)
        for i in range(0, len(todo), batch_size):
            batch = todo[i:i + batch_size]
            rows = []
            for item, ann in zip(batch, annotator.annotate([item_text(r) for r in batch])):
                row = ann.to_dict()
                row.update(item_id=item["id"], model_version=key)
                rows.append(row)
            store.add_annotations(rows)
        known = store.annotations_for(ids, key)
    facts = [(known[i]["topic"], known[i]["sentiment"], i) for i in ids if i in known]
    store.update_item_facts(facts)
    return len(todo), len(items) - len(todo), len(facts)


# --- the card ----------------------------------------------------------------------------------------------------------


def render_card(summary: dict[str, Any]) -> str:
    """The model card of a board-label candidate (Markdown)."""
    c = summary["heldout"]["candidate"]
    a = summary["heldout"]["active"]
    diff = summary["difference"]
    lines = [f"# topic {summary['version']} (trained from the board's labels)", "",
             f"Trained by {summary['trained_by']} at {summary['trained_at']}.", "", "## Data", "",
             f"- Board labels for training: {sum(summary['board_train_counts'].values())} "
             f"({', '.join(f'{k} {v}' for k, v in summary['board_train_counts'].items())}), each counted "
             f"{summary['board_weight']} times.",
             f"- Board labels held out for scoring (fixed by each item's content hash): "
             f"{sum(summary['board_heldout_counts'].values())}.",
             f"- Seed-labelled news (taxonomy seed phrases on a fixed sample of baomoi-tc201805 leads): "
             f"{sum(summary['seed_counts'].values())}.", ""]
    if summary["warnings"]:
        lines += ["## Too few labels", "", *[f"- {w}" for w in summary["warnings"]], ""]
    lines += ["## Held-out board labels", ""]
    if not c.get("n"):
        lines += ["No held-out labels yet: the candidate cannot be compared with the active model.", ""]
    else:
        active_f1 = a["macro_f1"] if a else "—"
        lines += ["| model | n | accuracy | macro F1 |", "|---|---|---|---|",
                  f"| candidate {summary['version']} | {c['n']} | {c['accuracy']} | {c['macro_f1']} |"]
        if a:
            lines.append(f"| active {summary['heldout']['active_version']} | {a['n']} | {a['accuracy']} | {active_f1} |")
        lines += ["", f"Difference in macro F1: {diff['macro_f1']}"
                  + (" (the candidate is WORSE than the active model)" if diff.get("worse") else ""), "",
                  "| topic | precision | recall | F1 | n | F1 − active |", "|---|---|---|---|---|---|"]
        for topic, row in c["report"].items():
            if isinstance(row, dict) and topic not in ("macro avg", "weighted avg") and "f1-score" in row:
                lines.append(f"| {topic} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1-score']:.3f} "
                             f"| {int(row['support'])} | {diff['per_topic'].get(topic, '—')} |")
        lines += ["", "The confusion matrix is in metrics.json."]
    lines += ["", "## History", ""]
    return "\n".join(lines) + "\n"


def _note_on_card(folder: Path, line: str) -> None:
    card = folder / "card.md"
    if card.exists() and not folder.is_symlink():   # a shipped version (a link to the checkout) is never written
        card.write_text(card.read_text(encoding="utf-8").rstrip("\n") + f"\n\n{line}\n", encoding="utf-8")
