"""The processes of `pulse serve`: one process group, children that end with their parent, a stop that leaves no
orphan behind (the intake worker, the segmentation pool, anything they started).

Linux only where it reads /proc; elsewhere the functions do what they can and never raise.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

log = logging.getLogger("pulse.lifecycle")


def lead_process_group() -> bool:
    """Make this process the leader of its own process group (a no-op when it already is, e.g. started by a shell
    with job control or by systemd), so every process it starts, and every orphan of those, can be found and ended.
    Returns whether this process leads its group."""
    try:
        if os.getpgrp() != os.getpid():
            os.setpgid(0, 0)
    except OSError as exc:   # a session leader cannot move; any other refusal: work as before
        log.warning("could not lead a process group (%s); child processes are ended one by one", exc)
    return os.getpgrp() == os.getpid()


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, process group) of a process from /proc, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2:].split()   # the command name may hold spaces and parentheses
    return fields[0], int(fields[1]), int(fields[2])


def group_members(pgid: int, include_zombies: bool = False) -> list[int]:
    """Pids of the live processes of a process group (zombies left out: they have ended, only not been reaped)."""
    pids = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return pids
    for entry in entries:
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat and stat[2] == pgid and (include_zombies or stat[0] not in "ZX"):
                pids.append(int(entry))
    return pids


def descendants(pid: int) -> list[int]:
    """Pids of every live process below `pid` (children, grandchildren…), whatever their process group."""
    try:
        entries = [int(e) for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []
    children: dict[int, list[int]] = {}
    for entry in entries:
        stat = _stat(entry)
        if stat and stat[0] not in "ZX":
            children.setdefault(stat[1], []).append(entry)
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def others_in_my_group() -> list[int]:
    """Every other live process of this process's group when it leads the group, else its descendants; except
    multiprocessing's resource tracker, which ignores SIGTERM by design and ends as soon as this process does."""
    me = os.getpid()
    if os.getpgrp() == me:
        pids = set(group_members(me)) - {me} | set(descendants(me))
    else:
        pids = set(descendants(me))
    return sorted(pids - {_resource_tracker()})


def _resource_tracker() -> int | None:
    try:
        from multiprocessing import resource_tracker

        return resource_tracker._resource_tracker._pid
    except (ImportError, AttributeError):
        return None


def end_processes(pids_now, timeout: float = 10.0) -> list[int]:
    """SIGTERM what `pids_now()` lists, wait up to `timeout` seconds, then SIGKILL what is left; `pids_now` is called
    again while waiting, so a process started meanwhile is ended too. Returns the pids that had to be killed."""
    def send(sig: int, pids: list[int]) -> None:
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass

    pids = pids_now()
    send(signal.SIGTERM, pids)
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline:
        time.sleep(0.1)
        pids = pids_now()
    killed = list(pids)
    for _ in range(3):
        if not pids:
            break
        send(signal.SIGKILL, pids)
        time.sleep(0.2)
        pids = pids_now()
    if killed:
        log.warning("processes that did not end on SIGTERM were killed: %s", killed)
    return killed


def end_with_parent(interval: float = 1.0, kernel: bool = True) -> None:
    """In a child process: end it soon after its parent is gone (killed with SIGKILL, crashed), so it never lives
    on as an orphan. On Linux (`kernel`) the kernel sends SIGKILL the moment the parent thread that started it ends
    (prctl PR_SET_PDEATHSIG: immediate even while the child's own code holds the interpreter lock); everywhere, a
    daemon thread checks the parent pid every `interval` seconds."""
    import multiprocessing

    # the pid multiprocessing recorded at the start: the parent may already be gone, and this process reparented
    known = multiprocessing.parent_process()
    parent = known.pid if known is not None and known.pid else os.getppid()
    if kernel and sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)   # 1: PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        if os.getppid() != parent:   # the parent ended before the request was made
            os._exit(0)

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="pulse-parent-watch", daemon=True).start()


class _Stopped(BaseException):
    """SIGTERM reached `serve` (after uvicorn's own graceful stop, which raises it again once it is done)."""


def _stopped(signum, frame) -> None:
    raise _Stopped


def serve(settings, with_scheduler: bool = True, echo=print, grace_seconds: float = 10.0) -> None:
    """`pulse serve`: the web app, its job worker process (the only holder of the models: it runs every queued job and
    the collaborators' submissions) and the scheduler that queues the cycles, in one process group that ends together.

    On SIGTERM or Ctrl-C: uvicorn stops taking requests and finishes the open ones, the app stops its worker, the
    scheduler stops; then every process left in the group (the segmentation pool, an orphan of a killed worker) gets
    SIGTERM, and SIGKILL after `grace_seconds`. A job the worker was running is abandoned: its unfinished transaction
    is rolled back by SQLite and the job, left `running` without a heartbeat, is repaired by the next worker."""

    import uvicorn

    from service import scheduler
    from service.app import create_app

    lead_process_group()
    signal.signal(signal.SIGTERM, _stopped)
    jobs = None
    try:
        app = create_app(settings)
        # the scheduler only queues jobs; the app's worker process runs them (woken at once by `notify`)
        jobs = scheduler.start(settings, notify=app.state.worker.notify) if with_scheduler else None
        echo(f"Pulse is serving on http://{settings.host}:{settings.port} (process group {os.getpgrp()})")
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning",
                    timeout_graceful_shutdown=grace_seconds)
    except (_Stopped, KeyboardInterrupt):
        log.info("stop requested")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)   # a second SIGTERM must not cut the clean-up short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        log.info("web app stopped; stopping the scheduler and the processes left in the group")
        if jobs is not None:
            jobs.shutdown(wait=False)
        end_processes(others_in_my_group, timeout=grace_seconds)
        log.info("the processes of the group have ended")
        deadline = time.monotonic() + 5.0
        busy = [t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
        for thread in busy:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in busy):
            log.warning("a background job was still running at shutdown; it is abandoned")
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
