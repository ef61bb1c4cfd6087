"""Jobs (service/jobs.py): every unit of work a row with its state, counts, progress and error; failed work recorded
with its error, retried as a new job, queued work cancelled; the CLI and the admin page show them."""
from __future__ import annotations

import re
import threading

import pytest
from fastapi.testclient import TestClient

from service import jobs
from service.config import Settings
from service.setup import init
from service.store import Store
from web_support import OWN, login, make_installation


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "pulse.db")
    init(s)
    yield s
    s.close()


def _flaky(calls: list):
    """Work that fails the first time it runs and succeeds after (a source down, then up again)."""
    def work(params, progress):
        calls.append(params)
        if len(calls) == 1:
            raise ConnectionError(f"{params['source']}: connection refused")
        progress(3, 3)
        return {"found": 3, "new": 2}
    return work


def test_a_failing_job_is_recorded_failed_with_its_error_and_a_retry_runs_it_again(store):
    calls: list = []
    job = jobs.run_job(store, "collect", {"source": "baocaobang"}, _flaky(calls), requested_by="tester")
    assert job["status"] == "failed"
    assert job["error"] == "ConnectionError: baocaobang: connection refused"
    assert "Traceback" in job["log_excerpt"] and "ConnectionError" in job["log_excerpt"]
    assert job["started_at"] and job["finished_at"] and job["attempts"] == 1 and job["requested_by"] == "tester"

    again = jobs.retry(store, job["id"], fn=_flaky(calls))
    assert calls == [{"source": "baocaobang"}, {"source": "baocaobang"}]   # same parameters
    assert again["id"] != job["id"] and again["retry_of"] == job["id"]
    assert again["status"] == "done" and again["counts"] == {"found": 3, "new": 2} and again["error"] is None
    assert (again["progress_done"], again["progress_total"]) == (3, 3)
    assert store.job(job["id"])["status"] == "failed"          # the history keeps the failure
    with pytest.raises(ValueError, match="only a finished job"):
        jobs.retry(store, jobs.enqueue(store, "collect", {}), fn=_flaky(calls))


def test_run_job_can_raise_the_error_again_after_recording_it(store):
    def boom(params, progress):
        raise ValueError("bad day 2026-13-01")

    with pytest.raises(ValueError, match="bad day"):
        jobs.run_job(store, "detect", {"first": "2026-13-01"}, boom, reraise=True)
    assert store.jobs()[0]["status"] == "failed" and "bad day" in store.jobs()[0]["error"]


def test_queued_jobs_are_claimed_once_in_order_and_a_queued_job_can_be_cancelled(store):
    first = jobs.enqueue(store, "backup", {}, requested_by="root")
    second = jobs.enqueue(store, "collect", {"source": "a"})
    third = jobs.enqueue(store, "collect", {"source": "b"})
    assert jobs.cancel(store, second) == "cancelled"
    assert store.job(second)["finished_at"]
    claimed = jobs.claim_next(store)
    assert claimed["id"] == first and claimed["status"] == "running" and claimed["attempts"] == 1
    assert jobs.claim_next(store)["id"] == third             # the cancelled one is never claimed
    assert jobs.claim_next(store) is None


def test_two_workers_never_claim_the_same_job(tmp_path, store):
    ids = [jobs.enqueue(store, "collect", {"n": n}) for n in range(40)]
    taken: list[list[int]] = [[], []]

    def worker(k):
        own = Store(store.path)
        while (job := jobs.claim_next(own)) is not None:
            taken[k].append(job["id"])
        own.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(taken[0] + taken[1]) == ids


def test_cancelling_a_running_job_stops_it_at_its_next_progress_step(store, monkeypatch):
    monkeypatch.setattr(jobs, "PROGRESS_EVERY", 0.0)
    steps = []

    def long_work(params, progress):
        for n in range(100):
            if n == 5:
                assert jobs.cancel(store, store.jobs()[0]["id"]) == "running"   # an operator, meanwhile
            progress(n, 100)
            steps.append(n)
        return {"done": 100}

    job = jobs.run_job(store, "train", {"task": "topic"}, long_work)
    assert job["status"] == "cancelled" and steps == [0, 1, 2, 3, 4]
    assert job["progress_done"] == 5 and job["progress_total"] == 100


def test_progress_is_written_at_most_every_second(store):
    writes = []
    original = store.set_job_progress

    def counting(*args):
        writes.append(args)
        return original(*args)

    store.set_job_progress = counting

    def quick(params, progress):
        for n in range(1, 1001):
            progress(n, 1000)
        return {}

    jobs.run_job(store, "process", {}, quick)
    assert len(writes) == 2            # the first step, then the last (all within a second)
    assert writes[-1][1:] == (1000, 1000)


def test_cli_lists_shows_retries_and_cancels_jobs(cli, db_path):
    assert cli("init").exit_code == 0
    store = Store(db_path)
    calls: list = []
    failed = jobs.run_job(store, "collect", {"source": "khong-co"}, _flaky(calls), requested_by="scheduler")
    queued = jobs.enqueue(store, "backup", {}, requested_by="root")
    store.close()

    listed = cli("jobs", "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert re.match(rf"\s*{queued}\s+backup\s+queued\b", lines[0])          # newest first
    assert re.match(rf"\s*{failed['id']}\s+collect\s+failed\b", lines[1])
    assert "by scheduler" in lines[1] and "error: ConnectionError: khong-co: connection refused" in lines[1]
    only_failed = cli("jobs", "list", "--status", "failed")
    assert len(only_failed.output.splitlines()) == 1 and "collect" in only_failed.output
    assert cli("jobs", "list", "--kind", "train").output.strip() == "No jobs."
    assert cli("jobs", "list", "--limit", "1").output.count("\n") == 1
    bad = cli("jobs", "list", "--status", "broken")
    assert bad.exit_code == 1 and "unknown status 'broken'" in bad.output

    shown = cli("jobs", "show", str(failed["id"]))
    assert shown.exit_code == 0, shown.output
    assert f"Job {failed['id']}: collect, failed" in shown.output
    assert '"source": "khong-co"' in shown.output and "requested by: scheduler" in shown.output
    assert "error:        ConnectionError: khong-co: connection refused" in shown.output
    assert "log (last lines):" in shown.output and "Traceback" in shown.output
    missing = cli("jobs", "show", "9999")
    assert missing.exit_code == 1 and "there is no job 9999" in missing.output

    cancelled = cli("jobs", "cancel", str(queued))
    assert cancelled.exit_code == 0 and f"Job {queued} cancelled." in cancelled.output
    assert "cancelled" in cli("jobs", "show", str(queued)).output
    assert "already cancelled" in cli("jobs", "cancel", str(queued)).output

    # the failed collection had a source that does not exist: retried through the registered kind, it fails
    # again with Pulse's own message, as a new job
    retried = cli("jobs", "retry", str(failed["id"]))
    assert retried.exit_code == 1
    assert f"Job {failed['id']} retried as job" in retried.output and "no source named 'khong-co'" in retried.output


def test_cli_commands_are_recorded_as_jobs(cli, db_path, tmp_path):
    assert cli("init").exit_code == 0
    assert cli("trends", "--date", "2026-11-20").exit_code == 0
    out = tmp_path / "briefings"
    brief = cli("brief", "--date", "2026-11-20", "--format", "html", "--out", str(out))
    assert brief.exit_code == 0, brief.output
    backup = cli("backup", str(tmp_path / "copy.db"))
    assert backup.exit_code == 0, backup.output
    listed = cli("jobs", "list").output.splitlines()
    assert [line.split()[1:3] for line in listed] == [["backup", "done"], ["brief", "done"], ["detect", "done"]]
    assert "by cli" in listed[0] and "files 1" in listed[1] and "flags 0" in listed[2]


def test_a_scheduler_cycle_is_listed_as_jobs(cli, db_path, local_server):
    from service import scheduler

    feed = (__import__("conftest").FIXTURES / "rss" / "vnexpress_tin-moi-nhat_2017-02-18.rss.xml").read_bytes()
    assert cli("init").exit_code == 0
    store = Store(db_path)
    for row in store.sources():                  # no internet: one loopback feed and one that fails
        store.set_source_enabled(row["name"], False)
    store.close()
    assert cli("sources", "add", "vne", local_server.serve("/vne.rss", feed)).exit_code == 0
    assert cli("sources", "add", "hong", local_server.serve("/500.rss", b"down", status=500,
                                                            content_type="text/plain")).exit_code == 0
    scheduler.collection_cycle(Settings(db_path=db_path))
    listed = cli("jobs", "list")
    assert listed.exit_code == 0, listed.output
    rows = {tuple(line.split()[1:3]) for line in listed.output.splitlines()}
    assert ("collect", "done") in rows and ("collect", "failed") in rows
    assert ("process", "done") in rows and ("detect", "done") in rows
    assert ("cycle", "done") in rows                          # the cycle itself, with its outcome
    cycle_line = cli("jobs", "list", "--kind", "cycle").output
    assert "sources 2, new 25, failed 1, annotated 25, days_detected 1" in cycle_line
    assert "found 25, new 25" in listed.output and "by scheduler" in listed.output
    collect_failed = cli("jobs", "list", "--kind", "collect", "--status", "failed").output
    assert "500" in collect_failed
    process = Store(db_path).jobs(kind="process")[0]
    assert process["counts"]["annotated"] == 25

    scheduler.briefing_job(Settings(db_path=db_path))            # the 07:00 job (and its catch-up at start)
    briefing = cli("jobs", "list", "--kind", "briefing").output.splitlines()
    assert len(briefing) == 1 and briefing[0].split()[1:3] == ["briefing", "done"] and "by scheduler" in briefing[0]


def test_admin_jobs_page(tmp_path):
    from service.app import create_app

    inst = make_installation(tmp_path)
    store = inst.store
    calls: list = []
    failed = jobs.run_job(store, "collect", {"source": "baocaobang"}, _flaky(calls), requested_by="scheduler")
    running = store.add_job("train", {"task": "topic"}, "admin1", org_unit=OWN, status="running", worker="may1:4242")
    store.set_job_progress(running, 1200, 4000)
    done = jobs.run_job(store, "collect", {"source": "vne"}, lambda p, progress: {"found": 5000, "new": 1234})

    app = create_app(inst.settings, start_worker=False)
    with TestClient(app, follow_redirects=False) as client:
        login(client, "root")
        page = client.get("/admin/jobs")
        assert page.status_code == 200
        html = page.text
        assert "<h1>Công việc</h1>" in html and 'href="/admin/jobs"' in html
        assert "Đang chạy" in html and "Huấn luyện mô hình" in html
        assert 'aria-label="Đã xong 30%"' in html and 'width="48.0"' in html     # 1.200 of 4.000
        assert "(1.200/4.000)" in html
        assert "may1:4242" in html and "tín hiệu lúc" in html     # who holds the running job, its last heartbeat
        assert "Thu thập nguồn tin" in html and "Lỗi" in html and "ConnectionError: baocaobang" in html
        assert "tìm thấy: 5.000; tin mới: 1.234" in html and "giây" in html
        assert f"<td>{done['id']}</td>" in html and f"<td>{failed['id']}</td>" in html
        only_failed = client.get("/admin/jobs?status=failed").text
        assert "baocaobang" in only_failed and "tin mới: 1.234" not in only_failed

    with TestClient(app, follow_redirects=False) as client:   # a unit's admin: jobs their unit asked for only
        login(client, "admin1")
        html = client.get("/admin/jobs").text
        assert "Huấn luyện mô hình" in html and "baocaobang" not in html and "tin mới: 1.234" not in html
    with TestClient(app, follow_redirects=False) as client:
        login(client, "staff1")
        assert client.get("/admin/jobs").status_code == 403


def test_every_kind_of_job_and_an_alerts_jobs_counts_are_named_in_vietnamese(tmp_path):
    """/admin/jobs names each registered kind in Vietnamese (no raw `alerts`, `mail`, `search_backfill`), and an
    alerts job's counts too: its «failed» are e-mails, not sources."""
    from service import job_kinds  # noqa: F401  (registers every kind)
    from service.app import create_app
    from service.routes.admin import JOB_KINDS_VI

    assert set(jobs._registry) <= set(JOB_KINDS_VI), set(jobs._registry) - set(JOB_KINDS_VI)
    inst = make_installation(tmp_path)
    jobs.run_job(inst.store, "alerts", {}, lambda p, progress: {"new_flag": 2, "report_due": 1, "sent": 1234,
                                                                 "failed": 1})
    jobs.run_job(inst.store, "search_backfill", {}, lambda p, progress: {"indexed": 5000})
    app = create_app(inst.settings, start_worker=False)
    with TestClient(app, follow_redirects=False) as client:
        login(client, "root")
        html = client.get("/admin/jobs").text
    assert "Thông báo và thư cảnh báo" in html and "Lập chỉ mục tìm kiếm cho tin cũ" in html
    assert "thông báo cảnh báo mới: 2; thông báo báo cáo đến hạn: 1; thư đã gửi: 1.234; thư gửi lỗi: 1" in html
    assert "tin đã lập chỉ mục: 5.000" in html and "nguồn lỗi" not in html
    assert "<td>alerts</td>" not in html and "search_backfill" not in html
    inst.store.close()


def test_the_jobs_page_does_not_scroll_sideways_on_a_phone(tmp_path):
    """/admin/jobs on a 390-pixel phone in Chromium: the wide history table scrolls in its own box, the page does not
    (an alerts job's long Vietnamese counts included)."""
    import os
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    from service.app import create_app
    from test_browser import CHROMIUM, CLOSED_NETWORK_ARGS
    from web_support import PASSWORD, LiveServer, free_port

    if not Path(CHROMIUM).exists():   # as tests/test_browser.py: CI (PULSE_REQUIRE_BROWSER) fails, a developer skips
        if os.environ.get("PULSE_REQUIRE_BROWSER"):
            pytest.fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    inst = make_installation(tmp_path)
    jobs.run_job(inst.store, "alerts", {}, lambda p, progress: {"new_flag": 2, "escalation": 0, "report_review": 0,
                                                                 "briefing": 1, "report_due": 5, "sent": 3,
                                                                 "failed": 0})
    with LiveServer(create_app(inst.settings, start_worker=False), free_port()) as live, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CLOSED_NETWORK_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 800})
        page.goto(f"{live.url}/login")
        page.fill("input[name=username]", "root")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(f"{live.url}/admin/jobs")
        assert "Thông báo và thư cảnh báo" in page.inner_text("main")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"
        browser.close()
    inst.store.close()
