"""The login throttle and the collaborators' submission limit live in the store (issue 18.4): two web processes over
one store count the same failed logins and the same submissions, the last free slot is taken once however many
processes race for it, and rows that no longer count are deleted."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import requests

from conftest import free_port, wait_for
from service.auth import LoginThrottle, RateLimiter
from service.store import Store
from web_support import OWN, PASSWORD, csrf_of, key_of, make_installation

# The app as `pulse serve` builds it, pages only, with the shipped throttle but a first wait of 60 s instead of 1 s (so
# a slow machine cannot end a wait between two requests) and 3 submissions per 10 minutes instead of 60.
SERVER = """
import sys
from pathlib import Path

import uvicorn

from service.app import create_app
from service.auth import LoginThrottle, RateLimiter
from service.config import Settings

db, models, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = create_app(Settings(db_path=Path(db), models_dir=Path(models)), start_worker=False)
app.state.login_throttle = LoginThrottle(app.state.stores.get, base=60)
app.state.submit_limiter = RateLimiter(app.state.stores.get, limit=3, window=600, scope="submit")
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
"""


class WebProcess:
    """One web process (its own interpreter, its own connections) over the installation's store."""

    def __init__(self, inst, tmp_path, name: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(tmp_path / f"{name}.log", "w+")
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(inst.settings.db_path), str(inst.settings.models_dir), str(self.port)],
            cwd=tmp_path, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def ready(self) -> WebProcess:
        try:
            wait_for(f"{self.base}/login", timeout=60)
        except TimeoutError:
            self.log.seek(0)
            raise AssertionError(f"the web process did not start: {self.log.read()[-2000:]}") from None
        return self

    def login(self, session: requests.Session, username: str, password: str = PASSWORD) -> requests.Response:
        page = session.get(f"{self.base}/login", timeout=10).text
        return session.post(f"{self.base}/login", data={"username": username, "password": password,
                                                        "csrf_token": csrf_of(page)}, allow_redirects=False, timeout=30)

    def submit(self, session: requests.Session, text: str) -> requests.Response:
        form = session.get(f"{self.base}/submit", timeout=10).text
        return session.post(f"{self.base}/submit", allow_redirects=False, timeout=30, data={
            "csrf_token": csrf_of(form), "idempotency_key": key_of(form), "text": text, "channel": "truc-tiep",
            "unit": OWN, "place": "", "observed_on": "", "people": "1"})

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(15)
        self.log.close()


def test_two_web_processes_share_the_login_throttle_and_the_submission_limit(tmp_path):
    inst = make_installation(tmp_path)
    a, b = WebProcess(inst, tmp_path, "a"), WebProcess(inst, tmp_path, "b")   # both start at once
    try:
        a.ready(), b.ready()
        guesser = requests.Session()
        # the 5 free failures against staff1 from this address, spread over both processes
        codes = [(a if n % 2 else b).login(guesser, "staff1", f"doan-sai-{n}").status_code for n in range(5)]
        assert codes == [401] * 5
        for server in (b, a):   # the right password now waits, whichever process is asked
            slowed = server.login(requests.Session(), "staff1")
            assert slowed.status_code == 429 and "pulse_session" not in slowed.cookies, slowed.status_code
            assert "Đăng nhập sai quá nhiều lần" in slowed.text and int(slowed.headers["retry-after"]) >= 50
        # another account from the same address is not slowed down; its session (a row of the store) opens both
        collab = requests.Session()
        assert a.login(collab, "collab1").status_code == 303

        # 3 submissions per collaborator, counted together by both processes
        codes = [a.submit(collab, "Ý kiến gửi qua máy A số 1.").status_code,
                 b.submit(collab, "Ý kiến gửi qua máy B số 2.").status_code,
                 a.submit(collab, "Ý kiến gửi qua máy A số 3.").status_code]
        assert codes == [303, 303, 303]
        for server in (b, a):
            refused = server.submit(collab, "Ý kiến vượt giới hạn.")
            assert refused.status_code == 429 and "quá nhiều ý kiến" in refused.text
        assert inst.store.count_submissions() == 3
    finally:
        a.close(), b.close()


def test_the_last_free_slot_is_taken_once_by_racing_connections(store, db_path):
    """8 connections (as 8 web processes would hold) ask for 5 slots each at once; the limit is 12."""
    taken, errors = [], []
    start = threading.Barrier(8, timeout=60)

    def racer():
        own = Store(db_path)
        try:
            limiter = RateLimiter(lambda: own, limit=12, window=600, scope="submit")
            start.wait()
            taken.extend(limiter.allow("user:7") for _ in range(5))
        except Exception as exc:   # reported below, never lost in a thread
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=racer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and not any(t.is_alive() for t in threads), errors
    assert taken.count(True) == 12 and taken.count(False) == 28
    assert len(store.rate_events("submit:user:7", 0)) == 12


def test_a_limit_frees_its_slots_as_the_window_moves_and_old_rows_are_deleted(store):
    now = [1000.0]
    limiter = RateLimiter(lambda: store, limit=2, window=60, scope="submit", clock=lambda: now[0])
    assert [limiter.allow("user:1") for _ in range(3)] == [True, True, False]
    assert limiter.blocked_for("user:1") == 60.0 and limiter.blocked_for("user:2") == 0.0
    other = RateLimiter(lambda: store, limit=2, window=60, scope="export", clock=lambda: now[0])
    assert other.allow("user:1"), "another limiter's events of the same key are its own"
    now[0] += 30
    assert not limiter.allow("user:1") and limiter.blocked_for("user:1") == 30.0
    now[0] += 30
    assert limiter.allow("user:1"), "the window moved past the first events"
    assert store.rate_events("submit:user:1", 0) == [1120.0], "the events that stopped counting are gone"
    assert store.rate_events("export:user:1", 0) == [], "expired events of every key are deleted"

    throttle = LoginThrottle(lambda: store, clock=lambda: now[0])
    for _ in range(6):
        throttle.failed("10.0.0.1", "Admin")
    assert throttle.wait("10.0.0.1", "admin") == 2.0
    now[0] += 3601
    throttle.failed("10.0.0.2", "staff")
    assert throttle.wait("10.0.0.1", "admin") == 0.0
    assert {(r["address"], r["username"]) for r in store.slowed_logins(0)} == {("10.0.0.2", "staff"),
                                                                                ("10.0.0.2", "")}, \
        "failures older than an hour are deleted"
    throttle.succeeded("10.0.0.2", "STAFF")
    assert [(r["address"], r["username"]) for r in store.slowed_logins(0)] == [("10.0.0.2", "")]
