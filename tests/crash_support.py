"""Crash harness (tests/test_crash.py, bench/crash.py): `kill -9` real `pulse import`, `pulse process` and a real
submission writer at random moments, and check after every round that the store holds only whole units of work.

A round starts `pulse process` (it first loads the models for a few seconds), meanwhile imports the next timeline
file and stores collaborators' submissions, each in its own process killed at a random moment (in every round one of
the two the moment it holds the database's write lock, i.e. inside its transaction), then kills `pulse process` at a
random moment, mostly after its first batch has committed (or lets it finish). At the end everything is
imported, submitted and processed once more without kills, and the store must hold every item once, annotated once,
placed once, indexed once, every web observation with its submission, and pass the database's integrity check
(on PostgreSQL too: `--backend postgresql` puts the store on the test server; the write lock probed is then the
advisory lock every unit of work takes).
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]

SUBMITTER = "ctv-crash"
UNIT = "cb-giaoduc"

# Stores collaborators' observations exactly as the web form does (service/routes/collaborator.py), a key at a time.
_SUBMIT = """
import json, sys
from datetime import datetime, timezone
from collectors.items import RawItem
from service.store import Store
db, plan = sys.argv[1], json.loads(sys.argv[2])
store = Store(db)
user = store.user(plan["user"])
for key, text in plan["submissions"]:
    item = RawItem(text=text, source="Cộng tác viên", kind="observation", published_at=datetime.now(timezone.utc),
                   author=plan["user"], org_unit=plan["unit"], channel="truc_tiep",
                   extra={"place": "Khu công nghiệp", "observed_on": "2026-02-01", "people": 3})
    store.add_submission(user["id"], key, item)
"""


@dataclass
class CrashReport:
    kills: dict[str, int] = field(default_factory=lambda: {"import": 0, "process": 0, "submit": 0})
    finished: dict[str, int] = field(default_factory=lambda: {"import": 0, "process": 0, "submit": 0})
    process_kills_after_a_commit: int = 0
    kills_in_write: dict[str, int] = field(default_factory=lambda: {"import": 0, "submit": 0})  # lock held at the kill
    violations: list[str] = field(default_factory=list)
    final: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_kills(self) -> int:
        return sum(self.kills.values())


# The checkout whose code the victims run; bench/crash.py --code points it at an earlier version to show its damage.
CODE = {"root": ROOT}


def pulse_command(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-c", "from service.cli import app; app()", "--db", str(db), *args]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PULSE_DB", "PULSE_MODELS")}
    env["PYTHONPATH"] = str(CODE["root"]) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _start(cmd: list[str], cwd: Path) -> subprocess.Popen:
    err = tempfile.TemporaryFile()   # a file, not a pipe: a chatty child never blocks on a full pipe
    proc = subprocess.Popen(cmd, cwd=cwd, env=_env(), stdout=subprocess.DEVNULL, stderr=err)
    proc.err_file = err
    return proc


def _kill_at(proc: subprocess.Popen, delay: float) -> bool:
    """SIGKILL the process after `delay` seconds; False when it had already finished by itself."""
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.err_file.close()
        return True
    _check_exit(proc)
    return False


def _kill_while_writing(proc: subprocess.Popen, db: Path, limit: float) -> bool | None:
    """SIGKILL the process the moment the database's write lock is held (by it: nothing else writes meanwhile), so
    the kill lands inside its transaction. Returns True when so killed, False when it finished first, None when it
    never wrote within `limit` seconds (then it is killed anyway)."""
    probe = _LockProbe(db)
    deadline = time.monotonic() + limit
    try:
        while proc.poll() is None:
            if probe.held():   # a writer is inside its transaction right now
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                proc.err_file.close()
                return True
            if time.monotonic() > deadline:
                _kill_at(proc, 0)
                return None
            time.sleep(0.0005)
    finally:
        probe.close()
    _check_exit(proc)
    return False


class _LockProbe:
    """Whether some process holds the store's write lock right now: on SQLite `BEGIN IMMEDIATE` is refused at once;
    on PostgreSQL the advisory lock every unit of work takes (service/store/base.py) cannot be taken."""

    def __init__(self, db: Path):
        from service.store import postgres

        url = postgres.postgres_location(db)
        if url is None:
            import sqlite3

            self.conn = sqlite3.connect(db, timeout=0, isolation_level=None)
        else:
            self.conn = postgres.Connection(url)
        self.postgres = url is not None

    def held(self) -> bool:
        import sqlite3

        if self.postgres:
            # the store's own lock (service/store/postgres.py write_lock_key), taken and let go within this one
            # statement (autocommit) when free
            return not self.conn.execute("SELECT pg_try_advisory_xact_lock(?)",
                                         [self.conn.write_lock]).fetchone()[0]
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("ROLLBACK")
        except sqlite3.OperationalError:
            return True
        return False

    def close(self) -> None:
        self.conn.close()


def _check_exit(proc: subprocess.Popen) -> None:
    proc.err_file.seek(0)
    err = proc.err_file.read().decode("utf-8", "replace")
    proc.err_file.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{proc.args[3:]} failed ({proc.returncode}): {err[-2000:]}")


def _run(cmd: list[str], cwd: Path, timeout: float = 600) -> None:
    proc = _start(cmd, cwd)
    proc.wait(timeout=timeout)
    _check_exit(proc)


def invariants(db: Path) -> list[str]:
    """What must hold at every committed moment; an empty list when the store holds only whole units of work."""
    from service.store import Store

    with Store(db) as store:
        problems = []
        if store.integrity_check() != ["ok"]:
            problems.append(f"integrity check: {store.integrity_check()}")
        # SQLite checks foreign keys on request; PostgreSQL refuses a dangling one on write, unless a constraint was
        # left unvalidated
        dangling = store.db.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'f' AND NOT convalidated"
            " AND connamespace = CAST(current_schema() AS regnamespace)" if store.backend == "postgresql"
            else "PRAGMA foreign_key_check").fetchall()
        if dangling:
            problems.append("foreign key check failed")
        if n := store.count_annotated_unplaced():
            problems.append(f"{n} items annotated but not placed")
        placed_unannotated = store.db.execute(
            "SELECT COUNT(*) FROM stream_items si WHERE NOT EXISTS"
            " (SELECT 1 FROM annotations a WHERE a.item_id = si.item_id)").fetchone()[0]
        if placed_unannotated:
            problems.append(f"{placed_unannotated} items placed but not annotated")
        if missing := store.items_missing_search_rows():
            problems.append(f"{len(missing)} items without their search row")
        if stray := store.stray_search_rows():
            problems.append(f"{len(stray)} search rows without an item")
        if orphans := store.orphan_submission_items():
            problems.append(f"{len(orphans)} web observations without their submission")
        if wrong := store.streams_with_wrong_size():
            problems.append(f"{len(wrong)} streams whose size disagrees with their items")
        return problems


def _annotations(db: Path) -> int:
    import sqlite3

    from service.store import postgres

    url = postgres.postgres_location(db)
    conn = sqlite3.connect(db, timeout=30) if url is None else postgres.Connection(url)
    try:
        return conn.execute("SELECT COUNT(*) FROM annotations").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def _process_victim(proc: subprocess.Popen, db: Path, before: int, rng: random.Random,
                    window: float, started: float) -> tuple[bool, bool]:
    """Kill `pulse process` at a random moment: mostly after its first batch has committed (inside the stretch where
    it writes), sometimes while it is still starting. Returns (killed, killed after a commit)."""
    if rng.random() < 0.15:
        return _kill_at(proc, rng.uniform(0, 8.0)), False
    if _PROCESS_RUNS and rng.random() < 0.5:
        # by the clock: near the end of a run as long as the shortest unkilled one, where it writes — a run that
        # writes all its batches between two looks at the store (a fast backend) is still killed after a commit
        delay = max(0.0, started + min(_PROCESS_RUNS) * rng.uniform(0.75, 0.98) - time.monotonic())
        killed = _kill_at(proc, delay)
        if not killed:
            _PROCESS_RUNS.append(time.monotonic() - started)
        return killed, killed and _annotations(db) > before
    while proc.poll() is None and _annotations(db) == before:
        time.sleep(0.02)
    if proc.poll() is not None:
        _check_exit(proc)
        _PROCESS_RUNS.append(time.monotonic() - started)
        return False, False
    committed = time.monotonic()
    killed = _kill_at(proc, rng.uniform(0, window))
    if not killed:   # it wrote for less than the window: kill the next one sooner (a fast backend still gets killed)
        _PROCESS_WRITES.append(time.monotonic() - committed)
        _PROCESS_RUNS.append(time.monotonic() - started)
    return killed, killed


_PROCESS_WRITES: list[float] = []   # how long `pulse process` runs after its first commit, when it finished unkilled
_PROCESS_RUNS: list[float] = []     # how long `pulse process` ran from its start, when it finished unkilled


def _batch(batch_size: int | None) -> list[str]:
    return ["--batch-size", str(batch_size)] if batch_size else []


def crash_loop(workdir: Path, timeline_files: list[Path], kills: int, seed: int = 0, batch_size: int | None = 8,
               submissions_per_round: int = 6, imports_per_round: int = 2,
               log: Callable[[str], None] = lambda s: None) -> CrashReport:
    """Kill `pulse import` and `pulse process` `kills` times in all (submission writers are killed too, on top),
    then finish the work and check the store."""
    from service.store import Store

    t0 = time.monotonic()
    rng = random.Random(seed)
    _PROCESS_WRITES.clear()
    _PROCESS_RUNS.clear()
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "pulse.db"
    _run(pulse_command(db, "init"), workdir)
    _run(pulse_command(db, "users", "add", SUBMITTER, "--role", "collaborator", "--unit", UNIT), workdir)
    report = CrashReport()
    plans: list[list[tuple[str, str]]] = []
    import_estimate = submit_estimate = 2.0
    round_no = next_file = 0
    counted = lambda: report.kills["import"] + report.kills["process"]   # noqa: E731 - the acceptance counts these
    # more rounds (up to 3× the kills) until `pulse process` was killed after a commit at least once
    while counted() < kills or (report.process_kills_after_a_commit == 0 and round_no < 3 * kills):
        round_no += 1
        before = _annotations(db)
        process = _start(pulse_command(db, "process", *_batch(batch_size)), workdir)
        process_started = time.monotonic()
        # while `pulse process` loads its models (it writes nothing before its first batch), other victims: an import
        # of the next file, killed at a random moment (mostly near its end, where it writes; the estimate is the
        # length of the last import that finished), then collaborators' submissions, killed at a random moment;
        # again until the process writes. The round's first import is finished after a kill, so the process has work.
        first, victims = True, 0
        while first or (victims < imports_per_round and process.poll() is None and _annotations(db) == before
                        and counted() < kills - 1):
            victims += 1
            file = timeline_files[next_file % len(timeline_files)]
            next_file += 1
            started = time.monotonic()
            imp = _start(pulse_command(db, "import", str(file), "--kind", "timeline"), workdir)
            # odd rounds: the import is killed inside its transaction (`pulse process` is still loading its models,
            # it holds no lock yet); even rounds: the submissions; otherwise at a random moment
            if first and round_no % 2 == 1:
                in_write = _kill_while_writing(imp, db, limit=60)
                killed = in_write is not False
                report.kills_in_write["import"] += int(bool(in_write))
            else:
                killed = _kill_at(imp, rng.uniform(0, import_estimate) if rng.random() < 0.3
                                  else import_estimate * rng.uniform(0.7, 1.1))
            if killed:
                report.kills["import"] += 1
                if first:
                    _run(pulse_command(db, "import", str(file), "--kind", "timeline"), workdir)
            else:
                report.finished["import"] += 1
                import_estimate = time.monotonic() - started
            # the same key twice with edited words, as a collaborator's double tap on a slow connection does
            tag = f"r{round_no}-{len(plans)}"
            plan = [(f"{tag}-k{i // 2}", f"Công nhân khu công nghiệp phản ánh chậm trả lương, đợt {tag},"
                                         f" lần gửi {i} của ý kiến {i // 2}.") for i in range(submissions_per_round)]
            plans.append(plan)
            started = time.monotonic()
            sub = _start([sys.executable, "-c", _SUBMIT, str(db),
                          json.dumps({"user": SUBMITTER, "unit": UNIT, "submissions": plan})], workdir)
            if first and round_no % 2 == 0:
                in_write = _kill_while_writing(sub, db, limit=60)
                killed = in_write is not False
                report.kills_in_write["submit"] += int(bool(in_write))
            else:
                killed = _kill_at(sub, rng.uniform(0, submit_estimate) if rng.random() < 0.3
                                  else submit_estimate * rng.uniform(0.7, 1.1))
            if killed:
                report.kills["submit"] += 1
            else:
                report.finished["submit"] += 1
                submit_estimate = time.monotonic() - started
            first = False

        window = min([2.0] + [0.8 * t for t in _PROCESS_WRITES])
        killed, after_commit = _process_victim(process, db, before, rng, window=window, started=process_started)
        if killed:
            report.kills["process"] += 1
            report.process_kills_after_a_commit += int(after_commit)
        else:
            report.finished["process"] += 1
        problems = invariants(db)
        report.violations.extend(f"round {round_no}: {p}" for p in problems)
        log(f"round {round_no}: kills {report.kills}, finished {report.finished}"
            + (f", VIOLATIONS {problems}" if problems else ""))

    # finish everything without kills, then the store must be whole
    everything = workdir / "everything.jsonl"
    everything.write_bytes(b"".join(f.read_bytes() for f in timeline_files))
    _run(pulse_command(db, "import", str(everything), "--kind", "timeline"), workdir)
    _run([sys.executable, "-c", _SUBMIT, str(db), json.dumps({"user": SUBMITTER, "unit": UNIT,
                                                              "submissions": [s for p in plans for s in p]})], workdir)
    _run(pulse_command(db, "process", *_batch(batch_size)), workdir)
    report.violations.extend(f"final: {p}" for p in invariants(db))
    report.final = final_counts(db)
    report.final["expected_submissions"] = len({key for plan in plans for key, _ in plan})
    report.seconds = time.monotonic() - t0
    return report


def final_counts(db: Path) -> dict[str, int]:
    from service.registry import active_versions, model_version_key
    from service.config import Settings
    from service.store import Store

    key = model_version_key(active_versions(Settings().models_dir))
    with Store(db) as store:
        q = lambda sql, *a: store.db.execute(sql, a).fetchone()[0]   # noqa: E731
        return {
            "items": store.count_items(),
            "articles": q("SELECT COUNT(*) FROM items WHERE kind = 'article'"),
            "distinct_urls": q("SELECT COUNT(DISTINCT url) FROM items WHERE url IS NOT NULL"),
            "observations": q("SELECT COUNT(*) FROM items WHERE kind = 'observation'"),
            "submissions": store.count_submissions(),
            "annotated": q("SELECT COUNT(*) FROM annotations WHERE model_version = ?", key),
            "annotations": q("SELECT COUNT(*) FROM annotations"),
            "placed": store.placed_count(),
            "search_rows": q("SELECT COUNT(*) FROM items_fts"),
            "search_rowids": q("SELECT COUNT(DISTINCT rowid) FROM items_fts"),
            "unannotated": store.count_unannotated(key),
        }


def split_timeline(lines: list[str], parts: int, out_dir: Path) -> list[Path]:
    """Write timeline JSONL lines into `parts` files of about the same size."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(parts):
        chunk = lines[i::parts]
        path = out_dir / f"timeline-{i + 1:02d}.jsonl"
        path.write_text("".join(line if line.endswith("\n") else line + "\n" for line in chunk), encoding="utf-8")
        files.append(path)
    return files
