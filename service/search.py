"""The search language of the items page, as press-monitoring tools have it (pure functions, no I/O).

A word typed with diacritics matches with those diacritics (`lương` finds `lương`, not `luống`); a word typed without
matches the folded text (`luong` finds `lương`, `luống`, `luong`). Words side by side must all be there; `"nợ lương"`
is a phrase; `OR` (or `|`) between two parts takes either; `-word` or `-"a phrase"` excludes; `lươ*` is a prefix;
parentheses group. A phrase with any diacritics is matched with its diacritics, word for word.

`parse` turns a query into a tree, `to_fts` into an FTS5 MATCH expression over `items_search` (see service/store/),
`highlight` finds the matched words in a text for the snippet shown under each result.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from nlp.normalize import fold, place_tone_marks

MAX_QUERY_CHARS = 200
MAX_WORDS = 32
ORIGINAL_COLUMNS = "{title body}"
FOLDED_COLUMNS = "{title_folded body_folded}"


class SearchError(ValueError):
    """A query that cannot be read; the message is Vietnamese, for the page."""


@dataclass(frozen=True)
class Phrase:
    """One word or several in a row; `folded` when typed without diacritics; `prefix`: the last word may go on."""

    words: tuple[str, ...]
    folded: bool
    prefix: bool = False


@dataclass(frozen=True)
class All:
    parts: tuple["Node", ...]


@dataclass(frozen=True)
class Any_:
    parts: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    part: "Node"


Node = Phrase | All | Any_ | Not

_WORD = re.compile(r"\w+")
_PIECES = re.compile(r"(\w+)")
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "＂": '"'})
_TOKEN = re.compile(r'\s*(?:(?P<quote>"[^"]*"?\*?)|(?P<open>\()|(?P<close>\))|(?P<bar>\|)|(?P<minus>-)(?=[^\s-])'
                    r'|(?P<word>[^\s"()|]+))')


class _FoldTable(dict):
    """Code point → its folded form (nlp.normalize.fold of the one character), filled as characters are met."""

    def __missing__(self, code: int) -> str:
        value = fold(chr(code))
        self[code] = value
        return value


_FOLD_TABLE = _FoldTable()


def folded_form(text: str) -> str:
    """nlp.normalize.fold, character by character through str.translate: the same result on Vietnamese text
    (a test checks it), some twenty times faster, which matters when a large store's index is written."""
    return text.translate(_FOLD_TABLE)


@lru_cache(maxsize=200_000)
def _original_word(word: str) -> str:
    return place_tone_marks(word).lower()


def original_form(text: str) -> str:
    """The form of the original-text index: NFC, one tone placement (`hoà` = `hòa`), lower case."""
    # words and what lies between them, each through the cache (what lies between comes back lower-cased only)
    return "".join(map(_original_word, _PIECES.split(unicodedata.normalize("NFC", text))))


def _phrase(text: str, prefix: bool) -> Phrase | None:
    words = _WORD.findall(unicodedata.normalize("NFC", text))
    if not words:
        return None
    plain = folded_form(" ".join(words))
    if plain == " ".join(words).lower():   # typed without diacritics
        return Phrase(tuple(plain.split()), True, prefix)
    return Phrase(tuple(original_form(" ".join(words)).split()), False, prefix)


def _tokens(query: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    query = query.translate(_QUOTES)
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        if not m or m.end() == pos:
            if query[pos:].strip() == "":
                break
            raise SearchError("Không đọc được câu tìm kiếm.")
        pos = m.end()
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "quote":
            if value.count('"') < 2:
                raise SearchError("Thiếu dấu ngoặc kép đóng cụm từ.")
            out.append(("phrase", value))
        elif kind == "word" and value in ("OR", "AND", "NOT"):
            out.append((value.lower(), value))
        elif kind == "bar":
            out.append(("or", value))
        else:
            out.append((kind, value))
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def any_(self) -> Node | None:
        parts = [self.all_()]
        while self.peek() == "or":
            self.take()
            if self.peek() in (None, "or", "close"):
                raise SearchError("Sau «OR» cần một từ hoặc cụm từ.")
            parts.append(self.all_())
        parts = [p for p in parts if p is not None]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else Any_(tuple(parts))

    def all_(self) -> Node | None:
        parts: list[Node] = []
        if self.peek() == "or":
            raise SearchError("«OR» phải đứng giữa hai từ hoặc cụm từ.")
        while self.peek() not in (None, "or", "close"):
            kind, _ = self.tokens[self.pos]
            if kind == "and":
                self.take()
                continue
            negate = kind in ("minus", "not")
            if negate:
                self.take()
                if self.peek() in (None, "or", "close", "minus", "not", "and"):
                    raise SearchError("Sau dấu «-» cần một từ hoặc cụm từ cần loại trừ.")
            part = self.unary()
            if part is not None:
                parts.append(Not(part) if negate else part)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else All(tuple(parts))

    def unary(self) -> Node | None:
        kind, value = self.take()
        if kind == "open":
            inner = self.any_()
            if self.peek() != "close":
                raise SearchError("Thiếu dấu ngoặc đóng «)».")
            self.take()
            if inner is None:
                raise SearchError("Trong ngoặc «( )» cần ít nhất một từ.")
            return inner
        if kind == "close":
            raise SearchError("Thừa dấu ngoặc đóng «)».")
        if kind == "phrase":
            prefix = value.endswith("*")
            inner = value.rstrip("*")[1:-1]
            if inner.strip() == "":
                raise SearchError("Cụm từ trong ngoặc kép đang để trống.")
            phrase = _phrase(inner, prefix)
            if phrase is None:
                raise SearchError(f"Cụm từ «{inner.strip()}» không có chữ nào để tìm.")
            return phrase
        prefix = value.endswith("*")
        phrase = _phrase(value.rstrip("*"), prefix)
        if phrase is None:
            if prefix:
                raise SearchError("Dấu «*» phải đứng ngay sau phần đầu của một từ, ví dụ: lươ*.")
            return None   # punctuation alone, as in «a , b»: nothing to find, nothing wrong
        return phrase


def _check(node: Node, inside_all: bool = False) -> None:
    """FTS5 (as every search engine) cannot list 'everything but': an exclusion needs a word to stand beside."""
    if isinstance(node, Not):
        if not inside_all:
            raise SearchError("Cần ít nhất một từ cần tìm bên cạnh từ loại trừ (-).")
        _check(node.part, inside_all=False)
    elif isinstance(node, All):
        if all(isinstance(p, Not) for p in node.parts):
            raise SearchError("Cần ít nhất một từ cần tìm bên cạnh từ loại trừ (-).")
        for p in node.parts:
            if isinstance(p, Not):
                _check_positive(p.part)
            else:
                _check(p)
    elif isinstance(node, Any_):
        for p in node.parts:
            _check(p)


def _check_positive(node: Node) -> None:
    """An excluded part is matched as it is written; it must itself be findable."""
    if isinstance(node, Not):
        raise SearchError("Hai dấu loại trừ liền nhau không có nghĩa.")
    _check(node)


def _count_words(node: Node) -> int:
    if isinstance(node, Phrase):
        return len(node.words)
    if isinstance(node, Not):
        return _count_words(node.part)
    return sum(_count_words(p) for p in node.parts)


def parse(query: str) -> Node | None:
    """The query's tree; None when it holds nothing to search for. Raises SearchError (Vietnamese) if malformed."""
    query = (query or "").strip()
    if len(query) > MAX_QUERY_CHARS:
        raise SearchError(f"Câu tìm kiếm dài quá {MAX_QUERY_CHARS} ký tự.")
    if not query:
        return None
    parser = _Parser(_tokens(query))
    node = parser.any_()
    if parser.pos < len(parser.tokens):
        raise SearchError("Thừa dấu ngoặc đóng «)».")
    if node is None:
        return None
    _check(node)
    if _count_words(node) > MAX_WORDS:
        raise SearchError(f"Câu tìm kiếm có quá {MAX_WORDS} từ.")
    return node


def to_fts(node: Node) -> str:
    """The FTS5 MATCH expression of a parsed query over items_search(title, body, title_folded, body_folded)."""
    if isinstance(node, Phrase):
        columns = FOLDED_COLUMNS if node.folded else ORIGINAL_COLUMNS
        return f'{columns} : "{" ".join(node.words)}"' + (" *" if node.prefix else "")
    if isinstance(node, Any_):
        return "(" + " OR ".join(to_fts(p) for p in node.parts) + ")"
    if isinstance(node, All):
        positive = [to_fts(p) for p in node.parts if not isinstance(p, Not)]
        expr = "(" + " AND ".join(positive) + ")"
        for p in node.parts:
            if isinstance(p, Not):
                expr = f"({expr} NOT {to_fts(p.part)})"
        return expr
    raise SearchError("Cần ít nhất một từ cần tìm bên cạnh từ loại trừ (-).")


def positive_phrases(node: Node | None) -> list[Phrase]:
    """The phrases a result is found by (the excluded ones left out): what a snippet highlights."""
    if node is None or isinstance(node, Not):
        return []
    if isinstance(node, Phrase):
        return [node]
    return [p for part in node.parts for p in positive_phrases(part)]


def _word_matches(word: str, typed: str, folded: bool, prefix: bool) -> bool:
    form = folded_form(word) if folded else original_form(word)
    return form.startswith(typed) if prefix else form == typed


def highlight(text: str, node: Node | None, width: int = 260) -> list[tuple[str, bool]]:
    """A window of `text` around its first match, as (piece, is_match) pairs; the text's start when nothing matches.

    Matches follow the query's rules (diacritics or folded, phrases word for word, prefixes), so what is marked is
    what was found.
    """
    text = text or ""
    words = list(_WORD.finditer(text))
    marked: list[tuple[int, int]] = []
    for phrase in positive_phrases(node):
        n = len(phrase.words)
        for i in range(len(words) - n + 1):
            if all(_word_matches(words[i + k].group(0), phrase.words[k], phrase.folded,
                                 phrase.prefix and k == n - 1) for k in range(n)):
                marked.append((words[i].start(), words[i + n - 1].end()))
    marked.sort()
    start = 0
    if marked and marked[0][0] > width // 4:
        start = marked[0][0] - width // 4
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < marked[0][0] else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    pieces: list[tuple[str, bool]] = []
    if start > 0:
        pieces.append(("…", False))
    pos = start
    for a, b in marked:
        if b <= pos or a >= end:
            continue
        a, b = max(a, pos), min(b, end)
        if a > pos:
            pieces.append((text[pos:a], False))
        pieces.append((text[a:b], True))
        pos = b
    if pos < end:
        pieces.append((text[pos:end], False))
    if end < len(text):
        pieces.append(("…", False))
    return pieces


def index_forms(title: str, text: str) -> tuple[str, str, str, str]:
    """The four columns of items_search for one item: title and body as typed (original form), then folded."""
    return original_form(title or ""), original_form(text or ""), folded_form(title or ""), folded_form(text or "")
