"""The job worker process of `pulse serve`, and collaborators' submissions after they are stored: annotate, place in
a stream, run the detectors for their day.

A request only stores the submission (one transaction) and nudges the worker; the worker reads what is pending from
the store, so nothing is lost when it is busy, fails or the process restarts: pending submissions wait in the store.
The same process runs every queued job (service/worker.py): the scheduler and the web app only queue them. It is a
separate process at low priority and the only one holding the models (loaded once, when the app starts): annotating
is CPU work that would otherwise hold the interpreter lock and slow every page of the app.
"""
from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable

from service.config import Settings

if TYPE_CHECKING:   # the worker process imports this module first: light, so its heartbeat starts at once
    from service.store import Store

log = logging.getLogger("pulse.intake")

STATES = ("stopped", "loading", "ready", "unavailable")
HEARTBEAT_SECONDS = 2.0


def drain_batch(store: Store, settings: Settings, annotator, versions: dict[str, str]) -> dict:
    """The work of an `intake` job: process one batch of pending submissions (annotate, place, detect their days).
    Returns its counts; `left` counts the submissions that could not be placed (they stay pending)."""
    from service import pipeline
    from service.logs import step

    pending = store.pending_submissions(limit=500)
    if not pending:
        return {"submissions": 0, "annotated": 0, "left": 0}

    with step(log, "intake batch", pending=len(pending)) as counts:
        # small batches keep each write transaction short, so a request storing a submission never waits long
        done = pipeline.process(store, annotator, versions, batch_size=32, stream_settings=settings.streams,
                                relevance_settings=settings.relevance)
        placed = [p for p in pending if store.is_placed(p["item_id"])]
        # every day the batch's items fall on: the submissions' and any other item processed with them
        pipeline.detect_days(store, {p["day"] for p in placed} | set(done.days), settings.trends)
        store.mark_submissions_processed([p["id"] for p in placed])
        counts.update(submissions=len(placed), annotated=done.annotated)
    if len(placed) < len(pending):
        log.warning("%d submissions could not be placed; they stay pending", len(pending) - len(placed))
    return {"submissions": len(placed), "annotated": done.annotated, "left": len(pending) - len(placed)}


def _work(settings: Settings, loader: Callable | None, inbox, status, poll_seconds: float,
          retry_load_seconds: float) -> None:
    """The worker process (service/worker.py): load the models once, then drain pending submissions whenever nudged
    and run the queued jobs (cycles, briefings, training, promotion, backups), checking the queue every poll.

    It reads nudges and the stop request from a pipe (`inbox`) and reports through shared memory without locks
    (`status`): a worker killed at any moment can never leave the app waiting on a lock it held."""
    beat = threading.Thread(target=_heartbeat, args=(status,), name="pulse-heartbeat", daemon=True)
    beat.start()                      # first: the supervisor sees a live worker while it imports and loads
    from service.lifecycle import end_with_parent

    try:   # pages first: a submission may wait a second to be annotated, a person should not
        os.nice(int(os.environ.get("PULSE_WORKER_NICE", "10")))
    except (OSError, ValueError):
        pass
    signal.signal(signal.SIGTERM, _stop_on_signal)
    end_with_parent()                 # the app is gone (even killed with SIGKILL): so is its worker
    from service.datadir import use
    from service.logs import configure
    from service.worker import Worker

    configure(settings, file_name="worker.log")   # a process of its own: its own file (rotation is per process)
    use(settings)
    mailbox = _Mailbox(inbox)
    worker = Worker(settings, loader=loader)
    next_load = 0.0

    def set_state() -> None:
        status.state.value = STATES.index("ready" if worker.annotator is not None else
                                          "unavailable" if worker.load_error else "loading")

    try:
        worker.repair()
        while not mailbox.stopping:
            if worker.annotator is None and time.monotonic() >= next_load:   # at start, after a failure or a change
                status.state.value = STATES.index("loading")
                if worker.try_load() is None:   # models missing or broken: submissions stay pending, stored
                    next_load = time.monotonic() + retry_load_seconds
            set_state()
            busy = False
            try:
                mailbox.read()     # nudges that came while busy are covered by this round
                if worker.annotator is not None:
                    done = worker.drain_submissions(stop=lambda: mailbox.stopping)
                    status.processed.value += done
                    busy = done > 0
                if not mailbox.stopping:
                    busy = worker.run_next() is not None or busy
                set_state()
            except Exception:
                log.exception("the worker's round failed; what it was doing stays queued or pending")
                mailbox.wait(poll_seconds)
            if not busy and mailbox.wait(poll_seconds):
                mailbox.settle()
    except KeyboardInterrupt:
        pass
    finally:
        worker.close()


def _stop_on_signal(signum, frame) -> None:
    raise KeyboardInterrupt   # SIGTERM (the app's stop after its grace time, or the process group's end)


def _heartbeat(status, every: float = HEARTBEAT_SECONDS) -> None:
    """A thread of the worker: the time it last ran, so the app can tell a live worker from a frozen one."""
    while True:
        status.heartbeat.value = time.time()
        time.sleep(every)


class _Mailbox:
    """The worker's end of the pipe: b"w" (a submission was stored) and b"s" (stop)."""

    def __init__(self, inbox):
        self.inbox, self.stopping = inbox, False

    def read(self) -> bool:
        """Take every waiting message at once; whether there was any."""
        got = False
        try:
            while self.inbox.poll(0):
                got = True
                if b"s" in self.inbox.recv_bytes():
                    self.stopping = True
        except (EOFError, OSError):   # the app closed its end: it is gone
            self.stopping = True
        return got

    def wait(self, seconds: float) -> bool:
        """Wait up to `seconds` for a message; whether one came (and was taken)."""
        try:
            ready = self.inbox.poll(seconds)
        except (EOFError, OSError):
            ready = False
            self.stopping = True
        return self.read() if ready else False

    def settle(self, quiet: float = 0.25, longest: float = 1.5) -> None:
        """While submissions keep arriving (a burst), wait for a quiet moment, at most `longest` seconds: then one
        batch does them all, and the worker's writes do not slow the requests that are storing them."""
        deadline = time.monotonic() + longest
        while time.monotonic() < deadline and not self.stopping:
            if not self.wait(quiet):
                return


class _Status:
    """What the worker tells the app, in shared memory without locks (one writer: the worker; readers: the app)."""

    def __init__(self, ctx):
        self.state = ctx.RawValue("i", STATES.index("stopped"))
        self.heartbeat = ctx.RawValue("d", 0.0)     # time.time() of the worker's last heartbeat
        self.processed = ctx.RawValue("q", 0)       # submissions processed since the app started, over restarts


class SubmissionWorker:
    """Starts, supervises and stops the worker process; `notify` nudges it after a submission is stored.

    `notify` never blocks: it writes one byte to a non-blocking pipe and forgets it when the pipe is full or the
    worker is gone (the worker reads what is pending from the store anyway). A supervisor thread restarts a worker
    that died or froze (no heartbeat for `stale_seconds`), with a growing pause when it keeps dying; `health()`
    says what happened."""

    def __init__(self, settings: Settings, annotator_loader: Callable | None = None, poll_seconds: float = 2.0,
                 retry_load_seconds: float = 60.0, stale_seconds: float = 120.0):
        self.settings = settings
        self.loader = annotator_loader          # a module-level function (it crosses to the worker process)
        self.poll_seconds, self.retry_load_seconds = poll_seconds, retry_load_seconds
        self.stale_seconds = stale_seconds
        self._ctx = multiprocessing.get_context("spawn")   # a clean interpreter: no inherited threads or sockets
        self._status = None                     # made at start: an app that never starts it holds none
        self._process = self._outbox = None
        self._lock = threading.Lock()           # start, stop and the supervisor's restarts, one at a time
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None
        self.restarts = 0
        self.started_at: float | None = None    # time.time() the current process started
        self.last_exit: dict | None = None      # how the last process ended: exit code or signal, when, how long it ran

    # --- the app's side -------------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        process = self._process
        if process is None:
            return "stopped"
        if not process.is_alive():
            return "restarting"
        return STATES[self._status.state.value]

    def start(self) -> None:
        with self._lock:
            if self._process is not None:
                return
            if self._status is None:
                self._status = _Status(self._ctx)
            self._stopping.clear()
            self._spawn()
        self._supervisor = threading.Thread(target=self._supervise, name="pulse-intake-supervisor", daemon=True)
        self._supervisor.start()

    def _spawn(self) -> None:
        inbox, outbox = self._ctx.Pipe(duplex=False)
        self._status.state.value = STATES.index("loading")
        self._status.heartbeat.value = time.time()
        process = self._ctx.Process(
            target=_work, name="pulse-intake", daemon=True,
            args=(self.settings, self.loader, inbox, self._status, self.poll_seconds, self.retry_load_seconds))
        process.start()
        inbox.close()                             # the worker holds the reading end
        os.set_blocking(outbox.fileno(), False)   # a full pipe or a dead reader never makes a request wait
        self._process, self._outbox, self.started_at = process, outbox, time.time()

    def _send(self, message: bytes) -> None:
        outbox = self._outbox
        if outbox is None:
            return
        try:
            outbox.send_bytes(message)
        except (OSError, ValueError):   # full (the worker is busy: it reads the store anyway), closed or dead
            pass

    def notify(self) -> None:
        """A submission was stored: process it now rather than at the next poll. Never blocks."""
        self._send(b"w")

    def stop(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        with self._lock:
            process, self._process = self._process, None
            if process is None:
                return
            self._send(b"s")
            process.join(timeout)
            if process.is_alive():   # in the middle of a long batch: what it had not finished stays pending
                process.terminate()
                process.join(5)
            if process.is_alive():
                process.kill()
                process.join(5)
            self._close_outbox()
        if self._supervisor is not None and self._supervisor is not threading.current_thread():
            self._supervisor.join(5)

    def _close_outbox(self) -> None:
        if self._outbox is not None:
            try:
                self._outbox.close()
            except OSError:
                pass
            self._outbox = None

    def health(self) -> dict:
        """The worker as an operator needs to see it: alive, state, heartbeat, restarts and how the last one died."""
        process = self._process
        now = time.time()
        alive = bool(process is not None and process.is_alive())
        beat = self._status.heartbeat.value if self._status is not None else 0.0
        return {
            "state": self.state,
            "alive": alive,
            "pid": process.pid if alive else None,
            "heartbeat_age_seconds": round(now - beat, 1) if alive and beat else None,
            "up_seconds": round(now - self.started_at, 1) if alive and self.started_at else None,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
            "processed": self._status.processed.value if self._status is not None else 0,
        }

    # --- the supervisor thread ------------------------------------------------------------------------------
    def _supervise(self) -> None:
        """Restart the worker when it dies or freezes; pause 1, 2, 4 … 60 s between restarts while it keeps dying
        within a minute of its start, so a worker that cannot live does not burn the machine. Only this thread and
        `stop` (both under the lock) reap the process."""
        quick_deaths = 0
        while not self._stopping.is_set():
            process = self._process
            if process is None:
                return
            multiprocessing.connection.wait([process.sentinel], 1.0)
            with self._lock:
                if self._stopping.is_set() or self._process is not process:
                    return
                if process.is_alive():
                    silent = time.time() - self._status.heartbeat.value
                    if silent <= self.stale_seconds:
                        continue
                    log.error("the intake worker (pid %s) gave no heartbeat for %.0f s; killing it", process.pid,
                              silent)
                    process.kill()
                    process.join(5)
                ran = time.time() - (self.started_at or time.time())
                code = process.exitcode
                how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
                self.last_exit = {"pid": process.pid, "how": how, "exitcode": code, "ran_seconds": round(ran, 1),
                                  "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            quick_deaths = quick_deaths + 1 if ran < 60 else 0
            pause = min(60.0, 2.0 ** (quick_deaths - 1)) if quick_deaths else 0.0
            log.error("the intake worker (pid %s) ended (%s) after %.0f s; restarting it in %.0f s", process.pid, how,
                      ran, pause)
            if self._stopping.wait(pause):
                return
            with self._lock:
                if self._stopping.is_set() or self._process is not process:
                    return
                self._close_outbox()
                self._spawn()
                self.restarts += 1
