"""Draw the sample for the board labels, print batches to read, and merge hand-written labels into the fixture.

    python -m nlp.labels_sample draw              # once: writes board_labels.tsv with empty labels and the split
    python -m nlp.labels_sample show L0001 L0150  # prints key + text (+ article title for comments) to read
    python -m nlp.labels_sample apply FILE        # FILE lines: "<key> <topic> <tone> <relevant>", written by a reader

Nothing here decides a label: `apply` only checks the vocabulary and copies what the reader wrote.
The labour word list below is used only to over-sample (so rare topics have examples); it never labels.
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

from nlp.labels_data import (COLUMNS, DEFAULT_SHARED, LABELS_TSV, TONES, TOPICS, _read_csv, _source_texts,
                             read_label_rows, text_sha1)
from nlp.normalize import fold

SEED = 20261201
# Sample sizes per dataset and stratum: (stratum name, how many).
RSS_LABOUR, RSS_OTHER = 55, 425  # only ~57 labour-word items are left outside the old gold set
VNX = {"KINH_DOANH": 60, "PHAP_LUAT": 45, "THE_THAO": 45, "SUC_KHOE": 40, "GIAO_DUC": 40, "DU_LICH": 30,
       "GIAI_TRI": 30, "KHOA_HOC": 30}
BAOMOI = {"giao duc va viec lam - viec lam": 130, "con nguoi va xa hoi": 60, "chinh tri va phap luat": 50,
          "kinh doanh va cong nghiep": 30, "tai chinh": 20, "suc khoe": 20, "giao duc va viec lam - giao duc": 20,
          "*": 100}
VICTSD_LABOUR, VICTSD_THOISU, VICTSD_OTHER = 90, 60, 150

LABOUR_WORDS = [
    "lương", "thưởng tết", "bảo hiểm", "bhxh", "bhyt", "hưu", "việc làm", "thất nghiệp", "sa thải", "tuyển dụng",
    "công nhân", "người lao động", "lao động", "công đoàn", "đình công", "giá điện", "giá xăng", "nhà ở xã hội",
    "phòng trọ", "tai nạn lao động", "viên chức", "công chức", "tinh giản", "thuế thu nhập",
]
NOT_LABELLED = {"key": "", "topic": "", "tone": "", "relevant": ""}


def _is_labour(text: str) -> bool:
    low = text.lower()
    return any(w in low for w in LABOUR_WORDS)


def _gold_ids(root: Path) -> set[str]:
    """Items of the older gold set (tests/fixtures/nlp_topic_gold.tsv): excluded, because the seed lexicon was
    tuned while looking at them."""
    path = root / "tests" / "fixtures" / "nlp_topic_gold.tsv"
    if not path.exists():
        return set()
    with open(path, encoding="utf-8", newline="") as f:
        return {row["id"] for row in csv.DictReader(f, delimiter="\t")}


def draw(shared_dir: Path = DEFAULT_SHARED, out: Path = LABELS_TSV) -> list[dict]:
    rng = random.Random(SEED)
    datasets = shared_dir / "datasets"
    gold = _gold_ids(Path(__file__).resolve().parent.parent)
    seen_titles: set[str] = set()
    picked: list[dict] = []

    def take(dataset: str, candidates: list[tuple[str, str]], n: int) -> None:
        """candidates: (locator, text); draws n with distinct folded first lines, never seen before."""
        pool = sorted(candidates)
        rng.shuffle(pool)
        got = 0
        for locator, text in pool:
            if got == n:
                break
            title = " ".join(fold(text.split("\n", 1)[0]).split())
            if len(text) < 8 or title in seen_titles:
                continue
            seen_titles.add(title)
            picked.append({"dataset": dataset, "locator": locator, "text_sha1": text_sha1(text)})
            got += 1
        if got < n:
            raise SystemExit(f"{dataset}: only {got} of {n} candidates")

    # news-rss-crawl-2026: over-sample items with a labour word in headline or lead.
    texts = _source_texts(str(datasets), "news-rss-crawl-2026")
    items = [(loc, t) for loc, (t, _) in texts.items() if loc.split("#", 1)[1] not in gold]
    take("news-rss-crawl-2026", [x for x in items if _is_labour(x[1])], RSS_LABOUR)
    take("news-rss-crawl-2026", [x for x in items if not _is_labour(x[1])], RSS_OTHER)

    texts = _source_texts(str(datasets), "vnexpress-titles-8cat")
    for cat, n in VNX.items():
        take("vnexpress-titles-8cat", [(loc, t) for loc, (t, _) in texts.items() if loc.startswith(cat + ".txt#")], n)

    texts = _source_texts(str(datasets), "baomoi-tc201805")
    items = [(loc, t) for loc, (t, _) in texts.items() if loc.rsplit("/", 1)[1].removesuffix(".txt") not in gold
             and loc.rsplit("/", 1)[1] not in gold]
    for label, n in BAOMOI.items():
        take("baomoi-tc201805", [x for x in items if label == "*" or x[0].rsplit("/", 1)[0] == label], n)

    texts = _source_texts(str(datasets), "uit-victsd")
    topic_of = {}
    for name in ("ViCTSD_train.csv", "ViCTSD_valid.csv", "ViCTSD_test.csv"):
        for row in _read_csv(datasets / "uit-victsd" / name):
            topic_of[f"{name}#{row.get('') or ''}"] = row["Topic"]
    items = [(loc, t) for loc, (t, ctx) in texts.items() if len(t) >= 15]
    labour = {loc for loc, (t, ctx) in texts.items() if _is_labour(t + " " + ctx)}
    take("uit-victsd", [x for x in items if x[0] in labour], VICTSD_LABOUR)
    take("uit-victsd", [x for x in items if topic_of[x[0]] == "ThoiSu"], VICTSD_THOISU)
    take("uit-victsd", items, VICTSD_OTHER)

    # Split before any label exists: within each dataset, order by text hash and alternate dev / test.
    for dataset in {p["dataset"] for p in picked}:
        rows = sorted((p for p in picked if p["dataset"] == dataset), key=lambda p: p["text_sha1"])
        for i, p in enumerate(rows):
            p["split"] = "dev" if i % 2 == 0 else "test"
    # Reading order: one shuffle, so every batch mixes the sources.
    rng.shuffle(picked)
    for i, p in enumerate(picked, start=1):
        p.update(key=f"L{i:04d}", topic="", tone="", relevant="")
    _write(out, picked)
    return picked


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row[c] for c in COLUMNS})


def show(first: str, last: str, shared_dir: Path = DEFAULT_SHARED, path: Path = LABELS_TSV) -> None:
    datasets = shared_dir / "datasets"
    for row in read_label_rows(path):
        if first <= row["key"] <= last:
            text, context = _source_texts(str(datasets), row["dataset"])[row["locator"]]
            text = text.replace("\n", " ‖ ")
            extra = f"   [bài: {context}]" if context else ""
            print(f"{row['key']} [{row['dataset'][:4]}] {text}{extra}")


SHORT_TOPICS = {"tl": "tien_luong", "bh": "bao_hiem", "vl": "viec_lam", "dk": "dieu_kien_lao_dong",
                "qh": "quan_he_lao_dong", "nh": "nha_o_doi_song", "cs": "chinh_sach_phap_luat",
                "cd": "hoat_dong_cong_doan", "tn": "tham_nhung_tieu_cuc", "yg": "y_te_giao_duc", "tt": "thien_tai",
                "xh": "xa_hoi_khac", "kh": "khac"}
SHORT_TONES = {"-": "neg", "0": "neu", "+": "pos"}


def parse_labels(lines: list[str]) -> dict[str, tuple[str, str, str]]:
    """'<key> <topic> <tone> <relevant>' per line; short codes (tl, -, 0, +) or full names. Raises on anything else."""
    out = {}
    for n, line in enumerate(lines, start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 4:
            raise ValueError(f"line {n}: expected '<key> <topic> <tone> <relevant>', got {line!r}")
        key, topic, tone, rel = parts
        topic, tone = SHORT_TOPICS.get(topic, topic), SHORT_TONES.get(tone, tone)
        if topic not in TOPICS or tone not in TONES or rel not in ("0", "1"):
            raise ValueError(f"line {n}: bad label in {line!r}")
        if key in out:
            raise ValueError(f"line {n}: {key} labelled twice")
        out[key] = (topic, tone, rel)
    return out


def apply(label_file: Path, path: Path = LABELS_TSV) -> int:
    labels = parse_labels(Path(label_file).read_text(encoding="utf-8").splitlines())
    rows = read_label_rows(path)
    known = {r["key"] for r in rows}
    unknown = sorted(set(labels) - known)
    if unknown:
        raise ValueError(f"unknown keys: {unknown[:5]}")
    for row in rows:
        if row["key"] in labels:
            row["topic"], row["tone"], row["relevant"] = labels[row["key"]]
    _write(path, rows)
    return len(labels)


def main(argv: list[str]) -> None:
    if argv[:1] == ["draw"]:
        rows = draw()
        print(f"drew {len(rows)} items into {LABELS_TSV}")
    elif argv[:1] == ["show"] and len(argv) == 3:
        show(argv[1], argv[2])
    elif argv[:1] == ["apply"] and len(argv) == 2:
        print(f"applied {apply(Path(argv[1]))} labels")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
