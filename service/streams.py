"""Opinion streams (luồng dư luận): items that speak of the same thing, grouped as they arrive.

Each new item is first checked against recent items for a near-duplicate (a syndicated copy joins its story's
stream); otherwise it joins the most similar active stream (cosine over TF-IDF weighted words, within a time window)
or opens a new one. Streams that come to say the same thing merge into the older one, whose id stays; streams that
fall quiet close. A stream's id never changes while it lives, and a merged id still resolves to its stream.
"""
from __future__ import annotations

import json
import math
import re
import uuid
from array import array
from collections import Counter
from dataclasses import astuple, dataclass, field
from operator import itemgetter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from nlp.dedupe import SimhashIndex, simhash
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
    top = sorted(weights.items(), key=itemgetter(1), reverse=True)[:keep]   # ties in insertion order
    norm = math.sqrt(sum(w * w for _, w in top)) or 1.0
    return {t: w / norm for t, w in top}


def cosine(a: dict[str, float], b: dict[str, float], na: float | None = None, nb: float | None = None) -> float:
    """Cosine of two sparse vectors; `na` and `nb`, when given, are their norms (a stream's kept `norm`, computed
    by the same sum, so the result is the same to the last bit)."""
    if len(a) > len(b):
        a, b, na, nb = b, a, nb, na
    dot = sum(w * b.get(t, 0.0) for t, w in a.items())
    if not dot:
        return 0.0
    if na is None:
        na = math.sqrt(sum(w * w for w in a.values()))
    if nb is None:
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
    guest: bool = False   # loaded for a syndicated copy although not active: leaves the index after its batch
    size: int = 0
    # items per topic and per keyphrase, kept up to date item by item (None: not known, read from the store at save)
    topics: Counter | None = field(default_factory=Counter)
    phrases: Counter | None = field(default_factory=Counter)
    norm: float = field(init=False)

    def __post_init__(self) -> None:
        self.norm = _norm(self.centroid)

    def add(self, vector: dict[str, float], seen_at: str, keep: int) -> None:
        for t, w in vector.items():
            self.centroid[t] = self.centroid.get(t, 0.0) + w
        if len(self.centroid) > keep:
            # by weight, highest first, ties in insertion order (a stable sort), as sorting on -weight would
            self.centroid = dict(sorted(self.centroid.items(), key=itemgetter(1), reverse=True)[:keep])
        self.norm = _norm(self.centroid)
        self.first_seen = min(self.first_seen, seen_at)
        self.last_seen = max(self.last_seen, seen_at)
        self.touched = True

    def absorb(self, other: "_Stream") -> None:
        """Take in a stream merged into this one (its centroid is added whole, as the store moves all its items)."""
        for t, w in other.centroid.items():
            self.centroid[t] = self.centroid.get(t, 0.0) + w
        self.norm = _norm(self.centroid)
        self.size += other.size
        self.topics = self.topics + other.topics if self.topics is not None and other.topics is not None else None
        self.phrases = (self.phrases + other.phrases if self.phrases is not None and other.phrases is not None
                        else None)
        self.first_seen = min(self.first_seen, other.first_seen)
        self.last_seen = max(self.last_seen, other.last_seen)
        self.touched = True


def _counter(text: str | None) -> Counter | None:
    return Counter(json.loads(text)) if text else None


def _from_row(row: dict[str, Any], guest: bool = False) -> "_Stream":
    return _Stream(row["id"], row["topic"], row["first_seen"], row["last_seen"], row["centroid"], guest=guest,
                   size=row.get("size") or 0, topics=_counter(row.get("topic_counts")),
                   phrases=_counter(row.get("phrase_counts")))


def _norm(centroid: dict[str, float]) -> float:
    return math.sqrt(sum(w * w for w in centroid.values())) or 1.0


class _Postings:
    """One term's postings: (slot, weight) pairs in flat arrays that numpy reads without copying. A removed pair
    keeps its place with weight 0 until the arrays are compacted."""

    __slots__ = ("slots", "weights", "where")

    def __init__(self) -> None:
        self.slots = array("q")
        self.weights = array("d")
        self.where: dict[int, int] = {}

    def set(self, slot: int, weight: float) -> None:
        i = self.where.get(slot)
        if i is None:
            self.where[slot] = len(self.slots)
            self.slots.append(slot)
            self.weights.append(weight)
        else:
            self.weights[i] = weight

    def remove(self, slot: int) -> None:
        i = self.where.pop(slot, None)
        if i is not None:
            self.weights[i] = 0.0
            if len(self.slots) > 2 * len(self.where) + 8:
                pairs = [(s, self.weights[j]) for s, j in self.where.items()]
                self.slots = array("q", [s for s, _ in pairs])
                self.weights = array("d", [w for _, w in pairs])
                self.where = {s: j for j, (s, _) in enumerate(pairs)}


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


class _Index:
    """The active streams with an inverted index term → (stream slot, centroid weight), so that the scores of
    a vector against every stream are one vectorised sum over the postings of its terms (numpy), whatever the number
    of streams. Exact scores are then recomputed in plain Python for the few streams at the top."""

    def __init__(self, streams: Iterable[_Stream] = ()):
        streams = list(streams)
        self.streams: dict[int, _Stream] = {}
        self.postings: dict[str, _Postings] = {}
        self.slot_of: dict[int, int] = {}
        self.free: list[int] = []
        size = max(1024, 2 * len(streams))
        self.ids = np.zeros(size, dtype=np.int64)
        self.first = np.zeros(size)
        self.last = np.zeros(size)
        self.alive = np.zeros(size, dtype=bool)
        self.norms = np.ones(size)
        self.n_slots = 0
        self._load(streams)

    def _load(self, streams: list[_Stream]) -> None:
        """Index many streams at once (a run's start): the postings are built term by term in one pass, not
        stream by stream."""
        by_term: dict[str, tuple[list[int], list[float]]] = {}
        for slot, stream in enumerate(streams):
            self.streams[stream.id] = stream
            self.slot_of[stream.id] = slot
            for t, w in stream.centroid.items():
                pair = by_term.get(t)
                if pair is None:
                    pair = by_term[t] = ([], [])
                pair[0].append(slot)
                pair[1].append(w)
        n = len(streams)
        self.ids[:n] = [s.id for s in streams]
        self.first[:n] = [_ts(s.first_seen) for s in streams]
        self.last[:n] = [_ts(s.last_seen) for s in streams]
        self.alive[:n] = True
        self.norms[:n] = [s.norm for s in streams]
        self.n_slots = n
        for t, (slots, weights) in by_term.items():
            posting = self.postings[t] = _Postings()
            posting.slots = array("q", slots)
            posting.weights = array("d", weights)
            posting.where = dict(zip(slots, range(len(slots))))

    def _slot(self, stream_id: int) -> int:
        if self.free:
            slot = self.free.pop()
        else:
            slot = self.n_slots
            self.n_slots += 1
            if slot >= len(self.ids):
                grow = len(self.ids)
                self.ids = np.concatenate([self.ids, np.zeros(grow, dtype=np.int64)])
                self.first = np.concatenate([self.first, np.zeros(grow)])
                self.last = np.concatenate([self.last, np.zeros(grow)])
                self.alive = np.concatenate([self.alive, np.zeros(grow, dtype=bool)])
                self.norms = np.concatenate([self.norms, np.ones(grow)])
        self.slot_of[stream_id] = slot
        return slot

    def put(self, stream: _Stream) -> None:
        self.streams[stream.id] = stream
        slot = self.slot_of.get(stream.id)
        if slot is None:
            slot = self._slot(stream.id)
        self.ids[slot] = stream.id
        self.first[slot] = _ts(stream.first_seen)
        self.last[slot] = _ts(stream.last_seen)
        self.alive[slot] = True
        self.norms[slot] = stream.norm
        for t, w in stream.centroid.items():
            posting = self.postings.get(t)
            if posting is None:
                posting = self.postings[t] = _Postings()
            posting.set(slot, w)

    def add(self, stream: _Stream, vector: dict[str, float], seen_at: str, keep: int) -> None:
        """Add an item's vector to an indexed stream, updating only the postings that change."""
        before = stream.centroid.keys() if len(stream.centroid) + len(vector) > keep else ()
        before = set(before)
        stream.add(vector, seen_at, keep)
        slot = self.slot_of[stream.id]
        centroid = stream.centroid
        for t in before - centroid.keys():        # cut off by the centroid's size limit
            posting = self.postings.get(t)
            if posting is not None:
                posting.remove(slot)
                if not posting.where:
                    del self.postings[t]
        for t in vector:
            w = centroid.get(t)
            if w is not None:
                posting = self.postings.get(t)
                if posting is None:
                    posting = self.postings[t] = _Postings()
                posting.set(slot, w)
        self.norms[slot] = stream.norm
        self.first[slot] = _ts(stream.first_seen)
        self.last[slot] = _ts(stream.last_seen)

    def drop(self, stream_id: int) -> None:
        stream = self.streams.pop(stream_id, None)
        if stream:
            slot = self.slot_of.pop(stream_id)
            self.alive[slot] = False
            self.free.append(slot)
            for t in stream.centroid:
                posting = self.postings.get(t)
                if posting is not None:
                    posting.remove(slot)
                    if not posting.where:
                        del self.postings[t]

    def scores(self, vector: dict[str, float]) -> np.ndarray:
        """Σ_t vector[t] · centroid[t] / ‖centroid‖ for every slot (0 for slots that share no term)."""
        slots, weights, factors, lengths = [], [], [], []
        for t, w in vector.items():
            posting = self.postings.get(t)
            if posting is not None:
                slots.append(posting.slots)
                weights.append(posting.weights)
                factors.append(w)
                lengths.append(len(posting.slots))
        if not slots:
            return np.zeros(self.n_slots)
        # the postings joined as raw bytes in one call, each weight times its term's: the same products, summed in
        # the same order, as one numpy product per term gave
        products = np.frombuffer(b"".join(weights), dtype=np.float64) * np.repeat(factors, lengths)
        dots = np.bincount(np.frombuffer(b"".join(slots), dtype=np.int64), products,
                           minlength=self.n_slots)[: self.n_slots]
        return dots / self.norms[: self.n_slots]

    def best(self, vector: dict[str, float], earliest: str, latest: str) -> tuple[_Stream | None, float]:
        """The stream (seen within [earliest, latest]) whose centroid is closest to a unit vector, and its score;
        ties go to the older stream."""
        n = self.n_slots
        scores = self.scores(vector)
        ok = self.alive[:n] & (self.last[:n] >= _ts(earliest)) & (self.first[:n] <= _ts(latest)) & (scores > 0)
        if not ok.any():
            return None, 0.0
        scores = np.where(ok, scores, -1.0)
        top = np.flatnonzero(scores >= scores.max() - _TIE)
        best, best_score = None, 0.0
        for slot in top:        # the exact scores of the leaders, computed as the plain definition says
            s = self.streams[int(self.ids[slot])]
            if s.last_seen < earliest or s.first_seen > latest:
                continue
            centroid = s.centroid
            dot = 0.0
            for t, w in vector.items():
                c = centroid.get(t)
                if c is not None:
                    dot += w * c
            score = dot / s.norm
            if score > best_score or (score == best_score and best is not None and s.id < best.id):
                best, best_score = s, score
        return best, best_score

    def similar(self, stream: _Stream, threshold: float, since: str) -> list[_Stream]:
        """Older streams (id below this one's, seen since `since`) whose cosine with it may reach `threshold`."""
        n = self.n_slots
        unit = sorted(((w / stream.norm, t) for t, w in stream.centroid.items()), reverse=True)
        # the weakest terms, up to half the threshold in norm, are left out of the sum: a stream can gain at most
        # that norm from them (Cauchy–Schwarz), so it is a candidate when the strong terms alone reach the rest
        rest, cut = 0.0, len(unit)
        while cut > 0 and rest + unit[cut - 1][0] ** 2 <= (threshold / 2) ** 2:
            cut -= 1
            rest += unit[cut][0] ** 2
        scores = self.scores({t: w for w, t in unit[:cut]})
        ok = (self.alive[:n] & (self.ids[:n] < stream.id) & (self.last[:n] >= _ts(since))
              & (scores >= threshold - math.sqrt(rest) - _TIE))
        return [self.streams[int(self.ids[slot])] for slot in np.flatnonzero(ok)]


_TIE = 1e-9   # vectorised sums may differ from the plain ones in the last bits; the leaders are rescored exactly


def _shift(iso: str, days: float) -> str:
    return (datetime.fromisoformat(iso) + timedelta(days=days)).isoformat()


def assign(store: Store, annotated: list[tuple[dict[str, Any], Any]],
           settings: StreamSettings | None = None) -> list[int]:
    """Place each (item row, annotation) in a stream; returns the stream id of each item, in the given order."""
    return StreamPlacer(store, settings).assign(annotated)


_resumable: dict[tuple, "StreamPlacer"] = {}
DUPLICATES_SLACK_DAYS = 1.0   # signatures older than the near-duplicate window by this much are dropped from memory


class StreamPlacer:
    """Places batches of items in streams for one run (one holder of the processing lock).

    The active streams (with their inverted index) and the near-duplicate signatures of the last days are read from
    the store once and then kept up to date in memory batch after batch, so the cost of a batch does not grow with
    the streams and the history kept. Only this run writes streams while it holds the lock; a batch that reaches
    further back in time than what is in memory reloads it from the store.
    """

    def __init__(self, store: Store, settings: StreamSettings | None = None):
        self.store = store
        self.settings = settings or StreamSettings()
        self.index: _Index | None = None
        self.index_since = ""            # every active stream seen since this time is in `index`
        self.duplicates: SimhashIndex | None = None
        self.duplicates_since = ""       # every placed item published since this time is in `duplicates`
        self.stream_of: dict[int, int] = {}      # item id → stream id, for the items in `duplicates`
        self.merged: dict[int, int] = {}         # stream id → the stream it was merged into during this run
        self.placed: int | None = None           # items placed in the store (the N of the IDF)
        self.token: str | None = None            # what this placer's last batch left in the store

    @classmethod
    def resume(cls, store: Store, settings: StreamSettings | None = None) -> "StreamPlacer":
        """The placer of this store kept from an earlier run in this process, if nothing but it has written streams,
        their items or signatures since its last batch (the store's placement token says so); else a new one.

        A worker that processes every few minutes then never reads all active streams and signatures again."""
        settings = settings or StreamSettings()
        if str(store.path) == ":memory:":
            return cls(store, settings)
        key = (str(Path(store.path).resolve()), astuple(settings))
        placer = _resumable.get(key)
        if placer is not None and placer.token is not None and store.placement_token() == placer.token:
            placer.store = store
            return placer
        placer = _resumable[key] = cls(store, settings)
        while len(_resumable) > 4:      # a process working on many stores keeps only the latest ones
            del _resumable[next(iter(_resumable))]
        return placer

    # --- what is kept between batches ----------------------------------------------------------------------------

    def _streams_since(self, since: str) -> _Index:
        if self.index is None or since < self.index_since:
            self.index = _Index(_from_row(r) for r in self.store.active_streams(since))
            self.index_since = since
        return self.index

    def _duplicates_since(self, since: str) -> SimhashIndex:
        if self.duplicates is None or since < self.duplicates_since:
            rows = self.store.recent_signatures(since)
            self.stream_of = {item_id: stream_id for item_id, _, _, stream_id, _ in rows}
            self._rebuild_duplicates([(sig, (item_id, story_id, published))
                                      for item_id, sig, story_id, _, published in rows], since)
        elif self.duplicates.payloads and self.duplicates.payloads[0][2] < _shift(since, -DUPLICATES_SLACK_DAYS):
            # drop what has fallen out of the window (at most once a day: the oldest signature, the first added, is
            # more than a day out of it), so lookups stay as cheap as on the first day; what is dropped could never
            # be accepted, so no lookup's answer changes
            keep = [(sig, payload) for sig, payload in zip(self.duplicates.signatures, self.duplicates.payloads)
                    if payload[2] >= since]
            self.stream_of = {payload[0]: self.stream_of[payload[0]] for _, payload in keep}
            self._rebuild_duplicates(keep, since)
        return self.duplicates

    def _rebuild_duplicates(self, entries, since: str) -> None:
        self.duplicates = SimhashIndex(self.settings.duplicate_distance)
        for sig, payload in entries:
            self.duplicates.add(sig, payload)
        self.duplicates_since = since

    def _resolve(self, stream_id: int) -> int:
        while stream_id in self.merged:
            stream_id = self.merged[stream_id]
        return stream_id

    # --- one batch ------------------------------------------------------------------------------------------------

    def assign(self, annotated: list[tuple[dict[str, Any], Any]]) -> list[int]:
        """Place each (item row, annotation) in a stream; returns the stream id of each item, in the given order."""
        store, settings = self.store, self.settings
        placed_before = store.placed_item_ids([item["id"] for item, _ in annotated])
        todo = [(item, ann) for item, ann in annotated if item["id"] not in placed_before]
        if todo:
            self.token = None
            self._place(todo)
            token = uuid.uuid4().hex
            store.set_placement_token(token)   # the last write of the batch: any later write clears it
            self.token = token
        where = store.streams_of_items([item["id"] for item, _ in annotated])
        return [where.get(item["id"], 0) for item, _ in annotated]

    def _place(self, todo: list[tuple[dict[str, Any], Any]]) -> None:
        store, settings = self.store, self.settings
        todo.sort(key=lambda pair: (pair[0]["published_at"], pair[0]["id"]))
        texts = [normalize(item_text(item)) for item, _ in todo]
        term_counts = [content_terms(s) for s in segment(texts)]
        batch_df = Counter()
        for terms in term_counts:
            batch_df.update(terms.keys())
        store.add_term_document_frequencies(batch_df)
        df = store.term_document_frequencies(batch_df.keys())
        if self.placed is None:
            self.placed = store.placed_count()
        n_docs = self.placed + len(todo)

        earliest = min(item["published_at"] for item, _ in todo)
        stream_floor = _shift(earliest, -settings.window_days)
        index = self._streams_since(stream_floor)
        duplicate_floor = _shift(earliest, -settings.duplicate_days)
        duplicates = self._duplicates_since(duplicate_floor)
        recent_enough = lambda payload: payload[2] >= duplicate_floor  # noqa: E731

        placements, signatures = [], []
        for (item, ann), text, terms in zip(todo, texts, term_counts):
            vector = weigh(terms, df, n_docs)
            signature = simhash(text)
            signatures.append((item["id"], signature))
            stream, story_id = None, item["id"]
            j, distance = duplicates.nearest(signature, accept=recent_enough)
            if j >= 0 and distance <= settings.duplicate_distance:
                original_id, story_id, _ = duplicates.payloads[j]
                sid = self._resolve(self.stream_of.get(original_id, 0))
                stream = index.streams.get(sid) or _load(store, sid)
                if stream is not None and sid not in index.streams:
                    index.put(stream)
            if stream is None:
                seen = item["published_at"]
                stream, score = index.best(vector, _shift(seen, -settings.window_days),
                                           _shift(seen, settings.window_days))
                if stream is None or score < settings.join_threshold:
                    stream = _Stream(store.create_stream(ann.topic, seen), ann.topic, seen, seen, {})
            if stream.id not in index.streams:
                index.put(stream)
            index.add(stream, vector, item["published_at"], settings.centroid_terms)
            stream.size += 1
            if stream.topics is not None:
                stream.topics[ann.topic] += 1
            if stream.phrases is not None:
                stream.phrases.update(set(ann.keyphrases))
            placements.append((item["id"], stream.id, story_id, item["day"], ann.topic, ann.sentiment,
                               item.get("source") or "", item.get("org_unit"), item.get("kind") or "article"))
            duplicates.add(signature, (item["id"], story_id, item["published_at"]))
            self.stream_of[item["id"]] = stream.id
        store.set_simhashes(signatures)
        store.place_items(placements)
        self.placed += len(placements)

        touched = [s for s in index.streams.values() if s.touched]
        for source_id, target_id in _merge_similar(store, index, touched, settings, stream_floor):
            self.merged[source_id] = target_id
        _save(store, [s for s in index.streams.values() if s.touched])
        for s in [s for s in index.streams.values() if s.guest]:
            index.drop(s.id)
        latest = max(item["published_at"] for item, _ in todo)
        quiet_before = _shift(latest, -settings.close_after_days)
        store.close_quiet_streams(quiet_before)
        for s in [s for s in index.streams.values() if s.last_seen < quiet_before]:
            index.drop(s.id)     # closed in the store just now


def _load(store: Store, stream_id: int) -> _Stream | None:
    row = store.stream(stream_id)
    if row is None:
        return None
    return _from_row(row, guest=row.get("status") != "active")


def _merge_similar(store: Store, index: _Index, touched: list[_Stream], settings: StreamSettings,
                   floor: str = "") -> list[tuple[int, int]]:
    """Merge each touched stream into an older active stream (seen since `floor`) that now says the same thing;
    returns the (merged, kept) pairs.

    The index's vectorised cosines pick the streams that may reach the merge threshold; those alone are compared
    with the exact cosine."""
    merges = []
    for stream in sorted(touched, key=lambda s: s.id, reverse=True):
        if stream.id not in index.streams:
            continue
        since = max(_shift(stream.first_seen, -settings.window_days), floor)
        best, best_score = None, 0.0
        for other in sorted(index.similar(stream, settings.merge_threshold, since), key=lambda s: s.id):
            score = cosine(stream.centroid, other.centroid, stream.norm, other.norm)
            if score > best_score:
                best, best_score = other, score
        if best is not None and best_score >= settings.merge_threshold:
            index.drop(stream.id)
            index.drop(best.id)
            store.merge_stream(stream.id, best.id)
            best.absorb(stream)
            index.put(best)
            merges.append((stream.id, best.id))
    return merges


PHRASES_KEPT = 50   # a stream keeps the counts of its most shared keyphrases only


def _save(store: Store, streams: list[_Stream]) -> None:
    """Write streams' centroids, sizes, majority topics and labels (their most shared keyphrases), in one statement.

    The counts behind the topic and the label are kept with each stream and grow item by item; only a stream whose
    counts are not known (made before they were kept, or changed outside placement) reads its items once."""
    unknown = [s.id for s in streams if s.topics is None]
    if unknown:
        counts = store.streams_topic_counts(unknown)
        for s in streams:
            if s.topics is None:
                s.topics = Counter(counts[s.id])
    for s in streams:
        if s.phrases is None:
            s.phrases = Counter()
            for kp in store.item_keyphrases_any(store.stream_recent_item_ids(s.id, 200)):
                s.phrases.update(set(kp))
    rows = []
    for s in streams:
        topic = max(s.topics, key=lambda t: (s.topics[t], t)) if s.topics else s.topic
        common = s.phrases.most_common(PHRASES_KEPT)
        s.phrases = Counter(dict(common))
        label_terms = [p for p, _ in common[:3]]
        if not label_terms:
            label_terms = [t.replace("_", " ") for t, _ in sorted(s.centroid.items(), key=lambda kv: -kv[1])[:3]]
        s.topic = topic
        rows.append((topic, " · ".join(label_terms), s.first_seen, s.last_seen,
                     {t: round(w, 5) for t, w in s.centroid.items()}, s.size, dict(s.topics), dict(common), s.id))
        s.touched = False
    store.update_streams(rows)
