"""Load on the web app over loopback: 50 collaborators at once, 20 observations each, through the real form.

Bounded: 50 × 20 submissions (plus one resend each, which must store nothing), every request with a 10 s timeout,
the whole run with a deadline. The server is the real app under uvicorn in its own process, on a fresh store; the
background worker runs with the shipped models when they are present. Prints p50/p95/p99 of a submission's round
trip (aim: p95 < 100 ms) and checks that every submission is stored exactly once.
"""
from __future__ import annotations

import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COLLABORATORS = int(os.environ.get("PULSE_LOAD_USERS", 50))
PER_USER = int(os.environ.get("PULSE_LOAD_EACH", 20))
DEADLINE_S = 300
PASSWORD = "mat-khau-tai-thu"
SERVER = """
import sys, uvicorn
from service.app import create_app
from service.config import Settings
settings = Settings(db_path=sys.argv[1])
uvicorn.run(create_app(settings, start_worker=sys.argv[3] == "1"), host="127.0.0.1", port=int(sys.argv[2]),
            log_level="warning")
"""


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def prepare(db: Path) -> None:
    from service.auth import hash_password
    from service.setup import init
    from service.store import Store

    store = Store(db)
    init(store)
    hashed = hash_password(PASSWORD)
    units = ["cb-yte", "cb-giaoduc", "cb-vienchuc", "cb-thanhpho"]
    for i in range(COLLABORATORS):
        store.add_user(f"ctv{i:03d}", hashed, "collaborator", units[i % len(units)])
    store.close()


class Client:
    """A keep-alive HTTP/1.1 connection with its cookies: lighter than a requests.Session, so the load generator
    (on the same two cores as the server) takes less of the CPU it is measuring."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, dict[str, str], str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        text = response.read().decode()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0].strip('"')
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text


def collaborator(port: int, i: int, latencies: list[float], ids: dict[str, int], errors: list[str],
                 stop_at: float, ready: threading.Barrier) -> None:
    try:
        c = Client(port)
        _, _, page = c.request("GET", "/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        status, _, _ = c.request("POST", "/login", {"username": f"ctv{i:03d}", "password": PASSWORD,
                                                    "csrf_token": csrf})
        assert status == 303, f"login {status}"
        _, _, form = c.request("GET", "/submit")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    except Exception as exc:
        errors.append(f"ctv{i:03d}: could not log in ({exc!r})")
        ready.abort()
        return
    try:
        ready.wait(timeout=120)   # everyone logged in (argon2 is slow on purpose): now all submit at once
        c.conn.close()            # a fresh connection: the server drops keep-alive connections idle for 5 s
        first = None
        for n in range(PER_USER + 1):
            if time.monotonic() > stop_at:
                errors.append(f"ctv{i:03d}: deadline reached")
                return
            resend = n == PER_USER
            key = first[0] if resend else uuid.uuid4().hex
            text = first[1] if resend else (f"Ý kiến số {n} của cộng tác viên {i}: công nhân phản ánh tiền lương "
                                            f"thấp, tăng ca nhiều, mong công đoàn đối thoại với doanh nghiệp.")
            data = {"csrf_token": csrf, "idempotency_key": key, "text": text, "channel": "truc-tiep", "unit": "",
                    "place": "", "observed_on": "", "people": str(1 + n)}
            t0 = time.perf_counter()
            status, headers, _ = c.request("POST", "/submit", data)
            elapsed = time.perf_counter() - t0
            if status != 303:
                errors.append(f"ctv{i:03d} #{n}: HTTP {status}")
                continue
            sid = int(headers["location"].split("/")[2].split("?")[0])
            if resend:
                if sid != ids[key]:
                    errors.append(f"ctv{i:03d}: the resend was stored again ({sid} != {ids[key]})")
                continue
            latencies.append(elapsed)
            ids[key] = sid
            if first is None:
                first = (key, text)
    except Exception as exc:  # a client failure is reported, never hidden
        errors.append(f"ctv{i:03d}: {exc!r}")


def main() -> int:
    from service.store import Store
    from tests.web_support import free_port, models_ready

    work = Path(tempfile.mkdtemp(prefix="pulse-load-"))
    db = work / "pulse.db"
    prepare(db)
    port = free_port()
    worker = models_ready()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(db), str(port), "1" if worker else "0"], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{base}/healthz", timeout=1)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    print("the server did not start")
                    return 1
                time.sleep(0.2)
        if worker:   # the worker loads the models as the app starts: measure once it is ready, as in production
            deadline = time.monotonic() + 120
            while requests.get(f"{base}/healthz", timeout=5).json().get("annotator") != "ready":
                if time.monotonic() > deadline:
                    print("the worker did not load the models")
                    return 1
                time.sleep(0.5)
        latencies: list[float] = []
        ids: dict[str, int] = {}
        errors: list[str] = []
        stop_at = time.monotonic() + DEADLINE_S
        ready = threading.Barrier(COLLABORATORS + 1)
        threads = [threading.Thread(target=collaborator, args=(port, i, latencies, ids, errors, stop_at, ready))
                   for i in range(COLLABORATORS)]
        for t in threads:
            t.start()
        try:
            ready.wait(timeout=120)
        except threading.BrokenBarrierError:
            causes = [e for e in errors if "BrokenBarrier" not in e] or errors
            print("not every collaborator could log in:", *causes[:5], sep="\n  ")
            return 1
        t0 = time.perf_counter()
        for t in threads:
            t.join(timeout=DEADLINE_S)
        wall = time.perf_counter() - t0
        store = Store(db)
        expected = COLLABORATORS * PER_USER
        stored = store.count_submissions()
        items = store.count_items()
        distinct = len(set(ids.values()))
        print(f"{COLLABORATORS} collaborators × {PER_USER} submissions over loopback "
              f"(+1 resend each), worker {'on (shipped models)' if worker else 'OFF (models missing)'}")
        print(f"submissions stored: {stored} (expected {expected}); items: {items}; distinct ids answered: {distinct}")
        if latencies:
            ms = [x * 1000 for x in latencies]
            print(f"latency ms: p50 {percentile(ms, .5):.1f}  p95 {percentile(ms, .95):.1f}  "
                  f"p99 {percentile(ms, .99):.1f}  max {max(ms):.1f}  mean {statistics.mean(ms):.1f}")
            print(f"throughput: {len(ms) / wall:.0f} submissions/s over {wall:.1f} s")
        if worker:
            t1 = time.monotonic()
            while store.pending_submissions(limit=1) and time.monotonic() - t1 < 180:
                time.sleep(0.5)
            left = len(store.pending_submissions(limit=expected))
            print(f"processed by the worker {time.monotonic() - t1:.1f} s after the last submission; "
                  f"{left} still pending")
        for err in errors[:10]:
            print("  error:", err)
        ok = stored == expected == distinct == items and not errors
        p95 = percentile([x * 1000 for x in latencies], .95) if latencies else float("inf")
        print(f"every submission stored exactly once: {'yes' if ok else 'NO'}; p95 {'<' if p95 < 100 else '>='} 100 ms")
        store.close()
        return 0 if ok else 1
    finally:
        server.terminate()
        server.wait(timeout=15)


if __name__ == "__main__":
    sys.exit(main())
