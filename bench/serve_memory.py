"""Memory of `pulse serve` after a collection cycle (issue 14.6: ≤ 450 MB over all its processes).

Starts a real `pulse serve` on 127.0.0.1 over a fresh installation in a temporary folder, with the default sources
disabled and the RSS fixtures of tests/fixtures/rss served from a loopback HTTP server as its sources; triggers one
collection cycle (a queued `cycle` job that the job worker claims; with `--wait-scheduled`, the scheduler's first cycle,
30 s after the start, as older versions run it); waits until the cycle's work is done, then sums the resident memory
(VmRSS of /proc/<pid>/status) of every process of the server's process group and prints it, per process and in all.

    python bench/serve_memory.py                 # from the repository root
    python bench/serve_memory.py --samples 5     # the figure is the largest of 5 samples taken a second apart
    python bench/serve_memory.py --pages         # then also after the first admin opens the main pages, the
                                                 # analysts' page and the labelling queue (which reads the topic model)
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FEEDS = sorted((ROOT / "tests" / "fixtures" / "rss").glob("*.xml"))
TARGET_MB = 450


def serve_feeds() -> tuple[ThreadingHTTPServer, dict[str, str]]:
    bodies = {f"/{path.stem}.rss": path.read_bytes() for path in FEEDS}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = bodies.get(self.path.split("?")[0])
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    return httpd, {f"loopback-{n}": base + path for n, path in enumerate(bodies)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def group(pgid: int) -> list[tuple[int, str, int]]:
    """(pid, command name, RSS in kB) of each live process of the group."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] not in "ZX":
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:90]
            out.append((int(entry), cmd, rss_kb(int(entry))))
    return out


def measure(pgid: int, samples: int, when: str) -> float:
    """The largest of `samples` sums of the group's RSS, a second apart, printed per process; in MB."""
    worst: list[tuple[int, str, int]] = []
    for _ in range(max(1, samples)):
        time.sleep(1)
        now = group(pgid)
        if sum(r for _, _, r in now) > sum(r for _, _, r in worst):
            worst = now
    for pid, cmd, kb in sorted(worst):
        print(f"  pid {pid:>7}  {kb / 1024:7.1f} MB  {cmd}")
    total = sum(kb for _, _, kb in worst) / 1024
    print(f"pulse serve RSS over its {len(worst)} processes {when}: {total:.1f} MB "
          f"(target ≤ {TARGET_MB} MB: {'met' if total <= TARGET_MB else 'NOT met'})")
    return total


def visit_pages(base: str, password: str, web_pid: int) -> None:
    import re

    import requests

    session = requests.Session()
    page = session.get(f"{base}/login", timeout=30).text
    csrf = re.search(r'name="csrf_token" value="([^"]*)"', page).group(1)
    answer = session.post(f"{base}/login", data={"username": "admin", "password": password, "csrf_token": csrf},
                          timeout=60)
    assert answer.status_code == 200, answer.status_code
    for path in ("/", "/queue", "/analyst", "/analyst/queue", "/admin/jobs"):
        status = session.get(base + path, timeout=120).status_code
        print(f"  GET {path}: {status}; the web app's process: {rss_kb(web_pid) / 1024:.1f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wait-scheduled", action="store_true",
                        help="wait for the scheduler's first cycle instead of queueing one (older versions)")
    parser.add_argument("--samples", type=int, default=3, help="samples of the group's RSS, a second apart")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the cycle")
    parser.add_argument("--pages", action="store_true", help="measure again after an admin opened the main pages")
    args = parser.parse_args()

    httpd, sources = serve_feeds()
    work = Path(tempfile.mkdtemp(prefix="pulse-serve-memory-"))
    db = work / "pulse.db"
    env = {**os.environ, "PULSE_DB": str(db), "PULSE_ALLOWED_HOSTS": "127.0.0.1", "PULSE_WORKER_NICE": "0"}
    pulse = [sys.executable, "-m", "service.cli"]

    def run(*cli: str) -> str:
        return subprocess.run([*pulse, *cli], cwd=work, env=env, check=True, capture_output=True, text=True,
                              timeout=120).stdout

    password = run("init").split("First admin account: admin / ", 1)[-1].split()[0]
    con = sqlite3.connect(db)
    con.execute("UPDATE sources SET enabled = 0")   # no collection may leave the machine
    con.commit()
    con.close()
    for name, url in sources.items():
        run("sources", "add", name, url)
    port = free_port()
    log = open(work / "serve.log", "w+")
    started = time.monotonic()
    server = subprocess.Popen([*pulse, "serve", "--port", str(port)], cwd=work, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        con = sqlite3.connect(db, timeout=30)
        if not args.wait_scheduled:
            sys.path.insert(0, str(ROOT))
            from service.jobs import enqueue
            from service.store import Store

            with Store(db) as store:
                job_id = enqueue(store, "cycle", {}, requested_by="bench")
            print(f"queued cycle job {job_id}")

            def finished() -> bool:
                row = con.execute("SELECT status, counts, error FROM jobs WHERE id = ?", [job_id]).fetchone()
                if row and row[0] in ("failed", "cancelled"):
                    raise SystemExit(f"the cycle job ended {row[0]}: {row[2]}")
                return bool(row and row[0] == "done")
        else:
            def finished() -> bool:   # the scheduler's cycle ends with its detection of today
                return bool(con.execute("SELECT 1 FROM jobs WHERE kind = 'detect' AND status = 'done'"
                                        " AND requested_by = 'scheduler'").fetchone())
        deadline = time.monotonic() + args.timeout
        while not finished():
            if server.poll() is not None:
                log.seek(0)
                raise SystemExit(f"pulse serve ended early:\n{log.read()[-3000:]}")
            if time.monotonic() > deadline:
                raise SystemExit("the cycle did not end in time")
            time.sleep(0.5)
        items = con.execute("SELECT count(*) FROM items").fetchone()[0]
        annotated = con.execute("SELECT count(DISTINCT item_id) FROM annotations").fetchone()[0]
        con.close()
        print(f"cycle done {time.monotonic() - started:.1f} s after the start: {items} items, {annotated} annotated, "
              f"{len(sources)} loopback feeds")
        total = measure(server.pid, args.samples, "after a collection cycle")
        if args.pages:
            visit_pages(f"http://127.0.0.1:{port}", password, server.pid)
            measure(server.pid, args.samples, "after the cycle and an admin's page views (/, /queue, /analyst, "
                                              "/analyst/queue, /admin/jobs)")
        return 0 if total <= TARGET_MB else 1
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(10)
        log.close()
        httpd.shutdown()


if __name__ == "__main__":
    sys.exit(main())
