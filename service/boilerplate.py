"""Outlets' boilerplate taken out of the text a briefing quotes: save-article notices, «Xem thêm», bylines, datelines
like «(NLĐO) -», photo captions.

Two parts. A small shipped list of what Vietnamese outlets put around an article (`SHIPPED_*`). And what each source
repeats: as press items arrive, `learn` counts per source the lines, the opening words and the closing words that
its items share (Store.learn_source_segments); a segment that at least `MIN_ITEMS` items and `MIN_SHARE` of the
source's items carry is boilerplate (24h.com.vn opens 887 of its 888 items with «Lưu bài viết thành công Bạn có thể
xem lại bài viết đã lưu ở trangTin bài đã lưu»). `clean(text, learned)` is pure; `QuoteCleaner(store)` reads
what was learned, once per source. Only press items teach: collaborators' reports repeat each other's words on
purpose.
"""
from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from nlp.normalize import fold

log = logging.getLogger("pulse.boilerplate")

MIN_ITEMS = 3        # a segment is the source's boilerplate when at least this many of its items carry it …
MIN_SHARE = 0.2      # … and at least this share of the items it has sent
HEAD_WORDS = (4, 24)   # the opening / closing word runs counted, from 4 to 24 words long
MAX_LINE = 200       # longer lines are content, never learned
MIN_LEFT = 20        # a cleaning that would leave less than this many characters is not done

# whole lines (folded, without final punctuation) that are never content
SHIPPED_LINES = {
    "luu bai viet thanh cong", "xem them", "doc them", "tin lien quan", "bai lien quan", "tin bai lien quan",
    "chia se", "binh luan", "in bai", "quay lai", "tin noi bat", "tin moi nhat", "video dang duoc xem nhieu",
    "tin bai da luu", "theo doi chung toi tren google news", "nguon", "xem tiep", "doc tiep", "tom tat",
}
# lines starting with these (folded) are navigation, captions or credits
SHIPPED_LINE_STARTS = ("xem them:", "doc them:", "xem them >>", "tin lien quan:", "anh:", "anh minh hoa",
                       "video:", "clip:", "nguon:", "bai va anh:", ">> ", "» ")
SHORT_LINE = 160     # … when the line is no longer than this (a long line is an article glued to its label)
# a notice glued before the text (24h.com.vn), and an outlet's dateline: «(NLĐO) -», «(Dân trí) -», «TPO -»
SHIPPED_HEADS = [
    re.compile(r"^\s*Lưu bài viết thành công\s*Bạn có thể xem lại bài viết đã lưu ở trang\s*Tin bài đã lưu\s*"),
    re.compile(r"^\s*\([^()\n]{2,24}\)\s*[-–—]+\s*"),
]
_DATELINE = re.compile(r"^\s*([^\s()]+(?: [^\s()]+){0,3})\s*[-–—]+\s+")
_CAPTION = re.compile(r"\((?:Ảnh|Ảnh minh họa|Ảnh minh hoạ|Nguồn ảnh|Nguồn)\s*:[^)]{0,80}\)\s*[.!?]?\s*", re.I)
CAPTION_LEAD = 300   # a photo credit this near the start closes the photo's caption, which the feed put first
_SENTENCE_END = ".!?…:;,\"”»)"


@dataclass
class Learned:
    """A source's learned boilerplate: whole lines, opening and closing word runs."""

    lines: set[str] = field(default_factory=set)
    heads: set[str] = field(default_factory=set)
    tails: set[str] = field(default_factory=set)


def _norm(line: str) -> str:
    return " ".join(line.split())


def segments(text: str) -> set[tuple[str, str]]:
    """The (place, segment) pairs an item contributes to its source's counts: each short line, and the word runs
    of 4–24 words that open its first line and close its last one."""
    lines = [_norm(x) for x in (text or "").splitlines() if x.strip()]
    out = {("line", x) for x in lines if len(x) <= MAX_LINE}
    if lines:
        first, last = lines[0].split(), lines[-1].split()
        for n in range(HEAD_WORDS[0], HEAD_WORDS[1] + 1):
            if len(first) > n:      # a run that is the whole line is counted as a line
                out.add(("head", " ".join(first[:n])))
            if len(last) > n:
                out.add(("tail", " ".join(last[-n:])))
    return out


def count(items: Iterable[dict]) -> dict[str, tuple[int, Counter]]:
    """Per source: (press items seen, how many of them carry each segment)."""
    out: dict[str, tuple[int, Counter]] = {}
    for item in items:
        if item.get("kind") != "article" or not item.get("source"):
            continue
        n, counter = out.get(item["source"], (0, Counter()))
        counter.update(segments(item.get("text") or ""))
        out[item["source"]] = (n + 1, counter)
    return out


def learn(store, items: Iterable[dict]) -> int:
    """Count the segments of newly stored items (dicts with kind, source, text) into the store; returns how many
    items taught something. Learning must never lose an item: callers run it after the items are stored."""
    counts = count(items)
    if counts:
        store.learn_source_segments(counts)
    return sum(n for n, _ in counts.values())


def learn_new(store, ids: list[int]) -> None:
    """Learn from items just stored (by id); a failure is logged and never stops collection or import."""
    if not ids:
        return
    try:
        learn(store, store.items_by_ids(ids))
    except Exception:   # learning is a help to quotes, not part of storing
        log.exception("learning the boilerplate of %d new items failed", len(ids))


def _is_byline(line: str) -> bool:
    """A short closing credit: «Hà Thu (tổng hợp)», «THU HÀ», «Theo VTV», «Nguyễn Văn A - Trần B»."""
    words = line.replace("(", " ").replace(")", " ").replace("-", " ").split()
    if not words or len(words) > 6 or line[-1:] in ".!?:;,…\"”»":
        return False
    if fold(words[0]) == "theo" and len(words) <= 5:
        return True
    tail = {"tong", "hop", "tong hop", "thuc hien", "luoc dich", "bien dich", "dich", "ghi", "nhom pv", "pv", "ctv"}
    named = [w for w in words if fold(w) not in tail]
    return bool(named) and all(w[:1].isupper() for w in named) and len(named) <= 5


def clean(text: str, learned: Learned | None = None) -> str:
    """The text without its outlet's boilerplate lines, notices, datelines, captions and closing byline."""
    original = text or ""
    learned = learned or Learned()
    lines = []
    for raw in original.splitlines():
        line = _norm(raw)
        key = fold(line).rstrip(" .:…>»")
        if not line or key in SHIPPED_LINES or line in learned.lines or (
                len(line) <= SHORT_LINE and fold(line).startswith(SHIPPED_LINE_STARTS)):
            continue
        lines.append(line)
    if lines:
        lines[0] = _strip_head(lines[0], learned)
        lines[-1] = _strip_tail(lines[-1], learned)
        lines = [_uncaption(x) for x in lines]
        lines = [x for x in lines if x]
    while len(lines) > 1 and _is_byline(lines[-1]):
        lines.pop()
    cleaned = "\n".join(lines).strip()
    return cleaned if len(cleaned) >= min(MIN_LEFT, len(original.strip())) else original.strip()


def _uncaption(line: str) -> str:
    """Without photo credits «(Ảnh: AFP)»; a caption that opens the text (feeds put it first) goes with its credit."""
    m = _CAPTION.search(line)
    while m:
        line = line[m.end():] if m.start() <= CAPTION_LEAD and line[:m.start()].count(". ") < 2 else (
            line[:m.start()].rstrip() + " " + line[m.end():]).strip()
        m = _CAPTION.search(line)
    return line.strip()


def _strip_head(line: str, learned: Learned) -> str:
    for _ in range(3):   # a notice, then a dateline
        before = line
        words = line.split()
        for n in range(min(len(words) - 1, HEAD_WORDS[1]), HEAD_WORDS[0] - 1, -1):
            if " ".join(words[:n]) in learned.heads:
                line = " ".join(words[n:])
                break
        for pattern in SHIPPED_HEADS:
            line = pattern.sub("", line, count=1)
        m = _DATELINE.match(line)
        if m and m.group(1) == m.group(1).upper() and any(c.isalpha() for c in m.group(1)):
            line = line[m.end():]
        if line == before:
            break
    return line.strip()


def _strip_tail(line: str, learned: Learned) -> str:
    words = line.split()
    for n in range(min(len(words) - 1, HEAD_WORDS[1]), HEAD_WORDS[0] - 1, -1):
        if " ".join(words[-n:]) in learned.tails:
            return " ".join(words[:-n])
    return line


class QuoteCleaner:
    """Cleans the texts a briefing quotes with each source's learned boilerplate, read once per source."""

    def __init__(self, store=None) -> None:
        self.store = store
        self._learned: dict[str, Learned] = {}

    def learned(self, source: str) -> Learned:
        if source not in self._learned:
            found = self.store.source_boilerplate(source, MIN_ITEMS, MIN_SHARE) if self.store and source else {}
            self._learned[source] = Learned(*(set(found.get(k, ())) for k in ("line", "head", "tail")))
        return self._learned[source]

    def __call__(self, text: str, source: str = "") -> str:
        return clean(text, self.learned(source))
