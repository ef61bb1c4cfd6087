"""The sources Pulse collects from out of the box."""
from __future__ import annotations

from collectors.items import SourceConfig

DEFAULT_SOURCES: list[SourceConfig] = [
    SourceConfig(name="vnexpress-thoi-su", kind="rss", url="https://vnexpress.net/rss/thoi-su.rss",
                 title="VnExpress – Thời sự", verified=False),
]
