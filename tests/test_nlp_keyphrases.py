"""nlp.keyphrases: phrases that characterise a set of texts, and its most representative sentences."""

from nlp.keyphrases import keyphrases, representative_sentences

# Leads in the style of real labour news (Người Lao Động, Lao Động), one story told four ways.
STORY = [
    "Hàng trăm công nhân Công ty TNHH giày da ở Bình Dương ngừng việc vì công ty nợ lương hai tháng.",
    "Công ty giày da nợ lương công nhân hai tháng, liên đoàn lao động tỉnh vào cuộc.",
    "Liên đoàn lao động tỉnh Bình Dương làm việc với công ty giày da về việc nợ lương công nhân.",
    "Công nhân công ty giày da được trả nợ lương sau khi liên đoàn lao động can thiệp.",
]
BACKGROUND = [
    "Đội tuyển Việt Nam thắng Thái Lan 2-0 trên sân Mỹ Đình.",
    "Giá vàng trong nước tăng mạnh phiên sáng nay.",
    "Bão số 3 gây mưa lớn ở các tỉnh miền Bắc.",
    "Học sinh Hà Nội bước vào kỳ thi tuyển sinh lớp 10.",
]


def test_keyphrases_name_the_story():
    phrases = keyphrases(STORY, top_k=5, background=BACKGROUND)
    assert phrases and len(phrases) <= 5
    joined = " | ".join(phrases).lower()
    assert "nợ lương" in joined or "giày da" in joined
    assert all(p.split()[0] not in {"và", "của", "là", "các"} for p in phrases)


def test_representative_sentences_come_from_the_texts():
    best = representative_sentences(STORY, k=2)
    assert len(best) == 2
    assert all(any(s in t for t in STORY) for s in best)


def test_empty_input():
    assert keyphrases([], top_k=5) == []
    assert keyphrases(["", "   "], top_k=5) == []
    assert representative_sentences([""], k=3) == []
