"""The model registry and the board's trained versions in the store (service/modelsync.py): one row per task (active
version, versions, rollback history) and the files of each version trained here, so every worker of one store, on
any machine, loads the same models. The shipped versions are never stored (every checkout has them)."""
from __future__ import annotations

import json
from typing import Any

from service.store.common import utcnow


class ModelsRepository:
    """Registry rows and version files; a version's files and the registry that lists it are written together."""

    def model_registry(self) -> dict[str, dict[str, Any]]:
        """{task: {"active", "versions", "history"}} as the store holds it; {} until a registry was published."""
        out = {}
        for row in self.db.query("SELECT task, active, versions, history FROM model_registry ORDER BY task"):
            out[row["task"]] = {"active": row["active"], "versions": json.loads(row["versions"] or "[]"),
                                "history": json.loads(row["history"] or "[]")}
        return out

    def stored_model_versions(self) -> set[tuple[str, str]]:
        """(task, version) of every version whose files the store holds."""
        return {(r[0], r[1]) for r in self.db.execute("SELECT DISTINCT task, version FROM model_files").fetchall()}

    def model_files(self, task: str, version: str) -> dict[str, bytes]:
        """File name → content of one stored version ({} when the store does not hold it)."""
        rows = self.db.execute("SELECT name, content FROM model_files WHERE task = ? AND version = ? ORDER BY name",
                               [task, version]).fetchall()
        return {name: bytes(content) for name, content in rows}

    def model_file_sizes(self, name: str) -> dict[tuple[str, str], int]:
        """(task, version) → size in bytes of the stored file `name` of each version that has one."""
        rows = self.db.execute("SELECT task, version, length(content) FROM model_files WHERE name = ?",
                               [name]).fetchall()
        return {(task, version): size for task, version, size in rows}

    def model_file(self, task: str, version: str, name: str) -> bytes | None:
        row = self.db.execute("SELECT content FROM model_files WHERE task = ? AND version = ? AND name = ?",
                              [task, version, name]).fetchone()
        return bytes(row[0]) if row else None

    def replace_model_file(self, task: str, version: str, name: str, content: bytes) -> bool:
        """A stored version's file written again (a card's new history line); whether the version is stored."""
        with self.transaction():
            return self.db.execute("UPDATE model_files SET content = ? WHERE task = ? AND version = ? AND name = ?",
                                   [content, task, version, name]).rowcount > 0

    def publish_models(self, registry: dict[str, dict[str, Any]],
                       files: dict[tuple[str, str], dict[str, bytes]] | None = None) -> None:
        """Write every task's registry entry and the files of new versions, in one transaction. A version whose files
        are stored already is refused (IntegrityError): two machines never store two different models under one name."""
        now = utcnow()
        with self.transaction():
            for (task, version), named in (files or {}).items():
                self.db.conn.executemany(
                    "INSERT INTO model_files (task, version, name, content) VALUES (?, ?, ?, ?)",
                    [(task, version, name, content) for name, content in sorted(named.items())])
            for task, entry in sorted(registry.items()):
                self.db.execute(
                    "INSERT INTO model_registry (task, active, versions, history, updated_at) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (task) DO UPDATE SET active = excluded.active, versions = excluded.versions,"
                    " history = excluded.history, updated_at = excluded.updated_at",
                    [task, entry.get("active"), json.dumps(list(entry.get("versions") or [])),
                     json.dumps(list(entry.get("history") or [])), now])
