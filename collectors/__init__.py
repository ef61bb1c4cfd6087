"""Collectors: the outside world turned into `RawItem`s.

Every fetch goes through `collectors.http.HttpClient`; nothing here knows about the store or the NLP.
"""
from __future__ import annotations

from collections.abc import Collection

from collectors.items import CollectResult, RawItem, SourceConfig

__all__ = ["CollectResult", "RawItem", "SourceConfig", "collect_source"]


def collect_source(source: SourceConfig, client, etag: str | None = None, last_modified: str | None = None,
                   known_urls: Collection[str] = ()) -> CollectResult:
    """Run one source's collector by its kind; errors come back in the result, never raised.

    `known_urls` are article URLs already stored: their pages are not fetched again (feed enrichment, listings).
    """
    from collectors import feeds, pages

    try:
        if source.kind == "rss":
            result = feeds.collect_feed(source, client, etag=etag, last_modified=last_modified, known_urls=known_urls)
        elif source.kind == "page":
            result = pages.collect_page(source, client, etag=etag, last_modified=last_modified, known_urls=known_urls)
        else:
            return CollectResult(source=source.name, errors=[f"{source.name}: unknown source kind {source.kind!r}."])
        for item in result.items:  # enrichment changed texts after construction: clean them once more
            item.clean()
        return result
    except Exception as exc:  # a collector bug must cost one source, not the run
        return CollectResult(source=source.name,
                             errors=[f"{source.name}: the collector failed ({type(exc).__name__}: {exc})."])
