"""Near-duplicate signatures: syndicated copies of one story (the same article on five sites) are recognised.

SimHash over word shingles of the folded text: copies that differ by a headline tweak, a byline or a few words
land within a few bits of each other, while different stories on one topic do not.
"""
from __future__ import annotations

import hashlib
import re
from typing import Iterable, Sequence

import numpy as np

from nlp.normalize import fold

__all__ = ["simhash", "hamming", "near_duplicates", "SIMHASH_BITS", "DEFAULT_MAX_DISTANCE"]

SIMHASH_BITS = 64
DEFAULT_MAX_DISTANCE = 8
_WORD = re.compile(r"[^\W_]+")


def _shingles(text: str) -> list[str]:
    """Words and word pairs of the folded text: pairs keep the order, words survive small reorderings."""
    words = _WORD.findall(fold(text))
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


def simhash(text: str) -> int:
    """A 64-bit signature of a text; 0 for a text with no words."""
    shingles = _shingles(text)
    if not shingles:
        return 0
    counts = np.zeros(SIMHASH_BITS, dtype=np.int64)
    for shingle in shingles:
        h = int.from_bytes(hashlib.blake2b(shingle.encode("utf-8"), digest_size=8).digest(), "big")
        bits = (h >> np.arange(SIMHASH_BITS, dtype=np.uint64).astype(np.uint64)) & 1
        counts += np.where(bits.astype(bool), 1, -1)
    value = 0
    for bit in range(SIMHASH_BITS):
        if counts[bit] > 0:
            value |= 1 << bit
    return value


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def nearest(signature: int, others: Sequence[int]) -> tuple[int, int]:
    """(index, distance) of the closest signature in `others`; (-1, 65) when there is none."""
    if not others or signature == 0:
        return -1, SIMHASH_BITS + 1
    arr = np.array(others, dtype=np.uint64)
    xor = np.bitwise_xor(arr, np.uint64(signature))
    distances = np.unpackbits(xor.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)
    best = int(np.argmin(distances))
    return best, int(distances[best])


def near_duplicates(texts: Iterable[str], max_distance: int = DEFAULT_MAX_DISTANCE) -> list[int]:
    """For each text, the index of the earlier text it copies, or its own index when it is the first of its story."""
    signatures: list[int] = []
    story: list[int] = []
    for i, text in enumerate(texts):
        sig = simhash(text)
        j, distance = nearest(sig, signatures)
        story.append(story[j] if j >= 0 and distance <= max_distance else i)
        signatures.append(sig)
    return story
