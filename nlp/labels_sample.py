"""Draw the sample for the board labels, print batches to read, and merge hand-written labels into the fixture.

    python -m nlp.labels_sample draw              # once: writes board_labels.tsv with empty labels and the split
    python -m nlp.labels_sample supplement        # once: appends the labour supplement (L1531-), split likewise
    python -m nlp.labels_sample show L0001 L0150  # prints key + text (+ article title for comments) to read
    python -m nlp.labels_sample apply FILE        # FILE lines: "<key> <topic> <tone> <relevant>", written by a reader
    python -m nlp.labels_sample stats             # counts per class and split (for SOURCE.md)
    python -m nlp.labels_sample pass2-draw        # 100 dev + 100 test items for a blind second pass
    python -m nlp.labels_sample pass2-show P001 P100   # number + text only (no key, no first label)
    python -m nlp.labels_sample pass2-apply FILE  # FILE lines: "<P-number> <topic> <tone> <relevant>"
    python -m nlp.labels_sample agreement         # observed agreement and Cohen's kappa per label

Nothing here decides a label: `apply` only checks the vocabulary and copies what the reader wrote.
The labour word list below is used only to over-sample (so rare topics have examples); it never labels.
"""

from __future__ import annotations

import csv
import random
import re
import sys
from pathlib import Path

from nlp.labels_data import (COLUMNS, DEFAULT_SHARED, FIRST_SUPPLEMENT_KEY, LABELS_TSV, TONES, TOPICS, _read_csv,
                             _source_texts, read_label_rows, text_sha1)
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


def draw(shared_dir: Path = DEFAULT_SHARED, out: Path = LABELS_TSV, force: bool = False) -> list[dict]:
    """The main sample (L0001-L1530). Refuses to overwrite a fixture that already holds labels."""
    if out.exists() and not force and any(r["topic"] for r in read_label_rows(out)):
        raise SystemExit(f"{out} already holds labels; drawing again would discard them")
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


# The labour supplement (L1531-): drawn after the main sample was labelled, because the main sample held only 7
# `dieu_kien_lao_dong` and 10 `quan_he_lao_dong` items. Candidates are chosen by words in the TITLE, one group per
# rare topic; the words only choose what to read, the reader decides every label (many hits are not about the topic).
SUPPLEMENT_SEED = 20261202
SUPPLEMENT_GROUPS = {  # group: (quota in baomoi-tc201805, title words)
    "quan_he": (50, ["đình công", "ngừng việc", "nợ lương", "đòi lương", "tranh chấp lao động", "bỏ trốn", "thỏa ước",
                     "đối thoại", "hợp đồng lao động", "chấm dứt hợp đồng"]),
    "dieu_kien": (50, ["tai nạn lao động", "an toàn lao động", "vệ sinh lao động", "bệnh nghề nghiệp", "ngộ độc",
                       "ngất", "làm thêm giờ", "tăng ca", "điều kiện làm việc", "bữa ăn", "giờ làm"]),
    "nha_o": (40, ["nhà ở xã hội", "phòng trọ", "nhà trọ", "giá điện", "giá xăng", "giá nước", "giá cả", "lạm phát",
                   "cpi", "tiền điện", "chi phí sinh hoạt"]),
    "cong_doan": (40, ["công đoàn", "lđlđ", "đoàn viên", "liên đoàn lao động"]),
    "tien_luong": (30, ["lương", "thưởng tết", "thu nhập", "phụ cấp"]),
    "bao_hiem": (30, ["bhxh", "bảo hiểm xã hội", "bhyt", "bảo hiểm y tế", "lương hưu", "thất nghiệp"]),
    "viec_lam": (30, ["việc làm", "tuyển dụng", "sa thải", "xuất khẩu lao động", "người lao động"]),
    "tham_nhung": (30, ["tham nhũng", "hối lộ", "tham ô", "sai phạm", "lãng phí", "nhũng nhiễu", "trục lợi"]),
    "cong_nhan": (30, ["công nhân", "khu công nghiệp"]),
}
SUPPLEMENT_VICTSD = 90  # comments whose article title holds a word of any group
SUPPLEMENT_VNEXPRESS = 30  # headlines (any category) holding a word of any group


def _has_word(text: str, words: list[str]) -> bool:
    low = " ".join(text.lower().split())
    return any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", low) for w in words)


def draw_supplement(shared_dir: Path = DEFAULT_SHARED, path: Path = LABELS_TSV) -> list[dict]:
    """Append the labour supplement to the fixture; the existing rows, keys and splits are not touched."""
    rows = read_label_rows(path)
    if any(r["key"] >= FIRST_SUPPLEMENT_KEY for r in rows):
        raise SystemExit("the supplement is already drawn")
    rng = random.Random(SUPPLEMENT_SEED)
    datasets = shared_dir / "datasets"
    gold = _gold_ids(Path(__file__).resolve().parent.parent)
    taken = {(r["dataset"], r["locator"]) for r in rows}
    seen_titles = set()
    for r in rows:
        text = _source_texts(str(datasets), r["dataset"])[r["locator"]][0]
        seen_titles.add(" ".join(fold(text.split("\n", 1)[0]).split()))
    picked: list[dict] = []

    def take(dataset: str, candidates: list[tuple[str, str]], n: int) -> None:
        pool = sorted(c for c in candidates if (dataset, c[0]) not in taken)
        rng.shuffle(pool)
        got = 0
        for locator, text in pool:
            if got == n:
                break
            title = " ".join(fold(text.split("\n", 1)[0]).split())
            if len(text) < 8 or title in seen_titles:
                continue
            seen_titles.add(title)
            taken.add((dataset, locator))
            picked.append({"dataset": dataset, "locator": locator, "text_sha1": text_sha1(text)})
            got += 1
        if got < n:
            raise SystemExit(f"{dataset}: only {got} of {n} candidates")

    all_words = [w for _, words in SUPPLEMENT_GROUPS.values() for w in words]
    texts = _source_texts(str(datasets), "baomoi-tc201805")
    items = [(loc, t) for loc, (t, _) in texts.items() if loc.rsplit("/", 1)[1] not in gold]
    for quota, words in SUPPLEMENT_GROUPS.values():
        take("baomoi-tc201805", [x for x in items if _has_word(x[1].split("\n", 1)[0], words)], quota)
    texts = _source_texts(str(datasets), "uit-victsd")
    take("uit-victsd", [(loc, t) for loc, (t, ctx) in texts.items() if len(t) >= 15 and _has_word(ctx, all_words)],
         SUPPLEMENT_VICTSD)
    texts = _source_texts(str(datasets), "vnexpress-titles-8cat")
    take("vnexpress-titles-8cat", [(loc, t) for loc, (t, _) in texts.items() if _has_word(t, all_words)],
         SUPPLEMENT_VNEXPRESS)

    for dataset in {p["dataset"] for p in picked}:
        ordered = sorted((p for p in picked if p["dataset"] == dataset), key=lambda p: p["text_sha1"])
        for i, p in enumerate(ordered):
            p["split"] = "dev" if i % 2 == 0 else "test"
    rng.shuffle(picked)
    first = int(FIRST_SUPPLEMENT_KEY[1:])
    for i, p in enumerate(picked):
        p.update(key=f"L{first + i:04d}", topic="", tone="", relevant="")
    _write(path, rows + picked)
    return picked


# Second pass for agreement: 100 dev + 100 test items, shown in a new order under anonymous numbers (P001…) so the
# first labels and keys are not in view; written to a separate file, compared only after it is complete.
PASS2_SEED = 777
PASS2_TSV = LABELS_TSV.with_name("board_labels_pass2.tsv")
PASS2_COLUMNS = ("n", "key", "topic", "tone", "relevant")


def pass2_draw(path: Path = LABELS_TSV, out: Path = PASS2_TSV) -> list[dict]:
    if out.exists():
        raise SystemExit(f"{out} exists")
    rng = random.Random(PASS2_SEED)
    rows = read_label_rows(path)
    picked = []
    for split in ("dev", "test"):
        keys = sorted(r["key"] for r in rows if r["split"] == split)
        picked += rng.sample(keys, 100)
    rng.shuffle(picked)
    out_rows = [{"n": f"P{i:03d}", "key": k, "topic": "", "tone": "", "relevant": ""} for i, k in
                enumerate(picked, start=1)]
    with open(out, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=PASS2_COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(out_rows)
    return out_rows


def pass2_show(first: str, last: str, shared_dir: Path = DEFAULT_SHARED, path: Path = LABELS_TSV,
               pass2: Path = PASS2_TSV) -> None:
    """Prints P-number and text only: no key, no first label."""
    by_key = {r["key"]: r for r in read_label_rows(path)}
    with open(pass2, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if first <= row["n"] <= last:
                r = by_key[row["key"]]
                text, context = _source_texts(str(shared_dir / "datasets"), r["dataset"])[r["locator"]]
                extra = f"   [bài: {context}]" if context else ""
                print(f"{row['n']} {text.replace(chr(10), ' ‖ ')}{extra}")


def pass2_apply(label_file: Path, pass2: Path = PASS2_TSV) -> int:
    labels = parse_labels(Path(label_file).read_text(encoding="utf-8").splitlines())
    with open(pass2, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    unknown = set(labels) - {r["n"] for r in rows}
    if unknown:
        raise ValueError(f"unknown numbers: {sorted(unknown)[:5]}")
    for row in rows:
        if row["n"] in labels:
            row["topic"], row["tone"], row["relevant"] = labels[row["n"]]
    with open(pass2, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=PASS2_COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return len(labels)


def cohen_kappa(a: list[str], b: list[str]) -> float:
    """Cohen's kappa of two label sequences over the same items."""
    from collections import Counter

    n = len(a)
    observed = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[v] * cb[v] for v in set(ca) | set(cb)) / (n * n)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def agreement(path: Path = LABELS_TSV, pass2: Path = PASS2_TSV) -> str:
    by_key = {r["key"]: r for r in read_label_rows(path)}
    with open(pass2, encoding="utf-8", newline="") as f:
        second = [r for r in csv.DictReader(f, delimiter="\t") if r["topic"]]
    lines = ["| label | items | agreement | Cohen's kappa |", "|---|---:|---:|---:|"]
    for subset, rows in (("all", second), ("dev", [r for r in second if by_key[r["key"]]["split"] == "dev"]),
                         ("test", [r for r in second if by_key[r["key"]]["split"] == "test"])):
        for field in ("topic", "tone", "relevant"):
            a = [by_key[r["key"]][field] for r in rows]
            b = [r[field] for r in rows]
            agree = sum(x == y for x, y in zip(a, b)) / len(rows)
            lines.append(f"| {field} ({subset}) | {len(rows)} | {agree:.3f} | {cohen_kappa(a, b):.3f} |")
    return "\n".join(lines)


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


def stats(path: Path = LABELS_TSV) -> str:
    """Markdown tables: labelled items per dataset, topic, tone and relevance, by split."""
    from collections import Counter

    rows = [r for r in read_label_rows(path) if r["topic"]]
    out = []
    for field, values in (("dataset", sorted({r["dataset"] for r in rows})), ("topic", TOPICS), ("tone", TONES),
                          ("relevant", ("0", "1"))):
        counts = {s: Counter(r[field] for r in rows if r["split"] == s) for s in ("dev", "test")}
        out.append(f"| {field} | dev | test | all |\n|---|---:|---:|---:|")
        for v in values:
            out.append(f"| {v} | {counts['dev'][v]} | {counts['test'][v]} | {counts['dev'][v] + counts['test'][v]} |")
        out.append(f"| **total** | {sum(counts['dev'].values())} | {sum(counts['test'].values())} | {len(rows)} |\n")
    return "\n".join(out)


def main(argv: list[str]) -> None:
    if argv[:1] == ["draw"]:
        rows = draw()
        print(f"drew {len(rows)} items into {LABELS_TSV}")
    elif argv[:1] == ["show"] and len(argv) == 3:
        show(argv[1], argv[2])
    elif argv[:1] == ["supplement"]:
        rows = draw_supplement()
        print(f"appended {len(rows)} supplement items to {LABELS_TSV}")
    elif argv[:1] == ["pass2-draw"]:
        print(f"drew {len(pass2_draw())} items into {PASS2_TSV}")
    elif argv[:1] == ["pass2-show"] and len(argv) == 3:
        pass2_show(argv[1], argv[2])
    elif argv[:1] == ["pass2-apply"] and len(argv) == 2:
        print(f"applied {pass2_apply(Path(argv[1]))} second-pass labels")
    elif argv[:1] == ["agreement"]:
        print(agreement())
    elif argv[:1] == ["stats"]:
        print(stats())
    elif argv[:1] == ["apply"] and len(argv) == 2:
        print(f"applied {apply(Path(argv[1]))} labels")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
