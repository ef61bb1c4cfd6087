"""Event terms: the syllables and syllable pairs of a headline that can tell one happening from another.

Bursts of news are found on these (service/events.py): a flood reported as «mưa lũ», «sạt lở», «lũ quét», «ngập sâu»
shares few words but each of its headlines carries some of these terms, and they rise together. Syllables keep their
diacritics (`lũ` is not `lú`), are lower-cased, and function syllables, numbers and one-letter tokens are left out.
No word segmentation is needed: syllable pairs stand in for two-syllable words and cost almost nothing.
"""
from __future__ import annotations

import re
import unicodedata

__all__ = ["STOP_SYLLABLES", "event_terms", "headline"]

_SYLLABLE = re.compile(r"[^\W\d_]+")

# Function syllables of Vietnamese news headlines and leads (and the most common English ones).
STOP_SYLLABLES = frozenset("""
và của là có được cho các những một này đó khi với trong đã đang sẽ thì mà như để từ tại về theo ra vào lên xuống
cũng vẫn còn rất nhiều ít hơn nhất lại đến nên vì nếu nhưng hay hoặc do bởi bị không chưa chẳng chỉ mới vừa rồi nữa
đây kia ấy nào gì ai sao bao thế vậy nhé ạ à ơi nhỉ hả đi thôi luôn lắm quá cả mọi mỗi từng tất
người ta tôi chúng bạn anh chị em ông bà họ mình nó cô chú bác
năm tháng ngày giờ lúc sau trước trên dưới giữa ngoài bên cùng nhau việc điều cái con chiếc sự cuộc
hôm nay hiện tuy nhiên ngoài đồng thời đó cạnh biết rằng nói thêm qua đều hết bằng thứ vụ
làm thể cần phải muốn thấy nhận đưa số lần khoảng gần nhằm
tr đ vnd the of and to in a is for on with by at from
""".split())


def headline(title: str, text: str, chars: int = 160) -> str:
    """What a headline monitor reads of an item: its title; an item without one (a collaborator's report), the start
    of its text. Leads are left out: outlets put their boilerplate there («Lưu bài viết thành công…»)."""
    return (title or "").strip() or (text or "").strip()[:chars]


def event_terms(text: str) -> set[str]:
    """The content syllables of a text and the pairs of adjacent content syllables (`mưa lũ`, `nợ lương`)."""
    text = unicodedata.normalize("NFC", text).lower()
    terms: set[str] = set()
    for chunk in re.split(r"[^\w\s]|_", text):   # punctuation breaks a pair: «Hà Nội: mưa» gives no «nội mưa»
        words = _SYLLABLE.findall(chunk)
        previous = None
        for word in words:
            keep = len(word) > 1 and word not in STOP_SYLLABLES
            if keep:
                terms.add(word)
                if previous is not None:
                    terms.add(f"{previous} {word}")
            previous = word if keep else None
    return terms
