"""Weak supervision for the board-topic model: several labelling functions that vote or abstain, combined by vote.

One lexicon cannot label news: «giá» is a living cost only when people pay it, «thưởng» is a wage only for employees,
«tiêu cực» is corruption only in «tham nhũng, tiêu cực». Each labelling function (LF) here reads a text (and, when the
corpus has one, the outlet's own section) and returns votes for topics, vetoes against topics, or nothing (abstain):

- `lf_seed`: the taxonomy's seed lexicon where it points clearly to one topic (nlp.taxonomy.seed_label);
- `lf_strong`: a strong seed phrase of exactly one topic;
- `lf_context`: sport, entertainment, market, world and technology context votes `khac` and vetoes the labour
  topics the lexicon confuses with it (prize money is not wages, a Bitcoin price is not a living cost);
- `lf_prices`, `lf_health`, `lf_disaster`, `lf_tax`, `lf_crime`: narrow phrase lists with their own negative evidence;
- `lf_section`: the outlet's section (baomoi, VNTC, VnExpress, RSS category) where it decides the board topic.

`weak_label(text, section)` combines the votes (vetoed topics are dropped; the largest weighted vote must reach
`MIN_VOTE` and beat the runner-up by `MIN_MARGIN`) and returns a topic or None.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

from nlp.normalize import normalize
from nlp.taxonomy import OTHER, Taxonomy, load_taxonomy

__all__ = ["Votes", "LABELLING_FUNCTIONS", "weak_label", "apply_lfs", "SECTION_TOPICS", "MIN_VOTE", "MIN_MARGIN"]

MIN_VOTE = 1.0
MIN_MARGIN = 1.5
LABOUR_PAY_TOPICS = ("tien_luong", "nha_o_doi_song", "quan_he_lao_dong", "viec_lam", "bao_hiem",
                     "dieu_kien_lao_dong", "hoat_dong_cong_doan")


@dataclass
class Votes:
    """What one text received: weighted votes per topic and the topics vetoed by negative evidence."""
    scores: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    vetoed: set[str] = field(default_factory=set)

    def vote(self, code: str, weight: float) -> None:
        self.scores[code] += weight

    def winner(self, min_vote: float = MIN_VOTE, min_margin: float = MIN_MARGIN) -> str | None:
        ranked = sorted(((s, c) for c, s in self.scores.items() if c not in self.vetoed and s > 0), reverse=True)
        if not ranked or ranked[0][0] < min_vote:
            return None
        runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
        return ranked[0][1] if ranked[0][0] >= min_margin * runner_up and ranked[0][0] > runner_up else None


def _words(*phrases: str) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(normalize(p).lower()) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


SPORT = _words(
    "bóng đá", "cầu thủ", "đội tuyển", "tuyển việt nam", "u23", "u22", "u20", "u19", "u17", "v-league", "v.league",
    "sea games", "asiad", "olympic", "world cup", "euro 20", "aff cup", "ngoại hạng anh", "premier league",
    "la liga", "serie a", "bundesliga", "champions league", "europa league", "hlv", "huấn luyện viên", "tiền đạo",
    "thủ môn", "hậu vệ", "tiền vệ", "vđv", "vận động viên", "huy chương vàng", "hcv", "giải vô địch", "vô địch",
    "bàn thắng", "ghi bàn", "trận đấu", "trận đấu", "sân cỏ", "câu lạc bộ", "clb", "messi", "ronaldo", "marathon",
    "quần vợt", "tennis", "golf", "bóng chuyền", "bóng rổ", "cờ vua", "võ sĩ", "mma", "boxing", "tuyển thủ",
    "trọng tài", "chuyển nhượng", "hợp đồng với clb", "man utd", "man city", "arsenal", "chelsea", "liverpool",
    "barca", "real madrid", "bayern", "psg", "hagl", "hà nội fc", "thể thao", "esports", "game thủ",
)
ENTERTAINMENT = _words(
    "ca sĩ", "diễn viên", "hoa hậu", "á hậu", "người mẫu", "showbiz", "sao việt", "mv", "phim", "điện ảnh",
    "liveshow", "concert", "rapper", "gameshow", "nghệ sĩ", "danh hài", "bộ phim", "đạo diễn", "idol", "k-pop",
    "hoa hậu việt nam", "miss", "the face", "tiktoker", "youtuber", "người nổi tiếng", "sao hàn", "vũ công",
    "xổ số", "vietlott", "jackpot", "trúng số", "trúng thưởng", "thời trang", "trang phục", "mỹ phẩm", "làm đẹp",
)
MARKETS = _words(
    "giá vàng", "vàng miếng", "vàng nhẫn", "bitcoin", "tiền ảo", "tiền điện tử", "tiền số", "crypto", "chứng khoán",
    "cổ phiếu", "vn-index", "vnindex", "trái phiếu", "tỷ giá", "usd", "đô la", "lãi suất huy động", "ngân hàng nhà nước",
    "sàn giao dịch", "nhà đầu tư", "vốn hóa", "lợi nhuận", "doanh thu", "lãi ròng", "báo lãi", "báo lỗ", "cổ tức",
    "giá dầu thế giới", "giá cà phê", "giá tiêu", "giá cao su", "xuất khẩu gạo", "bất động sản", "dự án căn hộ",
    "chủ đầu tư", "đấu giá đất", "thị trường bất động sản", "phân khúc", "ipo", "m&a", "tập đoàn", "tỷ phú",
)
WORLD = _words(
    "tổng thống", "nước mỹ", "người mỹ", "trung quốc", "nga", "ukraine", "israel", "gaza", "hamas", "nato", "liên hợp quốc", "eu",
    "châu âu", "nhật bản", "hàn quốc", "triều tiên", "iran", "thủ tướng anh", "điện kremlin", "nhà trắng", "lầu năm góc",
    "ông trump", "ông putin", "ông biden", "ông tập", "washington", "moscow", "bắc kinh", "quân đội", "tên lửa",
)
TECH = _words(
    "iphone", "samsung", "smartphone", "điện thoại", "laptop", "apple", "google", "facebook", "microsoft", "chatgpt",
    "trí tuệ nhân tạo", "phần mềm", "chip", "windows", "android", "ios", "camera", "ô tô điện",
    "xe điện", "vinfast", "mẫu xe", "xe máy điện", "công nghệ số", "robot", "vũ trụ", "nasa", "nhà khoa học",
    "smartwatch", "tai nghe", "máy tính bảng", "tesla", "chơi game",
)
PRIZE = _words("thưởng", "tiền thưởng", "treo thưởng", "thưởng nóng", "giải thưởng", "mức thưởng", "phần thưởng")
PAY_CONTEXT = _words("người lao động", "công nhân", "viên chức", "công chức", "cán bộ", "giáo viên", "nhân viên",
                     "doanh nghiệp", "lương", "đoàn viên", "nợ lương", "thưởng tết")
PRICE = _words("giá", "tăng giá", "giảm giá", "đắt", "rẻ")
LIVING_PRICE = _words(
    "giá xăng", "giá điện", "tiền điện", "giá nước", "tiền nước", "giá gas", "giá thịt", "giá rau", "giá gạo",
    "giá thực phẩm", "giá cả", "chi phí sinh hoạt", "giá thuê", "tiền thuê nhà", "phòng trọ", "nhà trọ", "chợ",
    "lạm phát", "cpi", "chỉ số giá tiêu dùng", "bình ổn giá", "mua sắm tết", "giá sữa", "giá thuốc", "học phí",
    "nhà ở xã hội", "giá trứng", "giá cước", "giá vé tàu", "giá vé xe", "người tiêu dùng", "bữa ăn",
)
HEALTH = _words(
    "bệnh viện", "bác sĩ", "bệnh nhân", "ca bệnh", "điều trị", "phẫu thuật", "cấp cứu", "khám chữa bệnh", "bộ y tế",
    "sở y tế", "y tế", "thuốc", "vắc xin", "vaccine", "tiêm chủng", "ung thư", "đột quỵ", "tiểu đường", "viện phí",
    "trạm y tế", "nhiễm khuẩn", "virus", "vi khuẩn", "y bác sĩ", "ngộ độc",
)
EDUCATION = _words(
    "học sinh", "sinh viên", "giáo viên", "nhà giáo", "trường học", "nhà trường", "đại học", "học phí", "tuyển sinh",
    "điểm chuẩn", "thi tốt nghiệp", "kỳ thi", "thí sinh", "bộ giáo dục", "bộ gd&đt", "sở giáo dục", "sách giáo khoa",
    "năm học", "lớp học", "du học", "học bổng", "giáo dục", "mầm non", "tiểu học", "thcs", "thpt", "giảng viên",
)
HEALTH_TIPS = _words("làm đẹp", "giảm cân", "da mặt", "mẹo", "bí quyết", "thực đơn", "món ăn", "công thức nấu")
DISASTER = _words(
    "thiên tai", "bão", "áp thấp nhiệt đới", "lũ", "lũ lụt", "lũ quét", "sạt lở", "ngập lụt", "động đất", "hạn hán",
    "xâm nhập mặn", "triều cường", "mưa lớn", "mưa lũ", "rét đậm", "rét hại", "sóng thần", "giông lốc", "lốc xoáy",
    "dịch bệnh", "ổ dịch", "sốt xuất huyết", "tay chân miệng", "covid", "dịch cúm", "dịch tả lợn", "cúm gia cầm",
    "bạch hầu", "sởi", "hỏa hoạn", "vụ cháy", "cháy lớn", "cháy rừng", "cháy nhà", "vụ nổ", "sập nhà", "sập cầu",
    "cứu hộ", "cứu nạn", "sơ tán", "di dời", "mất tích", "tàu chìm", "chìm tàu",
)
TAX = _words(
    "thuế", "thuế thu nhập cá nhân", "thuế tncn", "giảm trừ gia cảnh", "thuế gtgt", "thuế vat", "thuế giá trị gia tăng",
    "hoàn thuế", "quyết toán thuế", "miễn thuế", "giảm thuế", "giãn thuế", "cục thuế", "tổng cục thuế", "nộp thuế",
    "hóa đơn điện tử", "thuế khoán", "hộ kinh doanh",
)
TAX_CRIME = _words("trốn thuế", "buôn lậu", "khởi tố", "bắt giam", "lừa đảo", "hóa đơn khống", "mua bán hóa đơn")
CRIME = _words(
    "khởi tố", "bắt giữ", "bắt tạm giam", "tạm giữ", "nghi phạm", "công an", "lừa đảo", "trộm", "cướp",
    "ma túy", "giết", "án mạng", "đâm chết", "truy nã", "đánh bạc", "tai nạn giao thông", "va chạm", "xét xử",
    "bị cáo", "tòa án", "án tù", "hiếp dâm", "xâm hại", "bạo hành", "vi phạm giao thông", "nồng độ cồn", "csgt",
)
OFFICIAL_MISCONDUCT = _words(
    "tham nhũng", "hối lộ", "tham ô", "lợi dụng chức vụ", "lạm quyền", "cố ý làm trái", "thiếu trách nhiệm gây hậu quả",
    "vi phạm quy định về đấu thầu", "chủ tịch ubnd", "cựu chủ tịch", "cựu giám đốc sở", "nguyên bí thư", "cán bộ",
    "kỷ luật đảng", "ủy ban kiểm tra", "sai phạm", "thất thoát", "lãng phí",
)
NEGATIVE_EFFECT = _words("ảnh hưởng tiêu cực", "tác động tiêu cực", "suy nghĩ tiêu cực", "cảm xúc tiêu cực",
                         "bình luận tiêu cực", "tin tiêu cực")


def _has(pattern: re.Pattern[str], text: str) -> int:
    return len(set(pattern.findall(text)))


# --- labelling functions: (lowered normalized text, section) → votes in place ----------------------------------------


def lf_seed(text: str, section: str | None, votes: Votes, taxonomy: Taxonomy) -> None:
    code = taxonomy.seed_label(text)
    if code:
        votes.vote(code, 1.0)


def lf_strong(text: str, section: str | None, votes: Votes, taxonomy: Taxonomy) -> None:
    scores = taxonomy.scores(text)
    strong = [c for c, s in scores.items() if s >= 2]
    if len(strong) == 1:
        votes.vote(strong[0], 0.5)


def lf_context(text: str, section: str | None, votes: Votes, taxonomy: Taxonomy) -> None:
    """Sport, entertainment, markets, world and technology: `khac`, and no wage, price or job label from their words."""
    hits = {"sport": _has(SPORT, text), "ent": _has(ENTERTAINMENT, text), "market": _has(MARKETS, text),
            "world": _has(WORLD, text), "tech": _has(TECH, text)}
    total = sum(hits.values())
    if total == 0:
        return
    if hits["sport"] >= 1 or hits["ent"] >= 1:
        votes.vetoed.update(("tien_luong", "quan_he_lao_dong", "viec_lam", "nha_o_doi_song"))
    if hits["market"] >= 1 and not _has(LIVING_PRICE, text):
        votes.vetoed.add("nha_o_doi_song")
    labour = _has(PAY_CONTEXT, text)
    if total >= 2 and labour == 0:
        votes.vote(OTHER, 1.0 + 0.25 * min(total - 2, 4))
    elif total >= 1 and labour == 0:
        votes.vote(OTHER, 0.5)


def lf_prices(text: str, section: str | None, votes: Votes, taxonomy: Taxonomy) -> None:
    """«giá» alone is not a living cost: only prices people pay for living are."""
    if _has(LIVING_PRICE, text) >= 1 and not _has(MARKETS, text):
        votes.vote("nha_o_doi_song", 0.75 if _has(LIVING_PRICE, text) == 1 else 1.25)
    elif _has(PRICE, text) and _has(MARKETS, text):
        votes.vote(OTHER, 0.75)


def lf_prize(text: str, section: str | None, votes: Votes, taxonomy: Taxonomy) -> None:
    """Prize money and bonuses outside employment are not wages."""
    if _has(PRIZE, text) and not _has(PAY_CONTEXT, text):
        votes.vetoed.add("tien_luong")
        if _has(SPORT, text) or _has(ENTERTAINMENT, text):
            votes.vote(OTHER, 1.0)


def lf_health(text: str, section: str | None, votes: Votes, taxonomy: Taxonomy) -> None:
    n = _has(HEALTH, text) + _has(EDUCATION, text)
    if n and _has(HEALTH_TIPS, text) and n < 2:
        votes.vote(OTHER, 0.5)
        return
    if n >= 2:
        votes.vote("y_te_giao_duc", 1.0 + 0.25 * min(n - 2, 4))
    elif n == 1:
        votes.vote("y_te_giao_duc", 0.5)


def lf_disaster(text: str, section: str | None, votes: Votes, taxonomy: Taxonomy) -> None:
    n = _has(DISASTER, text)
    if n and (_has(SPORT, text) or _has(ENTERTAINMENT, text) or _has(MARKETS, text)):
        return  # «cơn bão chuyển nhượng», «bão giá» and such
    if n >= 2:
        votes.vote("thien_tai", 1.25 + 0.25 * min(n - 2, 4))
    elif n == 1:
        votes.vote("thien_tai", 0.6)


def lf_tax(text: str, section: str | None, votes: Votes, taxonomy: Taxonomy) -> None:
    n = _has(TAX, text)
    if not n:
        return
    if _has(TAX_CRIME, text):
        votes.vote("xa_hoi_khac", 0.5)
    else:
        votes.vote("chinh_sach_phap_luat", 0.75 + 0.25 * min(n - 1, 3))


def lf_crime(text: str, section: str | None, votes: Votes, taxonomy: Taxonomy) -> None:
    n = _has(CRIME, text)
    if _has(NEGATIVE_EFFECT, text):
        votes.vetoed.add("tham_nhung_tieu_cuc")
    if not n:
        return
    if _has(OFFICIAL_MISCONDUCT, text):
        votes.vote("tham_nhung_tieu_cuc", 1.25)
    else:
        votes.vote("xa_hoi_khac", 0.5 + 0.25 * min(n - 1, 4))


# The outlet's section, where it decides the board topic (baomoi folder labels, VNTC, VnExpress, RSS categories).
SECTION_TOPICS: dict[str, tuple[str, float]] = {
    # baomoi-tc201805
    "the thao - the thao doi khang": (OTHER, 1.5), "the thao - the thao dong doi - bong da": (OTHER, 1.5),
    "tro choi": (OTHER, 1.5), "am thuc": (OTHER, 1.5), "du lich": (OTHER, 1.5), "mua sam": (OTHER, 1.5),
    "mua sam - trang phuc": (OTHER, 1.5), "thu cung va dong vat": (OTHER, 1.5), "nha vuon": (OTHER, 1.0),
    "sach va van hoc": (OTHER, 1.0), "so thich": (OTHER, 1.0), "lam dep va the hinh": (OTHER, 1.0),
    "may vi tinh va do dien tu": (OTHER, 1.5), "mang may tinh va vien thong": (OTHER, 1.5),
    "may vi tinh va do dien tu - mang may tinh va vien thong": (OTHER, 1.5), "tai chinh": (OTHER, 0.75),
    "tai chinh - dau tu - co phieu va trai phieu": (OTHER, 1.5), "khoa hoc": (OTHER, 1.0),
    "con nguoi va xa hoi - khoa hoc xa hoi - van hoa": (OTHER, 0.75), "bat dong san": (OTHER, 0.75),
    "kinh doanh va cong nghiep": (OTHER, 0.5), "suc khoe": ("y_te_giao_duc", 0.25),
    "lam dep va the hinh - suc khoe": (OTHER, 0.5), "giao duc va viec lam - giao duc": ("y_te_giao_duc", 0.5),
    "giao duc va viec lam - viec lam": ("viec_lam", 0.75),
    "khoa hoc - sinh thai va moi truong": ("xa_hoi_khac", 0.25),
    "con nguoi va xa hoi - gia dinh va cac moi quan he - hon nhan": (OTHER, 0.5),
    # VNTC
    "The thao": (OTHER, 1.5), "The gioi": (OTHER, 1.0), "Vi tinh": (OTHER, 1.5), "Van hoa": (OTHER, 1.0),
    "Khoa hoc": (OTHER, 1.0), "Suc khoe": ("y_te_giao_duc", 0.5), "Kinh doanh": (OTHER, 0.25),
    # vnexpress-titles-8cat
    "THE_THAO": (OTHER, 1.5), "GIAI_TRI": (OTHER, 1.5), "DU_LICH": (OTHER, 1.5), "KHOA_HOC": (OTHER, 1.0),
    "SUC_KHOE": ("y_te_giao_duc", 0.5), "GIAO_DUC": ("y_te_giao_duc", 0.5), "KINH_DOANH": (OTHER, 0.5),
    # news-rss-crawl-2026
    "bong-da": (OTHER, 1.5), "the-thao": (OTHER, 1.5), "thoi-trang": (OTHER, 1.5), "hi-tech": (OTHER, 1.5),
    "phim": (OTHER, 1.5), "Thế giới": (OTHER, 1.0), "giao-duc-du-hoc": ("y_te_giao_duc", 0.5),
    "Kinh doanh": (OTHER, 0.25),
    # UIT-ViCTSD comments, by the section of the article (a comment can stray from it: lower weights)
    "victsd:TheThao": (OTHER, 1.0), "victsd:GiaiTri": (OTHER, 1.0), "victsd:OtoXemay": (OTHER, 1.0),
    "victsd:KhoaHoc": (OTHER, 0.75), "victsd:TheGioi": (OTHER, 0.75), "victsd:SucKhoe": ("y_te_giao_duc", 0.5),
    "victsd:GiaoDuc": ("y_te_giao_duc", 0.5), "victsd:PhapLuat": ("xa_hoi_khac", 0.5),
}


def lf_section(text: str, section: str | None, votes: Votes, taxonomy: Taxonomy) -> None:
    if section and section in SECTION_TOPICS:
        code, weight = SECTION_TOPICS[section]
        if code in taxonomy.topics:
            votes.vote(code, weight)
        if code == OTHER and weight >= 1.0:
            votes.vetoed.update(("tien_luong", "nha_o_doi_song"))


LabellingFunction = Callable[[str, "str | None", Votes, Taxonomy], None]
LABELLING_FUNCTIONS: tuple[LabellingFunction, ...] = (
    lf_seed, lf_strong, lf_context, lf_prices, lf_prize, lf_health, lf_disaster, lf_tax, lf_crime, lf_section,
)


@lru_cache(maxsize=1)
def _default_taxonomy() -> Taxonomy:
    return load_taxonomy()


def apply_lfs(text: str, section: str | None = None, taxonomy: Taxonomy | None = None) -> Votes:
    """Every labelling function's votes and vetoes on one text."""
    taxonomy = taxonomy or _default_taxonomy()
    lowered = normalize(text).lower()
    votes = Votes()
    for lf in LABELLING_FUNCTIONS:
        lf(lowered, section, votes, taxonomy)
    return votes


def weak_label(text: str, section: str | None = None, taxonomy: Taxonomy | None = None) -> str | None:
    """The topic the labelling functions agree on, or None when they abstain or disagree."""
    return apply_lfs(text, section, taxonomy).winner()
