"""Relevance of one item to a labour board: is it about workers, is it about the province, is it excluded news.

Pure: text and facts in, a `Relevance` out; the store keeps the result (service/relevance.py).

- *workers*: weighted phrases about union members, workers and public employees, their pay, jobs, insurance,
  conditions, housing and prices of living, the policies that touch them, accidents and disasters that hit people
  and the union's relief; combined as a noisy-or (each phrase is a piece of evidence), plus the topic model's code
  and the news-topic label as soft evidence. Collaborators' observations are about workers by default.
- *excluded*: sports, entertainment, celebrity, lottery, market-price and world news, recognised by their own
  phrases, when no labour term is the subject. Sports keeps its label even when a club does not pay its players
  (the players are the subject): such an item scores low-to-medium on workers and stays searchable.
- *local*: the province or one of its places named (nlp/gazetteer.py), a local outlet, or a collaborator's report.

Matching is exact on diacritics and word-bounded on lower-cased NFC text: «đình công» is not «Định Công».
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

from nlp.gazetteer import (EMPLOYER, FORMER_DISTRICT, FORMER_TOWN, INDUSTRIAL_ZONE, LANDMARK, PROVINCE, REGION,
                           Gazetteer, canonical, load_gazetteer, trie_regex)

__all__ = ["Relevance", "score", "EXCLUDED_KINDS", "EXCLUDED_NAMES", "RELEVANT_WORKERS", "is_relevant",
           "workers_level"]

RELEVANT_WORKERS = 0.5          # an item is relevant to the board when workers ≥ this and it is not excluded
EXCLUDED_KINDS = ("sports", "entertainment", "celebrity", "lottery", "market", "world")
OBSERVATION_WORKERS = 0.8       # a collaborator's report is about workers unless shown otherwise
TEXT_FACTOR = 0.6               # a phrase only in the body counts less than one in the headline
SPORTS_DAMPING = 0.45           # labour words inside sports news are about players, not the board's workers
EXCLUDED_DAMPING = 0.5          # other excluded news that also names a labour term in passing
EXCLUDE_AT = 1.0                # a kind's evidence needed to call an item that kind of news
LOCAL_BOOST_AT = 0.85           # an item this local to the province …
LOCAL_BOOST = 0.3               # … counts as this much evidence of concern to the board
SUBJECT_AT = 0.75               # a labour phrase this strong in the headline makes it the subject (not excluded)


@dataclass
class Relevance:
    workers: float
    local: float
    excluded: str | None = None
    places: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def relevant(self) -> bool:
        return is_relevant(self.workers, self.excluded)


def is_relevant(workers: float, excluded: str | None) -> bool:
    return workers >= RELEVANT_WORKERS and excluded is None


def workers_level(workers: float) -> str:
    """«cao», «trung bình» or «thấp», as shown on the item page."""
    return "cao" if workers >= 0.7 else "trung bình" if workers >= RELEVANT_WORKERS else "thấp"


# --- evidence about workers: (phrase, weight, short Vietnamese reason) ------------------------------------------------
_PAY = "tiền lương, thu nhập"
_JOBS = "việc làm"
_INSURANCE = "bảo hiểm, chế độ"
_CONDITIONS = "điều kiện lao động"
_RELATIONS = "quan hệ lao động"
_UNION = "công đoàn"
_PEOPLE = "người lao động"
_PUBLIC = "công chức, viên chức"
_LIVING = "đời sống, giá sinh hoạt"
_POLICY = "chính sách"
_DISASTER = "thiên tai, tai nạn"
_RELIEF = "hỗ trợ, chăm lo"
_CORRUPTION = "tham nhũng, tiêu cực"

WORKER_PHRASES: dict[str, tuple[float, str]] = {}


def _add(group: str, weight: float, *phrases: str) -> None:
    for phrase in phrases:
        WORKER_PHRASES[phrase] = (weight, group)


_add(_PEOPLE, 0.8, "công nhân", "người lao động", "nlđ", "người làm công", "lao động tự do", "lao động nữ",
     "lao động phổ thông", "người thợ", "thợ may", "thợ xây", "công nhân viên", "cnvc", "cnvclđ", "người làm thuê",
     "lao động việt nam", "lao động nhập cư", "người lao động nghèo", "giai cấp công nhân")
_add(_PEOPLE, 0.8, "tài xế công nghệ", "xe ôm công nghệ", "tài xế grab", "tài xế xe công nghệ")
_add(_PEOPLE, 0.4, "lao động", "người làm", "shipper", "người dân lao động")
_add(_PEOPLE, 0.25, "tài xế")
_add(_PEOPLE, 0.3, "nhân viên")
_add(_UNION, 0.9, "công đoàn", "đoàn viên", "liên đoàn lao động", "lđlđ", "tổng liên đoàn", "tlđ", "cđcs",
     "mái ấm công đoàn", "tết sum vầy", "chuyến xe công đoàn", "chuyến tàu mùa xuân", "chợ tết công đoàn",
     "tháng công nhân", "thiết chế công đoàn", "kinh phí công đoàn", "quỹ xã hội công đoàn")
_add(_PAY, 0.9, "nợ lương", "chậm lương", "chậm trả lương", "trả lương chậm", "nợ tiền lương", "chưa nhận được lương",
     "chưa được trả lương", "không trả lương", "quỵt lương", "trừ lương", "cắt lương", "giảm lương", "lương tối thiểu",
     "lương cơ sở", "tăng lương", "cải cách tiền lương", "tiền lương", "thưởng tết", "lương tháng 13", "bảng lương",
     "nâng lương", "lương hưu", "tiền công", "tăng ca", "làm thêm giờ", "thu nhập bình quân", "phụ cấp")
_add(_PAY, 0.6, "lương", "lương thưởng", "thưởng tết nguyên đán")
_add(_PAY, 0.45, "thu nhập")
_add(_PAY, 0.35, "tiền thưởng")
_add(_INSURANCE, 0.85, "bảo hiểm xã hội", "bhxh", "bảo hiểm thất nghiệp", "bhtn", "trợ cấp thất nghiệp",
     "bảo hiểm y tế", "bhyt", "thai sản", "chế độ ốm đau", "rút bảo hiểm một lần", "hưu trí", "nghỉ hưu",
     "tuổi nghỉ hưu", "sổ bảo hiểm", "nợ đóng bảo hiểm", "trốn đóng bảo hiểm", "chậm đóng bảo hiểm")
_add(_JOBS, 0.85, "mất việc", "sa thải", "thất nghiệp", "cắt giảm lao động", "cắt giảm nhân sự", "cắt giảm việc làm",
     "thôi việc", "nghỉ việc", "giãn việc", "giảm giờ làm", "thiếu việc làm", "tìm việc làm", "tạo việc làm", "tuyển dụng",
     "tuyển lao động", "xuất khẩu lao động", "đi làm việc ở nước ngoài", "thị trường lao động", "giải quyết việc làm",
     "phiên giao dịch việc làm", "ngày hội việc làm", "học nghề", "đào tạo nghề", "thiếu lao động", "tìm việc")
_add(_RELATIONS, 0.9, "đình công", "ngừng việc", "lãn công", "tranh chấp lao động", "quan hệ lao động",
     "hợp đồng lao động", "thỏa ước lao động", "người sử dụng lao động", "chủ sử dụng lao động", "bộ luật lao động",
     "luật lao động", "luật công đoàn", "luật việc làm", "quyền lợi người lao động", "đối thoại tại nơi làm việc",
     "chủ doanh nghiệp bỏ trốn", "giám đốc bỏ trốn", "chủ bỏ trốn")
_add(_CONDITIONS, 0.85, "tai nạn lao động", "an toàn lao động", "vệ sinh lao động", "bệnh nghề nghiệp",
     "điều kiện làm việc", "môi trường làm việc", "bữa ăn ca", "bảo hộ lao động", "ngất xỉu", "ngộ độc tập thể",
     "giờ làm việc", "nơi làm việc", "áp lực công việc")
_add(_JOBS, 0.75, "có việc làm", "mất việc làm", "công ăn việc làm", "việc làm ổn định", "cơ hội việc làm",
     "vị trí việc làm", "việc làm cho người lao động", "việc làm mới", "việc làm bền vững", "thiếu hụt lao động")
_add(_JOBS, 0.4, "việc làm")
_add(_CONDITIONS, 0.5, "nhà máy", "xưởng", "khu công nghiệp", "kcn", "cụm công nghiệp", "công trường", "hầm lò",
     "mỏ than", "công ty may", "doanh nghiệp fdi")
_add(_PUBLIC, 0.75, "công chức", "viên chức", "cán bộ, công chức", "tinh giản biên chế", "sắp xếp bộ máy",
     "dôi dư", "nghỉ việc theo nghị định", "cán bộ cấp xã", "biên chế", "chế độ chính sách", "lđtbxh",
     "lđ-tb&xh", "lao động - thương binh", "lao động, thương binh", "sở lao động", "bộ lao động")
_add(_PUBLIC, 0.35, "giáo viên", "nhà giáo", "y bác sĩ", "nhân viên y tế", "bác sĩ", "điều dưỡng", "cán bộ")
_add(_LIVING, 0.45, "xóm trọ", "xăng dầu", "giá nhà", "an cư")
_add(_LIVING, 0.35, "lạm phát")
_add(_LIVING, 0.35, "nhà trọ", "phòng trọ")
_add(_LIVING, 0.7, "nhà ở xã hội", "thuê trọ", "tiền thuê nhà", "giá thuê nhà",
     "giá điện", "tiền điện", "giá nước", "tiền nước", "giá xăng", "giá xăng dầu", "chi phí sinh hoạt",
     "trượt giá", "giá thực phẩm", "chỉ số giá tiêu dùng", "cpi", "bình ổn giá", "mưu sinh",
     "học phí", "an sinh xã hội", "giá gas")
_add(_LIVING, 0.35, "hộ nghèo", "người nghèo", "cận nghèo", "người có công")
_add(_LIVING, 0.4, "đời sống", "tăng giá", "giá thịt", "giá cả", "sức mua", "sắm tết", "chi tiêu", "vay tiêu dùng", "tín dụng đen")
_add(_POLICY, 0.25, "luật")
_add(_POLICY, 0.35, "nghị định", "thông tư", "dự thảo luật", "chính sách", "quy định mới", "có hiệu lực",
     "bộ nội vụ", "thuế thu nhập cá nhân", "sáp nhập", "sắp xếp đơn vị hành chính", "chính quyền hai cấp",
     "chính quyền địa phương hai cấp")
_add(_PUBLIC, 0.6, "sắp xếp, tổ chức lại", "tinh gọn bộ máy", "sắp xếp lại", "tổ chức cán bộ")
_add(_POLICY, 0.25, "quốc hội", "nghị quyết", "chính phủ", "thủ tướng", "dự thảo", "pháp luật")
_add(_CORRUPTION, 0.65, "tham nhũng", "tham ô", "hối lộ", "nhận hối lộ", "đưa hối lộ", "lợi dụng chức vụ",
     "lạm quyền", "thất thoát", "nhũng nhiễu", "vi phạm quy định", "khai trừ",
     "kỷ luật đảng", "cách chức", "bị kỷ luật", "kỷ luật cảnh cáo", "ủy ban kiểm tra", "kết luận thanh tra",
     "biển thủ", "chiếm đoạt tiền", "nhận tiền của", "vi phạm quy định về")
_add(_CORRUPTION, 0.45, "sai phạm", "lãng phí", "trục lợi")
_add(_CORRUPTION, 0.25, "bị bắt", "bị khởi tố", "khởi tố", "bắt tạm giam", "chạy án", "làm giả")
_add(_CORRUPTION, 0.45, "giám đốc sở", "bổ nhiệm cán bộ", "quy hoạch cán bộ")
_add(_CORRUPTION, 0.35, "phó giám đốc sở",
     "nguyên chủ tịch", "chủ tịch ubnd", "thanh tra", "kỷ luật", "bị cáo", "tuyên án", "giảm án", "phạt tù",
     "cựu giám đốc", "nguyên giám đốc", "cựu chủ tịch", "vụ án", "điều tra viên", "kiểm sát viên", "năm tù")
_add(_DISASTER, 0.75, "mưa lũ", "lũ quét", "lũ lụt", "lũ ống", "sạt lở", "ngập lụt", "ngập sâu", "thiên tai", "bão số",
     "hoàn lưu bão", "cứu trợ", "khắc phục hậu quả", "di dời", "sơ tán", "rét đậm", "rét hại", "mưa đá", "lốc xoáy",
     "động đất", "hạn hán", "sập nhà", "cháy xưởng", "cháy nhà xưởng", "nổ lò", "sập giàn giáo",
     "sét đánh", "dịch tả", "vụ cháy", "hỏa hoạn", "vụ nổ", "phát nổ", "thảm họa", "cúm gia cầm", "ổ dịch",
     "dịch cúm", "chìm tàu", "lật tàu", "đắm tàu", "thiếu nước", "xâm nhập mặn", "triều cường")
_add(_DISASTER, 0.45, "sốt xuất huyết", "dịch bệnh", "cháy nổ", "ngộ độc thực phẩm")
_add(_DISASTER, 0.35, "ngộ độc")
_add(_DISASTER, 0.45, "bão", "lũ", "mưa lớn", "giá rét", "nắng nóng", "cứu hộ", "cứu nạn", "mưa to", "gió mạnh")
_add(_DISASTER, 0.3, "thiệt hại", "tử vong", "thương vong", "mất tích", "tai nạn", "cháy", "không khí lạnh", "ô nhiễm",
     "nổ")
_add(_RELIEF, 0.7, "hỗ trợ người dân", "hỗ trợ người lao động", "chăm lo")
_add(_RELIEF, 0.4, "trao quà", "tặng quà", "quà tết", "hỗ trợ khó khăn", "mái ấm", "nhà đại đoàn kết",
     "hoàn cảnh khó khăn", "vượt khó")
_add(_RELIEF, 0.35, "hỗ trợ", "ủng hộ", "từ thiện", "thăm hỏi")
_add(_RELIEF, 0.15, "tết")
# compounds that hold a shorter phrase but mean something else: matched first (longest first) and worth nothing
_add("", 0.0, "lương thực", "lương tâm", "lương y", "lương thiện", "lũ trẻ", "lũ bạn", "lũ lượt", "cháy hàng",
     "cháy vé", "cháy túi", "luật sư", "luật chơi", "bão mạng", "hoàn lương", "bất lương", "kỷ luật quân đội", "việc làm sạch",
     "việc làm này", "việc làm của", "những việc làm", "việc làm đó", "việc làm trên", "bão like", "cơn bão chuyển nhượng",
     "gây bão", "vô lương", "bùng nổ", "đoàn viên, thanh niên", "đoàn viên thanh niên", "đoàn thanh niên",
     "kế hoạch hưu trí", "việc làm thiện nguyện", "việc làm nhân đạo", "việc làm ý nghĩa", "việc làm tốt",
     "giá điện thoại", "bảng giá điện thoại", "giá cả triệu", "việc làm đại sứ")
_add(_LIVING, 0.6, "bão giá")

# --- kinds of excluded news: (phrase, weight) -------------------------------------------------------------------------
EXCLUDED_PHRASES: dict[str, dict[str, float]] = {
    "sports": {
        "cầu thủ": 1.0, "clb": 1.0, "câu lạc bộ": 0.6, "hlv": 1.0, "huấn luyện viên": 1.0, "v-league": 1.0,
        "bóng đá": 1.0, "đội tuyển": 0.8, "ghi bàn": 1.0, "bàn thắng": 1.0, "trận đấu": 0.8, "trận thứ": 0.6, "vòng loại": 0.8, "sân vận động": 0.8,
        "tiền đạo": 1.0, "tiền vệ": 1.0, "hậu vệ": 1.0, "thủ môn": 1.0, "chuyển nhượng": 0.8, "ngoại hạng anh": 1.0,
        "champions league": 1.0, "la liga": 1.0, "serie a": 1.0, "bundesliga": 1.0, "premier league": 1.0,
        "world cup": 1.0, "sea games": 1.0, "asian cup": 1.0, "aff cup": 1.0, "fifa": 1.0, "vff": 1.0, "u23": 1.0,
        "u22": 1.0, "futsal": 1.0, "tennis": 1.0, "quần vợt": 1.0, "golf": 0.8, "bi-a": 1.0, "pickleball": 1.0,
        "ronaldo": 1.0, "messi": 1.0, "cr7": 1.0, "al nassr": 1.0, "saudi pro league": 1.0,
        "barcelona": 0.8, "man utd": 1.0, "man city": 1.0, "arsenal": 1.0, "liverpool": 1.0, "chelsea": 1.0,
        "vô địch": 0.5, "giải đấu": 0.6, "thể thao": 0.6, "olympic": 0.8, "thế vận hội": 0.8, "võ sĩ": 1.0,
        "vđv": 1.0, "vận động viên": 0.8, "sân cỏ": 1.0, "người hâm mộ": 0.5, "hat-trick": 1.0, "penalty": 1.0,
        "phạt đền": 1.0, "đội bóng": 1.0, "marathon": 1.0, "giải chạy": 0.8, "tiền thưởng": 0.3, "huy chương": 0.6, "mbappe": 1.0, "atp": 1.0,
    },
    "entertainment": {
        "ca sĩ": 1.0, "diễn viên": 1.0, "phim": 0.8, "mv": 1.0, "showbiz": 1.0, "liveshow": 1.0, "gameshow": 1.0,
        "rapper": 1.0, "album": 1.0, "sao việt": 1.0, "đạo diễn": 0.8, "nghệ sĩ": 0.5, "concert": 1.0,
        "âm nhạc": 0.6, "bài hát": 0.8, "ca khúc": 0.8, "khán giả": 0.5, "điện ảnh": 0.8, "phim truyền hình": 1.0,
        "người đẹp": 0.8, "nhan sắc": 0.8, "gợi cảm": 1.0, "quyến rũ": 0.8, "con giáp": 1.0, "tử vi": 1.0,
        "phong thủy": 0.8, "game": 0.6, "du lịch": 0.4, "điểm đến": 0.5, "du khách": 0.4, "ẩm thực": 0.6,
        "thời trang": 0.8,
    },
    "celebrity": {
        "hoa hậu": 1.0, "á hậu": 1.0, "người mẫu": 1.0, "hot girl": 1.0, "hotgirl": 1.0, "tỷ phú": 0.8,
        "tỉ phú": 0.8, "elon musk": 1.0, "kol": 0.8, "tiktoker": 1.0, "youtuber": 1.0, "streamer": 1.0,
        "influencer": 1.0, "á khôi": 1.0, "thiếu gia": 0.8, "đại gia": 0.6, "mỹ nhân": 1.0, "sao hàn": 1.0,
    },
    "lottery": {
        "xổ số": 1.0, "xsmb": 1.0, "xsmn": 1.0, "xsmt": 1.0, "vietlott": 1.0, "jackpot": 1.0, "vé số": 0.6,
        "soi cầu": 1.0, "giải đặc biệt": 0.6, "kết quả xổ số": 1.0, "power 6/55": 1.0, "mega 6/45": 1.0,
    },
    "market": {
        "giá vàng": 1.0, "vàng miếng": 1.0, "vàng nhẫn": 1.0, "vàng sjc": 1.0, "sjc": 0.8, "giá bạc": 1.0,
        "bạc miếng": 1.0, "tỷ giá": 1.0, "tỉ giá": 1.0, "chứng khoán": 1.0, "vn-index": 1.0, "cổ phiếu": 1.0,
        "trái phiếu": 0.8, "bitcoin": 1.0, "tiền số": 1.0, "tiền mã hóa": 1.0, "giá cà phê": 1.0, "giá tiêu": 1.0,
        "giá lúa": 1.0, "giá heo hơi": 1.0, "giá lợn hơi": 1.0, "giá cao su": 1.0, "giá sầu riêng": 1.0,
        "lãi suất": 0.6, "nhà đầu tư": 0.6, "usd": 0.4, "kim loại quý": 1.0, "mua vàng": 1.0, "bán vàng": 1.0,
        "vàng bạc": 0.8, "vàng, bạc": 1.0, "thị trường vàng": 1.0, "nhà vàng": 1.0, "tiệm vàng": 0.8,
        "lượng vàng": 1.0, "chỉ vàng": 0.8, "gom vàng": 1.0, "bạc thỏi": 1.0, "giá vàng, bạc": 1.0,
        "giá dầu": 0.6, "sàn giao dịch": 0.5, "lợi nhuận": 0.4, "báo lãi": 0.8, "báo lỗ": 0.8, "doanh thu": 0.4,
        "bất động sản": 0.5, "xuất khẩu": 0.3,
    },
    "world": {
        "tổng thống": 0.6, "ông trump": 1.0, "trump": 0.8, "nhà trắng": 1.0, "điện kremlin": 1.0, "ukraine": 1.0,
        "israel": 1.0, "gaza": 1.0, "hamas": 1.0, "iran": 1.0, "triều tiên": 1.0, "nato": 1.0,
        "liên hợp quốc": 0.6, "châu âu": 0.5, "trung đông": 1.0, "washington": 0.8, "moskva": 1.0,
        "bắc kinh": 0.8, "ấn độ": 0.5, "myanmar": 0.5, "epstein": 1.0, "venezuela": 1.0, "greenland": 1.0,
        "thủ tướng anh": 1.0, "tên lửa": 0.6, "quân sự": 0.4, "lầu năm góc": 1.0, "điện đàm": 0.4,
        "tại mỹ": 0.8, "ở mỹ": 0.8, "nước mỹ": 0.8, "người mỹ": 0.8, "gia đình mỹ": 1.0, "tại trung quốc": 0.8,
        "ở trung quốc": 0.8, "công nhân trung quốc": 1.0, "tại australia": 0.8, "đại học tại": 0.3,
        "nhân dân tệ": 0.8, "thế giới": 0.4, "toàn cầu": 0.4, "quốc tế": 0.2,
    },
}
# proper nouns matched with their capitals (lower case they are common syllables: «thẩm mỹ», «biện pháp», «MU»)
CASED_EXCLUDED_PHRASES: dict[str, dict[str, float]] = {
    "world": {"Thụy Sĩ": 0.8, "Amazon": 0.5, "Microsoft": 0.5, "Mỹ": 0.4, "Nga": 0.5, "Trung Quốc": 0.3, "Nhật Bản": 0.3, "Hàn Quốc": 0.3, "Pháp": 0.3, "EU": 0.6,
              "Thái Lan": 0.3, "Campuchia": 0.3, "Philippines": 0.4, "Indonesia": 0.3, "Australia": 0.4,
              "Canada": 0.4, "Mexico": 0.4, "Brazil": 0.4, "Anh": 0.05},
    "sports": {"MU": 0.8, "Real Madrid": 1.0, "PSG": 1.0, "Bayern": 1.0, "Inter": 0.6, "Juventus": 1.0,
               "Al Hilal": 1.0, "Al Ittihad": 1.0, "Hà Nội FC": 1.0, "HAGL": 1.0, "SLNA": 1.0},
}
# a headline that opens with a country («Đức: Hàng nghìn nhân viên Amazon đình công») is world news
_COUNTRY_FIRST = re.compile(r"^\W*(?:Đức|Mỹ|Nhật(?: Bản)?|Anh|Pháp|Trung Quốc|Hàn Quốc|Nga|Úc|Australia|Ấn Độ|Thái Lan|"
                            r"Singapore|Indonesia|Philippines|Malaysia|Campuchia|Lào|Canada|Ukraine|Israel|Iran)\s*:")
# the news-topic model's labels (VNTC names) as soft evidence: (kind or None for workers, weight)
_NEWS_TOPIC_EXCLUDED = {"The thao": ("sports", 0.8), "Van hoa": ("entertainment", 0.4), "The gioi": ("world", 0.6),
                        "Kinh doanh": ("market", 0.3), "Vi tinh": ("entertainment", 0.2)}
_NEWS_TOPIC_WORKERS = {"Chinh tri Xa hoi": 0.1, "Doi song": 0.1, "Suc khoe": 0.05, "Phap luat": 0.0}
# the board's topic codes (classifier_models/taxonomy.toml and the codes the brief names) as soft evidence
_TOPIC_WORKERS = {
    "tien_luong": 0.35, "bao_hiem": 0.35, "viec_lam": 0.35, "dieu_kien_lao_dong": 0.35, "quan_he_lao_dong": 0.35,
    "hoat_dong_cong_doan": 0.4, "nha_o_doi_song": 0.3, "chinh_sach_phap_luat": 0.2, "thien_tai": 0.4,
    "y_te_giao_duc": 0.2, "tham_nhung_tieu_cuc": 0.35, "xa_hoi_khac": 0.1, "khac": 0.0,
}
# a labour phrase as the headline's subject keeps an item out of these kinds (the sports kind is never saved)
# a world story keeps a labour subject only when it is about Vietnam's workers (labour export, Vietnamese abroad)
_VIETNAM = re.compile(r"(?<!\w)(?:việt nam|người việt|lao động việt|xuất khẩu lao động|xklđ|thực tập sinh|"
                      r"đi làm việc ở nước ngoài|trong nước)(?!\w)")
_SUBJECT_GROUPS = {_PAY, _JOBS, _INSURANCE, _CONDITIONS, _RELATIONS, _UNION, _PEOPLE, _PUBLIC}
_SUBJECT_SAVES = {"entertainment", "celebrity", "lottery", "market", "world"}
_GROUP_REASONS = {
    _PAY: "tiền lương, thu nhập", _JOBS: "việc làm", _INSURANCE: "bảo hiểm, chế độ", _CONDITIONS: "điều kiện lao động",
    _RELATIONS: "quan hệ lao động", _UNION: "công đoàn", _PEOPLE: "người lao động", _PUBLIC: "công chức, viên chức",
    _LIVING: "đời sống, giá sinh hoạt", _POLICY: "chính sách", _DISASTER: "thiên tai, tai nạn",
    _RELIEF: "hỗ trợ, chăm lo", _CORRUPTION: "tham nhũng, tiêu cực",
}
EXCLUDED_NAMES = {"sports": "thể thao", "entertainment": "giải trí", "celebrity": "người nổi tiếng",
                   "lottery": "xổ số", "market": "giá thị trường", "world": "thế giới"}
_LOCAL_WEIGHT = {PROVINCE: 1.0, FORMER_DISTRICT: 0.9, FORMER_TOWN: 0.85, LANDMARK: 0.8, INDUSTRIAL_ZONE: 0.9,
                 EMPLOYER: 0.9, REGION: 0.3}


def _by_phrase(tables: dict[str, dict[str, float]]) -> dict[str, list[tuple[str, float]]]:
    out: dict[str, list[tuple[str, float]]] = {}
    for kind, phrases in tables.items():
        for phrase, weight in phrases.items():
            out.setdefault(phrase, []).append((kind, weight))
    return out


_EXCLUDED_BY_PHRASE = _by_phrase(EXCLUDED_PHRASES)
_CASED_BY_PHRASE = _by_phrase(CASED_EXCLUDED_PHRASES)


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    excluded = {p for phrases in EXCLUDED_PHRASES.values() for p in phrases}
    cased = {p for phrases in CASED_EXCLUDED_PHRASES.values() for p in phrases}
    return _alternation(WORKER_PHRASES), _alternation(excluded), _alternation(cased)


def _alternation(phrases) -> re.Pattern[str]:
    """One word-bounded pattern for many phrases, built as a character trie (the longest phrase wins at a
    position, and the regex engine does not retry hundreds of alternatives at every character)."""
    return re.compile(rf"(?<![\w-])(?:{trie_regex(sorted(set(phrases)))})(?![\w-])")




def _found(pattern: re.Pattern[str], text: str) -> set[str]:
    return set(pattern.findall(text))


_NAME_LIKE = {"lương"}          # also a surname: «Chủ tịch nước Lương Cường» is not about pay
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\n\"'“”(\[«-])\s*$")


def _found_words(pattern: re.Pattern[str], lower: str, cased: str) -> set[str]:
    """Phrases found in the lower-cased text, leaving out a name-like word written with a capital mid-sentence."""
    out = set()
    aligned = len(lower) == len(cased)
    for m in pattern.finditer(lower):
        phrase = m.group(0)
        if (phrase in _NAME_LIKE and aligned and cased[m.start()].isupper()
                and not _SENTENCE_START.search(cased[max(0, m.start() - 3):m.start()])):
            continue
        out.add(phrase)
    return out


def score(title: str, text: str, *, kind: str = "article", source: str = "", org_unit: str | None = None,
          topic: str | None = None, news_topic: str | None = None, gazetteer: Gazetteer | None = None,
          local_sources: frozenset[str] = frozenset(),
          excluded_kinds: tuple[str, ...] | frozenset[str] | None = None) -> Relevance:
    """How much an item is about workers and about the province, and whether it is excluded news.

    `excluded_kinds`: the kinds of news the installation excludes (default: all of EXCLUDED_KINDS).
    """
    worker_re, excluded_re, cased_re = _patterns()
    head_cased, body_cased = canonical(title), canonical(text)
    head, body = head_cased.lower(), body_cased.lower()
    in_head_w, in_body_w = _found_words(worker_re, head, head_cased), _found_words(worker_re, body, body_cased)
    in_head_x, in_body_x = _found(excluded_re, head), _found(excluded_re, body)
    in_head_c, in_body_c = _found(cased_re, head_cased), _found(cased_re, body_cased)
    reasons: list[str] = []

    # --- workers: noisy-or of the phrases, strongest per group counted fully, the rest of a group halved
    evidence: dict[str, float] = {}
    for phrase in in_head_w | in_body_w:
        weight, _ = WORKER_PHRASES[phrase]
        if weight <= 0:
            continue
        # a comment or an untitled report has no headline: its text is all it says
        evidence[phrase] = weight if phrase in in_head_w or not head else weight * TEXT_FACTOR
    by_group: dict[str, list[tuple[float, str]]] = {}
    for phrase, w in evidence.items():
        by_group.setdefault(WORKER_PHRASES[phrase][1], []).append((w, phrase))
    miss = 1.0
    for group, items in by_group.items():
        items.sort(reverse=True)
        for rank, (w, _) in enumerate(items[:3]):
            miss *= 1.0 - (w if rank == 0 else w * 0.4)
    if topic in _TOPIC_WORKERS:
        miss *= 1.0 - _TOPIC_WORKERS[topic]
    if news_topic in _NEWS_TOPIC_WORKERS:
        miss *= 1.0 - _NEWS_TOPIC_WORKERS[news_topic]
    workers = 1.0 - miss
    strongest = sorted(((w, p) for p, w in evidence.items()), reverse=True)[:2]
    for _, phrase in strongest:
        reasons.append(f"nhắc đến {phrase}")
    head_subject = max((WORKER_PHRASES[p][0] for p in in_head_w if WORKER_PHRASES[p][1] in _SUBJECT_GROUPS),
                       default=0.0)

    # --- excluded news: the kind with the most evidence, if enough
    allowed = set(EXCLUDED_KINDS if excluded_kinds is None else excluded_kinds)
    kind_evidence: dict[str, float] = {}
    for found_head, found_any, table in ((in_head_x, in_head_x | in_body_x, _EXCLUDED_BY_PHRASE),
                                         (in_head_c, in_head_c | in_body_c, _CASED_BY_PHRASE)):
        for phrase in found_any:
            for k, w in table.get(phrase, ()):
                kind_evidence[k] = kind_evidence.get(k, 0.0) + w * (1.5 if phrase in found_head else 1.0)
    if _COUNTRY_FIRST.search(head_cased):
        kind_evidence["world"] = kind_evidence.get("world", 0.0) + 1.0
    if news_topic in _NEWS_TOPIC_EXCLUDED:
        k, w = _NEWS_TOPIC_EXCLUDED[news_topic]
        kind_evidence[k] = kind_evidence.get(k, 0.0) + w
    excluded = None
    best_kind = max(kind_evidence, key=kind_evidence.get) if kind_evidence else None
    if best_kind and kind_evidence[best_kind] >= EXCLUDE_AT and best_kind in allowed:
        saved = head_subject >= SUBJECT_AT and (best_kind != "world" or _VIETNAM.search(head + "\n" + body))
        if best_kind in _SUBJECT_SAVES and saved:
            reasons.append(f"có yếu tố {EXCLUDED_NAMES[best_kind]} nhưng chủ thể là người lao động")
        else:
            excluded = best_kind
            workers *= SPORTS_DAMPING if best_kind == "sports" else EXCLUDED_DAMPING
            reasons.insert(0, f"tin {EXCLUDED_NAMES[best_kind]}")

    # --- local
    from_collaborator = kind == "observation" or bool(org_unit)
    if kind == "observation" and excluded is None:
        workers = max(workers, OBSERVATION_WORKERS)
    local = 0.0
    if from_collaborator:
        local = 1.0
        reasons.append("ý kiến cộng tác viên")
    elif source and source in local_sources:
        local = 1.0
        reasons.append(f"nguồn địa phương: {source}")
    gazetteer = gazetteer or load_gazetteer()
    places = gazetteer.find(f"{head_cased}\n{body_cased}", assume_local=local >= 1.0, normalized=True)
    for place in places:
        local = max(local, _LOCAL_WEIGHT.get(place.kind, 0.85))
    if excluded is None and not from_collaborator and local >= LOCAL_BOOST_AT:
        workers = 1.0 - (1.0 - workers) * (1.0 - LOCAL_BOOST)   # the board follows its own province's life
    names = [p.name for p in places]
    named = [p.name for p in places if p.kind not in (PROVINCE, REGION)]
    if named:
        reasons.append("địa bàn: " + ", ".join(named[:3]))
    elif any(p.kind == PROVINCE for p in places):
        reasons.append(f"nhắc đến {gazetteer.province}")
    elif places:
        reasons.append("khu vực: " + places[0].name)
    return Relevance(workers=_round(workers), local=_round(local), excluded=excluded, places=names, reasons=reasons)


def _round(x: float) -> float:
    return round(min(1.0, max(0.0, x)) + 0.0, 3) if not math.isnan(x) else 0.0
