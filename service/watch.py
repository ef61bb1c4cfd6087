"""Watch terms that mean what the board typed.

A term typed with diacritics matches only with those diacritics (`đình công` never matches `Định Công`), a term typed
without them matches the folded text (`dinh cong` matches both); either way word-bounded and case-insensitive, on NFC
text with one tone-mark placement. A term may carry excluded contexts («Al Nassr, Ronaldo»): an item naming one of
them is no hit. The full-text index finds candidates fast; each is then checked exactly here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from nlp.gazetteer import canonical
from nlp.normalize import fold
from nlp.relevance import is_relevant
from service.store import Store

__all__ = ["WatchHit", "watch_hits", "term_hits", "TermMatcher", "parse_contexts"]


@dataclass
class WatchHit:
    term_id: int
    term: str
    item_id: int
    stream_id: int | None
    topic: str | None
    day: str
    relevant: bool


def parse_contexts(value: str | None) -> list[str]:
    """The excluded contexts typed in one field, split at commas, semicolons or new lines."""
    return [c.strip() for c in re.split(r"[,;\n]", value or "") if len(c.strip()) >= 2]


class TermMatcher:
    """One watch term and its excluded contexts, ready to check texts."""

    def __init__(self, term: str, excluded_contexts: str | list[str] = ""):
        self.term = canonical(term).strip()
        contexts = parse_contexts(excluded_contexts) if isinstance(excluded_contexts, str) else excluded_contexts
        self._term = _phrase(self.term)
        self._contexts = [_phrase(c) for c in contexts]
        self.folded_words = re.findall(r"\w+", fold(self.term))

    def matches(self, text: str) -> bool:
        """The term is in the text, and none of its excluded contexts is."""
        if self._term is None:
            return False
        exact = canonical(text)
        if not _search(self._term, exact):
            return False
        for ctx in self._contexts:
            if ctx is not None and _search(ctx, exact):
                return False
        return True


def _has_diacritics(phrase: str) -> bool:
    return fold(phrase) != phrase.lower()


@lru_cache(maxsize=512)
def _phrase(phrase: str) -> tuple[bool, re.Pattern[str]] | None:
    """(match on folded text?, pattern) for a phrase; None for a phrase without a word."""
    words = re.findall(r"\w+", canonical(phrase))
    if not words:
        return None
    folded = not _has_diacritics(phrase)
    if folded:
        words = [fold(w) for w in words]
    body = r"\W+".join(re.escape(w) for w in words)
    return folded, re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def _search(compiled: tuple[bool, re.Pattern[str]], text: str) -> bool:
    folded, pattern = compiled
    return pattern.search(fold(text) if folded else text) is not None


def _day(value: date | str) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def term_hits(store: Store, term: dict, since_day: date | str, until_day: date | str,
              limit: int = 5000) -> list[WatchHit]:
    """The items of the days (inclusive) that one stored watch term truly matches, oldest first."""
    matcher = TermMatcher(term["term"], term.get("excluded_contexts") or "")
    rows = store.watch_candidates(matcher.folded_words, _day(since_day), _day(until_day), limit=limit)
    missing = [r for r in rows if r["workers"] is None]
    scored = {}
    if missing:
        from service.relevance import item_relevance

        scored = {r["item_id"]: item_relevance(r, r.get("topic")) for r in missing}
    hits = []
    for r in rows:
        if not matcher.matches(f"{r['title']}\n{r['text']}"):
            continue
        if r["workers"] is None:
            rel = scored[r["item_id"]]
            relevant = rel.relevant
        else:
            relevant = is_relevant(r["workers"], r["excluded"])
        hits.append(WatchHit(term["id"], term["term"], r["item_id"], r["stream_id"], r["topic"], r["day"], relevant))
    return hits


def watch_hits(store: Store, since_day: date | str, until_day: date | str) -> list[WatchHit]:
    """Every watch term's true hits between two local days (inclusive), relevant or not, by term then day."""
    out: list[WatchHit] = []
    for term in store.watch_terms():
        out.extend(term_hits(store, term, since_day, until_day))
    return out
