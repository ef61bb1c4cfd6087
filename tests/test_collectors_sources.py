"""Default sources: the outlets the issue names, each with a feed or listing URL, and honest verified flags."""
from __future__ import annotations

from urllib.parse import urlsplit

from collectors.sources import DEFAULT_SOURCES, default_sources

# URLs with a real snapshot of that very address in ../shared/fixtures
VERIFIED_EVIDENCE = {"https://vnexpress.net/rss/tin-moi-nhat.rss"}


def test_named_outlets_are_all_there():
    hosts = {urlsplit(s.url).hostname for s in DEFAULT_SOURCES}
    for host in ("laodong.vn", "nld.com.vn", "vnexpress.net", "dantri.com.vn", "tuoitre.vn", "thanhnien.vn",
                 "baocaobang.vn"):
        assert host in hosts
    assert any("Thời sự" in s.title and "vnexpress" in s.url for s in DEFAULT_SOURCES)
    assert any("Lao động – Việc làm" in s.title for s in DEFAULT_SOURCES)


def test_sources_are_well_formed_and_unique():
    names = [s.name for s in DEFAULT_SOURCES]
    assert len(names) == len(set(names))
    for s in DEFAULT_SOURCES:
        assert s.kind in ("rss", "page") and s.url.startswith("https://") and s.title


def test_only_urls_with_a_snapshot_are_marked_verified():
    for s in DEFAULT_SOURCES:
        assert s.verified == (s.url in VERIFIED_EVIDENCE), s.name


def test_default_sources_returns_copies():
    copy = default_sources()
    copy[0].selectors["x"] = "y"
    assert "x" not in DEFAULT_SOURCES[0].selectors
