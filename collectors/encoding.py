"""Bytes → Unicode for pages and feeds, so Vietnamese text is never mojibake.

Order of evidence: a BOM, the charset in the Content-Type header, the document's own declaration (meta charset,
http-equiv, XML declaration), strict UTF-8, then bs4's detector. The result is NFC, because windows-1258 (and some
CMSes) write tone marks as combining characters.
"""
from __future__ import annotations

import codecs
import re
import unicodedata

from bs4.dammit import UnicodeDammit

_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_XML_ENCODING = re.compile(rb"<\?xml[^>]*encoding\s*=\s*[\"']([\w.:-]+)[\"']", re.I)
_WESTERN = frozenset({"iso8859-1", "cp1252", "ascii"})
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def charset_from_content_type(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, when it names a codec Python knows."""
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return _known(match.group(1)) if match else None


def declared_charset(content: bytes) -> str | None:
    """The encoding a document declares about itself in its first 4 KB (meta tag or XML declaration)."""
    head = content[:4096]
    for pattern in (_XML_ENCODING, _META_CHARSET):
        match = pattern.search(head)
        if match:
            found = _known(match.group(1).decode("ascii", "ignore"))
            if found:
                return found
    return None


def decode_bytes(content: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode a body; returns (text, encoding used). Never raises: the last resort replaces bad bytes."""
    if not content:
        return "", "utf-8"
    for bom, name in _BOMS:
        if content.startswith(bom):
            return _finish(content.decode(name, errors="replace")), name
    header = charset_from_content_type(content_type)
    if header in _WESTERN and _strict_utf8(content):
        # servers often send a default latin-1 charset for pages that are really UTF-8
        return _finish(content.decode("utf-8")), "utf-8"
    for name in (header, declared_charset(content), "utf-8"):
        if not name:
            continue
        try:
            return _finish(content.decode(name)), name
        except (UnicodeDecodeError, LookupError):
            continue
    dammit = UnicodeDammit(content, ["utf-8", "cp1258", "cp1252"], is_html=True)
    if dammit.unicode_markup is not None:
        return _finish(dammit.unicode_markup), dammit.original_encoding or "unknown"
    return _finish(content.decode("utf-8", errors="replace")), "utf-8"


def _strict_utf8(content: bytes) -> bool:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _known(name: str) -> str | None:
    try:
        return codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None


def _finish(text: str) -> str:
    return unicodedata.normalize("NFC", text)
