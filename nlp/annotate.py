"""Annotate a batch of texts: normalize → segment once → every model → keyphrases. Plain data out.

    annotator = Annotator.from_dir(Path("classifier_models"))
    annotator.annotate(["Công nhân đình công vì bị nợ lương"])[0].topic   # → "quan_he_lao_dong" or "tien_luong"
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from nlp.classify import TextClassifier
from nlp.keyphrases import candidates
from nlp.normalize import normalize
from nlp.segment import DEFAULT_SEGMENTER, segment
from nlp.taxonomy import OTHER

__all__ = ["Annotation", "Annotator", "TASKS", "REQUIRED_TASKS"]

TASKS = ("topic", "news_topic", "sentiment", "toxicity")
REQUIRED_TASKS = ("topic", "sentiment")
NEUTRAL = "neutral"
TOXIC = "toxic"
KEYPHRASES_PER_TEXT = 5
_HAS_WORD = re.compile(r"[^\W_]")


@dataclass
class Annotation:
    topic: str
    topic_score: float
    news_topic: str | None
    sentiment: str
    sentiment_score: float
    toxicity: float | None
    keyphrases: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class Annotator:
    """Holds the loaded models of the four tasks; `topic` and `sentiment` are required, the others optional."""

    def __init__(self, model_paths: dict[str, Path]):
        missing = [t for t in REQUIRED_TASKS if t not in model_paths]
        if missing:
            raise ValueError(f"the annotator needs models for {', '.join(missing)}")
        unknown = sorted(set(model_paths) - set(TASKS))
        if unknown:
            raise ValueError(f"unknown annotation tasks: {', '.join(unknown)} (known: {', '.join(TASKS)})")
        self.model_paths = {task: Path(p) for task, p in model_paths.items()}
        self.models: dict[str, TextClassifier] = {t: TextClassifier.load(p) for t, p in self.model_paths.items()}
        # version = the folder that holds model.skops (classifier_models/<task>/<version>/model.skops)
        self.versions: dict[str, str] = {t: p.parent.name for t, p in self.model_paths.items()}

    @classmethod
    def from_dir(cls, models_dir: Path) -> "Annotator":
        """Load the active version of each task listed in `models_dir/registry.json`."""
        models_dir = Path(models_dir)
        registry_path = models_dir / "registry.json"
        try:
            registry = json.loads(registry_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"no model registry at {registry_path}") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"the model registry {registry_path} is not valid JSON: {exc}") from None
        paths = {}
        for task, entry in registry.items():
            if task not in TASKS or not isinstance(entry, dict) or not entry.get("active"):
                continue
            path = models_dir / task / str(entry["active"]) / "model.skops"
            if not path.exists():
                raise ValueError(f"registry says {task} {entry['active']} is active but {path} does not exist")
            paths[task] = path
        return cls(paths)

    def annotate(self, texts: list[str]) -> list[Annotation]:
        """One Annotation per text, in order. Empty or letterless texts get topic `khac`, sentiment neutral, score 0."""
        normalized = [normalize(t) if isinstance(t, str) else "" for t in texts]
        live = [i for i, t in enumerate(normalized) if _HAS_WORD.search(t)]
        results: list[Annotation | None] = [None] * len(texts)
        if live:
            live_normalized = [normalized[i] for i in live]
            segmented = segment(live_normalized)     # the default segmenter: keyphrases, streams
            by_method = {DEFAULT_SEGMENTER: segmented}
            features: dict = {}    # hashed n-grams computed once for the batch, shared by the models
            predictions = {}
            for task, model in self.models.items():
                # each model reads what it was trained on (TextClassifier.input_of: segmented by the model's own
                # segmenter, or normalized text)
                method = getattr(model, "segmenter", DEFAULT_SEGMENTER)
                if model.word_ngrams and method not in by_method:
                    by_method[method] = segment(live_normalized, method=method)
                prepared = model.input_of(live_normalized, by_method.get(method))
                predictions[task] = self._predict(task, prepared, features)
            phrases = _keyphrases_each(segmented)
            for j, i in enumerate(live):
                topic, topic_score = predictions["topic"][j]
                sentiment, sentiment_score = predictions["sentiment"][j]
                news = predictions.get("news_topic")
                tox = predictions.get("toxicity")
                results[i] = Annotation(
                    topic=topic, topic_score=topic_score,
                    news_topic=news[j][0] if news else None,
                    sentiment=sentiment, sentiment_score=sentiment_score,
                    toxicity=tox[j][1] if tox else None,
                    keyphrases=phrases[j],
                )
        for i, r in enumerate(results):
            if r is None:
                results[i] = self.empty()
        return results  # type: ignore[return-value]

    def empty(self) -> Annotation:
        """The defined annotation of a text with nothing to read."""
        return Annotation(topic=OTHER, topic_score=0.0, news_topic=None, sentiment=NEUTRAL, sentiment_score=0.0,
                          toxicity=0.0 if "toxicity" in self.models else None, keyphrases=[])

    def _predict(self, task: str, prepared: list[str], features: dict | None = None) -> list[tuple[str, float]]:
        model = self.models[task]
        proba = model.predict_proba_segmented(prepared, features)
        best = np.argmax(proba, axis=1)
        labels = [str(model.classes_[k]) for k in best]
        scores = [float(proba[r, k]) for r, k in enumerate(best)]
        if task == "toxicity":
            classes = [str(c) for c in model.classes_]
            col = classes.index(TOXIC) if TOXIC in classes else len(classes) - 1
            return [(label, float(proba[r, col])) for r, label in enumerate(labels)]
        return list(zip(labels, scores))


def _keyphrases_each(segmented: list[str], k: int = KEYPHRASES_PER_TEXT) -> list[list[str]]:
    """Per-text keyphrases: frequent multi-word candidates, discounted by how common they are in the batch."""
    per_text = [Counter(candidates(s)) for s in segmented]
    df = Counter()
    for c in per_text:
        df.update(c.keys())
    n = len(segmented)
    out = []
    for counts in per_text:
        scored = sorted(
            ((tf * math.sqrt(1 + phrase.count(" ") + phrase.count("_")) / (1 + (df[phrase] - 1) * 4 / max(n, 1)),
              phrase)
             for phrase, tf in counts.items()),
            reverse=True,
        )
        chosen: list[str] = []
        for _, phrase in scored:
            shown = phrase.replace("_", " ")
            if any(shown in c or c in shown for c in chosen):
                continue
            chosen.append(shown)
            if len(chosen) >= k:
                break
        out.append(chosen)
    return out
