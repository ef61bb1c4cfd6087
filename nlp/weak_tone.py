"""Weak tone labels for news and reports (toward workers and the public), so the tone model sees news, not only reviews.

The review corpora teach polarity in customers' and students' words; news has its own: a layoff, unpaid wages, a flood
or an arrest are negative for people however flatly they are reported, and most news is plain information. Labelling
functions here vote `negative` / `positive` from what happens to people (nlp/LABELLING.md, «Tone»), and `neutral` only
when a text has no cue of either kind and reads as an announcement, figures or guidance; otherwise they abstain.
"""
from __future__ import annotations

import re

from nlp.normalize import normalize

__all__ = ["weak_tone", "weak_tone_pool", "NEGATIVE_EVENTS", "POSITIVE_EVENTS"]


def _words(*phrases: str) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(normalize(p).lower()) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


NEGATIVE_EVENTS = _words(
    # what collaborators report: pay, insurance, hours, jobs
    "nợ lương", "chậm lương", "chậm trả lương", "không trả lương", "chưa trả lương", "chưa được trả lương",
    "trừ lương", "cắt lương", "giảm lương", "nợ bảo hiểm", "nợ bhxh", "chậm đóng", "trốn đóng", "không đóng bảo hiểm",
    "ép tăng ca", "bắt tăng ca", "tăng ca liên tục", "làm thêm giờ quá", "không được nghỉ", "sa thải", "mất việc",
    "thất nghiệp", "cắt giảm lao động", "cắt giảm nhân sự", "cho nghỉ việc", "cho thôi việc", "đuổi việc", "giãn việc",
    "ngừng việc", "đình công", "bỏ trốn", "khiếu nại", "bức xúc", "tố cáo", "quỵt", "bóc lột", "bị ép",
    # harm to people
    "tai nạn", "tử vong", "thiệt mạng", "chết", "bị thương", "mất tích", "ngộ độc", "cháy", "nổ", "sập", "lũ", "bão",
    "sạt lở", "ngập", "dịch bệnh", "ổ dịch", "thiệt hại", "khởi tố", "bắt giữ", "bắt tạm giam", "lừa đảo", "chiếm đoạt",
    "tham nhũng", "hối lộ", "sai phạm", "vi phạm", "ô nhiễm", "thiếu thuốc", "quá tải", "tăng giá", "đắt đỏ", "khó khăn",
    "thua", "thất bại", "chấn thương", "bê bối", "tố", "bạo lực", "hành hung", "đánh", "giết", "cướp", "trộm", "ma túy",
)
POSITIVE_EVENTS = _words(
    "tăng lương", "thưởng tết", "được thưởng", "trao quà", "tặng quà", "hỗ trợ", "chăm lo", "giúp đỡ", "ủng hộ",
    "giải cứu", "cứu sống", "thành công", "vô địch", "chiến thắng", "giành", "huy chương vàng", "kỷ lục", "tôn vinh",
    "khen thưởng", "vinh danh", "giảm giá xăng", "giá xăng giảm", "hạ giá", "miễn phí", "miễn học phí", "được hưởng",
    "đã trả", "trả đủ", "nhận đủ", "khánh thành", "hoàn thành", "phục hồi", "tăng trưởng", "tuyệt vời", "cảm ơn",
    "xuất sắc", "hiệu quả", "nâng cao", "cải thiện", "mừng", "vui", "hạnh phúc",
)
NEUTRAL_FORMS = _words(
    "hướng dẫn", "quy định", "thông báo", "lịch", "dự báo", "công bố", "kế hoạch", "đề xuất", "lấy ý kiến", "họp",
    "hội nghị", "bao nhiêu", "thế nào", "có được", "là gì", "ra sao", "tỷ giá", "giá vàng", "giá", "dự kiến",
    "triển khai", "ký kết", "tổ chức", "diễn ra", "bắt đầu", "từ ngày", "áp dụng",
)


def weak_tone(text: str) -> str | None:
    """`negative`, `positive`, `neutral` or None (abstain) for one news text, from what happens to people."""
    lowered = normalize(text or "").lower()
    neg = len(set(NEGATIVE_EVENTS.findall(lowered)))
    pos = len(set(POSITIVE_EVENTS.findall(lowered)))
    if neg >= 2 and pos == 0 or neg >= 3 and neg >= 3 * pos:
        return "negative"
    if pos >= 2 and neg == 0:
        return "positive"
    if neg == 0 and pos == 0 and NEUTRAL_FORMS.search(lowered):
        return "neutral"
    return None


def weak_tone_pool(cache_dir, per_class: int = 2000, seed: int = 0, shared_dir=None, log=print) -> list[tuple[str, str]]:
    """Weak-toned (text, sentiment) pairs from unlabelled news (nlp.topic_train.weak_records: the topic pool's
    sources, labelled items and their headlines left out), at most `per_class` per tone."""
    import random

    from nlp.topic_train import weak_records

    by_tone: dict[str, list[str]] = {}
    for text, _code, tone in weak_records(cache_dir, shared_dir, seed, log):
        if tone:
            by_tone.setdefault(tone, []).append(text)
    rng = random.Random(seed)
    pairs = []
    for tone in sorted(by_tone):
        rng.shuffle(by_tone[tone])
        pairs += [(t, tone) for t in by_tone[tone][:per_class]]
    return pairs
