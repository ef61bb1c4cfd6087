"""HTML pages: listing pages of sites without feeds, and article pages fetched for their full text.

A `page` source names a listing URL; CSS selectors from `SourceConfig.selectors` pick the article links:

    links         CSS selector for the anchors (default: headline anchors, `h2 a, h3 a, h4 a`)
    link_pattern  regular expression an article URL's path must match (default: a numeric id or a long slug)
    body          CSS selector for the article body on the article pages (default: the known containers)
    max_items     how many new links to fetch in one run (default 30)

Each link then goes through `articles.extract_article`.
"""
from __future__ import annotations

import re
from datetime import datetime
from collections.abc import Collection
from urllib.parse import urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup

from collectors.articles import extract_article, to_utc_iso
from collectors.encoding import decode_bytes
from collectors.items import CollectResult, RawItem, SourceConfig

DEFAULT_LINKS = "h2 a[href], h3 a[href], h4 a[href]"
# an article path ends in a numeric id (most Vietnamese CMSes) or is a long hyphenated slug
DEFAULT_LINK_PATTERN = r"[-/_]\d{5,}(?:\.\w+)?/?$|(?:[\w%]+-){4,}[\w%]+(?:\.html?|\.chn|\.ldo|\.vnp)?/?$"
DEFAULT_MAX_ITEMS = 30


def listing_links(html: bytes | str, base_url: str, selectors: dict[str, str] | None = None) -> list[str]:
    """Article links on a listing page, absolute, same site, without fragments, in page order, each once."""
    selectors = selectors or {}
    text = decode_bytes(html, None)[0] if isinstance(html, bytes) else html
    try:
        soup = BeautifulSoup(text, "lxml")
        anchors = soup.select(selectors.get("links") or DEFAULT_LINKS)
        pattern = re.compile(selectors.get("link_pattern") or DEFAULT_LINK_PATTERN)
    except Exception:  # broken markup or a bad selector/pattern in the configuration: no links, no crash
        return []
    site = _site(base_url)
    seen: set[str] = set()
    links = []
    for a in anchors:
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "mailto:", "#")):
            continue
        try:
            parts = urlsplit(urljoin(base_url, href))
        except ValueError:
            continue
        if parts.scheme not in ("http", "https") or _site_of_host(parts.hostname or "") != site:
            continue
        if not pattern.search(parts.path):
            continue
        url = urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
        if url not in seen:
            seen.add(url)
            links.append(url)
    return links


def fetch_article(url: str, client, source: SourceConfig) -> tuple[dict | None, str | None]:
    """Fetch one article page and extract it; (article, None) or (None, plain error sentence)."""
    resp = client.get(url)
    if resp.error:
        return None, f"{source.name}: {resp.error}"
    article = extract_article(resp.text, url=resp.final_url or url,
                              body_selector=(source.selectors or {}).get("body"))
    if not article["text"]:
        return None, f"{source.name}: no article text found at {url}."
    return article, None


def enrich_items(items: list[RawItem], client, source: SourceConfig, known_urls: Collection[str] = ()) -> list[str]:
    """Replace each feed item's summary with its page's full body (summary kept in extra); returns errors."""
    errors = []
    limit = int((source.selectors or {}).get("max_items") or DEFAULT_MAX_ITEMS)
    fetched = 0
    for item in items:
        if not item.url or item.url in known_urls:
            continue
        if fetched >= limit:
            break
        fetched += 1
        article, error = fetch_article(item.url, client, source)
        if error:
            errors.append(error)
            continue
        if len(article["text"]) > len(item.text):
            item.extra["summary"] = item.text
            item.text = article["text"]
        item.author = item.author or article["author"]
        if item.published_at is None and article["published_at"]:
            item.published_at = datetime.fromisoformat(article["published_at"])
        if article["url"] and article["url"] != item.url:
            item.extra["canonical_url"] = article["url"]
    return errors


def collect_page(source: SourceConfig, client, etag: str | None = None, last_modified: str | None = None,
                 known_urls: Collection[str] = ()) -> CollectResult:
    """Fetch a listing page, follow its new article links, extract each; errors per link, never raised."""
    from collectors.feeds import fetch_source

    resp, result = fetch_source(source, client, etag, last_modified)
    if resp is None:
        return result
    links = listing_links(resp.text, resp.final_url or source.url, source.selectors)
    if not links:
        result.errors.append(f"{source.name}: no article links found on {source.url}; "
                             "the page layout may have changed (check the source's selectors).")
        return result
    limit = int((source.selectors or {}).get("max_items") or DEFAULT_MAX_ITEMS)
    for url in [u for u in links if u not in known_urls][:limit]:
        article, error = fetch_article(url, client, source)
        if error:
            result.errors.append(error)
            continue
        published = to_utc_iso(article["published_at"])
        result.items.append(RawItem(
            text=article["text"], title=article["title"], url=article["url"] or url, source=source.name,
            kind="article", published_at=datetime.fromisoformat(published) if published else None,
            author=article["author"], extra={"listing": source.url} if article["url"] == url else
            {"listing": source.url, "fetched_url": url}))
    return result


def _site(url: str) -> str:
    return _site_of_host(urlsplit(url).hostname or "")


def _site_of_host(host: str) -> str:
    """'www.nld.com.vn' and 'nld.com.vn' are one site."""
    return host.lower().removeprefix("www.")
