"""Vietnamese word segmentation, batched, cached by sentence and (for the slow method) spread over cores.

`segment(["Công nhân đình công"])` → `["Công_nhân đình_công"]`. Two methods: `dictionary` (the default: longest
matching over underthesea's own word list, `nlp.fastseg`, several times faster) and `crf` (underthesea's
`word_tokenize`). A model records the method it was trained with (`TextClassifier.segmenter`) and is always fed the
same. Syndicated news repeats whole sentences, so each sentence is segmented once per process (a bounded cache keyed
by its hash and the method). Large `crf` batches go to a small pool of worker processes. Never raises on a str:
empty, emoji-only, foreign or huge input gives a string back.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
import threading
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor

__all__ = ["segment", "split_sentences", "MAX_CHARS", "SEGMENTERS", "DEFAULT_SEGMENTER"]

SEGMENTERS = ("dictionary", "crf")
DEFAULT_SEGMENTER = "dictionary"

MAX_CHARS = 20_000          # a text is cut here before segmentation: the lead of an article decides its annotations
MAX_SENTENCE_CHARS = 1_000  # longer runs without punctuation are cut into pieces of this size
CACHE_SIZE = 200_000
PARALLEL_MIN_CHARS = 400_000  # below this much uncached text a pool costs more than it saves

_SENTENCE_END = re.compile(r"(?<=[.!?…;])\s+|\n+")
_cache: OrderedDict[bytes, str] = OrderedDict()
_pool: ProcessPoolExecutor | None = None


def split_sentences(text: str) -> list[str]:
    """Cheap sentence split on end punctuation and newlines; very long pieces are cut on spaces."""
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        sentence = sentence.strip()
        while len(sentence) > MAX_SENTENCE_CHARS:
            cut = sentence.rfind(" ", 0, MAX_SENTENCE_CHARS)
            cut = cut if cut > 0 else MAX_SENTENCE_CHARS
            pieces.append(sentence[:cut])
            sentence = sentence[cut:].strip()
        if sentence:
            pieces.append(sentence)
    return pieces


def _key(sentence: str, method: str = DEFAULT_SEGMENTER) -> bytes:
    data = sentence.encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data if method == DEFAULT_SEGMENTER else method.encode() + b"\0" + data,
                           digest_size=12).digest()


def _tokenize_one(sentence: str, method: str = DEFAULT_SEGMENTER) -> str:
    try:
        if method == "dictionary":
            from nlp.fastseg import segment_fast

            return segment_fast(sentence)
        from underthesea import word_tokenize

        return word_tokenize(sentence, format="text")
    except Exception:  # underthesea can fail on odd input; keep the words as they are
        return " ".join(sentence.split())


def _tokenize_many(sentences: list[str], method: str = DEFAULT_SEGMENTER) -> list[str]:
    return [_tokenize_one(s, method) for s in sentences]


def _tokenize_crf(sentences: list[str]) -> list[str]:
    return _tokenize_many(sentences, "crf")


def _get_pool(workers: int) -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # fork is cheap and does not re-run the caller's __main__; a threaded caller (a web server) gets spawn,
        # because forking a process whose other threads hold locks can deadlock the child
        method = "fork" if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods() else "spawn"
        _pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method),
                                    initializer=_end_with_parent, initargs=(os.getpid(),))
    return _pool


def _end_with_parent(parent: int, interval: float = 1.0) -> None:
    """In a pool worker: exit soon after the process that made the pool is gone (killed, crashed), never to live
    on as an orphan holding a model in memory."""
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(0)

    threading.Thread(target=watch, name="segment-parent-watch", daemon=True).start()


def _segment_sentences(sentences: list[str], workers: int, method: str = DEFAULT_SEGMENTER) -> list[str]:
    if method == DEFAULT_SEGMENTER:
        return _tokenize_many(sentences)   # fast enough that a pool would cost more than it saves
    total = sum(map(len, sentences))
    if multiprocessing.parent_process() is not None:
        workers = 1  # already a worker: never start pools from inside a pool
    if workers <= 1 or total < PARALLEL_MIN_CHARS or len(sentences) < 2 * workers:
        return _tokenize_crf(sentences)
    chunk = max(50, len(sentences) // (workers * 8))
    batches = [sentences[i:i + chunk] for i in range(0, len(sentences), chunk)]
    try:
        pool = _get_pool(workers)
        results = list(pool.map(_tokenize_crf, batches))
    except Exception:  # a broken pool must not lose the batch
        shutdown()
        return _tokenize_crf(sentences)
    return [s for batch in results for s in batch]


def segment(texts: list[str], workers: int | None = None, max_chars: int = MAX_CHARS,
            method: str = DEFAULT_SEGMENTER) -> list[str]:
    """Word-segment each text (words joined by `_`, tokens by spaces), one string per input text."""
    if method not in SEGMENTERS:
        raise ValueError(f"unknown segmenter {method!r} (known: {', '.join(SEGMENTERS)})")
    if workers is None:
        workers = os.cpu_count() or 1
    split = [split_sentences(str(t or "")[:max_chars]) for t in texts]
    todo: dict[bytes, str] = {}
    for sentences in split:
        for s in sentences:
            k = _key(s, method)
            if k in _cache:
                _cache.move_to_end(k)
            else:
                todo.setdefault(k, s)
    if todo:
        keys = list(todo)
        for k, seg in zip(keys, _segment_sentences([todo[k] for k in keys], workers, method)):
            _cache[k] = seg
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    out = []
    for sentences in split:
        out.append(" ".join(_cache.get(_key(s, method)) or _tokenize_one(s, method) for s in sentences))
    return out


def shutdown() -> None:
    """Stop the worker pool (tests, interpreter exit)."""
    global _pool
    if _pool is not None:
        _pool.shutdown(cancel_futures=True)
        _pool = None
