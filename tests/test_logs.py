"""One logging set-up for every entry point (service/logs.py): a command run with `--log-format json` leaves parseable
JSON lines with their fields in data/logs/pulse.log; the default is one readable line (time, level, logger, message);
a step logs its start, its end with counts, or its error."""
from __future__ import annotations

import json
import logging
import re

from conftest import FIXTURES
from service.logs import setup_logging, step

FEED = (FIXTURES / "rss" / "vnexpress_tin-moi-nhat_2017-07-26.rss.xml").read_bytes()


def _records(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_command_with_log_format_json_writes_json_lines_to_the_data_folder(cli, db_path, local_server):
    url = local_server.serve("/feed.rss", FEED)
    assert cli("--log-format", "json", "init").exit_code == 0
    assert cli("--log-format", "json", "sources", "add", "local-feed", url).exit_code == 0
    result = cli("--log-format", "json", "collect", "--source", "local-feed")
    assert result.exit_code == 0, result.output
    log_file = db_path.parent / "logs" / "pulse.log"
    records = _records(log_file)                 # every line is one JSON object
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    started = [r for r in records if r.get("step") == "collection" and r.get("event") == "start"]
    assert started and started[0]["source"] == "local-feed" and started[0]["level"] == "INFO"
    assert started[0]["logger"] == "pulse.pipeline" and started[0]["message"] == "collecting local-feed"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", started[0]["time"])
    ended = [r for r in records if r.get("step") == "collection" and r.get("event") == "end"]
    assert [(r["source"], r["found"], r["new"], r["errors"]) for r in ended] == [("local-feed", 25, 25, 0)]
    assert ended[0]["seconds"] >= 0 and ended[0]["message"].startswith("collected local-feed in ")


def test_the_default_format_is_one_readable_line(cli, db_path, local_server):
    url = local_server.serve("/feed.rss", FEED)
    assert cli("init").exit_code == 0
    assert cli("sources", "add", "local-feed", url).exit_code == 0
    assert cli("collect", "--source", "local-feed").exit_code == 0
    lines = (db_path.parent / "logs" / "pulse.log").read_text(encoding="utf-8").splitlines()
    assert any(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO pulse\.pipeline: collecting local-feed$", line)
               for line in lines), lines


def test_an_unknown_log_format_is_refused_plainly(cli):
    result = cli("--log-format", "xml", "init")
    assert result.exit_code == 1 and "unknown log format 'xml'" in result.output and "Traceback" not in result.output


def test_a_step_logs_start_end_with_counts_and_its_error(tmp_path):
    path = setup_logging(tmp_path, "json")
    log = logging.getLogger("pulse.test")
    with step(log, "collection cycle", source="a") as counts:
        counts.update(found=3, new=2)
    try:
        with step(log, "briefing", day="2026-11-30"):
            raise RuntimeError("disk full")
    except RuntimeError:
        pass
    records = [r for r in _records(path) if r["logger"] == "pulse.test"]
    assert [(r["step"], r["event"]) for r in records] == [("collection cycle", "start"), ("collection cycle", "end"),
                                                          ("briefing", "start"), ("briefing", "error")]
    end, error = records[1], records[3]
    assert (end["found"], end["new"], end["source"]) == (3, 2, "a") and end["seconds"] >= 0
    assert error["level"] == "ERROR" and "disk full" in error["message"] and "RuntimeError" in error["error"]
    assert error["day"] == "2026-11-30"
