"""Vietnamese text normalization: one canonical form for matching, segmentation and models.

`normalize` repairs what real comments and old documents bring in: decomposed Unicode, HTML entities, zero-width and
odd spaces, legacy TCVN3 (ABC) and VNI-Windows text, new/old tone-mark placement, chat spellings and stretched
letters. `fold` removes diacritics for search (`lương` → `luong`).
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

__all__ = ["normalize", "fold", "fix_legacy_encoding", "place_tone_marks", "clean_text"]

# --- spaces and invisible characters ---------------------------------------------------------------------------------

_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e]")
_ODD_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\t\r\f\v]")
_SPACES = re.compile(r"[ ]{2,}")
_NEWLINES = re.compile(r"\s*\n\s*")

# --- legacy encodings --------------------------------------------------------------------------------------------------

# TCVN3 (TCVN 5712:1993 "ABC", .VnTime fonts), bytes 0xA1-0xFF as they appear when the bytes are read as Latin-1.
# Source: the TCVN-5712 table of libX11 (lcUniConv/tcvn.h). Upper-case accented letters share the lower-case codes
# (they were shown with a capital font), so they come back lower-case.
_TCVN3_HIGH = [
    0x00A0, 0x0102, 0x00C2, 0x00CA, 0x00D4, 0x01A0, 0x01AF, 0x0110, 0x0103, 0x00E2, 0x00EA, 0x00F4, 0x01A1, 0x01B0,
    0x0111, 0x1EB0, 0x0300, 0x0309, 0x0303, 0x0301, 0x0323, 0x00E0, 0x1EA3, 0x00E3, 0x00E1, 0x1EA1, 0x1EB2, 0x1EB1,
    0x1EB3, 0x1EB5, 0x1EAF, 0x1EB4, 0x1EAE, 0x1EA6, 0x1EA8, 0x1EAA, 0x1EA4, 0x1EC0, 0x1EB7, 0x1EA7, 0x1EA9, 0x1EAB,
    0x1EA5, 0x1EAD, 0x00E8, 0x1EC2, 0x1EBB, 0x1EBD, 0x00E9, 0x1EB9, 0x1EC1, 0x1EC3, 0x1EC5, 0x1EBF, 0x1EC7, 0x00EC,
    0x1EC9, 0x1EC4, 0x1EBE, 0x1ED2, 0x0129, 0x00ED, 0x1ECB, 0x00F2, 0x1ED4, 0x1ECF, 0x00F5, 0x00F3, 0x1ECD, 0x1ED3,
    0x1ED5, 0x1ED7, 0x1ED1, 0x1ED9, 0x1EDD, 0x1EDF, 0x1EE1, 0x1EDB, 0x1EE3, 0x00F9, 0x1ED6, 0x1EE7, 0x0169, 0x00FA,
    0x1EE5, 0x1EEB, 0x1EED, 0x1EEF, 0x1EE9, 0x1EF1, 0x1EF3, 0x1EF7, 0x1EF9, 0x00FD, 0x1EF5, 0x1ED0,
]
_TCVN3_TABLE = {0xA0 + i: chr(cp) for i, cp in enumerate(_TCVN3_HIGH) if i > 0}

# VNI-Windows: a base letter followed by a mark byte (read as cp1252 / Latin-1), plus a few single letters.
_VNI_TONES = {"ø": "\u0300", "ù": "\u0301", "û": "\u0309", "õ": "\u0303", "ï": "\u0323"}
_VNI_HAT_TONES = {"â": "", "à": "\u0300", "á": "\u0301", "å": "\u0309", "ã": "\u0303", "ä": "\u0323"}  # â ê ô
_VNI_BREVE_TONES = {"ê": "", "è": "\u0300", "é": "\u0301", "ú": "\u0309", "ü": "\u0303", "ë": "\u0323"}  # ă


def _build_vni_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for case in (str.lower, str.upper):
        for base in "aeouy":
            for mark, tone in _VNI_TONES.items():
                table[case(base) + case(mark)] = unicodedata.normalize("NFC", case(base) + tone)
        for base in "aeo":
            for mark, tone in _VNI_HAT_TONES.items():
                table[case(base) + case(mark)] = unicodedata.normalize("NFC", case(base) + "\u0302" + tone)
        for mark, tone in _VNI_BREVE_TONES.items():
            table[case("a") + case(mark)] = unicodedata.normalize("NFC", case("a") + "\u0306" + tone)
        for base, horn in (("ô", "ơ"), ("ö", "ư")):
            for mark, tone in _VNI_TONES.items():
                table[case(base) + case(mark)] = unicodedata.normalize("NFC", case(horn) + tone)
    singles = {
        "ô": "ơ", "ö": "ư", "ñ": "đ", "ì": "ì", "í": "í", "æ": "ỉ", "ó": "ĩ", "ò": "ị", "î": "ỵ",
        "Ô": "Ơ", "Ö": "Ư", "Ñ": "Đ", "Ì": "Ì", "Í": "Í", "Æ": "Ỉ", "Ó": "Ĩ", "Ò": "Ị", "Î": "Ỵ",
    }
    table.update(singles)
    return table


_VNI_TABLE = _build_vni_table()
_VNI_PATTERN = re.compile("|".join(sorted(map(re.escape, _VNI_TABLE), key=len, reverse=True)))

# Latin-1 characters that never occur in Unicode Vietnamese but fill TCVN3 and VNI text read as Latin-1/cp1252.
_LEGACY_SIGNS = re.compile("[\u00a1-\u00bf\u00c4-\u00c7\u00cb\u00ce-\u00d1\u00d6-\u00d8\u00db\u00dc\u00de-\u00df"
                           "\u00e4-\u00e7\u00eb\u00ee-\u00f1\u00f6-\u00f8\u00fb\u00fc\u00fe\u00ff]")
_VIET_SIGNS = re.compile("[ăâđêôơưĂÂĐÊÔƠƯĩũĨŨ\u1ea0-\u1ef9]")


def _from_tcvn3(text: str) -> str:
    return text.translate(_TCVN3_TABLE)


def _from_vni(text: str) -> str:
    return _VNI_PATTERN.sub(lambda m: _VNI_TABLE[m.group(0)], text)


def _syllable_share(words: list[str]) -> float:
    return sum(_is_syllable(unicodedata.normalize("NFC", w)) for w in words) / max(len(words), 1)


def fix_legacy_encoding(text: str) -> str:
    """Convert TCVN3 or VNI text (as read through Latin-1/cp1252) to Unicode; leave Unicode text unchanged.

    A text is converted only when it holds characters foreign to Unicode Vietnamese, few genuine Vietnamese letters,
    and the conversion turns most of the affected words into valid Vietnamese syllables."""
    signs = len(_LEGACY_SIGNS.findall(text))
    if signs < 2 or len(_VIET_SIGNS.findall(text)) * 4 > signs:
        return text
    best, best_share = text, 0.0
    for convert in (_from_vni, _from_tcvn3):
        converted = convert(text)
        changed = [w for w, o in zip(converted.split(), text.split()) if w != o]
        share = _syllable_share(changed) if changed else 0.0
        if len(_LEGACY_SIGNS.findall(converted)) < signs and share > best_share:
            best, best_share = converted, share
    return best if best_share >= 0.6 else text


# --- tone-mark placement -----------------------------------------------------------------------------------------------

_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_VOWELS = set("aăâeêioôơuưy")
_MARKED = set("ăâêôơư")
_FINALS = {"", "c", "ch", "m", "n", "ng", "nh", "p", "t"}
_INITIALS = {
    "", "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n", "ng", "ngh", "nh", "p", "ph", "qu",
    "r", "s", "t", "th", "tr", "v", "x",
}
_WORD = re.compile(r"[^\W\d_]+")


def _split_tone(ch: str) -> tuple[str, str]:
    """'ấ' → ('â', acute); 'a' → ('a', '')."""
    decomposed = unicodedata.normalize("NFD", ch)
    tone = "".join(c for c in decomposed if c in _TONE_MARKS)
    base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
    return base, tone


def _parse(lower: str) -> tuple[int, int] | None:
    """(start, end) of the vowel nucleus of a lower-case toneless syllable, or None if it is not one."""
    start = 0
    while start < len(lower) and lower[start] not in _VOWELS:
        start += 1
    # "qu" and "gi" + vowel: the u / i belongs to the initial consonant.
    if lower[:start] == "q" and start < len(lower) and lower[start] == "u":
        start += 1
    elif lower[:start] == "g" and start + 1 < len(lower) and lower[start] == "i" and lower[start + 1] in _VOWELS:
        start += 1
    end = start
    while end < len(lower) and lower[end] in _VOWELS:
        end += 1
    if end == start or end - start > 3 or lower[:start] not in _INITIALS or lower[end:] not in _FINALS:
        return None
    return start, end


def _is_syllable(word: str) -> bool:
    """Whether a word (letters only, any punctuation around it is ignored) is a well-formed Vietnamese syllable."""
    word = word.strip(".,;:!?()[]\"'-–…")
    if not word or len(word) > 7:
        return False
    parts = [_split_tone(c) for c in word]
    if sum(1 for _, t in parts if t) > 1:
        return False
    return _parse("".join(b for b, _ in parts).lower()) is not None


def _tone_position(letters: str, start: int, end: int, has_final: bool) -> int:
    """Index (in `letters`) of the vowel that carries the tone: traditional placement (hòa, thủy, hoàng)."""
    nucleus = letters[start:end]
    marked = [i for i, c in enumerate(nucleus) if c in _MARKED]
    if marked:
        return start + marked[-1]
    if len(nucleus) == 1:
        return start
    if has_final:
        return end - 1
    if len(nucleus) == 3:
        return start + 1
    return start


@lru_cache(maxsize=200_000)
def _place_syllable(word: str) -> str:
    if len(word) > 7 or word.isascii():
        return word
    parts = [_split_tone(c) for c in word]
    tones = [t for _, t in parts if t]
    if len(tones) != 1:
        return word
    lower = "".join(b for b, _ in parts).lower()
    parsed = _parse(lower)
    if parsed is None:
        return word
    start, end = parsed
    position = _tone_position(lower, start, end, has_final=end < len(lower))
    current = next(i for i, (_, t) in enumerate(parts) if t)
    if position == current:
        return word
    tone = tones[0]
    out = [b for b, _ in parts]
    out[position] = unicodedata.normalize("NFC", out[position] + tone)
    return "".join(out)


def place_tone_marks(text: str) -> str:
    """Put each syllable's tone mark on one canonical vowel (traditional style: `hoà` → `hòa`, `thuỷ` → `thủy`)."""
    return _WORD.sub(lambda m: _place_syllable(m.group(0)), text)


# --- chat spellings and stretched letters ------------------------------------------------------------------------------

_CHAT = {
    "ko": "không", "k": "không", "kg": "không", "khg": "không", "hok": "không", "hem": "không",
    "dc": "được", "đc": "được", "dk": "được", "đk": "được",
    "j": "gì", "ji": "gì",
    "vs": "với", "mk": "mình", "bik": "biết", "ntn": "như thế nào", "r": "rồi", "cx": "cũng",
    "nhiu": "nhiêu", "wá": "quá", "qá": "quá", "thik": "thích",
}
_CHAT_PATTERN = re.compile(r"(?<![\w.,/])(" + "|".join(sorted(map(re.escape, _CHAT), key=len, reverse=True)) + r")(?![\w./])",
                           re.IGNORECASE)
_STRETCHED = re.compile(r"([^\W\d_]?)(([^\W\d_])\3+)")


def _shorten(match: re.Match[str]) -> str:
    """`đẹppppp` → `đẹp`, `quáaaa` → `quá`; capitals (Roman numerals `III`) and `www` stay."""
    before, run, ch = match.group(1), match.group(2), match.group(3)
    if not ch.islower() or ch == "w":
        return match.group(0)
    if before and before != ch and fold(before) == ch:
        return before
    return before + (ch if len(run) >= 3 else run)


_REPEATED_PUNCT = re.compile(r"([!?.,])\1{3,}")


def _chat_word(match: re.Match[str]) -> str:
    word = match.group(0)
    replacement = _CHAT[word.lower()]
    return replacement.capitalize() if word[0].isupper() and len(word) > 1 else replacement


# --- public ------------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Canonical Unicode Vietnamese: NFC, entities unescaped, legacy encodings converted, one tone placement,
    chat spellings expanded, stretched letters shortened, spaces collapsed. Never raises on a str.

    The last few thousand answers are kept: processing normalizes each text twice (annotation, then placement)."""
    if not text:
        return ""
    text = html.unescape(text)
    text = fix_legacy_encoding(text)
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = _ODD_SPACES.sub(" ", text)
    text = _STRETCHED.sub(_shorten, text)
    text = _REPEATED_PUNCT.sub(r"\1\1\1", text)
    text = place_tone_marks(text)
    text = _CHAT_PATTERN.sub(_chat_word, text)
    text = _NEWLINES.sub("\n", text)
    text = _SPACES.sub(" ", text)
    return text.strip()


_FOLD_EXTRA = str.maketrans({"đ": "d", "Đ": "d", "ð": "d"})


def fold(text: str) -> str:
    """Diacritics removed, đ → d, lower case: the form used for search and seed matching (`Lương` → `luong`)."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFD", text.translate(_FOLD_EXTRA))
    return decomposed.translate(_NO_MARKS).lower()


class _DropMarks(dict):
    """code point → itself, or None (deleted) for a combining mark (category Mn); filled as characters are met."""

    def __missing__(self, code: int) -> int | None:
        value = None if unicodedata.category(chr(code)) == "Mn" else code
        self[code] = value
        return value


_NO_MARKS = _DropMarks()


def clean_text(value: str | None, limit: int) -> str:
    """A form field trimmed, with control characters (other than new lines and tabs) dropped, at most `limit`
    characters."""
    value = (value or "").replace("\r\n", "\n")
    value = "".join(ch for ch in value if ch in "\n\t" or ch.isprintable())
    return value.strip()[:limit]
