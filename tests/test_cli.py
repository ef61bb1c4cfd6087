"""The command line: plain errors, idempotent collection, bad sources and lines that never stop the others."""
from __future__ import annotations

import json

from conftest import FIXTURES, free_port
from service.store import Store

FEED = (FIXTURES / "rss" / "vnexpress_tin-moi-nhat_2017-02-18.rss.xml").read_bytes()


def _only_local_sources(cli, db_path, sources: dict[str, str]) -> None:
    """Initialise, disable the shipped (internet) sources, add loopback ones."""
    assert cli("init").exit_code == 0
    store = Store(db_path)
    for row in store.sources():
        store.set_source_enabled(row["name"], False)
    store.close()
    for name, url in sources.items():
        result = cli("sources", "add", name, url)
        assert result.exit_code == 0, result.output


def test_init_prints_admin_password_once(cli):
    first = cli("init")
    assert first.exit_code == 0, first.output
    assert "First admin account: admin / " in first.output
    again = cli("init")
    assert again.exit_code == 0
    assert "First admin account" not in again.output


def test_commands_before_init_say_so(cli):
    result = cli("collect")
    assert result.exit_code == 1
    assert "run `pulse init` first" in result.output


def test_collecting_the_same_feed_twice_stores_each_item_once(cli, db_path, local_server):
    url = local_server.serve("/vne.rss", FEED)
    _only_local_sources(cli, db_path, {"vne": url})
    first = cli("collect")
    assert first.exit_code == 0, first.output
    assert "vne: 25 found, 25 new" in first.output
    second = cli("collect")
    assert "vne: 25 found, 0 new" in second.output
    store = Store(db_path)
    assert store.count_items() == 25
    titles = [r["title"] for r in store.db.query("SELECT title FROM items")]
    assert "Giang Kim Đạt bị đề nghị tử hình" in titles
    assert all(t == t.strip() and "\n" not in t for t in titles)
    urls = [r["url"] for r in store.db.query("SELECT url FROM items")]
    assert all(u.startswith("http://") and ".vnexpress.net/" in u.replace("//vnexpress", "//.vnexpress") and u == u.strip() and " " not in u for u in urls)


def test_bad_sources_are_reported_and_the_good_one_is_still_stored(cli, db_path, local_server):
    good = local_server.serve("/good.rss", FEED)
    broken = local_server.serve("/500.rss", b"server exploded", status=500, content_type="text/plain")
    not_xml = local_server.serve("/notxml.rss", "<html><body>Trang lỗi {{{ not a feed".encode(), content_type="text/html")
    unreachable = f"http://127.0.0.1:{free_port()}/feed.rss"
    _only_local_sources(cli, db_path, {"broken": broken, "notxml": not_xml, "gone": unreachable, "good": good})
    result = cli("collect")
    assert result.exit_code == 0, result.output
    assert "good: 25 found, 25 new" in result.output
    assert "broken: 0 found, 0 new, 1 error(s)" in result.output
    assert "HTTP 500" in result.output
    assert "not a readable RSS or Atom feed" in result.output
    assert "gone" in result.output and "could not be reached" in result.output
    assert "Traceback" not in result.output
    store = Store(db_path)
    assert store.count_items() == 25
    runs = {r["source"]: r for r in store.runs()}
    assert runs["good"]["ok"] == 1 and runs["broken"]["ok"] == 0 and runs["gone"]["ok"] == 0


def test_unknown_source_is_a_plain_error(cli):
    cli("init")
    result = cli("collect", "--source", "nope")
    assert result.exit_code == 1
    assert "There is no source named 'nope'" in result.output


def test_timeline_bad_lines_are_reported_and_the_rest_imported(cli, db_path, tmp_path):
    cli("init")
    lines = [
        json.dumps({"title": "Công nhân ngừng việc đòi tăng lương", "text": "Hơn 300 công nhân ngừng việc.",
                    "url": "http://127.0.0.1/1", "source": "nld", "published_at": "2026-02-01T08:00:00+07:00"}),
        "{this is not json",
        json.dumps({"title": "Thiếu ngày", "text": "Không có ngày đăng."}),
        json.dumps({"text": "Ngày sai", "published_at": "hôm qua"}),
        json.dumps({"text": "Rút bảo hiểm xã hội một lần tăng mạnh", "published_at": "2026-02-02T01:00:00Z"}),
        "",
    ]
    path = tmp_path / "timeline.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = cli("import", str(path), "--kind", "timeline")
    assert result.exit_code == 0, result.output
    assert "2 read, 2 new, 3 could not be used" in result.output
    assert "line 2: not valid JSON" in result.output
    assert "line 3: has no published_at date" in result.output
    assert "line 4: published_at 'hôm qua' is not an ISO 8601 date" in result.output
    again = cli("import", str(path), "--kind", "timeline")
    assert "2 read, 0 new" in again.output
    store = Store(db_path)
    row = next(store.db.query("SELECT published_at FROM items WHERE source = 'nld'"))
    assert row["published_at"] == "2026-02-01T01:00:00+00:00"


def test_missing_file_and_bad_dates_are_plain_errors(cli, tmp_path):
    cli("init")
    missing = cli("import", str(tmp_path / "nope.jsonl"), "--kind", "timeline")
    assert missing.exit_code == 1 and "does not exist" in missing.output
    bad_date = cli("trends", "--date", "31/02/2026")
    assert bad_date.exit_code == 1 and "is not a date" in bad_date.output
    backwards = cli("trends", "--since", "2026-02-03", "--until", "2026-02-01")
    assert backwards.exit_code == 1 and "before" in backwards.output
    for result in (missing, bad_date, backwards):
        assert "Traceback" not in result.output
