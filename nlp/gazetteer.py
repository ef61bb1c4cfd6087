"""Place names of the configured province, and where a text names them.

Matching is exact on diacritics and case (a name as written, or all in capitals) and word-bounded: «Cao Bằng» is
found in «tỉnh Cao Bằng» and «CAO BẰNG», never in «cao bằng nhau» nor «Cao Bang». Names that are common words,
people's names or shared with places elsewhere («Độc Lập», «Kim Đồng», «Trùng Khánh» = Chongqing) are *ambiguous*:
they count only after «xã», «phường», «huyện» ... and when the text also names the province or one of its
unambiguous places (or the caller already knows the item is local).
"""
from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from nlp.normalize import place_tone_marks

__all__ = ["Place", "Gazetteer", "load_gazetteer", "default_gazetteer_path", "canonical", "trie_regex"]

# place kinds, strongest evidence of locality first
PROVINCE, WARD, COMMUNE, FORMER_DISTRICT, FORMER_TOWN, LANDMARK, INDUSTRIAL_ZONE, EMPLOYER, REGION = (
    "province", "ward", "commune", "former_district", "former_town", "landmark", "industrial_zone", "employer",
    "region")
_SECTIONS = {"wards": WARD, "communes": COMMUNE, "former_districts": FORMER_DISTRICT, "former_towns": FORMER_TOWN,
             "landmarks": LANDMARK, "industrial_zones": INDUSTRIAL_ZONE, "employers": EMPLOYER, "regions": REGION}
_ADMIN_BEFORE = re.compile(r"(?:^|[^\w])(?:xã|phường|huyện|thị trấn|thị xã|thành phố|tp\.?|tx\.?|tt\.?|h\.|p\.|"
                           r"quận|thôn|bản|xóm)\s*$", re.IGNORECASE)


def default_gazetteer_path() -> Path:
    return Path(__file__).resolve().parent / "gazetteers" / "cao_bang.toml"


_TONED = "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệỳýỷỹỵ"
# the new-style placement in an open syllable («hoà», «khoẻ», «thuỷ»): the only spelling tone placement changes
_NEW_STYLE = re.compile(rf"[oOuU][{_TONED}{_TONED.upper()}](?!\w)")


def canonical(text: str) -> str:
    """NFC with one tone-mark placement (`Hoà An` → `Hòa An`), the form both names and texts are matched in."""
    text = unicodedata.normalize("NFC", text or "")
    return place_tone_marks(text) if _NEW_STYLE.search(text) else text


@dataclass(frozen=True)
class Place:
    name: str
    kind: str
    ambiguous: bool = False


@dataclass
class Gazetteer:
    """The province's names by kind; `find` lists the places a text names."""

    province: str
    places: list[Place] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_form: dict[str, Place] = {}
        self._region_forms: dict[str, Place] = {}
        best: dict[str, Place] = {}
        for place in [Place(self.province, PROVINCE), *self.places]:
            name = canonical(place.name).strip()
            if not name:
                continue
            place = Place(name, place.kind, place.ambiguous)
            # a name listed twice (a commune that was also a district) keeps its first, strongest kind
            best.setdefault(name, place)
        self.places = [p for p in best.values() if p.kind != PROVINCE]
        for place in best.values():
            if place.kind == REGION:
                self._region_forms[place.name.lower()] = place
            else:
                self._by_form[place.name] = place
                self._by_form[place.name.upper()] = place
        self._pattern = _alternation(self._by_form)
        self._region_pattern = _alternation(self._region_forms, flags=re.IGNORECASE)

    def extended(self, *, industrial_zones: tuple[str, ...] | list[str] = (),
                 employers: tuple[str, ...] | list[str] = ()) -> "Gazetteer":
        """A copy with more industrial zones and employers (from the installation's settings)."""
        more = [Place(n, INDUSTRIAL_ZONE) for n in industrial_zones] + [Place(n, EMPLOYER) for n in employers]
        return Gazetteer(self.province, [*self.places, *more])

    def find(self, text: str, *, assume_local: bool = False, normalized: bool = False) -> list[Place]:
        """The places a text names, in order of first mention, each once.

        `assume_local`: the caller knows the item is from the province (a local outlet, a collaborator), so an
        ambiguous name after «xã/phường/huyện ...» counts without the province being named. `normalized`: the text
        is already `canonical`.
        """
        text = text if normalized else canonical(text)
        if not text:
            return []
        found: dict[str, Place] = {}
        pending: list[Place] = []     # ambiguous names with an administrative word before them
        for m in self._pattern.finditer(text) if self._pattern else ():
            place = self._by_form[m.group(0)]
            if place.ambiguous:
                if _ADMIN_BEFORE.search(text[max(0, m.start() - 14):m.start()]):
                    pending.append(place)
                continue
            found.setdefault(place.name, place)
        if pending and (assume_local or found):
            for place in pending:
                found.setdefault(place.name, place)
        for m in self._region_pattern.finditer(text) if self._region_pattern else ():
            place = self._region_forms[m.group(0).lower()]
            found.setdefault(place.name, place)
        return list(found.values())


def _alternation(forms: dict[str, Place], flags: int = 0) -> re.Pattern[str] | None:
    if not forms:
        return None
    return re.compile(rf"(?<!\w)(?:{trie_regex(sorted(forms))})(?![\w-])", flags)


def trie_regex(phrases: list[str]) -> str:
    """An alternation of phrases as a character trie: the longest phrase wins at a position, and the regex engine
    does not retry every alternative at every character (many times faster than a flat alternation)."""
    trie: dict = {}
    for phrase in phrases:
        node = trie
        for ch in phrase:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch != ""]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # a phrase may end here: try the longer ones first, and end here only at a word boundary
        return f"(?:{body}|(?![\\w-]))" if ends else body

    return build(trie)


def load_gazetteer(path: Path | None = None) -> Gazetteer:
    """Read a gazetteer TOML (default: Cao Bằng's, shipped with Pulse); a missing or broken file is a ValueError."""
    if path is None:
        return _load(_DEFAULT)
    return _load(str(Path(path).resolve()))


_DEFAULT = str(default_gazetteer_path())


@lru_cache(maxsize=8)
def _load(path: str) -> Gazetteer:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ValueError(f"gazetteer file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"gazetteer file {path} is not valid TOML: {exc}") from None
    province = data.get("province")
    if not isinstance(province, str) or not province.strip():
        raise ValueError(f"gazetteer file {path} has no `province` name")
    ambiguous = {canonical(n) for n in data.get("ambiguous", [])}
    places: list[Place] = []
    for section, kind in _SECTIONS.items():
        names = data.get(section, [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError(f"gazetteer file {path}: `{section}` must be a list of names")
        places.extend(Place(n, kind, canonical(n) in ambiguous) for n in names)
    return Gazetteer(province.strip(), places)
