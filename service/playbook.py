"""The board's playbook (sổ tay định hướng): its own response templates, offered on a story's page by topic and by what
the story names, for staff to edit before they record an orientation. Pulse fills a template's blanks from the
story's facets and says whose template it is; it never writes a response of its own.

The board's file is playbook.toml in the data folder (service/datadir.py); until it exists the shipped starter
(service/playbook.toml) is offered, and the page says so. A board file that cannot be read is reported on the page
and the starter is offered meanwhile.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from service.datadir import data_dir

PLAYBOOK = "playbook.toml"
SHIPPED = Path(__file__).resolve().parent / PLAYBOOK
NEEDS = ("organisation", "document", "place")
BLANKS = ("organisation", "document", "place", "topic", "count")


class PlaybookError(ValueError):
    """A playbook that cannot be used; the message names the file and the entry, in Vietnamese for the page."""


@dataclass(frozen=True)
class Response:
    id: str
    title: str
    text: str
    channel: str = "khac"
    audience: str = ""
    topics: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()     # the documents the board answers with (named as it cites them)


@dataclass
class Playbook:
    responses: list[Response]
    path: Path
    board: bool                       # the board's own file (not the shipped starter)
    problem: str = ""                 # why the board's file was not used
    warnings: list[str] = field(default_factory=list)


def board_playbook(settings) -> Path:
    return data_dir(settings) / PLAYBOOK


def parse(text: str, where: str) -> list[Response]:
    """The responses of a playbook file's text; a clear error for the first thing wrong in it."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:   # its message is English: only where it stopped is said
        at = re.search(r"line (\d+), column (\d+)", str(exc))
        place = f" (lỗi cú pháp ở dòng {at.group(1)}, cột {at.group(2)})" if at else " (lỗi cú pháp)"
        raise PlaybookError(f"{where}: không đọc được tệp TOML{place}.") from None
    out, seen = [], set()
    for n, raw in enumerate(data.get("response") or [], start=1):
        if not isinstance(raw, dict):
            raise PlaybookError(f"{where}: mục thứ {n} không phải một [[response]].")
        rid, title, body = (str(raw.get(k) or "").strip() for k in ("id", "title", "text"))
        if not rid or not title or not body:
            raise PlaybookError(f"{where}: mục thứ {n} thiếu id, title hoặc text.")
        if rid in seen:
            raise PlaybookError(f"{where}: id «{rid}» bị trùng.")
        seen.add(rid)
        needs = tuple(str(x) for x in raw.get("needs") or [])
        wrong = [x for x in needs if x not in NEEDS]
        if wrong:
            raise PlaybookError(f"{where}: mục «{rid}» có needs không hợp lệ: {', '.join(wrong)}.")
        out.append(Response(rid, title, body, str(raw.get("channel") or "khac"), str(raw.get("audience") or ""),
                            tuple(str(x) for x in raw.get("topics") or []), needs,
                            tuple(str(x) for x in raw.get("documents") or []),
                            tuple(str(x) for x in raw.get("answers") or [])))
    return out


def load(settings) -> Playbook:
    """The board's playbook when it has one that reads, else the shipped starter (with the reason)."""
    board = board_playbook(settings)
    problem = ""
    if board.exists():
        try:
            return Playbook(parse(board.read_text(encoding="utf-8"), board.name), board, True)
        except (PlaybookError, OSError, UnicodeDecodeError) as exc:
            problem = (str(exc) if isinstance(exc, PlaybookError)
                       else f"{board.name}: không đọc được tệp (không mở được, hoặc không phải văn bản UTF-8).")
    return Playbook(parse(SHIPPED.read_text(encoding="utf-8"), SHIPPED.name), SHIPPED, False, problem)


class _Blanks(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, values: dict[str, str]) -> str:
    """A template with its blanks filled; a blank the story cannot fill is left as «…» for staff to complete."""
    filled = {k: (values.get(k) or "…") for k in BLANKS}
    try:
        return template.format_map(_Blanks(filled))
    except (ValueError, IndexError):     # a stray brace in the board's text: offer it as written
        return template


def proposals(playbook: Playbook, topic: str | None, facets: dict[str, list[str]], values: dict[str, str],
              limit: int = 4) -> list[dict]:
    """The board's templates that answer a story: of its topic (or of every topic), whose needs the story's facets
    meet; the most specific first (a named document, then what it needs, then its topic). Each carries its filled
    text and why it was chosen."""
    chosen = []
    for order, r in enumerate(playbook.responses):
        if r.topics and topic not in r.topics:
            continue
        if any(not facets.get(need) for need in r.needs):
            continue
        cited = [d for d in r.documents if d in facets.get("document", [])]
        if r.documents and not cited:
            continue
        why = []
        if r.topics:
            why.append("đúng chủ đề")
        why += [{"organisation": "câu chuyện nêu tên doanh nghiệp", "document": "câu chuyện nhắc đến văn bản",
                 "place": "câu chuyện nêu địa bàn"}[n] for n in r.needs]
        if cited:
            why.append("nhắc đến " + ", ".join(cited))
        score = (len(cited), len(r.needs), bool(r.topics), -order)
        chosen.append((score, {"id": r.id, "title": r.title, "channel": r.channel,
                               "audience": fill(r.audience, values), "text": fill(r.text, values),
                               "why": why or ["mẫu chung"], "answers": list(r.answers)}))
    chosen.sort(key=lambda x: x[0], reverse=True)
    return [c for _, c in chosen[:limit]]
