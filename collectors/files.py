"""File imports: timeline JSONL (and, later, collaborator CSV/XLSX/DOCX reports)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from collectors.items import KINDS, RawItem


@dataclass
class FileImport:
    """Items read from a file plus one plain sentence per line or row that could not be used."""

    items: list[RawItem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def parse_datetime(value: str) -> datetime:
    """ISO 8601 (a trailing Z allowed) → aware UTC datetime; a naive time is taken as Vietnam time (+07:00)."""
    value = value.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        from zoneinfo import ZoneInfo

        dt = dt.replace(tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    return dt.astimezone(timezone.utc)


def read_timeline(path: Path, default_source: str = "", default_kind: str = "article") -> FileImport:
    """Read timeline JSONL: one `{"title", "text", "url", "source", "published_at", "kind"}` a line."""
    out = FileImport()
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                out.errors.append(f"line {lineno}: not valid JSON.")
                continue
            if not isinstance(row, dict):
                out.errors.append(f"line {lineno}: expected a JSON object.")
                continue
            text = str(row.get("text") or "").strip()
            title = str(row.get("title") or "").strip()
            if not (text or title):
                out.errors.append(f"line {lineno}: has neither text nor title.")
                continue
            if not row.get("published_at"):
                out.errors.append(f"line {lineno}: has no published_at date.")
                continue
            try:
                published = parse_datetime(str(row["published_at"]))
            except ValueError:
                out.errors.append(f"line {lineno}: published_at {row['published_at']!r} is not an ISO 8601 date.")
                continue
            kind = row.get("kind") or default_kind
            if kind not in KINDS:
                out.errors.append(f"line {lineno}: kind {kind!r} is not one of {', '.join(KINDS)}.")
                continue
            out.items.append(RawItem(text=text, title=title, url=(row.get("url") or None),
                                     source=str(row.get("source") or default_source), kind=kind,
                                     published_at=published, org_unit=row.get("org_unit"),
                                     channel=row.get("channel"), author=row.get("author")))
    return out
