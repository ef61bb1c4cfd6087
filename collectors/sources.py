"""The sources Pulse follows out of the box: national outlets that cover workers, and the press of Cao Bằng.

`verified=True` only where a real snapshot of that very URL (or of a page of that exact layout) is in
../shared/fixtures; every other address comes from the outlets' published RSS directories as remembered, not checked,
and is marked `verified=False` so `pulse sources list` shows it needs a first live check.
Evidence used (see tests/fixtures/collectors/SOURCE.txt):
  - vnexpress.net/rss/tin-moi-nhat.rss: five real snapshots (2017) in shared/fixtures/rss/vnexpress.
  - article and listing pages of vnexpress.net, dantri.com.vn, nld.com.vn, tuoitre.vn (2026) in shared/fixtures/html:
    they verify the article containers and listing selectors, not the feed URLs below.
  - shared/datasets/news-rss-crawl-2026: real 2026 article URLs from laodong.vn, nld.com.vn, dantri.com.vn,
    tuoitre.vn, thanhnien.vn, vnexpress.net (so these outlets published RSS in 2026), but not the feed URLs themselves.
"""
from __future__ import annotations

from collectors.items import SourceConfig

DEFAULT_SOURCES: list[SourceConfig] = [
    SourceConfig(name="laodong", kind="rss", url="https://laodong.vn/rss/cong-doan.rss",
                 title="Lao Động – Công đoàn", full_text=True, verified=False),
    SourceConfig(name="nld-cong-doan", kind="rss", url="https://nld.com.vn/rss/cong-doan.rss",
                 title="Người Lao Động – Công đoàn", full_text=True, verified=False),
    SourceConfig(name="vnexpress-thoi-su", kind="rss", url="https://vnexpress.net/rss/thoi-su.rss",
                 title="VnExpress – Thời sự", full_text=True, verified=False),
    SourceConfig(name="dantri-lao-dong-viec-lam", kind="rss", url="https://dantri.com.vn/rss/lao-dong-viec-lam.rss",
                 title="Dân trí – Lao động – Việc làm", full_text=True, verified=False),
    SourceConfig(name="tuoitre-thoi-su", kind="rss", url="https://tuoitre.vn/rss/thoi-su.rss",
                 title="Tuổi Trẻ – Thời sự", full_text=True, verified=False),
    SourceConfig(name="thanhnien-thoi-su", kind="rss", url="https://thanhnien.vn/rss/thoi-su.rss",
                 title="Thanh Niên – Thời sự", full_text=True, verified=False),
    # Báo Cao Bằng and the provincial portal publish no feed we could confirm: listing pages with selectors.
    SourceConfig(name="baocaobang", kind="page", url="https://baocaobang.vn/",
                 title="Báo Cao Bằng", full_text=True, verified=False,
                 selectors={"links": "h2 a[href], h3 a[href], h4 a[href]", "max_items": "30"}),
    SourceConfig(name="caobang-portal", kind="page", url="https://caobang.gov.vn/",
                 title="Cổng thông tin điện tử tỉnh Cao Bằng", full_text=True, verified=False,
                 selectors={"links": "a[href]", "max_items": "20"}),
    # The one feed address with real snapshots; general news, so off by default.
    SourceConfig(name="vnexpress-tin-moi-nhat", kind="rss", url="https://vnexpress.net/rss/tin-moi-nhat.rss",
                 title="VnExpress – Tin mới nhất", full_text=True, verified=True, enabled=False),
]


def default_sources() -> list[SourceConfig]:
    """Fresh copies of the defaults, safe to change."""
    from dataclasses import replace

    return [replace(s, selectors=dict(s.selectors)) for s in DEFAULT_SOURCES]
