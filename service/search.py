"""The search language of the items page, as press-monitoring tools have it (pure functions, no I/O).

A word typed with diacritics matches with those diacritics (`lương` finds `lương`, not `luống`); a word typed without
matches the folded text (`luong` finds `lương`, `luống`, `luong`). Words side by side must all be there; `"nợ lương"`
is a phrase; `OR` (or `|`) between two parts takes either; `-word` or `-"a phrase"` excludes; `lươ*` is a prefix;
parentheses group. A phrase with any diacritics is matched with its diacritics, word for word.

`parse` turns a query into a tree, `to_fts` into an FTS5 MATCH expression over `items_search` (see service/store/),
`to_tsqueries` into PostgreSQL's form of the same query (tsquery texts over the `original` and `folded` tsvectors),
`highlight` finds the matched words in a text for the snippet shown under each result.

On PostgreSQL the index splits text into words as `ts_words` does (runs of letters and decimal digits, what ICU's
`[:alnum:]` holds: see the PostgreSQL forms of migrations 1 and 6), so `covid-19`, `TP.HCM` or `5.000` are words side by
side as SQLite's unicode61 tokenizer has them, not the compound tokens of PostgreSQL's own parser.
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


# --- PostgreSQL: the same tree as tsquery texts over items_search's `original` and `folded` tsvectors ----------------

@dataclass(frozen=True)
class TsMatch:
    """One tsquery (a text for `to_tsquery('simple', …)`) over one of items_search's tsvectors: "original" or
    "folded" (items_fts has only the folded one)."""

    column: str
    query: str


TsNode = TsMatch | All | Any_ | Not


class _WordChars(dict):
    """Code point → itself when it is a letter or a decimal digit (ICU's [:alnum:], which splits the PostgreSQL index's
    text into words), else a space; filled as characters are met."""

    def __missing__(self, code: int) -> int | str:
        category = unicodedata.category(chr(code))
        value = code if category[0] == "L" or category == "Nd" else " "
        self[code] = value
        return value


_WORD_CHARS = _WordChars()


def ts_words(text: str) -> list[str]:
    """The words of `text` as the PostgreSQL index holds them (`a_b` and `covid-19` are two words each)."""
    return text.translate(_WORD_CHARS).split()


def _ts_phrase(phrase: Phrase, weighted: bool) -> str | None:
    """A phrase as a tsquery: its words in a row, the last one a prefix if asked. `weighted`: over a tsvector whose
    title is weight A and body weight B, a phrase of several words holds within one of them (as FTS5 matches a phrase
    within one column). None when the phrase holds no word the index keeps (as «_»): it matches nothing, as in FTS5."""
    words = [w for word in phrase.words for w in ts_words(word)]
    if not words:
        return None

    def row(weight: str) -> str:
        marks = [("*" if phrase.prefix and n == len(words) - 1 else "") + weight for n in range(len(words))]
        return " <-> ".join(f"'{w}'" + (f":{m}" if m else "") for w, m in zip(words, marks))

    if len(words) == 1 or not weighted:
        return row("")
    return f"({row('A')} | {row('B')})"


def _group(kind: type, parts: list[TsNode]) -> TsNode:
    """All / Any_ of parts, the parts over one column joined into one tsquery (& and ! for All, | for Any_)."""
    by_column: dict[str, tuple[list[str], list[str]]] = {}
    rest: list[TsNode] = []
    for part in parts:
        inner = part.part if isinstance(part, Not) else part
        if isinstance(inner, TsMatch):
            positive, negative = by_column.setdefault(inner.column, ([], []))
            (negative if isinstance(part, Not) else positive).append(f"({inner.query})")
        else:
            rest.append(part)
    grouped: list[TsNode] = []
    for column, (positive, negative) in by_column.items():
        if kind is Any_:
            grouped.append(TsMatch(column, " | ".join(positive)))
        elif positive:
            grouped.append(TsMatch(column, " & ".join(positive + [f"!{n}" for n in negative])))
        else:
            grouped.append(Not(TsMatch(column, " | ".join(negative))))
    grouped += rest
    return grouped[0] if len(grouped) == 1 and not isinstance(grouped[0], Not) else kind(tuple(grouped))


def _ts_node(node: Node) -> TsNode | None:
    if isinstance(node, Phrase):
        query = _ts_phrase(node, weighted=True)
        return None if query is None else TsMatch("folded" if node.folded else "original", query)
    if isinstance(node, Any_):
        parts = [p for p in (_ts_node(part) for part in node.parts) if p is not None]
        return _group(Any_, parts) if parts else None
    if isinstance(node, All):
        parts: list[TsNode] = []
        for part in node.parts:
            inner = _ts_node(part.part if isinstance(part, Not) else part)
            if inner is None and not isinstance(part, Not):
                return None          # a part that matches nothing: the whole matches nothing
            if inner is not None:    # excluding what matches nothing excludes nothing
                parts.append(Not(inner) if isinstance(part, Not) else inner)
        return _group(All, parts)
    raise SearchError("Cần ít nhất một từ cần tìm bên cạnh từ loại trừ (-).")


def to_tsqueries(node: Node) -> TsNode | None:
    """PostgreSQL's form of a parsed query: TsMatch leaves (one tsquery over the `original` or the `folded` tsvector)
    joined by All / Any_ / Not as the query joins them, the parts over one tsvector merged into one tsquery; None when
    nothing can match. `lương -luong` needs both tsvectors: All((TsMatch("original", "('lương')"),
    Not(TsMatch("folded", "('luong')")))), which service/store/search.py writes as SQL."""
    return _ts_node(node)


def to_tsquery(node: Node, weighted: bool = False) -> str | None:
    """One tsquery for a query over a single tsvector, the folded flags ignored (the caller chose the column):
    items_fts's folded text (detection, watch terms, the flags' item search). None when nothing can match."""
    if isinstance(node, Phrase):
        return _ts_phrase(node, weighted)
    if isinstance(node, Any_):
        parts = [q for q in (to_tsquery(p, weighted) for p in node.parts) if q is not None]
        return " | ".join(f"({q})" for q in parts) if parts else None
    if isinstance(node, All):
        parts = []
        for part in node.parts:
            query = to_tsquery(part.part if isinstance(part, Not) else part, weighted)
            if query is None and not isinstance(part, Not):
                return None
            if query is not None:
                parts.append(f"!({query})" if isinstance(part, Not) else f"({query})")
        return " & ".join(parts)
    raise SearchError("Cần ít nhất một từ cần tìm bên cạnh từ loại trừ (-).")


def ts_phrase_queries(node: Node | None) -> list[TsMatch]:
    """For ranking on PostgreSQL: each distinct phrase a result is found by, as a tsquery over its tsvector (what
    bm25 sums over on SQLite)."""
    out: list[TsMatch] = []
    for phrase in positive_phrases(node):
        query = _ts_phrase(phrase, weighted=False)
        found = TsMatch("folded" if phrase.folded else "original", query) if query is not None else None
        if found is not None and found not in out:
            out.append(found)
    return out
