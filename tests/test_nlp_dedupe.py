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
