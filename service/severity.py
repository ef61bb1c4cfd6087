"""What the board sees first, decided in one place: a story's severity and whether it raises a flag at all.

Severity (0–100) adds five parts, each 0–1, with fixed weights: how much the story is about workers (their pay, jobs,
insurance, conditions, living costs, the policies and disasters that touch them), how local it is to the province
(its places, its outlets, collaborators' reports), how fast it grows against its own baseline, how negative it is, and
how well it is corroborated (independent sources, collaborators of several units). A story made mostly of sports,
entertainment or market news raises no flag, whatever its size; collaborators' reports count as about workers and local.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from service.config import TrendSettings

WEIGHTS = {"workers": 35.0, "local": 25.0, "growth": 15.0, "negative": 10.0, "corroboration": 15.0}
PART_NAMES = {"workers": "Liên quan người lao động", "local": "Gắn với địa phương", "growth": "Mức tăng",
              "negative": "Sắc thái tiêu cực", "corroboration": "Nhiều nguồn xác nhận"}
LABOUR_TOPICS = frozenset({"tien_luong", "bao_hiem", "viec_lam", "dieu_kien_lao_dong", "quan_he_lao_dong",
                           "nha_o_doi_song", "chinh_sach_phap_luat", "hoat_dong_cong_doan"})
PUBLIC_TOPICS = frozenset({"thien_tai", "y_te_giao_duc", "tham_nhung_tieu_cuc"})


@dataclass
class Verdict:
    severity: float
    parts: dict[str, float]
    relevance: dict[str, float]
    raise_flag: bool
    why_not: str = ""


def fallback_relevance(fact: dict) -> dict:
    """An item's relevance when none is stored (items processed before relevance existed): read off its topic."""
    if fact.get("kind") == "observation":
        return {"workers": 0.9, "local": 1.0, "excluded": None}
    topic = fact.get("topic")
    if topic in LABOUR_TOPICS:
        return {"workers": 0.7, "local": 0.0, "excluded": None}
    if topic == "thien_tai":   # disasters and accidents hit workers and the union brings relief
        return {"workers": 0.6, "local": 0.0, "excluded": None}
    if topic in PUBLIC_TOPICS:
        return {"workers": 0.5, "local": 0.0, "excluded": None}
    if topic == "khac":
        return {"workers": 0.1, "local": 0.0, "excluded": "other"}
    return {"workers": 0.3, "local": 0.0, "excluded": None}


def story_relevance(facts: list[dict], stored: dict[int, dict]) -> dict[str, float]:
    """Mean relevance of a story's items: about workers, local, and the share of excluded (sports, markets …) items."""
    if not facts:
        return {"workers": 0.0, "local": 0.0, "excluded_share": 0.0, "observations": 0}
    workers = local = excluded = 0.0
    observations = 0
    for f in facts:
        r = stored.get(f["item_id"]) or fallback_relevance(f)
        is_obs = f.get("kind") == "observation"
        observations += is_obs
        workers += max(float(r.get("workers") or 0.0), 0.8 if is_obs else 0.0)
        local += 1.0 if is_obs else float(r.get("local") or 0.0)
        excluded += 1.0 if (r.get("excluded") and not is_obs) else 0.0
    n = len(facts)
    return {"workers": round(workers / n, 3), "local": round(local / n, 3), "excluded_share": round(excluded / n, 3),
            "observations": observations}


def independent_voices(facts: list[dict]) -> set[str]:
    """Who independently said it: each distinct story's source (a syndicated copy is not a new voice); for
    collaborators' observations, each org unit."""
    voices = set()
    for f in facts:
        if f.get("kind") == "observation":
            voices.add(f"unit:{f.get('org_unit') or f.get('source')}")
        elif f.get("item_id") == f.get("story_id"):
            voices.add(f.get("source") or "")
    return voices


def judge(facts: list[dict], stored: dict[int, dict], growth_ratio: float, settings: TrendSettings) -> Verdict:
    """Severity of a story from its items' facts and relevance, and whether it is worth the board's time."""
    rel = story_relevance(facts, stored)
    sentiments = Counter(f.get("sentiment") for f in facts)
    negative = sentiments.get("negative", 0) / max(1, len(facts))
    voices = independent_voices(facts)
    units = {f.get("org_unit") for f in facts if f.get("kind") == "observation" and f.get("org_unit")}
    local = min(1.0, rel["local"] + (0.5 if units else 0.0))
    parts = {
        "workers": min(1.0, rel["workers"]),
        "local": local,
        "growth": min(1.0, math.log2(1 + max(growth_ratio, 0.0)) / math.log2(1 + 8)),
        "negative": negative,
        "corroboration": min(1.0, (len(voices) - 1) / 4 + 0.25 * max(0, len(units) - 1)),
    }
    severity = sum(WEIGHTS[k] * v for k, v in parts.items())
    if rel["excluded_share"] > settings.max_excluded_share and not rel["observations"]:
        severity *= 0.3
    severity = round(severity, 1)
    verdict = Verdict(severity, {k: round(v, 3) for k, v in parts.items()}, rel, True)
    if rel["observations"]:
        pass   # what collaborators report always reaches the board
    elif rel["excluded_share"] > settings.max_excluded_share:
        verdict.raise_flag, verdict.why_not = False, "excluded"
    elif rel["workers"] < settings.min_workers and rel["local"] < settings.min_local:
        verdict.raise_flag, verdict.why_not = False, "not relevant"
    if verdict.raise_flag and severity < settings.min_severity:
        verdict.raise_flag, verdict.why_not = False, "low severity"
    return verdict
