"""Records that cross the collectors' boundary: what a source is, what it yields."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

KINDS = ("article", "comment", "observation")
MAX_TEXT_CHARS = 100_000  # one item's text; longer bodies are cut here (a file import refuses such a row instead)
MAX_FIELD_CHARS = 2_000  # title, author, unit, channel, url, source

# C0 controls but tab and newline, DEL, C1 controls, lone surrogates and the two non-characters U+FFFE/U+FFFF:
# they break XML (DOCX), CSV readers and terminals, and are never part of a real text
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def strip_controls(value: str) -> str:
    """Text without control characters (tab and newline kept, CR LF / CR made newlines), NFC-normalised."""
    if not value:
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", _CONTROLS.sub("", value))


@dataclass
class RawItem:
    """One piece of text from the outside world, before any NLP.

    `published_at` is timezone-aware (UTC) when known. `kind` is article | comment | observation.
    """

    text: str
    title: str = ""
    url: str | None = None
    source: str = ""
    kind: str = "article"
    published_at: datetime | None = None
    author: str | None = None
    org_unit: str | None = None
    channel: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.clean()

    def clean(self) -> "RawItem":
        """Strip control characters from every text field and keep each within its length; returns self.

        Called on construction and again by the collectors just before they hand items over, since enrichment
        changes `text` afterwards; whatever path an item takes, nothing with a control character is stored.
        """
        self.text = strip_controls(str(self.text or ""))[:MAX_TEXT_CHARS]
        self.title = strip_controls(str(self.title or ""))[:MAX_FIELD_CHARS]
        for name in ("url", "source", "author", "org_unit", "channel"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, strip_controls(str(value))[:MAX_FIELD_CHARS])
        self.source = self.source or ""
        for key, value in list(self.extra.items()):
            if isinstance(value, str):
                self.extra[key] = strip_controls(value)[:MAX_TEXT_CHARS]
        return self


@dataclass
class SourceConfig:
    """A configured source: a feed (`rss`) or a listing page (`page`)."""

    name: str
    kind: str
    url: str
    title: str = ""
    full_text: bool = False
    selectors: dict[str, str] = field(default_factory=dict)
    verified: bool = True
    enabled: bool = True


@dataclass
class CollectResult:
    """The outcome of one collection run of one source. `errors` are plain sentences; never raised."""

    source: str
    items: list[RawItem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    retry_after: datetime | None = None  # the server asked not to be fetched again before this time (UTC)

    @property
    def ok(self) -> bool:
        return not self.errors
