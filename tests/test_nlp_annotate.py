"""nlp.annotate with the shipped models: obvious real sentences land right, odd input gets a defined result."""

import json
import shutil
from pathlib import Path

import pytest

from nlp.annotate import Annotation, Annotator
from nlp.taxonomy import load_taxonomy

MODELS = Path(__file__).resolve().parents[1] / "classifier_models"


@pytest.fixture(scope="module")
def annotator():
    return Annotator.from_dir(MODELS)


def test_registry_lists_loadable_models(annotator):
    registry = json.loads((MODELS / "registry.json").read_text(encoding="utf-8"))
    assert {"topic", "sentiment"} <= set(registry)
    for task, entry in registry.items():
        assert entry["active"] in entry["versions"]
        path = MODELS / task / entry["active"] / "model.skops"
        assert path.stat().st_size < 25_000_000
        assert (path.parent / "card.md").exists() and (path.parent / "metrics.json").exists()
    assert set(annotator.models) == set(registry)


@pytest.mark.parametrize("text, topic", [
    ("Hàng trăm công nhân Công ty TNHH may mặc ở Bình Dương bị nợ lương 3 tháng, chủ doanh nghiệp chậm trả lương "
     "và không đóng tiền thưởng Tết.", "quan_he_lao_dong"),  # arrears lasting months (nlp/LABELLING.md)
    ("Hơn 2.000 công nhân ngừng việc tập thể, đình công đòi công ty thực hiện đúng hợp đồng lao động.",
     "quan_he_lao_dong"),
    ("Người lao động rút bảo hiểm xã hội một lần tăng mạnh, nhiều người mất quyền lợi lương hưu.", "bao_hiem"),
    ("Bão số 3 gây mưa lớn, lũ quét và sạt lở ở các tỉnh miền núi phía Bắc, hàng nghìn hộ dân phải sơ tán.",
     "thien_tai"),
    ("Nguyên giám đốc sở bị khởi tố vì nhận hối lộ, tham ô tài sản trong vụ án đấu thầu.", "tham_nhung_tieu_cuc"),
])
def test_obvious_news_gets_the_board_topic(annotator, text, topic):
    assert annotator.annotate([text])[0].topic == topic


def test_sentiment_of_obvious_comments(annotator):
    out = annotator.annotate([
        "Thầy dạy rất nhiệt tình, dễ hiểu, em rất thích môn học này.",
        "Sản phẩm quá tệ, giao hàng chậm, đóng gói cẩu thả, không bao giờ mua nữa.",
    ])
    assert [a.sentiment for a in out] == ["positive", "negative"]
    assert all(0.5 < a.sentiment_score <= 1.0 for a in out)


def test_annotation_fields_and_dict(annotator):
    a = annotator.annotate(["Công nhân khu công nghiệp phản ánh giá phòng trọ tăng cao, tiền lương không đủ sống."])[0]
    assert isinstance(a, Annotation)
    d = a.to_dict()
    assert set(d) == {"topic", "topic_score", "news_topic", "sentiment", "sentiment_score", "toxicity", "keyphrases"}
    assert d["topic"] in load_taxonomy().codes
    assert 0.0 <= d["topic_score"] <= 1.0
    assert isinstance(d["keyphrases"], list) and all(isinstance(k, str) for k in d["keyphrases"])
    json.dumps(d, ensure_ascii=False)


@pytest.mark.parametrize("text", ["", "   \n\t", "😀😡🙏🙏", "!!! ... ???"])
def test_empty_or_letterless_text_gets_the_defined_result(annotator, text):
    a = annotator.annotate([text])[0]
    assert (a.topic, a.topic_score, a.sentiment, a.sentiment_score, a.keyphrases) == ("khac", 0.0, "neutral", 0.0, [])


@pytest.mark.parametrize("text", ["这是一个关于天气的中文句子。", "The quick brown fox jumps over the lazy dog.",
                                  "Công nhân đình công. " * 50_000])
def test_foreign_and_huge_text_never_raise(annotator, text):
    [a] = annotator.annotate([text])
    assert a.topic in load_taxonomy().codes
    assert a.sentiment in {"negative", "neutral", "positive"}


def test_batch_keeps_order_and_length(annotator):
    texts = ["", "Giá xăng tăng lần thứ ba liên tiếp.", "   ", "Thầy dạy hay."]
    out = annotator.annotate(texts)
    assert len(out) == 4 and out[0].topic == "khac" and out[2].sentiment_score == 0.0


def test_missing_optional_task_gives_none(tmp_path):
    for task in ("topic", "sentiment"):
        shutil.copytree(MODELS / task / "v1", tmp_path / task / "v1")
    (tmp_path / "registry.json").write_text(json.dumps(
        {"topic": {"active": "v1", "versions": ["v1"]}, "sentiment": {"active": "v1", "versions": ["v1"]}}))
    a = Annotator.from_dir(tmp_path).annotate(["Giá điện tăng từ tháng sau."])[0]
    assert a.news_topic is None and a.toxicity is None


def test_required_task_missing_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="topic"):
        Annotator({"sentiment": MODELS / "sentiment" / "v1" / "model.skops"})
    with pytest.raises(ValueError, match="registry"):
        Annotator.from_dir(tmp_path)
