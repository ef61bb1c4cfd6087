"""Jobs: every unit of work a row; claims, heartbeats and repair for workers."""
from __future__ import annotations

import json

from service.store.common import utcnow


class JobsRepository:
    """Jobs: every unit of work a row; claims, heartbeats and repair for workers."""

    # --- jobs (service/jobs.py): each unit of work a row with its state, counts, progress and error ----------
    JOB_STATUSES = ("queued", "running", "done", "failed", "cancelled")

    def add_job(self, kind: str, params: dict, requested_by: str, org_unit: str | None = None,
                status: str = "queued", retry_of: int | None = None, worker: str | None = None) -> int:
        """A new job row; `status='running'` for work that starts at once (started_at and heartbeat set, one
        attempt, held by `worker`)."""
        now = utcnow()
        running = status == "running"
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO jobs (kind, params, status, requested_by, org_unit, queued_at, started_at, attempts,"
                " retry_of, worker, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [kind, json.dumps(params, ensure_ascii=False, default=str), status, requested_by, org_unit, now,
                 now if running else None, 1 if running else 0, retry_of, worker if running else None,
                 now if running else None])
            return cur.lastrowid

    def claim_job(self, kinds: list[str] | None = None, worker: str | None = None,
                  exclusive: tuple[str, ...] = (), fresh_after: str | None = None) -> dict | None:
        """Atomically take the oldest queued job (of these kinds) and mark it running, held by `worker`; None when
        none is queued. A job of the `exclusive` kinds is not taken while another one of them runs with a heartbeat
        newer than `fresh_after` (one processing run at a time across every process)."""
        where, args = "", []
        if kinds:
            where = f" AND kind IN ({', '.join('?' * len(kinds))})"
            args = list(kinds)
        if exclusive:
            marks = ", ".join("?" * len(exclusive))
            where += (f" AND NOT (kind IN ({marks}) AND EXISTS (SELECT 1 FROM jobs r WHERE r.status = 'running'"
                      f" AND r.kind IN ({marks}) AND r.heartbeat_at >= ?))")
            args += [*exclusive, *exclusive, fresh_after or ""]
        now = utcnow()
        with self.transaction():
            row = self.db.execute(
                "UPDATE jobs SET status = 'running', started_at = ?, attempts = attempts + 1, worker = ?,"
                " heartbeat_at = ? WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND cancel_requested = 0"
                f"{where} ORDER BY id LIMIT 1) AND status = 'queued' RETURNING id",
                [now, worker, now, *args]).fetchone()
        return self.job(row[0]) if row else None

    def set_job_progress(self, job_id: int, done: int, total: int | None) -> bool:
        """Record progress; True when a cancel was asked for this job (the worker then stops)."""
        with self.transaction():
            self.db.execute("UPDATE jobs SET progress_done = ?, progress_total = ? WHERE id = ?",
                            [done, total, job_id])
        row = self.db.execute("SELECT cancel_requested FROM jobs WHERE id = ?", [job_id]).fetchone()
        return bool(row and row[0])

    def finish_job(self, job_id: int, status: str, counts: dict | None = None, error: str | None = None,
                   log_excerpt: str | None = None) -> None:
        if status not in ("done", "failed", "cancelled"):
            raise ValueError(f"a job cannot finish as {status!r}")
        with self.transaction():
            self.db.execute(
                "UPDATE jobs SET status = ?, finished_at = ?, counts = ?, error = ?, log_excerpt = ?,"
                " started_at = COALESCE(started_at, queued_at) WHERE id = ?",
                [status, utcnow(), json.dumps(counts or {}, ensure_ascii=False, default=str), error, log_excerpt,
                 job_id])

    def cancel_job(self, job_id: int) -> str | None:
        """Cancel a queued job at once; mark a running one cancel-requested. The job's status after, or None."""
        with self.transaction():
            self.db.execute("UPDATE jobs SET status = 'cancelled', finished_at = ?, cancel_requested = 1"
                            " WHERE id = ? AND status = 'queued'", [utcnow(), job_id])
            self.db.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND status = 'running'", [job_id])
        row = self.db.execute("SELECT status FROM jobs WHERE id = ?", [job_id]).fetchone()
        return row[0] if row else None

    def job(self, job_id: int) -> dict | None:
        row = self.db.execute("SELECT * FROM jobs WHERE id = ?", [job_id]).fetchone()
        if row is None:
            return None
        return self._job_row(row)

    def jobs(self, status: str | None = None, kind: str | None = None, limit: int = 50,
             org_units: list[str] | None = None) -> list[dict]:
        """Newest first; `org_units` keeps jobs asked for by those units (None: all)."""
        clauses, args = [], []
        if status:
            clauses.append("status = ?")
            args.append(status)
        if kind:
            clauses.append("kind = ?")
            args.append(kind)
        if org_units is not None:
            clauses.append(f"org_unit IN ({', '.join('?' * len(org_units)) or 'NULL'})")
            args.extend(org_units)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        return [self._job_row(r) for r in self.db.execute(
            f"SELECT * FROM jobs{where} ORDER BY id DESC LIMIT ?", [*args, limit]).fetchall()]

    def _job_row(self, row) -> dict:
        names = [d[0] for d in self.db.execute("SELECT * FROM jobs LIMIT 0").description]
        job = dict(zip(names, row))
        job["params"] = json.loads(job["params"] or "{}")
        job["counts"] = json.loads(job["counts"] or "{}")
        return job

    # --- jobs held by workers (service/worker.py): heartbeats, exclusive runs, repair of jobs whose worker died ---
    def start_exclusive_job(self, kind: str, params: dict, requested_by: str, exclusive: tuple[str, ...],
                            fresh_after: str, worker: str | None = None, org_unit: str | None = None,
                            retry_of: int | None = None) -> int | None:
        """A running job of `kind` when no job of the `exclusive` kinds runs with a heartbeat newer than
        `fresh_after` (checked and written in one write transaction); None when one does."""
        marks = ", ".join("?" * len(exclusive))
        with self.transaction():
            busy = self.db.execute(f"SELECT id FROM jobs WHERE status = 'running' AND kind IN ({marks})"
                                   " AND heartbeat_at >= ? LIMIT 1", [*exclusive, fresh_after]).fetchone()
            if busy:
                return None
            return self.add_job(kind, params, requested_by, org_unit=org_unit, status="running", retry_of=retry_of,
                                worker=worker)

    def touch_job(self, job_id: int) -> None:
        """The running job's heartbeat: its worker is alive."""
        with self.transaction():
            self.db.execute("UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND status = 'running'", [utcnow(), job_id])

    def set_job_log(self, job_id: int, excerpt: str) -> None:
        """The last lines a running job logged (shown while it runs)."""
        with self.transaction():
            self.db.execute("UPDATE jobs SET log_excerpt = ? WHERE id = ?", [excerpt, job_id])

    def stale_jobs(self, before: str) -> list[dict]:
        """Running jobs whose last heartbeat (or start, for rows without one) is older than `before`."""
        return [self._job_row(r) for r in self.db.execute(
            "SELECT * FROM jobs WHERE status = 'running' AND COALESCE(heartbeat_at, started_at, queued_at) < ?"
            " ORDER BY id", [before]).fetchall()]

    def running_jobs_of(self, worker_prefix: str) -> list[dict]:
        """Running jobs held by workers whose id starts with `worker_prefix` (one machine's)."""
        return [self._job_row(r) for r in self.db.execute(
            "SELECT * FROM jobs WHERE status = 'running' AND substr(worker, 1, ?) = ? ORDER BY id",
            [len(worker_prefix), worker_prefix]).fetchall()]

    def repair_job(self, job_id: int, requeue: bool, message: str, heartbeat_at: str | None) -> bool:
        """Put back in the queue, or finish as failed with `message`, a running job whose worker died; only if its
        heartbeat is still the one seen (`heartbeat_at`), so a worker that came back in between keeps its job."""
        # `IS ?` is SQLite's alone: the test of the heartbeat seen is written for both engines
        seen, args = ("heartbeat_at IS NULL", []) if heartbeat_at is None else ("heartbeat_at = ?", [heartbeat_at])
        with self.transaction():
            if requeue:   # a job deferred to the task queue gets a new task (service/taskqueue.py)
                cur = self.db.execute(
                    "UPDATE jobs SET status = 'queued', started_at = NULL, worker = NULL, heartbeat_at = NULL,"
                    f" task_id = NULL, error = ? WHERE id = ? AND status = 'running' AND {seen}",
                    [message, job_id, *args])
            else:
                cur = self.db.execute(
                    "UPDATE jobs SET status = 'failed', finished_at = ?, error = ? WHERE id = ? AND status = 'running'"
                    f" AND {seen}", [utcnow(), message, job_id, *args])
            return cur.rowcount == 1

    def open_jobs(self, kinds: list[str]) -> list[dict]:
        """Queued and running jobs of these kinds, oldest first."""
        marks = ", ".join("?" * len(kinds))
        return [self._job_row(r) for r in self.db.execute(
            f"SELECT * FROM jobs WHERE status IN ('queued', 'running') AND kind IN ({marks}) ORDER BY id",
            list(kinds)).fetchall()]

    # --- jobs run by the task queue of the multi-machine mode (service/taskqueue.py, PostgreSQL) -------------------
    def claim_job_by_id(self, job_id: int, worker: str, exclusive: tuple[str, ...] = (),
                        fresh_after: str | None = None) -> dict | None:
        """Mark this queued job running, held by `worker`, unless it is of the `exclusive` kinds and another one of
        them runs with a heartbeat newer than `fresh_after`; its row, or None when it was not taken."""
        where, args = "", []
        if exclusive:
            marks = ", ".join("?" * len(exclusive))
            where = (f" AND NOT (kind IN ({marks}) AND EXISTS (SELECT 1 FROM jobs r WHERE r.status = 'running'"
                     f" AND r.kind IN ({marks}) AND r.heartbeat_at >= ?))")
            args = [*exclusive, *exclusive, fresh_after or ""]
        now = utcnow()
        with self.transaction():
            row = self.db.execute(
                "UPDATE jobs SET status = 'running', started_at = ?, attempts = attempts + 1, worker = ?,"
                f" heartbeat_at = ? WHERE id = ? AND status = 'queued' AND cancel_requested = 0{where} RETURNING id",
                [now, worker, now, job_id, *args]).fetchone()
        return self.job(row[0]) if row else None

    def defer_queued_jobs(self, defer, limit: int = 100) -> list[tuple[int, int]]:
        """Hand the queued jobs that have no task yet to the task queue: `defer(job) -> task id` for each, the id
        kept on the job, inside one write transaction (two workers doing this at once never defer a job twice).
        Returns (job id, task id) pairs."""
        done = []
        with self.transaction():
            for row in self.db.execute("SELECT * FROM jobs WHERE status = 'queued' AND task_id IS NULL"
                                       " AND cancel_requested = 0 ORDER BY id LIMIT ?", [limit]).fetchall():
                job = self._job_row(row)
                task_id = defer(job)
                if task_id is not None:
                    self.db.execute("UPDATE jobs SET task_id = ? WHERE id = ?", [task_id, job["id"]])
                    done.append((job["id"], task_id))
        return done

    def ensure_task_queue_schema(self, apply) -> bool:
        """On PostgreSQL, create the task queue's tables (procrastinate's, through `apply()`, its own schema
        manager) in this store's schema unless they exist; one process at a time. True when they were created."""
        if self.backend != "postgresql":
            raise ValueError("the task queue lives in a PostgreSQL store")
        with self.transaction():
            if self.db.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()[0] is not None:
                return False
            apply()
            return True
