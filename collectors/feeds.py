"""RSS 2.0 and Atom feeds → `RawItem`s, through feedparser over the one HTTP client.

Titles and links are cleaned of the whitespace real feeds carry (the VnExpress snapshots wrap them in newlines),
descriptions are reduced to text, entities unescaped, dates turned to UTC with the feed's own offset.
"""
from __future__ import annotations

import calendar
import html
import re
import unicodedata
import warnings
from collections.abc import Collection
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import feedparser
from bs4 import BeautifulSoup

from collectors.encoding import decode_bytes
from collectors.http import HttpClient, Response
from collectors.items import CollectResult, RawItem, SourceConfig

_SPACES = re.compile(r"\s+")
_PLACEHOLDERS = frozenset({"no description", "no title", "undefined", "null"})
_TAGS = re.compile(r"<[a-zA-Z/!][^>]*>")


def clean_text(value: str | None) -> str:
    """HTML reduced to text, entities unescaped (twice-escaped ones too), whitespace collapsed."""
    if not value:
        return ""
    try:
        text = BeautifulSoup(value, "html.parser").get_text(" ") if "<" in value else value
    except Exception:  # html.parser can choke on some broken markup; fall back to stripping tags
        text = _TAGS.sub(" ", value)
    text = html.unescape(html.unescape(text)) if "&" in text else text
    return unicodedata.normalize("NFC", _SPACES.sub(" ", text).strip())


def clean_link(value: str | None) -> str | None:
    """A link with the whitespace and newlines of copied feeds removed; None unless it is http(s)."""
    if not value:
        return None
    link = _SPACES.sub("", html.unescape(value))
    return link if link.startswith(("http://", "https://")) else None


def entry_time(entry) -> datetime | None:
    """An entry's published (or updated) time in UTC; feedparser has already applied the feed's offset."""
    with warnings.catch_warnings():  # feedparser warns about its own updated→published fallback
        warnings.simplefilter("ignore", DeprecationWarning)
        parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if parsed:
        try:
            return datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc)
        except (OverflowError, ValueError, TypeError):
            return None
    raw = entry.get("published") or entry.get("updated")
    if raw:  # a date feedparser could not read; RFC 822 with a Vietnamese-style offset still parses here
        try:
            dt = parsedate_to_datetime(raw.strip())
        except (TypeError, ValueError, IndexError):
            return None
        if dt is not None and dt.tzinfo is not None:
            return dt.astimezone(timezone.utc)
    return None


_XML_DECLARATION_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)["'][^"']*["']""")


def feed_as_utf8(content: bytes | str, content_type: str | None = None) -> bytes:
    """Feed bytes decoded by Pulse's own rules (HTTP charset, BOM, declaration, detection of windows-1258 and the
    like), NFC-normalised, and re-encoded as UTF-8 with a declaration that says so, for feedparser to read."""
    text = decode_bytes(content, content_type)[0] if isinstance(content, bytes) else str(content)
    text = unicodedata.normalize("NFC", text.lstrip("\ufeff"))
    text = _XML_DECLARATION_ENCODING.sub(lambda m: m.group(1) + '"utf-8"', text, count=1)
    return text.encode("utf-8", errors="replace")


def parse_feed(content: bytes, source: str = "", content_type: str | None = None) -> tuple[list[RawItem], list[str]]:
    """Parse feed bytes into items; a document that is not a feed gives an error sentence, not an exception.

    `content_type` is the HTTP header: its charset is the first evidence of the encoding.
    """
    try:
        parsed = feedparser.parse(feed_as_utf8(content, content_type),
                                  response_headers={"content-type": "application/xml; charset=utf-8"})
        entries = list(parsed.get("entries") or [])
    except Exception as exc:  # feedparser is tolerant, but bytes from the wild can still surprise it
        return [], [f"{source}: the feed could not be parsed ({type(exc).__name__})."]
    if not entries:
        if parsed.get("bozo") or not parsed.get("version"):
            return [], [f"{source}: the response is not a readable RSS or Atom feed."]
        return [], []
    items, errors = [], []
    for number, entry in enumerate(entries, start=1):
        try:
            item = _entry_item(entry, source)
        except Exception as exc:  # one odd entry must not cost the others
            errors.append(f"{source}: feed entry {number} could not be read ({type(exc).__name__}).")
            continue
        if item is not None:  # None: an empty placeholder entry, nothing to keep
            items.append(item)
    return items, errors


def _entry_item(entry, source: str) -> RawItem | None:
    title = clean_text(entry.get("title"))
    text = clean_text(entry.get("summary") or entry.get("description"))
    link = clean_link(entry.get("link")) or clean_link(entry.get("id"))
    if text.lower() in _PLACEHOLDERS:
        text = ""
    if not title and not (text and link):
        return None
    author = clean_text(entry.get("author")) or None
    extra = {}
    guid = _SPACES.sub("", entry.get("id") or "")
    if guid:
        extra["guid"] = guid
    return RawItem(text=text, title=title, url=link, source=source, kind="article",
                   published_at=entry_time(entry), author=author, extra=extra)


def fetch_source(source: SourceConfig, client: HttpClient, etag: str | None = None,
                 last_modified: str | None = None) -> tuple[Response | None, CollectResult]:
    """Conditional GET of a source's URL: the response to read, or None (with the result said) when there is
    nothing to read — the fetch failed (its error recorded) or the source answered 304 Not Modified."""
    resp = client.get(source.url, etag=etag, last_modified=last_modified)
    result = CollectResult(source=source.name)
    if resp.retry_after_until is not None:
        result.retry_after = datetime.fromtimestamp(resp.retry_after_until, tz=timezone.utc)
    if resp.error:
        result.errors.append(f"{source.name}: {resp.error}")
        return None, result
    headers = resp.headers or {}
    result.etag = headers.get("ETag") or etag
    result.last_modified = headers.get("Last-Modified") or last_modified
    if resp.not_modified:
        result.not_modified = True
        return None, result
    return resp, result


def collect_feed(source: SourceConfig, client: HttpClient, etag: str | None = None,
                 last_modified: str | None = None, known_urls: Collection[str] = ()) -> CollectResult:
    """Fetch and parse one feed source; with `source.full_text`, each new item's page is fetched for its body."""
    resp, result = fetch_source(source, client, etag, last_modified)
    if resp is None:
        return result
    result.items, result.errors = parse_feed(resp.content, source.name, resp.content_type)
    if source.full_text:
        from collectors.pages import enrich_items

        result.errors += enrich_items(result.items, client, source, known_urls)
    return result
