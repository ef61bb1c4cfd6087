"""Records that cross the collectors' boundary: what a source is, what it yields."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

KINDS = ("article", "comment", "observation")


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

    @property
    def ok(self) -> bool:
        return not self.errors
