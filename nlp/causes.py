"""What people say the causes are, and what they ask for: sentences quoted from the texts, never written anew.

Pure functions over texts. A *cause statement* is a sentence with a causal cue: the cause follows «vì», «do», «bởi»
(opening a clause), «nguyên nhân là/do», «lý do … là», «xuất phát từ», or precedes «khiến», «dẫn đến», «gây ra»;
the agent «do» («do Công ty tổ chức», «do UBND cấp»), the purpose «vì lợi ích», «thay vì», «tự do», «do đó» are not
causes. A *demand* is a sentence with «đề nghị», «kiến nghị», «mong muốn», «yêu cầu», «nguyện vọng», «đề xuất». Statements saying nearly the same cause (the same
article carried by several sites, workers repeating a rumour) are grouped by the overlap of their words; a group is
counted by its distinct texts and shown by its members' own sentences.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from nlp.normalize import fold

__all__ = ["Statement", "Group", "split_sentences", "cause_statements", "demand_statements", "group_statements",
           "content_terms"]

CAUSE, DEMAND = "cause", "demand"
MAX_SENTENCE = 400          # characters of a sentence worth quoting; longer ones are lists or run-ons
MAX_CLAUSE_WORDS = 24

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”»)]*\s+(?=[\"“«(]*[A-ZĐÀ-Ỹ0-9])|\n+")
# the cause follows the cue; «nguyên nhân» and «lý do» only when the sentence goes on to say it («nguyên nhân là …»,
# not «chưa rõ nguyên nhân», «đó là lý do …»)
_FORWARD = re.compile(r"(?<!\w)(nguyên nhân(?: chính| chủ yếu| ban đầu)?(?: được xác định| được cho)?"
                      r"(?: là(?: do| vì)?| do| bởi| vì| xuất phát từ)|lý do(?: chính)?(?: [^\s,.;]+){0,4} là|"
                      r"lí do(?: chính)?(?: [^\s,.;]+){0,4} là|xuất phát từ|bắt nguồn từ|là do|là vì|bởi vì|bởi|"
                      r"tại vì|vì|do)(?!\w)", re.IGNORECASE)
# the cause precedes the cue («làm cho» is also «work for»: not a cue)
_BACKWARD = re.compile(r"(?<!\w)(khiến cho|khiến|dẫn đến|dẫn tới|gây ra|gây nên)(?!\w)", re.IGNORECASE)
# «do» naming who did something, not why: «do Công ty tổ chức», «do Bộ LĐTBXH ban hành»
_AGENT = re.compile(r"^do\s+(?:[^\s,.;]+\s+){0,7}?(?:tổ chức|chủ trì|thực hiện|phát động|phối hợp|cấp|ban hành|"
                    r"làm chủ|đứng đầu|phụ trách|sản xuất|trao|tặng|bảo trợ|đầu tư|quản lý|điều hành|"
                    r"biên soạn|xây dựng|công bố|triển khai|chỉ đạo|tài trợ|đăng cai|cung cấp|tạo ra|sáng lập|"
                    r"thành lập|sở hữu|phát hành|sáng tác|thiết kế|vận hành|khởi xướng|ký|làm chủ đầu tư|nấu|giữ|"
                    r"kiểm soát|dẫn đầu|làm trưởng|làm chủ tịch|đạo diễn|thủ vai|viết|vẽ|chụp|biên tập|nắm giữ|"
                    r"điều khiển|lái|đảm nhiệm|đảm nhận|chủ quản|mua|bán|cho thuê)(?!\w)",
                    re.IGNORECASE)
# «vì» of a purpose («vì lợi ích của …»), «bởi» of a passive («bao trùm bởi …»: only «bởi» opening a clause is a cue)
_PURPOSE = re.compile(r"^vì (?:lợi ích|mục tiêu|mục đích|sự nghiệp|hòa bình|hoà bình|tương lai|cộng đồng)(?!\w)",
                      re.IGNORECASE)
_WHAT = re.compile(r"(?<!\w)(?:điều|lý do|lí do|nguyên nhân|yếu tố|vấn đề|gì|nào|mà(?: [^\s,.;]+){0,4} gây ra)\s*$",
                   re.IGNORECASE)
_NOT_CAUSE = re.compile(r"(?<!\w)(?:tự do|do dự|do đó|do vậy|vì vậy|vì thế|bởi vậy|bởi thế|vì sao|vì lẽ đó|"
                        r"thay vì)(?!\w)", re.IGNORECASE)
_DEMAND = re.compile(r"(?<!\w)(đề nghị|kiến nghị|mong muốn|mong được|mong|yêu cầu|nguyện vọng|đề xuất|"
                     r"kêu gọi|cần được)(?!\w)", re.IGNORECASE)
_WORD = re.compile(r"\w+")
# function words left out when comparing what two statements say
_STOP = set(fold("và của là có các những được cho với trong khi này đó thì mà để đã đang sẽ một nhiều rất cũng như "
                 "về từ theo tại nên nhưng vì do bởi nguyên nhân lý lí khiến dẫn đến tới gây ra làm chính chủ yếu "
                 "người họ chúng tôi ta anh chị em ông bà không chưa").split())


@dataclass(frozen=True)
class Statement:
    item_id: int
    sentence: str                # the sentence as written
    clause: tuple[int, int]      # where in the sentence the cause (or the demand) is said
    cue: str                     # the cue word as written
    kind: str                    # cause | demand

    @property
    def said(self) -> str:
        return self.sentence[self.clause[0]:self.clause[1]]

    def parts(self) -> tuple[str, str, str]:
        """(before, the clause, after): the sentence cut where the cause is said, to mark it without rewriting."""
        a, b = self.clause
        return self.sentence[:a], self.sentence[a:b], self.sentence[b:]


@dataclass
class Group:
    statements: list[Statement] = field(default_factory=list)
    terms: set[str] = field(default_factory=set)

    @property
    def item_ids(self) -> list[int]:
        return list(dict.fromkeys(s.item_id for s in self.statements))

    @property
    def count(self) -> int:
        return len(self.item_ids)

    @property
    def lead(self) -> Statement:
        """The member sharing most words with the others: the group's most typical wording."""
        def shared(s: Statement) -> int:
            mine = content_terms(s.said)
            return sum(len(mine & content_terms(o.said)) for o in self.statements if o is not s)
        return max(self.statements, key=lambda s: (shared(s), -len(s.sentence)))


def split_sentences(text: str) -> list[str]:
    """The sentences of a text (a new line ends one too), stripped; very long ones are left out."""
    text = unicodedata.normalize("NFC", text or "")
    out = []
    for part in _SENTENCE_END.split(text):
        part = part.strip(" \t-–•*")
        if 12 <= len(part) <= MAX_SENTENCE:
            out.append(part)
    return out


def _clause_after(sentence: str, start: int) -> int:
    """Where a clause starting at `start` ends: the sentence's end, the next «;», or MAX_CLAUSE_WORDS words."""
    end = len(sentence)
    semicolon = sentence.find(";", start)
    if semicolon != -1:
        end = semicolon
    words = list(_WORD.finditer(sentence, start, end))
    if len(words) > MAX_CLAUSE_WORDS:
        end = words[MAX_CLAUSE_WORDS - 1].end()
    return end if sentence[end - 1:end] not in ".!?…" else end - 1


def _clause_before(sentence: str, end: int) -> int:
    """Where the clause ending at `end` starts: the sentence's start, or MAX_CLAUSE_WORDS words before `end`."""
    start = 0
    words = list(_WORD.finditer(sentence, 0, end))
    if len(words) > MAX_CLAUSE_WORDS:
        start = words[-MAX_CLAUSE_WORDS].start()
    return start


def _cause_in(sentence: str) -> tuple[tuple[int, int], str] | None:
    not_causes = [x.span() for x in _NOT_CAUSE.finditer(sentence)] if _FORWARD.search(sentence) else []
    for m in _FORWARD.finditer(sentence):
        rest = sentence[m.start():]
        if any(a <= m.start() < b for a, b in not_causes):
            continue
        if m.group(1).lower() == "do" and (_AGENT.match(rest) or sentence[:m.start()].lower().endswith(("lý ", "lí "))):
            continue   # who did it, or a «lý do» that does not go on to say it
        if _PURPOSE.match(rest):
            continue
        if m.group(1).lower() == "bởi" and sentence[:m.start()].rstrip()[-1:] not in ("", ",", ";", ":"):
            continue
        end = _clause_after(sentence, m.end())
        if len(_WORD.findall(sentence[m.end():end])) >= 2:
            return (m.start(), end), m.group(1).strip()
    for m in _BACKWARD.finditer(sentence):
        if _WHAT.search(sentence[:m.start()]):
            continue   # «điều khiến tôi ngạc nhiên», «5 lý do khiến …»: the cause is not said before the cue
        start = _clause_before(sentence, m.start())
        if len(_WORD.findall(sentence[start:m.start()])) >= 3:
            return (start, m.end()), m.group(1)
    return None


@lru_cache(maxsize=4096)
def _found_in(text: str, kind: str) -> tuple[tuple[str, tuple[int, int], str], ...]:
    """(sentence, clause, cue) of each cause (or demand) a text states, remembered per text (a story's page is read
    again and again with the same items)."""
    out, seen = [], set()
    for sentence in split_sentences(text):
        if sentence in seen:
            continue
        seen.add(sentence)
        if kind == CAUSE:
            found = _cause_in(sentence)
            if found:
                out.append((sentence, found[0], found[1]))
            continue
        m = _DEMAND.search(sentence)
        if m:
            end = _clause_after(sentence, m.end())
            if len(_WORD.findall(sentence[m.end():end])) >= 2:
                out.append((sentence, (m.start(), end), m.group(1)))
    return tuple(out)


def cause_statements(texts: dict[int, str]) -> list[Statement]:
    """Every sentence of the texts that says a cause, in the texts' order; a sentence repeated in one text once."""
    return [Statement(item_id, sentence, span, cue, CAUSE) for item_id, text in texts.items()
            for sentence, span, cue in _found_in(text, CAUSE)]


def demand_statements(texts: dict[int, str]) -> list[Statement]:
    """Every sentence of the texts that asks for something (a demand, a proposal, a wish)."""
    return [Statement(item_id, sentence, span, cue, DEMAND) for item_id, text in texts.items()
            for sentence, span, cue in _found_in(text, DEMAND)]


@lru_cache(maxsize=16384)
def content_terms(text: str) -> frozenset[str]:
    """The content syllables of a text and their pairs (folded): what two wordings of one cause share."""
    words = [w for w in _WORD.findall(fold(text.lower())) if w not in _STOP and not w.isdigit()]
    return frozenset(words) | {f"{a} {b}" for a, b in zip(words, words[1:])}


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def group_statements(statements: list[Statement], threshold: float = 0.5) -> list[Group]:
    """Statements saying nearly the same thing grouped together (each joins the first group whose words it shares
    at `threshold` of the smaller set), largest group (by distinct texts) first."""
    groups: list[Group] = []
    posting: dict[str, list[int]] = {}      # term → the groups whose first wording holds it
    for s in statements:
        terms = content_terms(s.said)
        if len(terms) < 2:
            continue
        candidates = {g for t in terms for g in posting.get(t, ())}
        scored = [(_overlap(terms, groups[g].terms), -g) for g in candidates]
        score, best_index = max(scored, default=(0.0, 0))
        best = groups[-best_index] if scored else None
        if best is not None and score >= threshold:
            best.statements.append(s)   # compared with each group's first wording: no drift
        else:
            for t in terms:
                posting.setdefault(t, []).append(len(groups))
            groups.append(Group([s], set(terms)))
    order = {id(s): n for n, s in enumerate(statements)}
    return sorted(groups, key=lambda g: (-g.count, order[id(g.statements[0])]))
