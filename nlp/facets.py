"""Facets of a text: the legal documents it cites, the enterprises and organisations it names, the province's places.

Pure functions over a string. A document is normalised to one key however it is written («Nghị định số 38/2022/NĐ-CP»,
«NĐ 38/2022», «Nghị định 38/2022/ND-CP» → «Nghị định 38/2022/NĐ-CP»); an organisation keeps its name without the
legal form («Công ty TNHH Pouyuen Việt Nam» → «Công ty Pouyuen Việt Nam»); places come from the province gazetteer.
Organisations are found by patterns on capitalised spans after a type word. underthesea's offline NER was measured on
60 of the labelled items: 52 ms CPU a text against 0.4 ms here, and it tags dates, counts and union bodies alike as
LOC («Ngày 5/1/2018», «kế hoạch doanh thu năm 2016», «LĐLĐ»), so it is not used.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache
from dataclasses import dataclass

from nlp.gazetteer import Gazetteer, load_gazetteer

__all__ = ["Facet", "DOCUMENT", "ORGANISATION", "PLACE", "parse_documents", "find_organisations", "find_places",
           "extract_facets", "facets_of", "count_facets"]

DOCUMENT, ORGANISATION, PLACE = "document", "organisation", "place"

_UP = rf"[A-ZĐĂÂÊÔƠƯÀÁẢÃẠẰẮẲẴẶẦẤẨẪẬÈÉẺẼẸỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌỒỐỔỖỘỜỚỞỠỢÙÚỦŨỤỪỨỬỮỰỲÝỶỸỴ]"


@dataclass(frozen=True)
class Facet:
    kind: str          # document | organisation | place
    key: str           # one spelling per thing, what counts and links use
    text: str          # as written in the text (its first occurrence)
    detail: str = ""   # document: nghị định, thông tư ...; organisation: công ty, công đoàn ...; place: its kind


# ---------------------------------------------------------------------------------------------------- documents

# document type words and the code each carries in its number («74/2024/NĐ-CP»)
_DOC_TYPES = {"nghị định": "NĐ", "thông tư liên tịch": "TTLT", "thông tư": "TT", "quyết định": "QĐ",
              "nghị quyết": "NQ", "chỉ thị": "CT", "công văn": "", "kết luận": "KL", "hướng dẫn": "HD",
              "pháp lệnh": "PL", "luật": "QH", "bộ luật": "QH"}
_CODE_TYPES = {"NĐ": "nghị định", "TTLT": "thông tư liên tịch", "TT": "thông tư", "QĐ": "quyết định",
               "NQ": "nghị quyết", "CT": "chỉ thị", "KL": "kết luận", "HD": "hướng dẫn", "QH": "luật",
               "PL": "pháp lệnh"}
_ABBREV_TYPES = {"nđ": "nghị định", "tt": "thông tư", "qđ": "quyết định", "nq": "nghị quyết", "ct": "chỉ thị"}
_FOLD_CODE = str.maketrans({"Đ": "Đ", "đ": "Đ", "–": "-", "—": "-", "‑": "-"})
# well-known laws by number, so «Luật số 41/2024/QH15» and «Luật BHXH 2024» are one key
_LAW_NUMBERS = {"41/2024/QH15": "Luật Bảo hiểm xã hội 2024", "58/2014/QH13": "Luật Bảo hiểm xã hội 2014",
                "45/2019/QH14": "Bộ luật Lao động 2019", "10/2012/QH13": "Bộ luật Lao động 2012",
                "50/2024/QH15": "Luật Công đoàn 2024", "12/2012/QH13": "Luật Công đoàn 2012",
                "74/2025/QH15": "Luật Việc làm 2025", "38/2013/QH13": "Luật Việc làm 2013",
                "84/2015/QH13": "Luật An toàn, vệ sinh lao động 2015",
                "51/2024/QH15": "Luật Bảo hiểm y tế (sửa đổi) 2024"}
_LAW_ABBREV = {"BHXH": "Bảo hiểm xã hội", "BHYT": "Bảo hiểm y tế", "BHTN": "Bảo hiểm thất nghiệp",
               "ATVSLĐ": "An toàn, vệ sinh lao động", "TNCN": "Thuế thu nhập cá nhân", "LĐ": "Lao động",
               "CĐ": "Công đoàn", "CBCC": "Cán bộ, công chức"}

_TYPE_WORD = (r"(?P<type>[Tt]hông tư liên tịch|[Nn]ghị định|[Tt]hông tư|[Qq]uyết định|[Nn]ghị quyết|[Cc]hỉ thị|"
              r"[Cc]ông văn|[Kk]ết luận|[Hh]ướng dẫn|[Pp]háp lệnh|Bộ luật|Luật|NĐ|TT|QĐ|NQ|CT)")
# 74/2024/NĐ-CP · 933/QĐ-TLĐ · 1657/NQ-UBTVQH15 · 45/2019/QH14 · 38/2022 · 5678/BHXH-CSXH
_NUMBER = (r"(?P<num>\d{1,5})(?:\s?/\s?(?P<year>(?:19|20)\d\d))?"
           r"(?:\s?/\s?(?P<code>[A-ZĐđ]{1,6}\d{0,2}(?:\s?[-–]\s?[A-ZĐ][A-ZĐa-z0-9]{0,12})*))?")
_NUMBERED = re.compile(rf"(?<![\w/]){_TYPE_WORD}\s+(?:số\s+|số:\s*)?{_NUMBER}(?![\w/])")
# a bare number whose code names its type: «theo 74/2024/NĐ-CP»
_BARE = re.compile(r"(?<![\w/])(?P<num>\d{1,5})\s?/\s?(?:(?P<year>(?:19|20)\d\d)\s?/\s?)?"
                   r"(?P<code>(?:NĐ|ND|TTLT|TT|QĐ|QD|NQ|CT)-[A-ZĐ][A-ZĐa-z0-9]{0,12}(?:-[A-ZĐ][A-ZĐa-z0-9]{0,12})*|QH\d{2})"
                   r"(?![\w/])")
# the Party's documents: «Nghị quyết số 68-NQ/TW», «Chỉ thị 35-CT/TW», «Kết luận 83-KL/TW»
_PARTY = re.compile(r"(?<![\w/])(?:(?P<type>[Nn]ghị quyết|[Cc]hỉ thị|[Kk]ết luận|[Qq]uyết định)\s+(?:số\s+)?)?"
                    r"(?P<num>\d{1,4})\s?-\s?(?P<code>NQ|CT|KL|QĐ)\s?/\s?(?P<issuer>[A-ZĐƯ]{2,8})(?![\w/])")
# a law by name: «Luật BHXH 2024», «Bộ luật Lao động năm 2019», «Luật Bảo hiểm xã hội (sửa đổi)»; the name starts
# with a capital and runs (lazily) to a year, a «(sửa đổi)», or a known ending
_LAW_NAME = re.compile(
    rf"(?<!\w)(?P<type>Bộ luật|Luật)\s+(?P<name>{_UP}[\wĐđ]*(?:,?\s+[\wĐđ]+){{0,6}}?)"
    r"(?:\s*\((?P<amend>sửa đổi(?:, bổ sung)?)\))?\s*(?:năm\s+)?(?P<year>(?:19|20)\d\d)(?!\d)")
_KNOWN_LAWS = ["Bảo hiểm xã hội", "Bảo hiểm y tế", "Bảo hiểm thất nghiệp", "Lao động", "Công đoàn", "Việc làm",
               "An toàn, vệ sinh lao động", "An toàn vệ sinh lao động", "Cán bộ, công chức", "Viên chức",
               "Thuế thu nhập cá nhân", "Doanh nghiệp", "Đất đai", "Nhà ở", "Tiền lương", "Dân chủ ở cơ sở",
               "Thực hiện dân chủ ở cơ sở", "BHXH", "BHYT", "BHTN", "ATVSLĐ", "TNCN", "CĐ", "LĐ"]
_LAW_KNOWN = re.compile(rf"(?<!\w)(?P<type>Bộ luật|Luật)\s+(?P<name>{'|'.join(sorted(map(re.escape, _KNOWN_LAWS), key=len, reverse=True))})"
                        r"(?:\s*\((?P<amend>sửa đổi(?:, bổ sung)?)\))?"
                        r"(?:\s+(?:số\s+)?(?P<lawno>\d{1,3}/(?P<year>(?:19|20)\d\d)/QH\d{2}))?(?![\w])")


def _code(raw: str) -> str:
    code = re.sub(r"\s+", "", raw.translate(_FOLD_CODE))
    code = "-".join(p if p == "TTg" else p.upper() for p in code.split("-"))
    # «ND-CP», «QD-TTg» typed without the đ
    code = re.sub(r"^(N|Q)D(?=-|$)", r"\1Đ", code)
    return re.sub(r"TTG$", "TTg", code)


def _doc_key(kind: str, num: str, year: str | None, code: str | None) -> tuple[str, str]:
    """(kind, key) of a numbered document: the number as the issuer writes it, completed where it is certain."""
    code = _code(code) if code else ""
    prefix = code.split("-")[0] if code else ""
    if prefix in _CODE_TYPES and kind in ("công văn", ""):
        kind = _CODE_TYPES[prefix]
    elif prefix.startswith("QH"):
        kind = "luật"
    if not code and kind == "nghị định" and year:
        code = "NĐ-CP"     # every decree is the Government's
    number = "/".join(p for p in (f"{int(num):02d}", year, code) if p)   # «03/2023», as issuers number
    if kind in ("luật", "bộ luật") and number in _LAW_NUMBERS:
        return kind, _LAW_NUMBERS[number]
    title = kind[:1].upper() + kind[1:] if kind else "Văn bản"
    return kind, f"{title} {number}"


def _law_name(kind: str, name: str, amend: str | None, year: str | None) -> str:
    name = " ".join(name.split())
    name = _LAW_ABBREV.get(name, name)
    if name == "An toàn vệ sinh lao động":
        name = "An toàn, vệ sinh lao động"
    title = "Bộ luật" if kind.lower() == "bộ luật" else "Luật"
    return " ".join(p for p in (title, name, "(sửa đổi)" if amend else "", year or "") if p)


def parse_documents(text: str) -> list[Facet]:
    """The legal documents a text cites, each once (first spelling kept), in order of first mention."""
    text = unicodedata.normalize("NFC", text or "")
    found: dict[str, Facet] = {}
    taken: list[tuple[int, int]] = []

    def add(kind: str, key: str, span: tuple[int, int]) -> None:
        if any(s < span[1] and span[0] < e for s, e in taken):
            return
        taken.append(span)
        found.setdefault(key, Facet(DOCUMENT, key, text[span[0]:span[1]].strip(), kind))

    for m in _PARTY.finditer(text):
        issuer = "TW" if m["issuer"] in ("TW", "TƯ") else m["issuer"]
        add(_CODE_TYPES[m["code"]], f"{_CODE_TYPES[m['code']].capitalize()} {m['num']}-{m['code']}/{issuer}",
            m.span())
    for m in _NUMBERED.finditer(text):
        word = m["type"].lower()
        kind = _ABBREV_TYPES.get(word, word)
        if not m["year"] and not m["code"]:
            # «Nghị định 74» alone is a number too short to trust, except «Nghị quyết 68» style names of the Party
            if kind not in ("nghị định", "nghị quyết", "chỉ thị", "kết luận") or word in _ABBREV_TYPES:
                continue
        if kind in ("luật", "bộ luật") and not (m["code"] or "").upper().startswith("QH"):
            continue   # «Luật 2024» is not a number; names are read below
        add(*_doc_key(kind, m["num"], m["year"], m["code"]), m.span())
    for m in _BARE.finditer(text):
        add(*_doc_key("", m["num"], m["year"], m["code"]), m.span())
    for m in _LAW_NAME.finditer(text):
        name = m["name"]
        if re.search(r"\d", name) or name.split()[0].lower() in ("số", "sư"):
            continue
        add(m["type"].lower(), _law_name(m["type"], name, m["amend"], m["year"]), m.span())
    for m in _LAW_KNOWN.finditer(text):
        key = _LAW_NUMBERS.get(m["lawno"] or "") or _law_name(m["type"], m["name"], m["amend"], m["year"])
        add(m["type"].lower(), key, m.span())
    return list(found.values())


# ------------------------------------------------------------------------------------------------ organisations

# type words (as written) → the kind and the canonical type that starts the key
_ORG_TYPES = [
    (r"Tổng Liên đoàn Lao động|Tổng LĐLĐ", "công đoàn", "Tổng Liên đoàn Lao động"),
    (r"Liên đoàn Lao động|LĐLĐ", "công đoàn", "Liên đoàn Lao động"),
    (r"Công đoàn", "công đoàn", "Công đoàn"),
    (r"Tổng [Cc]ông ty|TCT", "tổng công ty", "Tổng công ty"),
    (r"Tập đoàn", "tập đoàn", "Tập đoàn"),
    (r"[Kk]hu [Cc]ông nghiệp|KCN", "khu công nghiệp", "Khu công nghiệp"),
    (r"[Cc]ụm [Cc]ông nghiệp|CCN", "cụm công nghiệp", "Cụm công nghiệp"),
    (r"[Kk]hu [Kk]inh tế", "khu kinh tế", "Khu kinh tế"),
    (r"Công ty|công ty|Cty|CTy", "công ty", "Công ty"),
    (r"Nhà máy", "nhà máy", "Nhà máy"),
    (r"Hợp tác xã|HTX", "hợp tác xã", "Hợp tác xã"),
]
_LEGAL_FORM = (r"(?:(?:TNHH|Trách nhiệm hữu hạn|trách nhiệm hữu hạn)(?:\s+(?:MTV|một thành viên|Một thành viên|"
               r"Một Thành Viên|[Hh]ai thành viên trở lên))?|CP|Cổ phần|cổ phần|CỔ PHẦN|Cổ Phần|TNHH\s*MTV)")
# lower-case words allowed inside a name (an administrative level, a sector) when a capitalised word follows
_INNER = r"(?:tỉnh|thành phố|TP\.?|huyện|quận|thị xã|xã|phường|ngành|cơ sở|khu vực|miền|cấp trên cơ sở|và|&)"
# a capitalised word («TP.HCM» keeps its inner dot, a sentence's full stop ends the name) or a number that is part
# of a name («May 10»), not a count after it («Thăng Long 60 năm qua»)
_CAP = (rf"(?:{_UP}(?:[\wĐđ'’&-]|\.(?=\w))*|(?>\d+)(?:[\w-]|\.(?=\w))*"
        r"(?![^\S\n]+(?:năm|tuổi|người|tỷ|triệu|nghìn|ngàn|công nhân|lao động|%)(?!\w)))")
# second syllables of a capitalised name word («Điện lực», «Giáo dục», «Công ty» inside a union's name)
_CONT = (r"(?:lực|dục|tế|nghiệp|dựng|tải|khẩu|mại|vụ|tư|triển|thông|sản|khí|hóa|hoá|xã hội|viễn thông|điện tử|"
         r"may|mặc|giày|dệt|da|miền|khoáng|than|dầu|nước|điện|ty|công ty|cổ phần|công nghiệp|lâm|thủy|thuỷ|"
         r"hải|sắt|dịch|cao su|xi măng|thép|bia|giấy|thực phẩm|lương thực|hiểm|(?<=Hàng )không|thọ|nghệ|đoàn|lịch|lá|"
         r"công nghệ|doanh|kinh doanh|đầu tư|phát triển|thương mại|dịch vụ|xây dựng|sản xuất|xuất nhập khẩu|gỗ|"
         r"phẩm|sạn|vận|sữa|biển|nhập|tin học|phần mềm|mềm|nhựa|dược|khoán|sinh|trường|tử|bì|khí)")
_SP = r"[^\S\n]+"      # spaces within a line: a name never runs from a title into its lead
_NAME = (rf"(?:{_CONT}{_SP})*{_CAP}(?:{_SP}{_CONT}(?![\w]))*"
         rf"(?:{_SP}(?:{_INNER}{_SP})?{_CAP}(?:{_SP}{_CONT}(?![\w]))*)*")
_ORG = re.compile(
    rf"(?<![\w])(?P<type>{'|'.join(f'(?:{t})' for t, _, _ in _ORG_TYPES)})(?![\w])"
    rf"(?:{_SP}(?P<form>{_LEGAL_FORM}))?(?:{_SP}(?P<inner>{_INNER}))?{_SP}(?P<name>{_NAME})")
_TRAILING = re.compile(r"[\s.,'’&-]+$")
# names that are generic, not one organisation («Công ty Nhà nước», «Công đoàn Việt Nam» is kept: it is one body)
_GENERIC = {"Nhà nước", "Nhà Nước", "Cổ phần", "TNHH"}


def _org_type(word: str) -> tuple[str, str]:
    for pattern, kind, canonical in _ORG_TYPES:
        if re.fullmatch(pattern, word):
            return kind, canonical
    return "", word


def find_organisations(text: str) -> list[Facet]:
    """Enterprises, industrial zones and union bodies named in the text, each once, in order of first mention."""
    text = unicodedata.normalize("NFC", text or "")
    found: dict[str, Facet] = {}
    for m in _ORG.finditer(text):
        kind, canonical = _org_type(m["type"])
        name = _TRAILING.sub("", m["name"])
        words = name.split()
        if not words or name in _GENERIC or (len(words) == 1 and len(words[0]) == 1):
            continue
        if kind == "công ty" and m["type"][0] == "c" and not m["form"]:
            # lower-case «công ty Samsung» is often generic talk («công ty Nhật») — keep when the name is 2+ words
            if len(words) < 2:
                continue
        # «LĐLĐ tỉnh Cao Bằng», «Liên đoàn Lao động Cao Bằng»: one body; the administrative level is not in the key
        inner = f" {m['inner']}" if m["inner"] and not re.fullmatch(r"tỉnh|thành phố|TP\.?", m["inner"]) else ""
        key = re.sub(r"\s(?:tỉnh|thành phố|TP\.?)\s", " ", f"{canonical}{inner} {name}")
        key = re.sub(r"(?<!\w)(?:(?:Thành phố|TP\.?)\s?)?(?:HCM|Hồ Chí Minh)(?!\w)", "Thành phố Hồ Chí Minh", key)
        key = re.sub(rf"\s{_LEGAL_FORM}(?=\s)", "", key)
        found.setdefault(key, Facet(ORGANISATION, key, m.group(0).strip(), kind))
        if kind == "công đoàn" and re.match(r"(?:Công ty|Tổng công ty|Tập đoàn|Nhà máy)\s", name):
            for inner_org in find_organisations(name):   # the grassroots union's enterprise is named too
                found.setdefault(inner_org.key, inner_org)
    return list(found.values())


# ------------------------------------------------------------------------------------------------------ places

# «Bắc Bộ» is wider than the province and an employer is an organisation: neither is a place of a story
_NOT_PLACES = {"region", "employer"}


def find_places(text: str, gazetteer: Gazetteer | None = None, *, assume_local: bool = False) -> list[Facet]:
    """The province's places a text names (the gazetteer's rules for ambiguous names apply)."""
    gazetteer = gazetteer or load_gazetteer()
    return [Facet(PLACE, p.name, p.name, p.kind) for p in gazetteer.find(text, assume_local=assume_local)
            if p.kind not in _NOT_PLACES]


def extract_facets(text: str, gazetteer: Gazetteer | None = None, *, assume_local: bool = False) -> list[Facet]:
    """Documents, organisations and places of one text."""
    return [*parse_documents(text), *find_organisations(text), *find_places(text, gazetteer,
                                                                            assume_local=assume_local)]


@lru_cache(maxsize=4096)
def facets_of(text: str) -> tuple[Facet, ...]:
    """`extract_facets` with the default gazetteer, remembered per text: a story's page asks for the same items' facets
    for several of its parts and on every view (~1 ms a text)."""
    return tuple(extract_facets(text))


def count_facets(texts: dict[int, str], gazetteer: Gazetteer | None = None) -> dict[str, list[dict]]:
    """Per kind, each facet with its count of items and the ids of the items carrying it, most frequent first."""
    carriers: dict[tuple[str, str], list[int]] = {}
    details: dict[tuple[str, str], str] = {}
    for item_id, text in texts.items():
        for facet in (extract_facets(text, gazetteer) if gazetteer else facets_of(text)):
            ids = carriers.setdefault((facet.kind, facet.key), [])
            if item_id not in ids:
                ids.append(item_id)
            details.setdefault((facet.kind, facet.key), facet.detail)
    out: dict[str, list[dict]] = {DOCUMENT: [], ORGANISATION: [], PLACE: []}
    order = Counter({k: len(v) for k, v in carriers.items()})
    for (kind, key), n in sorted(order.items(), key=lambda kv: (-kv[1], kv[0][1])):
        out[kind].append({"key": key, "count": n, "item_ids": carriers[(kind, key)], "detail": details[(kind, key)]})
    return out
