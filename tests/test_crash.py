"""`kill -9` at random moments during real `pulse import`, `pulse process` and submissions loses, doubles and
unindexes nothing: after every round the store holds only whole units of work, and after a re-run every item is
stored once, annotated once, placed once and indexed once (tests/crash_support.py holds the harness).

`make test` runs a bounded number of kills; PULSE_CRASH_KILLS=50 (or bench/crash.py) runs the acceptance's 50.
PULSE_CRASH_SEED replays a run; the seed is in every failure message.
"""
from __future__ import annotations

import json
import os
import random

from conftest import FIXTURES
from crash_support import crash_loop, split_timeline

TIMELINE = FIXTURES / "timeline" / "news-2026-02.jsonl"


def test_kill_9_at_random_moments_loses_doubles_and_unindexes_nothing(tmp_path):
    kills = int(os.environ.get("PULSE_CRASH_KILLS", "12"))
    seed = int(os.environ.get("PULSE_CRASH_SEED", random.randrange(1_000_000)))
    lines = TIMELINE.read_text(encoding="utf-8").splitlines()
    articles = len({json.loads(line)["url"] for line in lines})
    files = split_timeline(lines, 8, tmp_path / "files")

    report = crash_loop(tmp_path / "run", files, kills=kills, seed=seed, batch_size=4)
    seen = f"seed {seed}: {report}"
    print(seen)

    assert report.violations == [], seen
    assert report.kills["import"] + report.kills["process"] >= kills, seen
    assert min(report.kills.values()) >= 1, seen            # each kind of process was killed at least once
    assert report.process_kills_after_a_commit >= 1, seen    # and `pulse process` while it was writing
    assert sum(report.kills_in_write.values()) >= 1, seen    # and an import or a submission inside its transaction
    final = report.final
    assert final["articles"] == final["distinct_urls"] == articles, seen                    # nothing lost or doubled
    assert final["observations"] == final["submissions"] == final["expected_submissions"], seen
    assert final["items"] == final["annotated"] == final["annotations"] == final["placed"], seen   # once each
    assert final["items"] == final["search_rows"] == final["search_rowids"], seen                # indexed once
    assert final["unannotated"] == 0, seen
