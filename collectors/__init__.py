"""Collectors: the outside world turned into `RawItem`s.

Every fetch goes through `collectors.http.HttpClient`; nothing here knows about the store or the NLP.
"""
from __future__ import annotations

from collectors.items import CollectResult, RawItem, SourceConfig

__all__ = ["CollectResult", "RawItem", "SourceConfig", "collect_source"]


def collect_source(source: SourceConfig, client, etag: str | None = None,
                   last_modified: str | None = None) -> CollectResult:
    """Run one source's collector by its kind; errors come back in the result, never raised."""
    from collectors import feeds

    if source.kind == "rss":
        return feeds.collect_feed(source, client, etag=etag, last_modified=last_modified)
    return CollectResult(source=source.name, errors=[f"{source.name}: unknown source kind {source.kind!r}."])
