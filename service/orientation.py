"""Orientation tracking (issue 17.4): what the board said about a story, and what the story did afterwards.

`outcome` compares the days after an orientation with two references a reader can check:
- the same weekdays of the two weeks before it (Pulse's sources are quieter at weekends), with the baseline's own
  day-to-day spread: a change is called clear only when it is larger than twice what the baseline's spread allows;
- the forecast made from the days up to the orientation (service/forecast.py): a story past its peak cools on its
  own, so fewer items than before is not yet an effect; fewer than the forecast's 80 % interval on most days is.
Tone is the share of negative items (a difference is clear beyond two standard errors), spread the units and sources
a day. Neither proves that the orientation caused what followed; the page says so.
"""
from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta

from service.forecast import forecast_counts

CHANNELS = {"bao-chi": "Báo chí", "mang-xa-hoi": "Mạng xã hội", "hoi-nghi": "Hội nghị, đối thoại",
            "van-ban": "Văn bản, công văn", "truc-tiep": "Trực tiếp tại cơ sở", "phat-thanh": "Phát thanh, truyền hình",
            "khac": "Khác"}
BEFORE_DAYS = 14
AFTER_DAYS = 7
MIN_TONE_ITEMS = 5
MAX_SAID, MAX_FIELD = 4000, 200


class OrientationError(ValueError):
    """A form that cannot be recorded; the message says why in Vietnamese."""


def check(said: str, owner: str, given_on: str, channel: str, audience: str, today: date,
          templates: list[str] = ()) -> tuple[str, str, str, str, str]:
    """The form's fields, cleaned, or an OrientationError: text and owner required, a known channel, a day not in
    the future nor before a year ago, and a text that is not a playbook template sent unedited."""
    said, owner, audience = said.strip(), owner.strip(), audience.strip()
    if not said:
        raise OrientationError("Cần ghi rõ nội dung định hướng đã đưa ra.")
    if not owner:
        raise OrientationError("Cần ghi người hoặc đơn vị phụ trách.")
    if channel not in CHANNELS:
        raise OrientationError("Kênh định hướng không hợp lệ.")
    if len(said) > MAX_SAID or len(owner) > MAX_FIELD or len(audience) > MAX_FIELD:
        raise OrientationError("Nội dung quá dài.")
    try:
        day = date.fromisoformat(given_on.strip())
    except ValueError:
        raise OrientationError("Ngày định hướng không hợp lệ (dạng năm-tháng-ngày).") from None
    if day > today or day < today - timedelta(days=366):
        raise OrientationError("Ngày định hướng phải trong vòng một năm qua và không sau hôm nay.")
    if any(" ".join(said.split()) == " ".join(t.split()) for t in templates):
        raise OrientationError("Nội dung còn nguyên văn mẫu trong sổ tay; hãy chỉnh sửa cho đúng việc đã làm "
                               "trước khi ghi nhận.")
    return said, owner, day.isoformat(), channel, audience


def _days(first: date, n: int) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range(n)]


def per_day(facts: list[dict]) -> dict[str, dict]:
    """day → {count, negative, units, sources} of a story's items (each fact: day, sentiment, org_unit, source)."""
    out: dict[str, dict] = defaultdict(lambda: {"count": 0, "negative": 0, "units": set(), "sources": set()})
    for f in facts:
        d = out[f["day"]]
        d["count"] += 1
        d["negative"] += f.get("sentiment") == "negative"
        if f.get("org_unit"):
            d["units"].add(f["org_unit"])
        d["sources"].add(f.get("org_unit") or f.get("source") or "")
    return out


def _sd(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def outcome(facts: list[dict], given_on: str, today: date) -> dict:
    """The story before and after an orientation given on `given_on` (its day itself belongs to neither side); the
    «after» days end before `today`, whose count is not complete yet."""
    given = date.fromisoformat(given_on)
    days = per_day(facts)
    before = _days(given - timedelta(days=BEFORE_DAYS), BEFORE_DAYS)
    after = [d for d in _days(given + timedelta(days=1), AFTER_DAYS) if d < today.isoformat()]
    count = {d: days[d]["count"] if d in days else 0 for d in before + after}
    out: dict = {"given_on": given_on, "before_days": len(before), "after_days": len(after),
                 "before_first": before[0], "before_last": before[-1],
                 "after_first": after[0] if after else None, "after_last": after[-1] if after else None}
    if not after:
        out["verdict"] = "waiting"
        return out
    # volume against the same weekdays of the two weeks before, with the baseline's spread
    same_weekdays = []
    for d in after:
        ref = [count[x] for x in before if date.fromisoformat(x).weekday() == date.fromisoformat(d).weekday()]
        same_weekdays.append(sum(ref) / len(ref))
    expected = sum(same_weekdays)
    actual = sum(count[d] for d in after)
    spread = _sd([count[d] for d in before]) * math.sqrt(len(after))
    margin = max(2 * spread, 1.0)
    volume = "down" if actual < expected - margin else "up" if actual > expected + margin else "same"
    out["volume"] = {"before_per_day": sum(count[d] for d in before) / len(before),
                     "after_per_day": actual / len(after), "expected": expected, "actual": actual,
                     "margin": margin, "verdict": volume}
    # against the forecast made with the days up to the orientation
    history = [count.get(d, 0) for d in before] + [days[given_on]["count"] if given_on in days else 0]
    mean, lower, upper, method = forecast_counts(history)
    below = sum(1 for i, d in enumerate(after) if count[d] < lower[i])
    above = sum(1 for i, d in enumerate(after) if count[d] > upper[i])
    half = len(after) / 2
    out["forecast"] = {"expected": float(sum(mean[:len(after)])), "method": method, "below": below, "above": above,
                       "within": len(after) - below - above,
                       "verdict": "down" if below > half else "up" if above > half else "same"}
    # tone and spread
    neg_b = sum(days[d]["negative"] for d in before if d in days)
    neg_a = sum(days[d]["negative"] for d in after if d in days)
    n_b, n_a = sum(count[d] for d in before), actual
    tone: dict = {"before": neg_b / n_b if n_b else None, "after": neg_a / n_a if n_a else None,
                  "before_items": n_b, "after_items": n_a, "verdict": "unknown"}
    if n_b >= MIN_TONE_ITEMS and n_a >= MIN_TONE_ITEMS:
        p = (neg_b + neg_a) / (n_b + n_a)
        se = math.sqrt(p * (1 - p) * (1 / n_b + 1 / n_a))
        diff = tone["after"] - tone["before"]
        tone["verdict"] = "same" if se == 0 or abs(diff) <= 2 * se else ("down" if diff < 0 else "up")
    out["tone"] = tone

    def reach(window: list[str]) -> dict:
        units = set().union(*(days[d]["units"] for d in window if d in days)) if window else set()
        voices = [len(days[d]["sources"]) for d in window if d in days]
        return {"units": len(units), "voices_per_day": sum(voices) / len(window)}

    out["spread"] = {"before": reach(before), "after": reach(after)}
    # a change is claimed only when both references agree (bench/orientation.py: either alone claims one too often)
    both = {volume, out["forecast"]["verdict"]}
    out["verdict"] = volume if len(both) == 1 else "unclear"
    return out


def summary_vi(result: dict) -> list[str]:
    """The comparison in plain Vietnamese sentences, for the story's page and the monthly report."""
    from service.vnformat import number, percent

    if result.get("verdict") == "waiting":
        return ["Chưa có số liệu sau ngày định hướng."]
    v, f, t = result["volume"], result["forecast"], result["tone"]
    n = result["after_days"]
    lines = [f"{n} ngày sau định hướng có {number(v['actual'])} tin, trung bình "
             f"{number(v['after_per_day'], 1)} tin/ngày (hai tuần trước: {number(v['before_per_day'], 1)} tin/ngày). Cùng các thứ trong tuần của hai tuần "
             f"trước dự kiến {number(v['expected'], 1)} tin; dao động thường ngày cho phép ±{number(v['margin'], 1)}: "
             + {"down": "số tin giảm rõ.", "up": "số tin tăng rõ.",
                "same": "không khác biệt rõ."}[v["verdict"]]]
    lines.append(f"So với dự báo lập từ số liệu đến ngày định hướng (dự kiến {number(f['expected'], 1)} tin): "
                 f"{f['below']} ngày thấp hơn khoảng 80%, {f['within']} ngày trong khoảng, {f['above']} ngày cao hơn — "
                 + {"down": "thấp hơn dự báo.", "up": "cao hơn dự báo.",
                    "same": "diễn biến như dự báo, chưa thấy tác động rõ."}[f["verdict"]])
    if t["verdict"] == "unknown":
        lines.append("Chưa đủ tin để so sánh sắc thái (cần ít nhất 5 tin mỗi bên).")
    else:
        lines.append(f"Tỷ lệ tin tiêu cực: {percent(t['before'])} trước, {percent(t['after'])} sau — "
                     + {"down": "giảm rõ.", "up": "tăng rõ.", "same": "không khác biệt rõ."}[t["verdict"]])
    s = result["spread"]
    lines.append(f"Mức lan rộng: {number(s['before']['voices_per_day'], 1)} nguồn/đơn vị mỗi ngày trước, "
                 f"{number(s['after']['voices_per_day'], 1)} sau; {s['before']['units']} đơn vị phản ánh trước, "
                 f"{s['after']['units']} sau.")
    if v["verdict"] == "down" and f["verdict"] == "same":
        lines.append("Lưu ý: số tin giảm nhưng vẫn trong khoảng dự báo — câu chuyện có thể tự hạ nhiệt, "
                     "chưa đủ căn cứ cho rằng do định hướng.")
    lines.insert(0, {"down": "Kết luận: số tin giảm rõ theo cả hai cách so sánh.",
                     "up": "Kết luận: số tin tăng rõ theo cả hai cách so sánh.",
                     "same": "Kết luận: số tin không thay đổi rõ.",
                     "unclear": "Kết luận: hai cách so sánh không cùng kết quả, chưa đủ căn cứ về số tin."}
                 [result["verdict"]])
    return lines
