"""Settings a newcomer can find (issue 16.4): `make run HOST= PORT=`, every setting in the README's settings block with
its comment, source health in Vietnamese («failing» once the last run failed), the favicon and the model's guess."""
from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
import urllib.parse
from xml.etree import ElementTree
from dataclasses import fields, is_dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.config import Settings, load_settings
from web_support import login, make_installation

ROOT = Path(__file__).resolve().parent.parent


def _settings_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Settings\n", 1)[1]
    return section.split("```toml\n", 1)[1].split("\n```", 1)[0]


def _every_setting() -> list[tuple[str, str]]:
    out = []
    for f in fields(Settings()):
        value = getattr(Settings(), f.name)
        if is_dataclass(value):
            out.extend((f.name, g.name) for g in fields(value))
        else:
            out.append(("", f.name))
    return out


def test_every_setting_is_in_the_readme_block_with_a_comment_and_the_block_loads(tmp_path):
    block = _settings_block()
    table, seen = "", {}
    for line in block.splitlines():
        header = re.match(r"\[(\w+)\]", line)
        if header:
            table = header.group(1)
            continue
        key = re.match(r"#?\s*(\w+)\s*=", line)
        if key:
            seen[(table, key.group(1))] = line
    missing = [f"{t + '.' if t else ''}{k}" for t, k in _every_setting() if (t, k) not in seen]
    assert not missing, f"settings missing from the README: {missing}"
    uncommented = [line for (t, k), line in seen.items() if "#" not in line.lstrip("# ").split("=", 1)[1]]
    assert not uncommented, f"settings without a comment: {uncommented}"
    config = tmp_path / "pulse.toml"
    config.write_text(block, encoding="utf-8")
    settings = load_settings(config)   # the block is a valid settings file as it stands
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert tomllib.loads(block)["backup"]["keep"] == 7


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_passes_host_and_port_to_pulse_serve():
    given = subprocess.run(["make", "-n", "run", "HOST=0.0.0.0", "PORT=8081"], cwd=ROOT, capture_output=True,
                           text=True, timeout=60, check=True).stdout
    assert 'serve --host "0.0.0.0" --port "8081"' in given
    default = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                             check=True, env={"PATH": "/usr/bin:/bin"}).stdout
    assert re.search(r"pulse --db \"[^\"]+\" serve\s*$", default, re.M) and "--port" not in default
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run HOST=0.0.0.0 PORT=8080" in readme


def test_admin_page_says_failing_in_vietnamese_as_soon_as_the_last_run_failed(tmp_path):
    from service.app import create_app
    from service.store import utcnow

    inst = make_installation(tmp_path)
    good, bad = [s["name"] for s in inst.store.sources()[:2]]
    for name in (good, bad):
        inst.store.record_run(name, utcnow(), utcnow(), ok=True, found=5, new=5, not_modified=False, errors=[],
                              duration=0.1)
    inst.store.record_run(bad, utcnow(), utcnow(), ok=False, found=0, new=0, not_modified=False,
                          errors=[f"{bad}: HTTP 503"], duration=0.1)
    client = TestClient(create_app(inst.settings, start_worker=False), follow_redirects=False)
    assert login(client, "root").status_code == 303
    page = client.get("/admin/sources").text
    card = page.split(f'id="source-{bad}"')[1].split("</li>")[0]
    assert 'class="card source unhealthy"' in page.split(f'id="source-{bad}"')[0][-60:]
    assert "Tình trạng: Đang lỗi" in card and "Lần thu gần nhất bị lỗi." in card and "HTTP 503" in card
    assert "Tình trạng: Bình thường" in page.split(f'id="source-{good}"')[1].split("</li>")[0]
    assert "The last" not in card and "failed" not in card
    from service.pipeline import source_health

    assert not next(r for r in source_health(inst.store) if r["name"] == bad)["healthy"]   # `pulse sources list` too


def test_pages_have_a_favicon_and_the_model_guess_is_styled(tmp_path):
    from service.app import create_app

    inst = make_installation(tmp_path)
    client = TestClient(create_app(inst.settings, start_worker=False), follow_redirects=False)
    page = client.get("/login").text
    icon = re.search(r'<link rel="icon" href="([^"]+)"', page).group(1)
    # inline, so no page asks the server for /favicon.ico (a 404 each time) and a phone makes no extra request
    assert icon.startswith("data:image/svg+xml,") and "#" not in icon
    svg = urllib.parse.unquote(icon.split(",", 1)[1])
    assert ElementTree.fromstring(svg).tag.endswith("svg")
    css = client.get("/static/pulse.css").text
    assert re.search(r"\.labels button\.suggested\s*\{[^}]*border", css)
