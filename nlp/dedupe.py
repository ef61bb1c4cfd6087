"""Near-duplicate signatures: syndicated copies of one story (the same article on five sites) are recognised.

SimHash over word shingles of the folded text: copies that differ by a headline tweak, a byline or a few words
land within a few bits of each other, while different stories on one topic do not. `SimhashIndex` finds the
nearest earlier signature within a distance without comparing with every signature (banded lookup), so the cost of
a lookup does not grow with the days of history kept.
"""
from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from typing import Any, Iterable, Sequence

import numpy as np

from nlp.normalize import fold

__all__ = ["simhash", "hamming", "nearest", "near_duplicates", "SimhashIndex", "SIMHASH_BITS",
           "DEFAULT_MAX_DISTANCE"]

SIMHASH_BITS = 64
DEFAULT_MAX_DISTANCE = 8
_WORD = re.compile(r"[^\W_]+")
_BIT_WEIGHTS = np.uint64(1) << np.arange(SIMHASH_BITS, dtype=np.uint64)


def _shingles(text: str) -> list[str]:
    """Words and word pairs of the folded text: pairs keep the order, words survive small reorderings."""
    words = _WORD.findall(fold(text))
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


def simhash(text: str) -> int:
    """A 64-bit signature of a text; 0 for a text with no words."""
    shingles = _shingles(text)
    if not shingles:
        return 0
    digests = b"".join(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest() for s in shingles)
    hashes = np.frombuffer(digests, dtype=">u8").astype(np.uint64)
    bits = (hashes[:, None] >> np.arange(SIMHASH_BITS, dtype=np.uint64)) & np.uint64(1)
    ones = bits.sum(axis=0, dtype=np.int64)
    positive = 2 * ones > len(shingles)          # more shingles set the bit than leave it clear
    return int(_BIT_WEIGHTS[positive].sum(dtype=np.uint64))


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


class SimhashIndex:
    """Signatures with a payload, searchable for the nearest one within `max_distance` bits.

    The 64 bits are cut into `max_distance // 3 + 1` bands: two signatures within `max_distance` bits differ by at
    most two bits in at least one band (pigeonhole), so looking up each band's value and its neighbours within two
    bits finds every signature within reach. Bands are wide (22 bits for the default 8), so a lookup meets almost
    only true neighbours and its cost stays flat however many signatures the index holds. Ties on distance go to
    the signature added first, as a linear scan would.
    """

    FLIPS = 2   # bits that may differ inside the band that matches

    def __init__(self, max_distance: int = DEFAULT_MAX_DISTANCE):
        self.max_distance = max_distance
        n_bands = max_distance // (self.FLIPS + 1) + 1
        edges = [round(i * SIMHASH_BITS / n_bands) for i in range(n_bands + 1)]
        self._bands = [(lo, (1 << (hi - lo)) - 1) for lo, hi in zip(edges, edges[1:])]
        self._flips = []
        for lo, hi in zip(edges, edges[1:]):
            width = hi - lo
            ones = [1 << b for b in range(width)]
            twos = [(1 << a) | (1 << b) for a in range(width) for b in range(a + 1, width)]
            self._flips.append(np.array([0] + ones + twos, dtype=np.int64))
        self._buckets: list[dict[int, list[int]]] = [defaultdict(list) for _ in self._bands]
        # which band values hold signatures, one byte per possible value (a few MB): the values within reach of a
        # lookup are checked with one numpy read, whatever the number of signatures held
        self._present = [np.zeros(mask + 1, dtype=bool) for _, mask in self._bands]
        self.signatures: list[int] = []
        self.payloads: list[Any] = []

    def __len__(self) -> int:
        return len(self.signatures)

    def add(self, signature: int, payload: Any = None) -> None:
        position = len(self.signatures)
        self.signatures.append(signature)
        self.payloads.append(payload)
        if signature == 0:
            return
        for (shift, mask), buckets, present in zip(self._bands, self._buckets, self._present):
            value = (signature >> shift) & mask
            buckets[value].append(position)
            present[value] = True

    def nearest(self, signature: int, accept=None) -> tuple[int, int]:
        """(position, distance) of the closest signature within `max_distance` whose payload `accept`s (all when
        None); (-1, 65) when there is none."""
        if signature == 0:
            return -1, SIMHASH_BITS + 1
        best, best_distance = -1, self.max_distance + 1
        signatures = self.signatures
        for (shift, mask), buckets, flips, present in zip(self._bands, self._buckets, self._flips, self._present):
            within = np.bitwise_xor(flips, (signature >> shift) & mask)
            # the band values within reach that hold signatures (the order they are met in does not matter: the
            # nearest accepted signature, first added on a tie, wins whatever the order)
            for key in within[present[within]].tolist():
                for position in buckets[key]:   # a position met twice cannot win twice
                    distance = (signatures[position] ^ signature).bit_count()
                    if distance < best_distance or (distance == best_distance and position < best):
                        if accept is None or accept(self.payloads[position]):
                            best, best_distance = position, distance
        if best < 0:
            return -1, SIMHASH_BITS + 1
        return best, best_distance


def near_duplicates(texts: Iterable[str], max_distance: int = DEFAULT_MAX_DISTANCE) -> list[int]:
    """For each text, the index of the earlier text it copies, or its own index when it is the first of its story."""
    index = SimhashIndex(max_distance)
    story: list[int] = []
    for i, text in enumerate(texts):
        sig = simhash(text)
        j, _ = index.nearest(sig)
        story.append(story[j] if j >= 0 else i)
        index.add(sig)
    return story
