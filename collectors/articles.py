"""One article page → its body, title, author, publication time and canonical URL.

trafilatura does the main work. It is pointed at the article container when the page has one of the containers
Vietnamese newsrooms use (or the source's own selector), because whole-page extraction lets app banners and menus in
on some sites. Two repairs follow: the lead paragraph (sapo), which sits outside the container on most Vietnamese
sites, is put back, and so are sub-headings that trafilatura dropped. BeautifulSoup takes over when trafilatura
finds nothing. Metadata comes from the page's own tags (JSON-LD, Open Graph, meta) before trafilatura's guesses.
"""
from __future__ import annotations

import html as html_lib
import json
import logging
import re
import unicodedata
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from bs4 import BeautifulSoup, Tag

from collectors.encoding import decode_bytes

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
MIN_BODY_CHARS = 200

# Article containers of the outlets Pulse follows and of common Vietnamese CMSes, most specific first.
BODY_SELECTORS = (
    "article.fck_detail",            # VnExpress
    "div.singular-content",          # Dân trí
    "div#desktop-in-article",        # Dân trí (2026 layout)
    "div.detail-content",            # Tuổi Trẻ, Người Lao Động, Báo Chính phủ, CafeF (VCCorp CMS)
    "div.detail__content",           # Thanh Niên (2023 layout)
    "div.detail-cmain",              # Thanh Niên
    "div.cms-body",
    "div.art-body",                  # Lao Động
    "div.article-content",
    "div.article__body",
    "div.entry-content",             # WordPress, common on provincial sites
    "div.journal-content-article",   # Liferay portals (many *.gov.vn)
    "[itemprop=articleBody]",
)
LEAD_SELECTORS = (
    "p.description", "h2.singular-sapo", "h2.sapo", ".detail-sapo", ".detail__summary", "div.sapo", "p.sapo",
    "div.chapeau", "h2.detail-sapo",
)
# Boxes inside article containers that are not the article: captions, related links, read-more, ads.
NOISE_SELECTORS = (
    "script", "style", "noscript", "iframe", "form", "button", "figcaption", "figure .caption",
    ".PhotoCMS_Caption", "[class*=kbwscwlr]", "[class*=VCObjectBoxRelated]", "[class*=related]",
    "[class*=Related]", ".tindnd", "[class*=readmore]", "[class*=box-tin]", "[class*=advert]", "[id*=advert]",
    "[class*=banner]", "[class*=social]", "[class*=share]", ".tags", "[class*=tag-list]",
)
_WS = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")

log = logging.getLogger(__name__)


def extract_article(html: bytes | str, url: str | None = None, body_selector: str | None = None) -> dict[str, Any]:
    """Page HTML → {title, text, author, published_at (UTC ISO 8601 or None), url (canonical)}; never raises."""
    text_html = decode_bytes(html, None)[0] if isinstance(html, bytes) else html
    result: dict[str, Any] = {"title": "", "text": "", "author": None, "published_at": None, "url": url}
    try:
        soup = BeautifulSoup(text_html, "lxml")
    except Exception:  # lxml rejects some byte soups outright; nothing to extract then
        return result
    try:
        meta = _metadata(soup, url)
        result.update(meta)
        result["text"] = _body(soup, text_html, body_selector, meta["title"])
        if not result["published_at"]:
            _fill_from_trafilatura(text_html, result)
    except Exception as exc:  # pragma: no cover - defensive: a parser bug must not stop a collection run
        log.warning("article extraction failed for %s: %s", url, exc)
    return result


def extract(target: str, client=None) -> dict[str, Any]:
    """`pulse extract URL|FILE`: fetch a URL through the HTTP client, or read a saved page from disk.

    Raises ValueError with a plain sentence when the page cannot be had, so the CLI can print it.
    """
    if urlsplit(target).scheme in ("http", "https"):
        if client is None:
            from collectors.http import HttpClient

            client = HttpClient()
        resp = client.get(target)
        if resp.error:
            raise ValueError(resp.error)
        return extract_article(resp.text, url=resp.final_url or target)
    path = Path(target)
    if not path.is_file():
        raise ValueError(f"{target} is neither an http(s) address nor a file.")
    return extract_article(path.read_bytes(), url=None)


# ---- metadata -------------------------------------------------------------------------------------------------------

def _metadata(soup: BeautifulSoup, url: str | None) -> dict[str, Any]:
    ld = _json_ld_article(soup)
    title = (_meta(soup, "og:title") or _meta(soup, "twitter:title") or _text_of(soup.select_one("h1"))
             or _text_of(soup.title))
    canonical = None
    link = soup.select_one("link[rel=canonical][href]")
    if link:
        canonical = link["href"].strip()
    canonical = canonical or _meta(soup, "og:url") or url
    if canonical and url:
        canonical = urljoin(url, canonical)
    published = None
    for candidate in (ld.get("datePublished"), _meta(soup, "article:published_time"), _meta(soup, "pubdate"),
                      _meta(soup, "datePublished"), _meta(soup, "publishdate"), _meta(soup, "dc.date.issued"),
                      _time_tag(soup)):
        published = to_utc_iso(candidate)
        if published:
            break
    author = _ld_author(ld) or _byline(soup)
    return {"title": clean_line(title or ""), "url": canonical, "published_at": published,
            "author": _drop_site_names(author, soup, canonical)}


def _meta(soup: BeautifulSoup, key: str) -> str | None:
    for attr in ("property", "name", "itemprop"):
        tag = soup.find("meta", attrs={attr: key})
        if tag and tag.get("content", "").strip():
            return html_lib.unescape(tag["content"].strip())
    return None


def _json_ld_article(soup: BeautifulSoup) -> dict[str, Any]:
    for script in soup.select('script[type="application/ld+json"]'):
        try:
            data = json.loads(script.string or "", strict=False)
        except (ValueError, TypeError):
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            node = stack.pop(0)
            if not isinstance(node, dict):
                continue
            stack.extend(node.get("@graph") or [])
            kinds = node.get("@type")
            kinds = kinds if isinstance(kinds, list) else [kinds]
            if any(k in ("NewsArticle", "Article", "ReportageNewsArticle", "BlogPosting") for k in kinds):
                return node
    return {}


def _ld_author(ld: dict[str, Any]) -> str | None:
    authors = ld.get("author")
    authors = authors if isinstance(authors, list) else [authors]
    names = []
    for a in authors:
        name = a.get("name") if isinstance(a, dict) and a.get("@type", "Person") == "Person" else None
        if isinstance(name, str) and name.strip():
            names.append(clean_line(html_lib.unescape(name)))
    return ", ".join(names) or None


def _byline(soup: BeautifulSoup) -> str | None:
    for sel in (".author-info .name", ".detail-author .name", ".author-name", "[rel=author]", ".article-author",
                ".author", "p.author", "article.fck_detail p[style*=right] strong", "article.fck_detail p.author_mail"):
        node = soup.select_one(sel)
        text = _text_of(node)
        if text and len(text) <= 80:
            return text
    return _meta(soup, "author")


def _drop_site_names(author: str | None, soup: BeautifulSoup, url: str | None) -> str | None:
    """'NLD.COM.VN', 'VnExpress', 'Dân Trí' are publishers, not authors."""
    if not author:
        return None
    host = urlsplit(url or "").hostname or ""
    stems = {fold(part) for part in host.split(".") if len(part) > 3 and part not in ("www", "com")}
    site = fold(_meta(soup, "og:site_name") or "")
    kept = []
    for part in re.split(r"\s*[;,]\s*", author):
        f = fold(part)
        if not f or f == site or f in stems or any(s and s in f.replace(" ", "") for s in stems):
            continue
        if re.search(r"\b(com|vn|online|vccorp|bao dien tu|news)\b", f):
            continue
        kept.append(part.strip())
    return ", ".join(kept) or None


def _time_tag(soup: BeautifulSoup) -> str | None:
    node = soup.select_one("time[datetime]")
    return node["datetime"] if node else None


def to_utc_iso(value: str | None) -> str | None:
    """A date string from a page → UTC ISO 8601; naive times are Vietnam time. None when unreadable."""
    if not value or not isinstance(value, str):
        return None
    value = value.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(value.replace(" ", "T", 1) if re.match(r"\d{4}-\d\d-\d\d \d", value) else value)
    except ValueError:
        m = re.match(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\D+(\d{1,2}):(\d{2}))?", value)
        if not m:
            return None
        d, mo, y, h, mi = m.groups()
        try:
            dt = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0))
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=VIETNAM)
    return dt.astimezone(timezone.utc).isoformat()


def _fill_from_trafilatura(text_html: str, result: dict[str, Any]) -> None:
    try:
        import trafilatura

        doc = trafilatura.bare_extraction(text_html, with_metadata=True, only_with_metadata=False)
    except Exception:
        return
    if doc is None:
        return
    if getattr(doc, "date", None):
        result["published_at"] = to_utc_iso(doc.date)


# ---- body -----------------------------------------------------------------------------------------------------------

def _body(soup: BeautifulSoup, text_html: str, body_selector: str | None, title: str) -> str:
    container = _container(soup, body_selector)
    text = ""
    if container is not None:
        for noise in container.select(", ".join(NOISE_SELECTORS)):
            noise.decompose()
        text = _trafilatura_text(f"<html><body>{container}</body></html>", favor_recall=True)
        if text:
            text = _restore_headings(container, text)
        if len(text) < MIN_BODY_CHARS:
            text = _blocks_text(container)
    if len(text) < MIN_BODY_CHARS:
        whole = _trafilatura_text(text_html, favor_recall=False)
        if len(whole) > len(text):
            text = whole
    if len(text) < MIN_BODY_CHARS:
        fallback = _densest_text(soup)
        if len(fallback) > len(text):
            text = fallback
    lines = [clean_line(line) for line in text.splitlines()]
    lines = [line for line in lines if line]
    while lines and title and fold(lines[0]) == fold(title):
        lines.pop(0)
    lead = _lead(soup)
    if lead and fold(lead) != fold(title) and not _contains(lines, lead):
        lines.insert(0, lead)
    return "\n".join(lines)


def _container(soup: BeautifulSoup, body_selector: str | None) -> Tag | None:
    for sel in ((body_selector,) if body_selector else ()) + BODY_SELECTORS:
        try:
            node = soup.select_one(sel)
        except Exception:  # a bad selector in a source's configuration
            continue
        if node is not None and len(node.get_text(" ", strip=True)) >= MIN_BODY_CHARS:
            return node
    return None


def _trafilatura_text(html: str, favor_recall: bool) -> str:
    try:
        import trafilatura

        return trafilatura.extract(html, include_comments=False, include_tables=True, include_images=False,
                                   favor_recall=favor_recall, deduplicate=False) or ""
    except Exception:
        return ""


def _restore_headings(container: Tag, text: str) -> str:
    """Put back sub-headings trafilatura dropped, before the paragraph that follows each in the page."""
    lines = text.splitlines()
    folded = [fold(line) for line in lines]
    for heading in container.find_all(["h2", "h3", "h4"]):
        head = clean_line(heading.get_text(" "))
        if not head or len(head) > 200 or _contains(lines, head):
            continue
        nxt = heading.find_next(["p", "li"])
        while nxt is not None and len(clean_line(nxt.get_text(" "))) < 30:
            nxt = nxt.find_next(["p", "li"])
        if nxt is None:
            continue
        probe = fold(clean_line(nxt.get_text(" ")))[:40]
        for i, line in enumerate(folded):
            if probe and probe in line:
                lines.insert(i, head)
                folded.insert(i, fold(head))
                break
    return "\n".join(lines)


def _blocks_text(node: Tag) -> str:
    """Paragraphs, headings and list items of a container, in order (the BeautifulSoup fallback)."""
    out = []
    for block in node.find_all(["p", "h2", "h3", "h4", "li", "blockquote"]):
        if block.find(["p", "li"]):
            continue
        line = clean_line(block.get_text(" "))
        if line:
            out.append(line)
    return "\n".join(out)


def _densest_text(soup: BeautifulSoup) -> str:
    """Last resort: the element whose own paragraphs hold the most text."""
    for noise in soup.select("script, style, nav, header, footer, aside, form"):
        noise.decompose()
    best, best_len = None, 0
    for node in soup.find_all(["div", "article", "section", "main", "td"]):
        size = sum(len(p.get_text(" ", strip=True)) for p in node.find_all("p", recursive=False))
        if size > best_len:
            best, best_len = node, size
    return _blocks_text(best) if best is not None else ""


def _lead(soup: BeautifulSoup) -> str:
    for sel in LEAD_SELECTORS:
        node = soup.select_one(sel)
        text = clean_line(node.get_text(" ")) if node else ""
        if len(text) >= 40:
            return text
    desc = _meta(soup, "og:description") or _meta(soup, "description") or ""
    desc = clean_line(desc)
    return desc if len(desc) >= 80 else ""


def _contains(lines: list[str], needle: str) -> bool:
    probe = fold(needle)[:60]
    return any(probe in fold(line) for line in lines)


def _text_of(node) -> str:
    return clean_line(node.get_text(" ")) if node is not None else ""


def clean_line(text: str) -> str:
    """One line of text: NFC, entities unescaped, spaces collapsed, space before punctuation removed."""
    text = unicodedata.normalize("NFC", html_lib.unescape(text))
    text = _WS.sub(" ", text.replace("\n", " ")).strip()
    return re.sub(r" ([,.;:!?)])", r"\1", text)


def fold(text: str) -> str:
    """Lower case without diacritics or punctuation, for comparing text pieces ('Đà Nẵng' → 'da nang')."""
    text = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.findall(r"\w+", text))
