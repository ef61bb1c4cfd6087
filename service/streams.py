"""Opinion streams (luồng dư luận): items that speak of the same thing, grouped as they arrive.

Each new item is first checked against recent items for a near-duplicate (a syndicated copy joins its story's
stream); otherwise it joins the most similar active stream (cosine over TF-IDF weighted words, within a time window)
or opens a new one. Streams that come to say the same thing merge into the older one, whose id stays; streams that
fall quiet close. A stream's id never changes while it lives, and a merged id still resolves to its stream.
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

from nlp.dedupe import nearest, simhash
from nlp.keyphrases import STOPWORDS
from nlp.normalize import normalize
from nlp.segment import segment
from service.config import StreamSettings
from service.store import Store

_WORD = re.compile(r"^[^\W\d_][\w]*$")
VECTOR_TERMS = 40
# Units and amounts say nothing about what a story is about ("đồng" the currency, "tỷ", "triệu" …).
UNIT_WORDS = frozenset("đồng tỷ triệu nghìn ngàn trăm usd tấn kg km lượng phần_trăm".split())


def item_text(item: dict[str, Any]) -> str:
    return f"{item['title']}. {item['text']}" if item.get("title") else item.get("text", "")


def content_terms(segmented: str) -> Counter[str]:
    """The content words of a segmented text (function words, numbers and punctuation left out)."""
    terms = Counter()
    for token in segmented.lower().split():
        if token not in STOPWORDS and token not in UNIT_WORDS and _WORD.match(token):
            terms[token] += 1
    return terms


def weigh(terms: Counter[str], df: dict[str, int], n_docs: int, keep: int = VECTOR_TERMS) -> dict[str, float]:
    """Sub-linear TF × IDF, L2-normalised, the strongest `keep` terms."""
    weights = {t: (1 + math.log(c)) * (math.log((n_docs + 1) / (df.get(t, 0) + 1)) + 1) for t, c in terms.items()}
    top = sorted(weights.items(), key=lambda kv: -kv[1])[:keep]
    norm = math.sqrt(sum(w * w for _, w in top)) or 1.0
    return {t: w / norm for t, w in top}


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = sum(w * b.get(t, 0.0) for t, w in a.items())
    if not dot:
        return 0.0
    na = math.sqrt(sum(w * w for w in a.values()))
    nb = math.sqrt(sum(w * w for w in b.values()))
    return dot / (na * nb)


@dataclass
class _Stream:
    id: int
    topic: str
    first_seen: str
    last_seen: str
    centroid: dict[str, float]
    touched: bool = False

    @property
    def norm(self) -> float:
        return math.sqrt(sum(w * w for w in self.centroid.values())) or 1.0

    def add(self, vector: dict[str, float], seen_at: str, keep: int) -> None:
        for t, w in vector.items():
            self.centroid[t] = self.centroid.get(t, 0.0) + w
        if len(self.centroid) > keep:
            self.centroid = dict(sorted(self.centroid.items(), key=lambda kv: -kv[1])[:keep])
        self.first_seen = min(self.first_seen, seen_at)
        self.last_seen = max(self.last_seen, seen_at)
        self.touched = True


class _Index:
    """The active streams with an inverted index term → streams, for fast best-match search."""

    def __init__(self, streams: Iterable[_Stream]):
        self.streams: dict[int, _Stream] = {}
        self.postings: dict[str, set[int]] = defaultdict(set)
        for s in streams:
            self.put(s)

    def put(self, stream: _Stream) -> None:
        self.streams[stream.id] = stream
        for t in stream.centroid:
            self.postings[t].add(stream.id)

    def drop(self, stream_id: int) -> None:
        stream = self.streams.pop(stream_id, None)
        if stream:
            for t in stream.centroid:
                self.postings[t].discard(stream_id)

    def best(self, vector: dict[str, float], earliest: str, latest: str) -> tuple[_Stream | None, float]:
        dots: dict[int, float] = defaultdict(float)
        for t, w in vector.items():
            for sid in self.postings.get(t, ()):
                dots[sid] += w * self.streams[sid].centroid.get(t, 0.0)
        best, best_score = None, 0.0
        for sid, dot in dots.items():
            s = self.streams[sid]
            if s.last_seen < earliest or s.first_seen > latest:
                continue
            score = dot / s.norm
            if score > best_score or (score == best_score and best is not None and sid < best.id):
                best, best_score = s, score
        return best, best_score


def _shift(iso: str, days: float) -> str:
    return (datetime.fromisoformat(iso) + timedelta(days=days)).isoformat()


def assign(store: Store, annotated: list[tuple[dict[str, Any], Any]],
           settings: StreamSettings | None = None) -> list[int]:
    """Place each (item row, annotation) in a stream; returns the stream id of each item, in the given order."""
    settings = settings or StreamSettings()
    todo = [(item, ann) for item, ann in annotated if not store.is_placed(item["id"])]
    if not todo:
        return [store.resolve_stream(store.stream_of_item(item["id"]) or 0) for item, _ in annotated]
    todo.sort(key=lambda pair: (pair[0]["published_at"], pair[0]["id"]))
    texts = [normalize(item_text(item)) for item, _ in todo]
    term_counts = [content_terms(s) for s in segment(texts)]
    batch_df = Counter()
    for terms in term_counts:
        batch_df.update(terms.keys())
    store.add_term_document_frequencies(batch_df)
    df = store.term_document_frequencies(batch_df.keys())
    n_docs = store.placed_count() + len(todo)

    earliest = min(item["published_at"] for item, _ in todo)
    index = _Index(_Stream(r["id"], r["topic"], r["first_seen"], r["last_seen"], r["centroid"])
                   for r in store.active_streams(_shift(earliest, -settings.window_days)))
    recent = store.recent_simhashes(_shift(earliest, -settings.duplicate_days))
    signatures = [sig for _, sig, _ in recent]
    stories = [(item_id, story_id) for item_id, _, story_id in recent]

    for (item, ann), text, terms in zip(todo, texts, term_counts):
        vector = weigh(terms, df, n_docs)
        signature = simhash(text)
        store.set_simhash(item["id"], signature)
        stream, story_id = None, item["id"]
        j, distance = nearest(signature, signatures)
        if j >= 0 and distance <= settings.duplicate_distance:
            original_id, story_id = stories[j]
            sid = store.resolve_stream(store.stream_of_item(original_id) or 0)
            stream = index.streams.get(sid) or _load(store, sid)
            if stream is not None and sid not in index.streams:
                index.put(stream)
        if stream is None:
            seen = item["published_at"]
            stream, score = index.best(vector, _shift(seen, -settings.window_days), _shift(seen, settings.window_days))
            if stream is None or score < settings.join_threshold:
                stream = _Stream(store.create_stream(ann.topic, seen), ann.topic, seen, seen, {})
        index.drop(stream.id)
        stream.add(vector, item["published_at"], settings.centroid_terms)
        index.put(stream)
        store.place_item(item["id"], stream.id, story_id, item["day"], ann.topic, ann.sentiment,
                         item.get("source") or "", item.get("org_unit"), item.get("kind") or "article")
        signatures.append(signature)
        stories.append((item["id"], story_id))

    touched = [s for s in index.streams.values() if s.touched]
    _merge_similar(store, index, touched, settings)
    for s in index.streams.values():
        if s.touched:
            _save(store, s)
    latest = max(item["published_at"] for item, _ in todo)
    store.close_quiet_streams(_shift(latest, -settings.close_after_days))
    return [store.resolve_stream(store.stream_of_item(item["id"]) or 0) for item, _ in annotated]


def _load(store: Store, stream_id: int) -> _Stream | None:
    row = store.stream(stream_id)
    if row is None:
        return None
    return _Stream(row["id"], row["topic"], row["first_seen"], row["last_seen"], row["centroid"])


def _merge_similar(store: Store, index: _Index, touched: list[_Stream], settings: StreamSettings) -> None:
    """Merge each touched stream into an older active stream that now says the same thing."""
    for stream in sorted(touched, key=lambda s: s.id, reverse=True):
        if stream.id not in index.streams:
            continue
        candidates = [s for s in index.streams.values() if s.id < stream.id
                      and s.last_seen >= _shift(stream.first_seen, -settings.window_days)]
        best, best_score = None, 0.0
        for other in candidates:
            score = cosine(stream.centroid, other.centroid)
            if score > best_score:
                best, best_score = other, score
        if best is not None and best_score >= settings.merge_threshold:
            index.drop(stream.id)
            index.drop(best.id)
            store.merge_stream(stream.id, best.id)
            for t, w in stream.centroid.items():
                best.centroid[t] = best.centroid.get(t, 0.0) + w
            best.first_seen = min(best.first_seen, stream.first_seen)
            best.last_seen = max(best.last_seen, stream.last_seen)
            best.touched = True
            index.put(best)


def _save(store: Store, stream: _Stream) -> None:
    """Write a stream's centroid, majority topic and label (its most shared keyphrases)."""
    topics = store.stream_topic_counts(stream.id)
    topic = max(topics, key=lambda t: (topics[t], t)) if topics else stream.topic
    phrases = Counter()
    for kp in store.item_keyphrases_any(store.stream_recent_item_ids(stream.id, 200)):
        phrases.update(set(kp))
    label_terms = [p for p, _ in phrases.most_common(3)]
    if not label_terms:
        label_terms = [t.replace("_", " ") for t, _ in sorted(stream.centroid.items(), key=lambda kv: -kv[1])[:3]]
    store.update_stream(stream.id, topic=topic, label=" · ".join(label_terms), first_seen=stream.first_seen,
                        last_seen=stream.last_seen, centroid={t: round(w, 5) for t, w in stream.centroid.items()})
    stream.touched = False
