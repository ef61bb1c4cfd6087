"""A story for the cause view, proposals and orientation tests: two units' collaborators report late pay at two
enterprises over five days, the press reports the first enterprise's case (the same story) and, earlier, another of
its news (another flag); unit A held a dialogue with that enterprise with a commitment still open."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from replay_support import DAY0, Replay
from service import trends
from web_support import OTHER, OWN, make_installation

OWN_TEXT = ("Công nhân Công ty TNHH May Alpha Cao Bằng bức xúc vì công ty chậm trả lương hai tháng liền. "
            "Người lao động đề nghị công ty trả đủ lương trước ngày 15. "
            "Theo Nghị định số 74/2024/NĐ-CP, lương tối thiểu vùng đã tăng từ tháng 7.")
OTHER_TEXT = ("Công nhân Công ty CP Bao bì Betaxyz ở Trùng Khánh nghỉ việc vì công ty chậm trả lương suốt hai "
              "tháng. Anh em mong muốn được trả lương Betaxyz đúng hạn.")
PRESS_TEXT = ("Công nhân Công ty TNHH May Alpha Cao Bằng bức xúc vì công ty chậm trả lương hai tháng liền. "
              "Theo lãnh đạo công ty, nguyên nhân là do đơn hàng giảm mạnh nên doanh nghiệp thiếu vốn. "
              "Việc chậm trả lương trái với Nghị định 74/2024/NĐ-CP về lương tối thiểu vùng.")
OUTSIDE_TEXT = "Công ty TNHH May Alpha Cao Bằng vừa ký hợp đồng xuất khẩu mới với đối tác Hàn Quốc."


def build_story(tmp: Path):
    """(installation, the story's flag, its item ids by unit and "press", the outside article, the other flag)."""
    inst = make_installation(tmp)
    store = inst.store
    replay = Replay(store)
    replay.background(20, {"xa_hoi_khac": 4, "khac": 3, "chinh_sach_phap_luat": 1})
    [outside] = replay.add(DAY0 + timedelta(days=8), "viec_lam", 1, source="baocaobang.vn",
                           title="Công ty May Alpha Cao Bằng ký hợp đồng xuất khẩu", text=OUTSIDE_TEXT)
    ids: dict[str, list[int]] = {OWN: [], OTHER: [], "press": []}
    for d, n in ((16, 1), (17, 1), (18, 2), (19, 3), (20, 4)):
        day = DAY0 + timedelta(days=d)
        for unit, text, company in ((OWN, OWN_TEXT, "May Alpha"), (OTHER, OTHER_TEXT, "Bao bì Betaxyz")):
            for k in range(n):
                ids[unit] += replay.add(day, "tien_luong", 1, kind="observation", org_unit=unit, source="ctv",
                                        stream="factory", sentiment="negative",
                                        title=f"Công nhân {company} phản ánh chậm trả lương ({d}.{k})",
                                        text=f"{text} Báo cáo ngày {d}, lần {k + 1}.")
    ids["press"] += replay.add(DAY0 + timedelta(days=20), "tien_luong", 1, source="baocaobang.vn",
                               stream="factory", sentiment="negative",
                               title="Công nhân May Alpha Cao Bằng phản ánh chậm trả lương", text=PRESS_TEXT)
    trends.detect(store, DAY0 + timedelta(days=20), DAY0 + timedelta(days=20))
    flag = max(store.flags(), key=lambda f: len(set(f["item_ids"]) & set(ids[OWN] + ids[OTHER])))
    ids = {k: [i for i in v if i in set(flag["item_ids"])] for k, v in ids.items()}
    assert ids[OWN] and ids[OTHER] and ids["press"], "the story holds both units' reports and the press article"
    other_flag = store.upsert_flag({
        "key": "test:alpha-export", "kind": "new_stream", "stream_id": None, "topic": "viec_lam", "score": 5.0,
        "window_start": "2026-03-08T17:00:00+00:00", "window_end": "2026-03-09T17:00:00+00:00", "count": 1,
        "baseline": 0.0, "reason": "Tin mới về xuất khẩu.", "item_ids": [outside],
        "evidence": {"units": {}, "timeline": [], "representative": [outside],
                     "title": "Công ty May Alpha Cao Bằng ký hợp đồng xuất khẩu"}})
    with store.transaction():   # a dialogue of unit A with the enterprise, one commitment still open
        store.add_dialogue(OWN, "2026-03-10", "dialogue", "May Alpha", "Cao Bằng", "Ban giám đốc", "staff1",
                           [{"question": "Khi nào trả lương tháng 1?", "answer": "Trong tháng 3",
                             "commitment": "Trả đủ lương tháng 1 trước ngày 31/3"}])
    return inst, flag, ids, outside, other_flag
