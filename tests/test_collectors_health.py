"""Source health: failed runs in a row, or a daily count outside the 30-day mean ± 2 SD."""
from __future__ import annotations

from collectors.health import assess_health, verdict

OK = {"ok": True, "found": 20, "new": 5, "errors": [], "duration": 1.2}
FAIL = {"ok": False, "found": 0, "new": 0, "errors": ["laodong: https://laodong.vn/rss answered HTTP 503."],
        "duration": 0.4}
STEADY = [20, 22, 19, 21, 20, 18, 23, 20, 21, 19, 22, 20, 21, 19, 20, 22, 18, 21, 20, 19]


def test_three_failures_in_a_row_is_unhealthy_with_the_reason():
    healthy, reason = assess_health([OK, FAIL, FAIL, FAIL], STEADY)
    assert not healthy
    assert reason == "The last 3 runs failed. The latest error: laodong: https://laodong.vn/rss answered HTTP 503."


def test_threshold_is_a_parameter():
    assert assess_health([OK, FAIL, FAIL], [], fail_threshold=3)[0] is True
    assert assess_health([OK, FAIL, FAIL], [], fail_threshold=2)[0] is False


def test_a_source_is_failing_as_soon_as_its_last_run_failed():
    healthy, reason = assess_health([OK, OK, FAIL], STEADY)
    assert not healthy and reason.startswith("The last run failed.")
    v = verdict([OK, FAIL, FAIL], STEADY)
    assert v.kind == "failing" and v.failed_runs == 2 and "HTTP 503" in v.last_error
    assert verdict([FAIL, OK], STEADY).healthy   # a run that succeeds again makes it healthy again


def test_a_tolerant_caller_can_ask_for_several_failures_in_a_row():
    healthy, reason = assess_health([OK, OK, FAIL], STEADY, fail_threshold=3)
    assert healthy and "latest run failed" in reason


def test_source_gone_quiet_is_unhealthy():
    healthy, reason = assess_health([OK] * 5, STEADY + [2])
    assert not healthy and reason.startswith("2 items on the latest day is below the usual range")


def test_sudden_flood_is_unhealthy():
    assert assess_health([OK], STEADY + [60])[0] is False


def test_normal_day_is_healthy():
    assert assess_health([OK], STEADY + [21]) == (True, "Runs succeed and the daily count is in its usual range.")


def test_short_history_says_nothing_about_counts():
    assert assess_health([OK], [20, 21, 0])[0] is True
    assert assess_health([], [])[0] is True


def test_only_the_last_30_days_count():
    old_busy = [200] * 30
    assert assess_health([OK], old_busy + STEADY[:15] + STEADY[:15] + [20])[0] is True


def test_the_verdict_names_the_rule_that_decided():
    assert verdict([OK, FAIL, FAIL, FAIL], STEADY).kind == "failing"
    assert verdict([OK, FAIL, FAIL, FAIL], STEADY).failed_runs == 3
    assert verdict([OK] * 5, STEADY + [2]).kind == "unusual_count"
    assert verdict([OK, OK, FAIL], STEADY).kind == "failing"
    assert verdict([OK, OK, FAIL], STEADY, fail_threshold=2).kind == "last_failed"
    assert verdict([], []).kind == "no_runs"
    assert verdict([OK], STEADY + [21]).kind == "ok"
