"""Small pieces the repositories share: times, content hashes, row decoders."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from collectors.items import RawItem

API_TOKEN_DAYS = 90   # an API token's default lifetime
_SPACES = re.compile(r"\s+")


def utcnow() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def iso(dt: datetime) -> str:
    """An aware datetime as a UTC ISO 8601 string (seconds precision)."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return dt.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def item_hash(item: RawItem) -> str:
    """The dedupe key of an item: its content and source; an observation's also carries its unit, so two units
    reporting the same words stay two reports, while the same report imported again (renamed file or not) is one."""
    if item.kind == "observation":
        return content_hash(item.title, item.text, f"{item.source}\n{item.org_unit or ''}")
    return content_hash(item.title, item.text, item.source)


def content_hash(title: str, text: str, source: str = "") -> str:
    """Hash of a source's item, insensitive to case and spacing, so a re-sent copy is recognised.

    The source is part of it: the same article carried by five sites is five items (one story with five sources,
    see service/streams.py), while the same site sending it twice is one.
    """
    canon = _SPACES.sub(" ", f"{source}\n{title}\n{text}".lower()).strip()
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


@dataclass
class StoredItem:
    id: int
    title: str
    text: str
    url: str | None
    source: str
    kind: str
    published_at: str


def _token_expiry(row: dict) -> str:
    """When an API token stops working (tokens made before expiry existed: their creation + the default lifetime)."""
    if row.get("expires_at"):
        return row["expires_at"]
    created = row.get("token_created") or row.get("created_at")
    return iso(datetime.fromisoformat(created) + timedelta(days=API_TOKEN_DAYS))


def _decode_report(row: dict) -> dict:
    row["data"] = json.loads(row.get("data") or "{}")
    row["narrative"] = json.loads(row.get("narrative") or "{}")
    return row


def _decode_flag(row: dict) -> dict:
    """A flag row's JSON fields decoded; its `item_ids` are link rows (FlagsRepository._decode_flags adds them)."""
    for key in ("keyphrases", "evidence"):
        row[key] = json.loads(row[key])
    return row


