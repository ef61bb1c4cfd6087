"""Readers for the labelled corpora in ../shared/datasets, each in its own format (see each folder's SOURCE.txt).

`read_corpus(path)` recognises a corpus folder by its files and returns a `Corpus`: splits of texts with one or
more label columns (tasks). Labels are mapped to Pulse's names: sentiment negative/neutral/positive, toxicity
clean/toxic. Nothing here trains or segments.
"""

from __future__ import annotations

import csv
import gzip
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Split", "Corpus", "read_corpus"]

csv.field_size_limit(sys.maxsize)


@dataclass
class Split:
    texts: list[str] = field(default_factory=list)
    labels: dict[str, list[str | None]] = field(default_factory=dict)

    def add(self, text: str, **labels: str | None) -> None:
        self.texts.append(text)
        for task, label in labels.items():
            self.labels.setdefault(task, [None] * (len(self.texts) - 1)).append(label)

    def pairs(self, task: str) -> tuple[list[str], list[str]]:
        """Texts and labels of one task, skipping texts without a label for it."""
        labels = self.labels.get(task, [])
        keep = [(t, y) for t, y in zip(self.texts, labels) if y is not None and t and t.strip()]
        return [t for t, _ in keep], [y for _, y in keep]


@dataclass
class Corpus:
    name: str
    splits: dict[str, Split]
    extra: dict[str, list[str]] = field(default_factory=dict)  # per-split side columns (e.g. original category)

    @property
    def tasks(self) -> list[str]:
        return sorted({task for s in self.splits.values() for task in s.labels})


SENTIMENT_VSFC = {"0": "negative", "1": "neutral", "2": "positive"}
TOPIC_VSFC = {"0": "lecturer", "1": "training_program", "2": "facility", "3": "others"}


def _read_vsfc(root: Path) -> Corpus:
    splits = {}
    for name in ("train", "dev", "test"):
        sents = (root / name / "sents.txt").read_text(encoding="utf-8").split("\n")
        sentiments = (root / name / "sentiments.txt").read_text(encoding="utf-8").split()
        topics = (root / name / "topics.txt").read_text(encoding="utf-8").split()
        split = Split()
        for text, s, t in zip(sents, sentiments, topics):
            split.add(text, sentiment=SENTIMENT_VSFC[s], vsfc_topic=TOPIC_VSFC[t])
        splits[name] = split
    return Corpus("uit-vsfc", splits)


def _read_jsonl_gz(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _read_vntc(root: Path) -> Corpus:
    splits = {}
    for name in ("train", "test"):
        split = Split()
        for row in _read_jsonl_gz(root / f"{name}.jsonl.gz"):
            split.add(row["text"], news_topic=row["label"])
        splits[name] = split
    return Corpus("vntc", splits)


def _read_baomoi(root: Path) -> Corpus:
    split = Split()
    for row in _read_jsonl_gz(root / "corpus.jsonl.gz"):
        split.add(row["text"], baomoi_topic=row["label"].replace("và", "va"))
    return Corpus("baomoi-tc201805", {"all": split})


def _read_csv(path: Path, **kwargs) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f, **kwargs))


def _read_victsd(root: Path) -> Corpus:
    splits = {}
    for name, file in (("train", "ViCTSD_train.csv"), ("dev", "ViCTSD_valid.csv"), ("test", "ViCTSD_test.csv")):
        split = Split()
        for row in _read_csv(root / file):
            split.add(row["Comment"], toxicity="toxic" if row["Toxicity"] == "1" else "clean",
                      constructive="constructive" if row["Constructiveness"] == "1" else "other",
                      victsd_topic=row["Topic"])
        splits[name] = split
    return Corpus("uit-victsd", splits)


HSD = {"0": "clean", "1": "offensive", "2": "hate"}


def _read_vihsd(root: Path) -> Corpus:
    splits = {}
    for name in ("train", "dev", "test"):
        split = Split()
        for row in _read_csv(root / f"{name}.csv"):
            label = str(row["label_id"]).strip()
            if label not in HSD or not (row["free_text"] or "").strip():
                continue
            split.add(row["free_text"], hate_speech=HSD[label], toxicity="clean" if label == "0" else "toxic")
        splits[name] = split
    return Corpus("vihsd", splits)


def _read_vlsp2016(root: Path) -> Corpus:
    mapping = {"-1": "negative", "0": "neutral", "1": "positive"}
    splits = {}
    for name in ("train", "test"):
        split = Split()
        for row in _read_csv(root / "dataset" / f"sentiment_{name}.csv", delimiter="\t", quoting=csv.QUOTE_NONE):
            label = (row.get("Class") or "").strip()
            if label in mapping:
                split.add(row["Data"], sentiment=mapping[label])
        splits[name] = split
    return Corpus("vlsp2016-sa", splits)


def _read_aivivn(root: Path) -> Corpus:
    """The .crash format: blank-line separated records of id line, quoted review (may span lines), label line."""
    split = Split()
    text = (root / "data" / "train.crash").read_text(encoding="utf-8")
    records = text.split("\ntrain_")
    for record in records:
        lines = record.strip().split("\n")
        if len(lines) < 3 or lines[-1].strip() not in ("0", "1"):
            continue
        review = "\n".join(lines[1:-1]).strip()
        if review.startswith('"') and review.endswith('"'):
            review = review[1:-1]
        split.add(review.strip(), sentiment="positive" if lines[-1].strip() == "0" else "negative")
    return Corpus("aivivn-2019", {"train": split})


def _read_visfd(root: Path) -> Corpus:
    """Star ratings as a weak sentiment label: 1-2 negative, 3 neutral, 4-5 positive."""
    stars = {"1": "negative", "2": "negative", "3": "neutral", "4": "positive", "5": "positive"}
    splits = {}
    for name, file in (("train", "Train.csv"), ("dev", "Dev.csv"), ("test", "Test.csv")):
        split = Split()
        for row in _read_csv(root / file):
            split.add(row["comment"], sentiment=stars.get(str(row["n_star"]).strip()))
        splits[name] = split
    return Corpus("uit-visfd", splits)


def _read_vsmec(root: Path) -> Corpus:
    splits = {}
    for name, file in (("train", "train_nor_811.csv"), ("dev", "valid_nor_811.csv"), ("test", "test_nor_811.csv")):
        split = Split()
        for row in _read_csv(root / "data" / file):
            split.add(row["Sentence"], emotion=row["Emotion"])
        splits[name] = split
    return Corpus("uit-vsmec", splits)


def _read_vnexpress_titles(root: Path) -> Corpus:
    split = Split()
    for path in sorted(root.glob("*.txt")):
        if path.name == "SOURCE.txt":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                split.add(line.strip(), vnexpress_topic=path.stem)
    return Corpus("vnexpress-titles-8cat", {"all": split})


def _read_rss_crawl(root: Path) -> Corpus:
    split = Split()
    categories = []
    for path in sorted(root.glob("*.csv")):
        for row in _read_csv(path):
            text = " ".join(p for p in ((row.get("title") or "").strip(), (row.get("content.text") or "").strip()) if p)
            if text:
                split.add(text)
                categories.append(row.get("category.primary") or "")
    return Corpus("news-rss-crawl-2026", {"all": split}, extra={"category": categories})


_FORMATS = [
    (lambda p: (p / "train" / "sents.txt").exists(), _read_vsfc),
    (lambda p: (p / "train.jsonl.gz").exists() and (p / "test.jsonl.gz").exists(), _read_vntc),
    (lambda p: (p / "corpus.jsonl.gz").exists(), _read_baomoi),
    (lambda p: (p / "ViCTSD_train.csv").exists(), _read_victsd),
    (lambda p: (p / "train.csv").exists() and (p / "test.csv").exists() and (p / "dev.csv").exists(), _read_vihsd),
    (lambda p: (p / "dataset" / "sentiment_train.csv").exists(), _read_vlsp2016),
    (lambda p: (p / "data" / "train.crash").exists(), _read_aivivn),
    (lambda p: (p / "Train.csv").exists() and (p / "Test.csv").exists(), _read_visfd),
    (lambda p: (p / "data" / "train_nor_811.csv").exists(), _read_vsmec),
    (lambda p: (p / "rss_feed_articles_backup.csv").exists() or (p / "24h_html_categories_vi.csv").exists(),
     _read_rss_crawl),
    (lambda p: (p / "THE_THAO.txt").exists() or (p / "GIAO_DUC.txt").exists(), _read_vnexpress_titles),
]


def read_corpus(path: str | Path) -> Corpus:
    """Read a corpus folder of ../shared/datasets in its own format; ValueError if the folder is not one we know."""
    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"no such corpus folder: {root}")
    for matches, reader in _FORMATS:
        if matches(root):
            return reader(root)
    raise ValueError(f"{root} is not a corpus folder Pulse knows how to read")
