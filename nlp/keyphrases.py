"""Keyphrases and representative sentences of Vietnamese texts.

Candidates are segmented words and word n-grams (underthesea words joined by `_`) that neither start nor end with a
stopword; each is scored by how much more often it occurs in the texts than in a background (the other texts of the
batch, or a background given by the caller), favouring multi-syllable phrases.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Iterable

from nlp.normalize import normalize
from nlp.segment import segment, split_sentences

__all__ = ["STOPWORDS", "candidates", "keyphrases", "keyphrases_segmented", "representative_sentences"]

# Function words and fillers of news and comments (lower case, words as underthesea segments them).
STOPWORDS = frozenset("""
và của là có được cho các những một này đó khi với trong đã đang sẽ thì mà như để từ tại về theo ra vào lên xuống
cũng vẫn còn rất nhiều ít hơn nhất lại đến nên vì nếu nhưng hay hoặc do bởi bị không chưa chẳng chỉ mới vừa rồi nữa
đây kia ấy nào gì ai sao bao_nhiêu thế vậy nhé ạ à ơi nhỉ hả đi thôi luôn lắm quá cả mọi mỗi từng tất_cả các_bạn
người ta tôi chúng_tôi chúng_ta bạn anh chị em ông bà họ mình nó hắn cô chú bác cậu tớ tao mày
năm tháng ngày giờ lúc sau trước trên dưới giữa ngoài bên cùng nhau việc điều cái con chiếc sự cuộc những_người
hôm_nay hiện_nay hiện tuy_nhiên trong_khi ngoài_ra đồng_thời theo_đó bên_cạnh cho_biết cho_rằng nói thêm nay qua đều hết bằng sự_việc thứ vụ
làm có_thể cần phải muốn biết thấy nhận đưa số lần khoảng gần hơn_nữa nhằm
tr ng đ vnd the of and to in a
""".split())

_TOKEN_OK = re.compile(r"^[^\W\d_](?:[\w]*)$")
MAX_NGRAM = 3


def _tokens(segmented: str) -> list[str]:
    return [t.lower() for t in segmented.split()]


def candidates(segmented: str, max_ngram: int = MAX_NGRAM) -> list[str]:
    """Word n-grams of a segmented text made of content words only (no stopword, number or punctuation);
    single words count only when they have two or more syllables (`công_nhân`, not `tăng`)."""
    tokens = _tokens(segmented)
    ok = [t not in STOPWORDS and _TOKEN_OK.match(t) is not None for t in tokens]   # each token judged once
    out = [t for t, good in zip(tokens, ok) if good and "_" in t]  # single syllables are too vague
    for n in range(2, max_ngram + 1):
        for i in range(len(tokens) - n + 1):
            if all(ok[i:i + n]):
                out.append(" ".join(tokens[i:i + n]))
    return out


def _display(phrase: str) -> str:
    return phrase.replace("_", " ")


def keyphrases_segmented(
    segmented_texts: list[str], top_k: int = 10, background: Iterable[str] | None = None
) -> list[str]:
    """Keyphrases of segmented texts, scored as document frequency × log-odds against the background."""
    fg = Counter()
    for s in segmented_texts:
        fg.update(set(candidates(s)))
    if not fg:
        return []
    bg = Counter()
    n_bg = 0
    for s in background or ():
        bg.update(set(candidates(s)))
        n_bg += 1
    n_fg = len(segmented_texts)
    scored = []
    for phrase, df in fg.items():
        if n_fg > 3 and df < 2:
            continue
        ratio = (df / n_fg) / ((bg.get(phrase, 0) + 1) / (n_bg + 2))
        length = 1 + phrase.count(" ") + phrase.count("_")
        scored.append((df * math.log1p(ratio) * math.sqrt(length), phrase))
    scored.sort(reverse=True)
    chosen: list[str] = []
    for _, phrase in scored:
        shown = _display(phrase)
        if any(shown in c or c in shown for c in chosen):
            continue  # one phrase per idea: skip sub- and super-phrases of one already chosen
        chosen.append(shown)
        if len(chosen) >= top_k:
            break
    return chosen


def keyphrases(texts: list[str], top_k: int = 10, background: list[str] | None = None) -> list[str]:
    """The `top_k` phrases that best characterise `texts` (raw text), against `background` texts if given."""
    segmented = segment([normalize(t) for t in texts])
    bg = segment([normalize(t) for t in background]) if background else None
    return keyphrases_segmented(segmented, top_k, bg)


def representative_sentences(texts: list[str], k: int = 3) -> list[str]:
    """The `k` sentences whose words are most shared across `texts` (a centroid summary), longest ties first."""
    sentences = [s for t in texts for s in split_sentences(normalize(t)) if len(s.split()) >= 4]
    if not sentences:
        return []
    segmented = segment(sentences)
    df = Counter()
    for s in segmented:
        df.update({t for t in _tokens(s) if t not in STOPWORDS and _TOKEN_OK.match(t)})
    scored = []
    seen = set()
    for original, seg in zip(sentences, segmented):
        if original in seen:
            continue
        seen.add(original)
        words = [t for t in _tokens(seg) if t not in STOPWORDS and _TOKEN_OK.match(t)]
        if not words:
            continue
        score = sum(math.log1p(df[w]) for w in set(words)) / math.sqrt(len(set(words)) + 5)
        scored.append((score, len(original), original))
    scored.sort(reverse=True)
    return [s for _, _, s in scored[:k]]
