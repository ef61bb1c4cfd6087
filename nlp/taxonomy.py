"""The board's topic taxonomy and its seed lexicon (classifier_models/taxonomy.toml).

`seed_label(text)` gives a topic code only when the seed phrases point clearly to one topic; it labels unlabelled
news with high precision so that a model can be trained on it. It is not the topic model.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from nlp.normalize import normalize

__all__ = ["Topic", "Taxonomy", "load_taxonomy", "seed_label", "default_taxonomy_path", "current_taxonomy",
           "use_taxonomy", "OTHER"]

OTHER = "khac"
STRONG_WEIGHT = 2
MIN_SCORE = 3       # three phrases, or one strong phrase and one more ...
MIN_STRONG_SCORE = 2  # ... or a strong phrase alone (it names the topic)
MIN_MARGIN = 1.5    # the winner must score this many times the runner-up


def shipped_taxonomy_path() -> Path:
    return Path(__file__).resolve().parents[1] / "classifier_models" / "taxonomy.toml"


_candidates: tuple[Path, ...] = ()   # set by the running system: the board's own taxonomy first, then its shipped one


def use_taxonomy(*paths: str | Path) -> None:
    """Make the first of these files that exists the default taxonomy of this process (none given: the shipped one).
    The check is made at each read, so a board taxonomy written later is used from then on."""
    global _candidates
    _candidates = tuple(Path(p) for p in paths)


def default_taxonomy_path() -> Path:
    """The taxonomy in use: the first existing file given to `use_taxonomy`, else classifier_models/taxonomy.toml."""
    for path in _candidates:
        if path.exists():
            return path
    return shipped_taxonomy_path()


@dataclass(frozen=True)
class Topic:
    code: str
    name: str
    strong: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()


@dataclass
class Taxonomy:
    topics: dict[str, Topic]
    other: str = OTHER
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)
    _weights: dict[str, list[tuple[str, int]]] = field(default_factory=dict, repr=False)

    @property
    def codes(self) -> list[str]:
        return list(self.topics)

    def name(self, code: str) -> str:
        return self.topics[code].name if code in self.topics else code

    def _compile(self) -> re.Pattern[str]:
        if self._pattern is None:
            weights: dict[str, list[tuple[str, int]]] = {}
            for topic in self.topics.values():
                for phrase in topic.strong:
                    weights.setdefault(normalize(phrase).lower(), []).append((topic.code, STRONG_WEIGHT))
                for phrase in topic.phrases:
                    weights.setdefault(normalize(phrase).lower(), []).append((topic.code, 1))
            self._weights = weights
            # longest first, so that `nợ lương` is read before `lương` and consumes it
            alternatives = "|".join(re.escape(p) for p in sorted(weights, key=len, reverse=True))
            self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
        return self._pattern

    def scores(self, text: str) -> dict[str, int]:
        """Seed score per topic: strong phrases count 2, others 1; each distinct phrase counts once."""
        return self._scores(text)[0]

    def _scores(self, text: str) -> tuple[dict[str, int], set[str]]:
        pattern = self._compile()
        found = set(pattern.findall(normalize(text).lower()))
        scores: dict[str, int] = {}
        strong: set[str] = set()
        for phrase in found:
            for code, weight in self._weights[phrase]:
                scores[code] = scores.get(code, 0) + weight
                if weight == STRONG_WEIGHT:
                    strong.add(code)
        return scores, strong

    def seed_label(self, text: str) -> str | None:
        """The topic code the seed phrases clearly point to, or None when they do not."""
        scores, strong = self._scores(text)
        if not scores:
            return None
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        code, best = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0
        enough = best >= MIN_SCORE or (best >= MIN_STRONG_SCORE and code in strong)
        if enough and best >= MIN_MARGIN * runner_up and best > runner_up:
            return code
        return None


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read a taxonomy TOML file (default: classifier_models/taxonomy.toml)."""
    path = Path(path) if path else default_taxonomy_path()
    with open(path, "rb") as f:
        data = tomllib.load(f)
    topics = {
        code: Topic(code=code, name=entry["name"], strong=tuple(entry.get("strong", ())),
                    phrases=tuple(entry.get("phrases", ())))
        for code, entry in data["topics"].items()
    }
    other = data.get("other", OTHER)
    if other not in topics:
        topics[other] = Topic(code=other, name="Khác")
    return Taxonomy(topics=topics, other=other)


def _stamp(path: Path) -> tuple[int, int, int]:
    """What changes when the file is edited: its inode (an atomic replace makes a new one), mtime and size."""
    try:
        st = path.stat()
        return st.st_ino, st.st_mtime_ns, st.st_size
    except OSError:
        return 0, 0, 0


@lru_cache(maxsize=4)
def _cached(path: Path, stamp: tuple[int, int, int]) -> Taxonomy:
    return load_taxonomy(path)


def current_taxonomy() -> Taxonomy:
    """The default taxonomy, read again whenever its file changes (an analyst's edit is seen at once)."""
    path = default_taxonomy_path()
    return _cached(path, _stamp(path))


def _default() -> Taxonomy:
    return current_taxonomy()


def seed_label(text: str, taxonomy: Taxonomy | None = None) -> str | None:
    """High-precision seed topic of a text with the default taxonomy (see Taxonomy.seed_label)."""
    return (taxonomy or _default()).seed_label(text)
