"""The board's labels: set one, import and export them as CSV, and the held-out split fixed in advance.

A label is an (item, task, label, who, when) row; labels are never overwritten, the latest one counts. The held-out
split is derived from each item's content hash, so every candidate and the active model are scored on the same items,
and an item never moves between training and held-out as more labels arrive.
"""
from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from nlp.taxonomy import load_taxonomy
from service.store import Store, iso

LABEL_TASKS = ("topic", "sentiment")
SENTIMENTS = ("negative", "neutral", "positive")
HELDOUT_SHARE = 5           # one labelled item in five is held out
CSV_COLUMNS = ("item_id", "text", "task", "label", "username", "at")


class LabelError(ValueError):
    """A label that cannot be stored; the message says why in plain words."""


@dataclass
class LabelImport:
    read: int = 0
    imported: int = 0
    errors: list[str] = field(default_factory=list)


def taxonomy_path(where: Path) -> Path:
    """The taxonomy file: `where` itself when it is a .toml file, else the taxonomy.toml of that models folder."""
    where = Path(where)
    return where if where.suffix == ".toml" else where / "taxonomy.toml"


def allowed_labels(task: str, models_dir: Path) -> list[str]:
    """The labels a task accepts: the taxonomy's topic codes, or the three sentiments."""
    if task == "topic":
        return load_taxonomy(taxonomy_path(models_dir)).codes
    if task == "sentiment":
        return list(SENTIMENTS)
    raise LabelError(f"unknown label task {task!r} (use {' or '.join(LABEL_TASKS)})")


def set_label(store: Store, models_dir: Path, item_id: int, task: str, label: str, username: str) -> int:
    """Label an item (a correction is just a newer label); returns the label row's id."""
    label = (label or "").strip()
    allowed = allowed_labels(task, models_dir)
    if label not in allowed:
        raise LabelError(f"{label!r} is not a {task} label (known: {', '.join(allowed)})")
    if not store.item_exists(item_id):
        raise LabelError(f"there is no item {item_id}")
    return store.add_label(item_id, task, label, username)


def is_heldout(content_hash: str) -> bool:
    """Whether a labelled item belongs to the held-out split (fixed by its content, never by chance)."""
    digest = hashlib.sha256(f"pulse-heldout:{content_hash}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % HELDOUT_SHARE == 0


def split_labels(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """(training rows, held-out rows) of `Store.latest_labels` rows."""
    train, heldout = [], []
    for row in rows:
        (heldout if is_heldout(row["content_hash"]) else train).append(row)
    return train, heldout


def item_text(row: dict) -> str:
    """The text a model reads for an item: what `pipeline.process` gives the annotator."""
    return f"{row['title']}. {row['text']}" if row.get("title") else row.get("text") or ""


# --- CSV ---------------------------------------------------------------------------------------------------------------


def export_rows(store: Store, tasks: tuple[str, ...] = LABEL_TASKS) -> list[list]:
    """The labels that count (one row per item and task), header first, as CSV rows."""
    rows: list[list] = [list(CSV_COLUMNS)]
    for task in tasks:
        for row in store.latest_labels(task):
            rows.append([row["item_id"], item_text(row)[:300], task, row["label"], row["username"], row["at"]])
    return rows


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A cell a spreadsheet will not run: text starting with = + - @ (or a tab or carriage return) gets a leading
    apostrophe, so a collaborator's «=HYPERLINK(…)» is shown as text. Numbers are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_cells(row) -> list:
    return [safe_cell(v) for v in row]


def export_csv(store: Store, path: Path, tasks: tuple[str, ...] = LABEL_TASKS) -> int:
    """Write the labels that count to a UTF-8 CSV (with a BOM, for spreadsheets); returns the labels written."""
    rows = export_rows(store, tasks)
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(safe_cells(r) for r in rows)
    return len(rows) - 1


def board_counts(store: Store) -> dict:
    """Latest topic labels per topic, split into training and held-out."""
    from collections import Counter

    train, heldout = split_labels(store.latest_labels("topic"))
    return {"train": dict(Counter(r["label"] for r in train)), "heldout": dict(Counter(r["label"] for r in heldout)),
            "total": len(train) + len(heldout)}


def import_csv(store: Store, models_dir: Path, path: Path, username: str) -> LabelImport:
    """Read labels from a CSV (columns item_id or text, task, label; optional username, at). A row that cannot be
    used is reported with its row number (the header is row 1) and the others are imported."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"the file {path} does not exist")
    outcome = LabelImport()
    allowed: dict[str, set[str]] = {t: set(allowed_labels(t, models_dir)) for t in LABEL_TASKS}
    rows: list[tuple[int, str, str, str, str]] = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        columns = {c.strip().lower() for c in reader.fieldnames or []}
        if "label" not in columns or not ({"item_id", "text"} & columns):
            raise LabelError(f"{path} needs a header with the columns label and item_id or text "
                             f"(found: {', '.join(sorted(columns)) or 'none'})")
        for number, raw in enumerate(reader, start=2):
            outcome.read += 1
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
            try:
                rows.append(_label_row(store, row, allowed, username))
            except LabelError as exc:
                outcome.errors.append(f"row {number}: {exc}")
    store.add_labels(rows)
    outcome.imported = len(rows)
    return outcome


def _label_row(store: Store, row: dict, allowed: dict[str, set[str]], username: str):
    task = row.get("task") or "topic"
    if task not in allowed:
        raise LabelError(f"unknown task {task!r} (use {' or '.join(LABEL_TASKS)})")
    label = row.get("label", "")
    if not label:
        raise LabelError("no label")
    if label not in allowed[task]:
        raise LabelError(f"{label!r} is not a {task} label")
    item_id = _item_of(store, row)
    at = row.get("at") or ""
    if at:
        try:
            parsed = datetime.fromisoformat(at)
        except ValueError:
            raise LabelError(f"the time {at!r} is not ISO 8601") from None
        if parsed.tzinfo is None:
            raise LabelError(f"the time {at!r} has no time zone")
        at = iso(parsed)
    else:
        from service.store import utcnow

        at = utcnow()
    return (item_id, task, label, row.get("username") or username, at)


def _item_of(store: Store, row: dict) -> int:
    ref = row.get("item_id", "")
    if ref:
        if not ref.isdigit():
            raise LabelError(f"item id {ref!r} is not a number")
        if not store.item_exists(int(ref)):
            raise LabelError(f"there is no item {ref}")
        return int(ref)
    text = row.get("text", "")
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):   # a cell Pulse's export made safe
        text = text[1:]
    if not text:
        raise LabelError("neither an item id nor a text")
    ids = store.item_ids_by_text(text)
    if not ids:
        raise LabelError("no stored item has this text")
    if len(ids) > 1:
        raise LabelError(f"{len(ids)} items have this text; give the item id")
    return ids[0]
