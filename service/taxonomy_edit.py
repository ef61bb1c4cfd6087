"""Analysts edit the board's taxonomy (data/taxonomy.toml, see service/datadir.py; each function takes that file or a
models folder holding a taxonomy.toml): add a topic with its seed phrases, rename it, merge two topics (their labels
move), delete a topic nobody has labelled.

The file is rewritten whole (its header comment kept) and replaced atomically; every edit adds one to `version`.
A new or merged taxonomy reaches the topic model at the next training (`pulse train topic --from-labels`).
"""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from service.labels import taxonomy_path
from service.store import Store

CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class TaxonomyError(ValueError):
    """An edit that cannot be made; the message says why in plain words."""


def read(models_dir: Path) -> dict:
    with open(taxonomy_path(models_dir), "rb") as f:
        return tomllib.load(f)


def _header(path: Path) -> str:
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return "\n".join(lines) + ("\n\n" if lines else "")


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(_toml_string(v) for v in values) + "]"


def write(models_dir: Path, data: dict) -> None:
    """Write the taxonomy back, header comment kept, version bumped."""
    path = taxonomy_path(models_dir)
    data["version"] = int(data.get("version", 0)) + 1
    out = [_header(path) + f"version = {data['version']}", f"other = {_toml_string(data.get('other', 'khac'))}", ""]
    for code, topic in data["topics"].items():
        out += [f"[topics.{code}]", f"name = {_toml_string(topic['name'])}",
                f"strong = {_toml_list(list(topic.get('strong', [])))}",
                f"phrases = {_toml_list(list(topic.get('phrases', [])))}", ""]
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text("\n".join(out), encoding="utf-8")
    tomllib.loads(tmp.read_text(encoding="utf-8"))  # never replace the file with one that cannot be read
    tmp.replace(path)


def _clean(phrases: list[str] | str | None) -> list[str]:
    if isinstance(phrases, str):
        phrases = re.split(r"[,\n;]", phrases)
    out: list[str] = []
    for p in phrases or []:
        p = " ".join(p.split()).lower()
        if p and p not in out:
            out.append(p)
    return out


def _topic(data: dict, code: str) -> dict:
    if code not in data["topics"]:
        raise TaxonomyError(f"there is no topic {code!r}")
    return data["topics"][code]


def add_topic(models_dir: Path, code: str, name: str, strong: list[str] | str | None = None,
              phrases: list[str] | str | None = None) -> None:
    """A new topic with its seed phrases (`strong` ones name the topic alone)."""
    data = read(models_dir)
    code = (code or "").strip()
    if not CODE.match(code):
        raise TaxonomyError(f"the code {code!r} must be 2–40 lower-case ASCII letters, digits or _ (e.g. nha_o_cong_nhan)")
    if code in data["topics"]:
        raise TaxonomyError(f"the topic {code!r} already exists")
    if not (name or "").strip():
        raise TaxonomyError("a topic needs a name")
    strong, phrases = _clean(strong), _clean(phrases)
    if not strong and not phrases:
        raise TaxonomyError("a new topic needs seed phrases, so that the model can learn it before labels arrive")
    data["topics"][code] = {"name": name.strip(), "strong": strong, "phrases": phrases}
    write(models_dir, data)


def rename_topic(models_dir: Path, code: str, name: str) -> None:
    """Give a topic a new Vietnamese name (its code, and so its labels, stay)."""
    data = read(models_dir)
    if not (name or "").strip():
        raise TaxonomyError("a topic needs a name")
    _topic(data, code)["name"] = name.strip()
    write(models_dir, data)


def merge_topics(store: Store, models_dir: Path, source: str, target: str) -> int:
    """Fold `source` into `target`: its seed phrases join the target's, its labels move; returns the labels moved."""
    data = read(models_dir)
    if source == target:
        raise TaxonomyError("a topic cannot be merged into itself")
    if source == data.get("other", "khac"):
        raise TaxonomyError(f"{source!r} is the catch-all topic; it cannot be merged away")
    src, dst = _topic(data, source), _topic(data, target)
    for key in ("strong", "phrases"):
        dst[key] = _clean(list(dst.get(key, [])) + list(src.get(key, [])))
    del data["topics"][source]
    moved = store.rename_label("topic", source, target)
    write(models_dir, data)
    return moved


def delete_topic(store: Store, models_dir: Path, code: str) -> None:
    """Remove a topic nobody has labelled; a topic with labels must be merged into another instead."""
    data = read(models_dir)
    _topic(data, code)
    if code == data.get("other", "khac"):
        raise TaxonomyError(f"{code!r} is the catch-all topic; it cannot be deleted")
    n = store.count_labels_with("topic", code)
    if n:
        raise TaxonomyError(f"the topic {code!r} has {n} labels: merge it into another topic so that they are kept")
    del data["topics"][code]
    write(models_dir, data)
