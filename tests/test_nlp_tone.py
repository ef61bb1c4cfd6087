"""Tone of what collaborators report: unpaid wages, insurance arrears, forced overtime and layoffs are negative for
the shipped sentiment model, read through the same call as `pulse annotate`; plain announcements are not negative."""

from pathlib import Path

import pytest

from nlp.annotate import Annotator

MODELS = Path(__file__).resolve().parents[1] / "classifier_models"

# Written the way collaborators write their reports (no text here is from a training corpus).
COMPLAINTS = [
    "Công ty nợ lương tháng 10 và tháng 11, anh em công nhân chưa nhận được đồng nào.",
    "Doanh nghiệp chậm đóng bảo hiểm xã hội cho người lao động suốt 8 tháng nay.",
    "Công nhân phản ánh bị ép tăng ca đến 10 giờ đêm mà không được trả thêm tiền.",
    "Nhà máy cắt giảm 300 lao động, nhiều người mất việc ngay trước Tết.",
    "Chủ doanh nghiệp bỏ trốn, hơn 200 công nhân bị nợ lương và chưa được chốt sổ bảo hiểm.",
    "Tháng này công ty lại trừ lương vô lý, công nhân rất bức xúc.",
    "Công ty không trả lương làm thêm giờ, tổ trưởng còn dọa đuổi việc ai khiếu nại.",
    "Người lao động bị sa thải không báo trước, không được trợ cấp thôi việc.",
]
ANNOUNCEMENTS = [
    "Hướng dẫn thủ tục hưởng trợ cấp thất nghiệp năm 2026.",
    "Lịch nghỉ Tết Nguyên đán của công chức, viên chức và người lao động.",
]


@pytest.fixture(scope="module")
def annotator():
    return Annotator.from_dir(MODELS)


@pytest.mark.xfail(strict=True, reason="sentiment v2 reads 7 of these 8 complaints as negative (measured 2026-12-01): "
                   "«Doanh nghiệp chậm đóng bảo hiểm xã hội ... suốt 8 tháng nay» comes out neutral; strict, so the "
                   "suite says so when a model gets all eight right")
def test_collaborators_complaints_are_negative(annotator):
    tones = [a.sentiment for a in annotator.annotate(COMPLAINTS)]
    assert tones == ["negative"] * len(COMPLAINTS), list(zip(tones, COMPLAINTS))


def test_at_least_seven_of_eight_complaints_are_negative_and_none_positive(annotator):
    """What sentiment v2 does reach: 7 of the 8 complaints negative, none positive."""
    tones = [a.sentiment for a in annotator.annotate(COMPLAINTS)]
    assert tones.count("negative") >= 7 and "positive" not in tones, list(zip(tones, COMPLAINTS))


def test_plain_announcements_are_not_negative(annotator):
    tones = [a.sentiment for a in annotator.annotate(ANNOUNCEMENTS)]
    assert "negative" not in tones, list(zip(tones, ANNOUNCEMENTS))
