"""nlp.dedupe: a syndicated copy of a story lands within a few bits of the original; different stories do not."""

from nlp.dedupe import hamming, near_duplicates, simhash

# A lead in the style of a VNTC "Chinh tri Xa hoi" article, and the same story as re-published elsewhere.
ORIGINAL = ("Sáng 12/3, hàng trăm công nhân Công ty TNHH may mặc Quốc Tế ở khu công nghiệp Tân Tạo đã ngừng việc tập "
            "thể để phản đối việc công ty chậm trả lương tháng 2 và chưa đóng bảo hiểm xã hội cho người lao động. "
            "Liên đoàn Lao động quận Bình Tân đã cử cán bộ đến đối thoại với chủ doanh nghiệp.")
COPY = "(NLĐO) - " + ORIGINAL + " Phóng viên sẽ tiếp tục thông tin."
OTHER = ("Đội tuyển Việt Nam đã giành chiến thắng 2-0 trước Thái Lan trên sân Mỹ Đình tối qua, qua đó giành vé vào "
         "bán kết giải vô địch Đông Nam Á với thành tích bất bại sau vòng bảng.")


def test_copy_is_close_and_other_story_is_far():
    assert hamming(simhash(ORIGINAL), simhash(COPY)) <= 8
    assert hamming(simhash(ORIGINAL), simhash(OTHER)) > 12


def test_near_duplicates_points_copies_to_the_first():
    assert near_duplicates([ORIGINAL, OTHER, COPY]) == [0, 1, 0]


def test_empty_text_has_zero_signature():
    assert simhash("") == 0
    assert simhash("   ") == 0


def _linear_nearest(signature, signatures, max_distance):
    """The definition: the closest earlier signature (first on ties) if within reach."""
    best, best_distance = -1, max_distance + 1
    for i, other in enumerate(signatures):
        d = hamming(signature, other)
        if d < best_distance:
            best, best_distance = i, d
    return (best, best_distance) if best >= 0 and signature else (-1, 65)


def test_banded_index_finds_exactly_what_a_linear_scan_finds():
    import random

    from nlp.dedupe import SimhashIndex

    rng = random.Random(7)
    signatures = [rng.getrandbits(64) for _ in range(3000)]
    for _ in range(1500):   # copies at every distance from 0 to 12 bits, so the boundary at 8 is crossed often
        s = rng.choice(signatures)
        for bit in rng.sample(range(64), rng.randint(0, 12)):
            s ^= 1 << bit
        signatures.append(s)
    rng.shuffle(signatures)
    index = SimhashIndex(max_distance=8)
    for i, s in enumerate(signatures):
        if i % 7 == 0:
            assert index.nearest(s) == _linear_nearest(s, signatures[:i], 8)
        index.add(s, payload=i)
    assert len(index) == len(signatures)


def test_index_lookup_can_refuse_payloads():
    from nlp.dedupe import SimhashIndex

    index = SimhashIndex(max_distance=8)
    index.add(simhash(ORIGINAL), payload="old")
    assert index.nearest(simhash(COPY))[0] == 0
    assert index.nearest(simhash(COPY), accept=lambda payload: payload != "old") == (-1, 65)
    assert index.nearest(0) == (-1, 65)
