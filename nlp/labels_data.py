"""The board labels made by reading (`tests/fixtures/labels/board_labels.tsv`, guide `nlp/LABELLING.md`).

The source corpora carry no licence that allows copying their texts into the repository, so the fixture stores a
locator and the SHA-1 of each text; `load_board_labels(shared_dir)` rebuilds every text from `../shared/datasets` with
the same functions the sampler used and refuses a text whose hash no longer matches.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import html
import json
from functools import lru_cache
from pathlib import Path

__all__ = ["TOPICS", "TONES", "LABELS_TSV", "DATASETS", "load_board_labels", "read_label_rows", "text_sha1",
           "news_text", "baomoi_text", "LabelDataError", "FIRST_SUPPLEMENT_KEY"]

TOPICS = (
    "tien_luong", "bao_hiem", "viec_lam", "dieu_kien_lao_dong", "quan_he_lao_dong", "nha_o_doi_song",
    "chinh_sach_phap_luat", "hoat_dong_cong_doan", "tham_nhung_tieu_cuc", "y_te_giao_duc", "thien_tai", "xa_hoi_khac",
    "khac",
)
TONES = ("neg", "neu", "pos")
SPLITS = ("dev", "test")
DATASETS = ("news-rss-crawl-2026", "vnexpress-titles-8cat", "baomoi-tc201805", "uit-victsd")
COLUMNS = ("key", "dataset", "locator", "split", "topic", "tone", "relevant", "text_sha1")

LABELS_TSV = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "labels" / "board_labels.tsv"
DEFAULT_SHARED = Path(__file__).resolve().parent.parent.parent / "shared"

# 24h.com.vn pages start their content with a "saved article" widget text; it is not part of the lead.
_24H_BOILERPLATE = "Lưu bài viết thành công Bạn có thể xem lại bài viết đã lưu ở trangTin bài đã lưu"
LEAD_CHARS = 240
# Keys from here on belong to the labour supplement, drawn by title words for the rare topics (see SOURCE.md);
# the keys before it are the main sample. Figures should be reported for both strata or for `main` alone.
FIRST_SUPPLEMENT_KEY = "L1531"
BAOMOI_CHARS = 400


class LabelDataError(RuntimeError):
    """The labels fixture or the shared texts it points to are missing or do not match."""


def text_sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _cut(text: str, limit: int) -> str:
    """The first `limit` characters, ending at a word boundary."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0]


def news_text(title: str, content: str) -> str:
    """Headline + the first ~240 characters of the lead (RSS description or 24h page text), one space apart."""
    title = " ".join(html.unescape(title or "").split())
    lead = " ".join(html.unescape(content or "").split())
    if lead.startswith(_24H_BOILERPLATE):
        lead = lead[len(_24H_BOILERPLATE):].strip()
    lead = _cut(lead, LEAD_CHARS)
    return f"{title}\n{lead}" if lead else title


def baomoi_text(text: str) -> str:
    """Title line + lead, cut to ~400 characters at a word boundary (the title stays on its own line)."""
    title, _, lead = (text or "").strip().partition("\n")
    title = " ".join(title.split())
    lead = _cut(lead, max(0, BAOMOI_CHARS - len(title)))
    return f"{title}\n{lead}" if lead else title


def _read_csv(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(1 << 30)
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@lru_cache(maxsize=8)
def _source_texts(datasets_dir: str, dataset: str) -> dict[str, tuple[str, str]]:
    """locator → (text, context) for every item of one dataset, built as the sampler builds them."""
    root = Path(datasets_dir) / dataset
    out: dict[str, tuple[str, str]] = {}
    if dataset == "news-rss-crawl-2026":
        for name in ("rss_feed_articles_backup.csv", "24h_html_categories_vi.csv"):
            for row in _read_csv(root / name):
                out[f"{name}#{row['id']}"] = (news_text(row.get("title", ""), row.get("content.text", "")), "")
    elif dataset == "vnexpress-titles-8cat":
        for path in sorted(root.glob("*.txt")):
            if path.name == "SOURCE.txt":
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if line.strip():
                    out[f"{path.name}#{n}"] = (" ".join(line.split()), "")
    elif dataset == "baomoi-tc201805":
        with gzip.open(root / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                out[f"{row['label']}/{row['file']}"] = (baomoi_text(row["text"]), "")
    elif dataset == "uit-victsd":
        for name in ("ViCTSD_train.csv", "ViCTSD_valid.csv", "ViCTSD_test.csv"):
            for row in _read_csv(root / name):
                index = row.get("") or row.get("Unnamed: 0") or ""
                out[f"{name}#{index}"] = (" ".join((row["Comment"] or "").split()), (row.get("Title") or "").strip())
    else:
        raise LabelDataError(f"unknown dataset {dataset!r}")
    return out


def read_label_rows(path: Path = LABELS_TSV) -> list[dict[str, str]]:
    """The fixture rows as written (no texts). Rows not labelled yet have an empty topic."""
    if not Path(path).exists():
        raise LabelDataError(f"labels file not found: {path}")
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise LabelDataError(f"{path}: expected columns {COLUMNS}, found {reader.fieldnames}")
        return list(reader)


def load_board_labels(shared_dir: str | Path | None = None, *, path: Path = LABELS_TSV,
                      labelled_only: bool = True) -> list[dict]:
    """Every labelled item as a dict: key, dataset, locator, split ('dev'/'test'), topic, tone, relevant (int),
    text, context (for a comment: the title of the article it was posted under; else ''), stratum ('main' for the
    random sample, 'labour_supplement' for the items chosen by title words for the rare topics).

    `shared_dir` is the folder holding `datasets/` (default: `../shared` beside the checkout). Raises
    LabelDataError when the data is missing or a text no longer matches its recorded SHA-1.
    """
    datasets_dir = Path(shared_dir or DEFAULT_SHARED) / "datasets"
    rows = read_label_rows(path)
    out = []
    for row in rows:
        if labelled_only and not row["topic"]:
            continue
        folder = datasets_dir / row["dataset"]
        if not folder.exists():
            raise LabelDataError(f"dataset folder not found: {folder}")
        texts = _source_texts(str(datasets_dir), row["dataset"])
        if row["locator"] not in texts:
            raise LabelDataError(f"{row['key']}: {row['dataset']} has no item {row['locator']}")
        text, context = texts[row["locator"]]
        if text_sha1(text) != row["text_sha1"]:
            raise LabelDataError(f"{row['key']}: the text of {row['dataset']} {row['locator']} changed (SHA-1)")
        out.append({
            "key": row["key"], "dataset": row["dataset"], "locator": row["locator"], "split": row["split"],
            "topic": row["topic"], "tone": row["tone"],
            "relevant": int(row["relevant"]) if row["relevant"] != "" else None,
            "text": text, "context": context,
            "stratum": "labour_supplement" if row["key"] >= FIRST_SUPPLEMENT_KEY else "main",
        })
    return out
