"""nlp.segment: underthesea words joined by `_`, cached, and never an exception."""

import pytest

from nlp import segment as seg_module
from nlp.segment import segment, split_sentences


def test_words_are_joined_by_underscores():
    out = segment(["Công nhân Công ty đình công vì bị nợ lương."])
    assert "Công_nhân" in out[0].split()
    assert "nợ" in out[0] and "lương" in out[0]


def test_one_output_per_input_in_order():
    texts = ["Giảng viên dạy rất hay.", "", "Bão số 3 gây mưa lớn ở miền Bắc."]
    out = segment(texts)
    assert len(out) == 3 and out[1] == ""
    assert out[0].startswith("Giảng_viên")


def test_repeated_sentences_are_segmented_once(monkeypatch):
    calls = []
    real = seg_module._tokenize_many

    def counting(sentences):
        calls.extend(sentences)
        return real(sentences)

    monkeypatch.setattr(seg_module, "_tokenize_many", counting)
    sentence = "Thủ tướng chỉ đạo các bộ ngành tháo gỡ khó khăn cho doanh nghiệp năm 2026 nhé."
    segment([sentence, sentence + " Tin mới thứ hai ở đây."])
    segment([sentence])
    assert calls.count(sentence) <= 1


def test_sentence_split_cuts_long_runs():
    pieces = split_sentences("a " * 3000)
    assert all(len(p) <= seg_module.MAX_SENTENCE_CHARS for p in pieces)


@pytest.mark.parametrize("text", ["", "   \n\t ", "😀😡🙏🙏", "这是中文句子。", "The union called a strike.",
                                  "Công nhân " * 120_000])
def test_odd_input_gives_a_string(text):
    out = segment([text])
    assert len(out) == 1 and isinstance(out[0], str)


def test_dictionary_segmenter_joins_words_and_names():
    from nlp.fastseg import segment_fast

    out = segment_fast("Công nhân Công ty may ở Hà Nội đình công vì bị nợ lương 3 tháng.").split()
    assert {"Công_nhân", "Công_ty", "Hà_Nội", "đình_công"} <= set(out)
    assert out[-1] == "." and "3" in out


def test_both_methods_are_available_and_cached_apart():
    crf = segment(["Sinh viên không tiếp thu kịp."], method="crf")[0]
    fast = segment(["Sinh viên không tiếp thu kịp."], method="dictionary")[0]
    assert crf.startswith("Sinh_viên") and fast.startswith("Sinh_viên")
    with pytest.raises(ValueError):
        segment(["x"], method="nope")


def test_the_dictionary_is_read_without_unpickling_and_a_file_with_code_is_refused():
    import pickle

    import pytest

    from nlp.fastseg import _strings_of_pickled_set

    assert sorted(_strings_of_pickled_set(pickle.dumps({"công nhân", "nợ lương"}, protocol=4))) == ["công nhân",
                                                                                                      "nợ lương"]
    with pytest.raises(ValueError):   # a global (here os.system) is refused, never called
        _strings_of_pickled_set(b"cos\nsystem\n(S'echo pwned'\ntR.")
